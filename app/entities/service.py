"""Entity use cases. Each ends in at most one commit; errors are domain errors."""

import uuid
from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

# Tags belong to articles: entities count, release and hand them over through the seam only.
from app.articles.links import TAGS, published_count, release_articles, retag
from app.auth import Viewer
from app.db import Reader, utcnow
from app.entities.models import Entity, EntityCreate, EntityType, EntityUpdate
from app.entities.models import entities_table as entities
from app.errors import NotFound, ValidationFailed
from app.freshness.keys import entity_key
from app.freshness.log import write_transaction
from app.freshness.validators import Validators, WriteConditions, make_etag
from app.pagination import (
    ListParams,
    SortField,
    count_rows,
    fetch_page,
    parse_sort,
    pick_fields,
)
from app.search_text import build_search_text, matches_prefix
from app.slugs import (
    commit_with_result,
    ensure_slug_free,
    find_current_id,
    forget_redirects,
    generate_slug,
    merge_redirects,
    record_slug_change,
    resolve_ref,
)

KIND = "entity"
PUBLIC_COLUMNS = (
    entities.c.id,
    entities.c.slug,
    entities.c.name,
    entities.c.type,
    entities.c.aliases,
    entities.c.description,
    entities.c.external_ids,
    entities.c.created_at,
    entities.c.updated_at,
)


def article_count_column() -> ColumnElement[int]:
    """Published articles tagged with this entity, as a correlated subquery."""
    return published_count(TAGS, entities)


def sort_fields() -> dict[str, SortField]:
    return {
        "name": SortField(entities.c.name, "str"),
        "created_at": SortField(entities.c.created_at, "datetime"),
        "article_count": SortField(article_count_column(), "int"),
    }


