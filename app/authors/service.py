"""Author use cases. Each ends in at most one commit; errors are domain errors."""

import uuid
from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

# Bylines belong to articles: authors count and release them through the seam only.
from app.articles.links import BYLINES, published_count, release_articles
from app.auth import Viewer
from app.authors.models import Author, AuthorCreate, AuthorUpdate
from app.authors.models import authors_table as authors
from app.db import Reader, utcnow
from app.freshness.log import write_transaction
from app.freshness.validators import Validators, WriteConditions, audience, make_etag
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
    forget_redirects,
    generate_slug,
    record_slug_change,
    resolve_ref,
)

KIND = "author"
PUBLIC_COLUMNS = (
    authors.c.id,
    authors.c.slug,
    authors.c.name,
    authors.c.title,
    authors.c.bio,
    authors.c.avatar_url,
    authors.c.url,
    authors.c.email,
    authors.c.created_at,
    authors.c.updated_at,
)


def article_count_column() -> ColumnElement[int]:
    """Published articles with this author, as a correlated subquery."""
    return published_count(BYLINES, authors)


def sort_fields() -> dict[str, SortField]:
    return {
        "name": SortField(authors.c.name, "str"),
        "created_at": SortField(authors.c.created_at, "datetime"),
        "article_count": SortField(article_count_column(), "int"),
    }


def author_public(row: Any, viewer: Viewer) -> dict[str, Any]:
    item = {
        "id": row.id,
        "slug": row.slug,
        "name": row.name,
        "title": row.title,
        "bio": row.bio,
        "avatar_url": row.avatar_url,
        "url": row.url,
        "article_count": row.article_count,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if viewer.is_editor:
        item["email"] = row.email
    return item


def author_validators(author: dict[str, Any], viewer: Viewer) -> Validators:
    """Every edit sets ``updated_at``; ``article_count`` moves with articles and ``email``
    is shown to editors only, so both are part of the tag. ``Last-Modified`` covers the
    author's own fields only."""
    etag = make_etag(
        "author",
        audience(viewer),
        author["id"],
        author["updated_at"].isoformat(),
        author["article_count"],
    )
    return Validators(etag, author["updated_at"])


async def _check_if_match(
    session: AsyncSession,
    author_id: uuid.UUID,
    viewer: Viewer,
    conditions: WriteConditions | None,
) -> None:
    if conditions is not None and conditions.if_match is not None:
        author = await _load_public(session, author_id, viewer)
        conditions.check(author_validators(author, viewer).etag)


async def list_authors(
    session: Reader,
    *,
    params: ListParams,
    sort: str | None,
    q: str | None,
    viewer: Viewer,
    fields: frozenset[str] | None = None,
) -> tuple[list[dict[str, Any]], str | None, int | None]:
    keys = parse_sort(sort, sort_fields(), default="name")
    query = select(*PUBLIC_COLUMNS, article_count_column().label("article_count"))
    if q and (match := matches_prefix(authors.c.search_text, q)) is not None:
        query = query.where(match)
    rows, next_cursor = await fetch_page(
        session, query, keys=keys, id_column=authors.c.id, params=params
    )
    total = await count_rows(session, query) if params.count else None
    items = [pick_fields(author_public(row, viewer), fields) for row in rows]
    return items, next_cursor, total


async def find_author_id(session: Reader, ref: str) -> uuid.UUID:
    """The id of the author ``ref`` names: ``NotFound`` if none, ``Moved`` for an old slug."""
    found: uuid.UUID = await resolve_ref(session, authors, KIND, ref, label="author")
    return found


async def get_author(session: Reader, ref: str, viewer: Viewer) -> dict[str, Any]:
    author_id = await find_author_id(session, ref)
    return await _load_public(session, author_id, viewer)


async def _load_public(session: Reader, author_id: uuid.UUID, viewer: Viewer) -> dict[str, Any]:
    query = select(*PUBLIC_COLUMNS, article_count_column().label("article_count")).where(
        authors.c.id == author_id
    )
    row = (await session.execute(query)).one()
    return author_public(row, viewer)


async def create_author(
    session: AsyncSession, data: AuthorCreate, viewer: Viewer
) -> dict[str, Any]:
    async with write_transaction(session) as changes:
        if data.slug:
            await ensure_slug_free(session, authors, KIND, data.slug)
            slug = data.slug
        else:
            slug = await generate_slug(session, authors, KIND, data.name)
        values = data.model_dump(exclude={"slug"}, mode="json")
        author = Author(**values, slug=slug, search_text=build_search_text(data.name))
        session.add(author)
        changes.author("created", author.id, slug)
        return await commit_with_result(
            session, slug, lambda: _load_public(session, author.id, viewer)
        )


async def update_author(
    session: AsyncSession,
    ref: str,
    data: AuthorUpdate,
    viewer: Viewer,
    conditions: WriteConditions | None = None,
) -> dict[str, Any]:
    async with write_transaction(session) as changes:
        author_id = await find_author_id(session, ref)
        author = await session.get_one(Author, author_id, with_for_update=True)
        await _check_if_match(session, author_id, viewer, conditions)
        fields = data.model_dump(exclude_unset=True, mode="json")
        new_slug = fields.pop("slug", None)
        if new_slug and new_slug != author.slug:
            await ensure_slug_free(session, authors, KIND, new_slug, owner_id=author.id)
            await record_slug_change(session, KIND, author.id, author.slug, new_slug)
            author.slug = new_slug
        for field, value in fields.items():
            setattr(author, field, value)
        author.search_text = build_search_text(author.name)
        author.updated_at = utcnow()
        session.add(author)
        changes.author("updated", author_id, author.slug)
        return await commit_with_result(
            session, author.slug, lambda: _load_public(session, author_id, viewer)
        )


async def delete_author(
    session: AsyncSession,
    ref: str,
    *,
    force: bool,
    viewer: Viewer,
    conditions: WriteConditions | None = None,
) -> None:
    async with write_transaction(session) as changes:
        author_id = await find_author_id(session, ref)
        author = await session.get_one(Author, author_id, with_for_update=True)
        await _check_if_match(session, author_id, viewer, conditions)
        await release_articles(session, BYLINES, author_id, force=force, key_name=viewer.key_name)
        await forget_redirects(session, KIND, author_id)
        changes.author("deleted", author_id, author.slug)
        await session.execute(delete(authors).where(authors.c.id == author_id))
