"""An article's past: its revisions (list, read, restore) and the trash (restore).

Restoring a revision is a merge patch of every writable field to the values that
revision recorded, so it goes through the same checks as ``PATCH`` (slug free, ``If-Match``)
and is recorded as a new revision by the key that restored it.
"""

import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.articles import queries, service
from app.articles.models import ArticleUpdate, articles_table, revisions_table
from app.articles.queries import ArticleData
from app.auth import Viewer
from app.authors.models import authors_table as authors
from app.db import Reader
from app.entities.models import entities_table as entities
from app.errors import Conflict, NotFound
from app.freshness.log import write_transaction
from app.freshness.validators import Validators, WriteConditions, make_etag
from app.pagination import ListParams, SortField, count_rows, fetch_page, parse_sort
from app.slugs import parse_ref
from app.slugs import redirects_table as redirects

revisions = revisions_table
REVISION_SORT = {"version": SortField(revisions.c.version, "int")}


def revision_summary(row: Any) -> dict[str, Any]:
    return {"version": row.version, "created_at": row.created_at, "key_name": row.key_name}


async def list_revisions(
    session: Reader, ref: str, *, params: ListParams, viewer: Viewer
) -> tuple[list[dict[str, Any]], str | None, int | None]:
    """Newest first: version, when, and the name of the key that made it."""
    article = await queries.get_visible_row(session, ref, viewer)
    query = select(
        revisions.c.id, revisions.c.version, revisions.c.created_at, revisions.c.key_name
    ).where(revisions.c.article_id == article.id)
    keys = parse_sort(None, REVISION_SORT, default="-version")
    rows, next_cursor = await fetch_page(
        session, query, keys=keys, id_column=revisions.c.id, params=params
    )
    total = await count_rows(session, query) if params.count else None
    return [revision_summary(row) for row in rows], next_cursor, total


def _content_out(content: dict[str, Any]) -> dict[str, Any]:
    shown = dict(content)
    for name in ("published_at", "expires_at"):
        moment = shown.get(name)
        if isinstance(moment, str):
            shown[name] = datetime.fromisoformat(moment)
    return shown


async def _revision_row(session: Reader, article_id: uuid.UUID, version: int) -> Any:
    query = select(
        revisions.c.version, revisions.c.created_at, revisions.c.key_name, revisions.c.content
    ).where(revisions.c.article_id == article_id, revisions.c.version == version)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"The article has no version {version}.")
    return row


async def get_revision(
    session: Reader, ref: str, version: int, viewer: Viewer
) -> tuple[dict[str, Any], Validators]:
    """The writable fields as they were at ``version`` (authors and entities as ids, the
    refs ``PATCH`` accepts), with the revision's own version, time and key name.
    A revision never changes, so its ETag is fixed."""
    article = await queries.get_visible_row(session, ref, viewer)
    row = await _revision_row(session, article.id, version)
    revision = revision_summary(row) | _content_out(row.content)
    return revision, Validators(make_etag("revision", article.id, row.version))


async def _existing_author_ids(session: AsyncSession, ids: list[str]) -> list[str]:
    wanted = [author_id for author_id in ids if parse_ref(author_id) is not None]
    if not wanted:
        return []
    query = select(authors.c.id).where(authors.c.id.in_([uuid.UUID(i) for i in wanted]))
    found = {str(author_id) for author_id in (await session.execute(query)).scalars()}
    return [author_id for author_id in wanted if author_id in found]


async def _current_entity_ids(session: AsyncSession, ids: list[str]) -> list[str]:
    """The entities that still exist, with merged ones replaced by what absorbed them."""
    wanted = [entity_id for entity_id in ids if parse_ref(entity_id) is not None]
    if not wanted:
        return []
    query = select(entities.c.id).where(entities.c.id.in_([uuid.UUID(i) for i in wanted]))
    found = {str(entity_id) for entity_id in (await session.execute(query)).scalars()}
    merged_query = (
        select(redirects.c.slug, redirects.c.target_id)
        .join(entities, entities.c.id == redirects.c.target_id)
        .where(redirects.c.kind == "entity", redirects.c.slug.in_(wanted))
    )
    merged = {old: str(target) for old, target in await session.execute(merged_query)}
    current: list[str] = []
    for entity_id in wanted:
        replacement = entity_id if entity_id in found else merged.get(entity_id)
        if replacement is not None and replacement not in current:
            current.append(replacement)
    return current


async def restore_revision(
    session: AsyncSession,
    ref: str,
    version: int,
    viewer: Viewer,
    conditions: WriteConditions | None = None,
) -> ArticleData:
    """Make ``version``'s content current again, as a new version.

    Authors deleted since are left out of the byline; entities deleted since are left out
    of the tags, and entities merged since are replaced by the entity they were merged
    into. Restoring the content the article already has changes nothing.
    """
    async with write_transaction(session):
        found = await queries.get_visible_row(session, ref, viewer)
        content = dict((await _revision_row(session, found.id, version)).content)
        article = await service.lock_article(session, str(found.id), viewer, conditions)
        content["authors"] = await _existing_author_ids(session, list(content.get("authors", [])))
        content["entities"] = await _current_entity_ids(session, list(content.get("entities", [])))
        try:
            patch = ArticleUpdate.model_validate(content)
        except ValidationError as exc:
            raise Conflict(
                f"Version {version} no longer passes validation and cannot be restored as it is."
            ) from exc
        return await service.save_patch(session, article, patch, viewer)


async def restore_article(session: AsyncSession, ref: str, viewer: Viewer) -> ArticleData:
    """Take an article out of the trash, exactly as it was (same version, no revision).
    An article that is not in the trash is returned as it is."""
    async with write_transaction(session) as changes:
        row = await queries.get_existing_row(session, ref, viewer)
        if row.deleted_at is not None:
            await changes.before_articles(session, [row.id], lock=True)
            await session.execute(
                update(articles_table).where(articles_table.c.id == row.id).values(deleted_at=None)
            )
        return await queries.get_article(session, str(row.id), viewer)