def entity_public(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "slug": row.slug,
        "name": row.name,
        "type": row.type,
        "aliases": row.aliases,
        "description": row.description,
        "external_ids": row.external_ids,
        "article_count": row.article_count,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def entity_validators(entity: dict[str, Any]) -> Validators:
    """Every edit sets ``updated_at``; ``article_count`` moves with articles, so it is part
    of the tag too. ``Last-Modified`` covers the entity's own fields only."""
    etag = make_etag(
        "entity", entity["id"], entity["updated_at"].isoformat(), entity["article_count"]
    )
    return Validators(etag, entity["updated_at"])


async def _check_if_match(
    session: AsyncSession, entity_id: uuid.UUID, conditions: WriteConditions | None
) -> None:
    if conditions is not None and conditions.if_match is not None:
        conditions.check(entity_validators(await load_entity(session, entity_id)).etag)


def _public_query() -> Any:
    return select(*PUBLIC_COLUMNS, article_count_column().label("article_count"))


async def list_entities(
    session: Reader,
    *,
    params: ListParams,
    sort: str | None,
    q: str | None,
    entity_type: EntityType | None,
    fields: frozenset[str] | None = None,
) -> tuple[list[dict[str, Any]], str | None, int | None]:
    keys = parse_sort(sort, sort_fields(), default="name")
    query = _public_query()
    if entity_type is not None:
        query = query.where(entities.c.type == entity_type.value)
    if q and (match := matches_prefix(entities.c.search_text, q)) is not None:
        query = query.where(match)
    rows, next_cursor = await fetch_page(
        session, query, keys=keys, id_column=entities.c.id, params=params
    )
    total = await count_rows(session, query) if params.count else None
    return [pick_fields(entity_public(row), fields) for row in rows], next_cursor, total


async def find_entity_id(session: Reader, ref: str) -> uuid.UUID:
    """The id of the entity ``ref`` names: ``NotFound`` if none, ``Moved`` for an old slug."""
    found: uuid.UUID = await resolve_ref(session, entities, KIND, ref, label="entity")
    return found


async def get_entity(session: Reader, ref: str) -> dict[str, Any]:
    entity_id = await find_entity_id(session, ref)
    return await load_entity(session, entity_id)


async def load_entity(session: Reader, entity_id: uuid.UUID) -> dict[str, Any]:
    row = (await session.execute(_public_query().where(entities.c.id == entity_id))).one()
    return entity_public(row)


async def create_entity(session: AsyncSession, data: EntityCreate) -> dict[str, Any]:
    async with write_transaction(session) as changes:
        if data.slug:
            await ensure_slug_free(session, entities, KIND, data.slug)
            slug = data.slug
        else:
            slug = await generate_slug(session, entities, KIND, data.name)
        entity = Entity(
            slug=slug,
            name=data.name,
            type=data.type.value,
            aliases=data.aliases,
            description=data.description,
            external_ids=data.external_ids,
            search_text=build_search_text(data.name, *data.aliases),
        )
        session.add(entity)
        changes.entity("created", entity.id, slug)
        return await commit_with_result(session, slug, lambda: load_entity(session, entity.id))


async def update_entity(
    session: AsyncSession, ref: str, data: EntityUpdate, conditions: WriteConditions | None = None
) -> dict[str, Any]:
    async with write_transaction(session) as changes:
        entity_id = await find_entity_id(session, ref)
        entity = await session.get_one(Entity, entity_id, with_for_update=True)
        await _check_if_match(session, entity_id, conditions)
        fields = data.model_dump(exclude_unset=True, mode="json")
        new_slug = fields.pop("slug", None)
        if new_slug and new_slug != entity.slug:
            await ensure_slug_free(session, entities, KIND, new_slug, owner_id=entity.id)
            await record_slug_change(session, KIND, entity.id, entity.slug, new_slug)
            entity.slug = new_slug
        for field, value in fields.items():
            setattr(entity, field, value)
        entity.search_text = build_search_text(entity.name, *entity.aliases)
        entity.updated_at = utcnow()
        session.add(entity)
        changes.entity("updated", entity_id, entity.slug)
        return await commit_with_result(
            session, entity.slug, lambda: load_entity(session, entity_id)
        )


async def delete_entity(
    session: AsyncSession,
    ref: str,
    *,
    force: bool,
    viewer: Viewer,
    conditions: WriteConditions | None = None,
) -> None:
    async with write_transaction(session) as changes:
        entity_id = await find_entity_id(session, ref)
        entity = await session.get_one(Entity, entity_id, with_for_update=True)
        await _check_if_match(session, entity_id, conditions)
        await release_articles(session, TAGS, entity_id, force=force, key_name=viewer.key_name)
        await forget_redirects(session, KIND, entity_id)
        changes.entity("deleted", entity_id, entity.slug)
        await session.execute(delete(entities).where(entities.c.id == entity_id))


def merged_aliases(target: Entity, absorbed: Entity) -> list[str]:
    """The target's aliases, then the absorbed entity's name and aliases; no repeats and
    never the target's own name."""
    aliases: list[str] = []
    for alias in [*target.aliases, absorbed.name, *absorbed.aliases]:
        if alias != target.name and alias not in aliases:
            aliases.append(alias)
    return aliases


async def merge_entity(
    session: AsyncSession, ref: str, into: str, viewer: Viewer
) -> dict[str, Any]:
    """Fold the entity ``ref`` into ``into``, in one transaction: its articles are tagged
    with ``into`` instead (with a revision each), its name and aliases become aliases of
    ``into``, its slugs and id redirect to ``into``, and it is removed."""
    async with write_transaction(session) as changes:
        source_id = await find_entity_id(session, ref)
        target_id = await find_current_id(session, entities, KIND, into)
        if target_id is None:
            raise ValidationFailed(
                f"Unknown entity {into!r}.", loc=["body", "into"], error_type="unknown_entity"
            )
        if target_id == source_id:
            raise ValidationFailed(
                "An entity cannot be merged into itself.",
                loc=["body", "into"],
                error_type="merge_into_itself",
            )
        # Both locked in one statement, in id order: merges racing in both directions wait
        # for each other instead of deadlocking, and the loser finds its entity gone.
        query = (
            select(Entity)
            .where(entities.c.id.in_([source_id, target_id]))
            .order_by(entities.c.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        found = {entity.id: entity for entity in (await session.execute(query)).scalars()}
        if source_id not in found:
            raise NotFound(f"No entity with ref {ref!r}.")
        if target_id not in found:
            raise ValidationFailed(
                f"Unknown entity {into!r}.", loc=["body", "into"], error_type="unknown_entity"
            )
        source, target = found[source_id], found[target_id]

        await retag(session, source_id, target_id, key_name=viewer.key_name)

        await merge_redirects(
            session, KIND, source_id=source_id, source_slug=source.slug, target_id=target_id
        )
        target.aliases = merged_aliases(target, source)
        target.search_text = build_search_text(target.name, *target.aliases)
        target.updated_at = utcnow()
        await session.flush()
        await session.execute(delete(entities).where(entities.c.id == source_id))
        changes.entity("merged", source_id, source.slug, also=[entity_key(target_id)])
        return await commit_with_result(
            session, target.slug, lambda: load_entity(session, target_id)
        )
