"""Article use cases: list, read, create, update and trash.

Reads select plain columns and build the response dicts directly: a page of articles
costs one query for the page, one for its bylines and one for its tags, whatever its size.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import MISSING, AnyUrl
from sqlalchemy import ColumnElement, and_, delete, exists, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.articles.etags import change_time_columns, load_article_state, validators_of
from app.articles.models import (
    ARTICLE_FIELDS,
    Article,
    ArticleCreate,
    ArticleImage,
    ArticleImagePatch,
    ArticleStatus,
    ArticleUpdate,
    ShownStatus,
    article_authors_table,
    article_entities_table,
    articles_table,
    publicly_visible,
    shown_status,
)
from app.articles.render import RenderedBody, render_body, render_body_in_thread
from app.articles.revisions import snapshot_articles, write_revisions
from app.articles.search import plan_search, search_sorting
from app.auth import Viewer
from app.authors.models import authors_table as authors
from app.changes import begin_write
from app.conditional import ReadConditions, Validators, WriteConditions
from app.db import table_of, utcnow
from app.entities.extract import entities_named_in
from app.entities.models import entities_table as entities
from app.errors import Moved, NotFound, Unauthorized, ValidationFailed
from app.pagination import ListParams, SortField, count_rows, fetch_page, parse_sort
from app.slugs import (
    SlugRedirect,
    commit_with_result,
    ensure_slug_free,
    generate_slug,
    parse_ref,
    record_slug_change,
)

KIND = "article"
articles = articles_table

SUMMARY_COLUMNS = tuple(
    articles.c[name]
    for name in (
        "id",
        "slug",
        "headline",
        "standfirst",
        "dateline",
        "language",
        "section",
        "source",
        "canonical_url",
        "image",
        "status",
        "published_at",
        "word_count",
        "reading_time_minutes",
        "version",
        "created_at",
        "updated_at",
        "deleted_at",
    )
)
BODY_COLUMNS = (articles.c.body, articles.c.body_html, articles.c.body_text)
SORT_FIELDS = {
    "published_at": SortField(articles.c.published_at, "datetime", nullable=True),
    "updated_at": SortField(articles.c.updated_at, "datetime"),
    "created_at": SortField(articles.c.created_at, "datetime"),
    "headline": SortField(articles.c.headline, "str"),
}


@dataclass(frozen=True)
class ArticleFilters:
    """The filters of ``GET /v1/articles``. Each inner list of refs means "any of these";
    the outer list means "all of these groups"."""

    authors: Sequence[Sequence[str]] = ()
    entities: Sequence[Sequence[str]] = ()
    entity_type: str | None = None
    section: str | None = None
    language: str | None = None
    published_after: datetime | None = None
    published_before: datetime | None = None
    statuses: Sequence[ShownStatus] = field(default_factory=tuple)


def article_public(
    row: Any,
    bylines: list[dict[str, Any]],
    tags: list[dict[str, Any]],
    now: datetime,
    fields: frozenset[str] | None = None,
) -> dict[str, Any]:
    values = row._mapping
    item: dict[str, Any] = {}
    for name in ARTICLE_FIELDS:
        if fields is not None and name not in fields:
            continue
        if name == "status":
            item[name] = shown_status(row, now)
        elif name == "authors":
            item[name] = bylines
        elif name == "entities":
            item[name] = tags
        elif name in values:
            item[name] = values[name]
    return item


async def load_relations(
    session: AsyncSession, article_ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, list[dict[str, Any]]], dict[uuid.UUID, list[dict[str, Any]]]]:
    """Bylines (in order) and tags of many articles, in two queries."""
    bylines: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    tags: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    if not article_ids:
        return bylines, tags
    links = article_authors_table
    byline_rows = await session.execute(
        select(links.c.article_id, authors.c.id, authors.c.slug, authors.c.name)
        .join(authors, authors.c.id == links.c.author_id)
        .where(links.c.article_id.in_(article_ids))
        .order_by(links.c.article_id, links.c.position)
    )
    for article_id, author_id, slug, name in byline_rows:
        bylines[article_id].append({"id": author_id, "slug": slug, "name": name})
    tag_links = article_entities_table
    tag_rows = await session.execute(
        select(
            tag_links.c.article_id, entities.c.id, entities.c.slug, entities.c.name, entities.c.type
        )
        .join(entities, entities.c.id == tag_links.c.entity_id)
        .where(tag_links.c.article_id.in_(article_ids))
        .order_by(tag_links.c.article_id, entities.c.name, entities.c.id)
    )
    for article_id, entity_id, slug, name, entity_type in tag_rows:
        tags[article_id].append({"id": entity_id, "slug": slug, "name": name, "type": entity_type})
    return bylines, tags


def _ref_condition(table: Any, refs: Sequence[str]) -> ColumnElement[bool]:
    ids = [ref_id for ref in refs if (ref_id := parse_ref(ref)) is not None]
    slugs = [ref for ref in refs if parse_ref(ref) is None]
    conditions = []
    if ids:
        conditions.append(table.c.id.in_(ids))
    if slugs:
        conditions.append(table.c.slug.in_(slugs))
    return or_(*conditions)


def _status_condition(status: ShownStatus, now: datetime) -> ColumnElement[bool]:
    live = articles.c.deleted_at.is_(None)
    if status == ShownStatus.deleted:
        return articles.c.deleted_at.is_not(None)
    if status == ShownStatus.published:
        return and_(live, publicly_visible(now))
    if status == ShownStatus.scheduled:
        return and_(
            live, articles.c.status == ArticleStatus.published, articles.c.published_at > now
        )
    return and_(live, articles.c.status == status.value)


def filter_conditions(
    filters: ArticleFilters, viewer: Viewer, now: datetime
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if not viewer.is_editor:
        if any(status != ShownStatus.published for status in filters.statuses):
            raise Unauthorized("Only editors may list articles that are not published.")
        conditions.append(publicly_visible(now))
    elif filters.statuses:
        conditions.append(or_(*(_status_condition(s, now) for s in filters.statuses)))
    else:
        conditions.append(articles.c.deleted_at.is_(None))
    for group in filters.authors:
        links = article_authors_table
        conditions.append(
            articles.c.id.in_(
                select(links.c.article_id)
                .join(authors, authors.c.id == links.c.author_id)
                .where(_ref_condition(authors, group))
            )
        )
    # Author and entity filters are uncorrelated IN lists: the database starts from the
    # link table's index on the few articles tagged, instead of probing every article
    # (SQLite took 130 ms for a rarely used entity that way, against 30 ms for a common one).
    tag_links = article_entities_table
    for group in filters.entities:
        conditions.append(
            articles.c.id.in_(
                select(tag_links.c.article_id)
                .join(entities, entities.c.id == tag_links.c.entity_id)
                .where(_ref_condition(entities, group))
            )
        )
    if filters.entity_type:
        conditions.append(
            exists(
                select(tag_links.c.article_id)
                .join(entities, entities.c.id == tag_links.c.entity_id)
                .where(
                    tag_links.c.article_id == articles.c.id,
                    entities.c.type == filters.entity_type,
                )
            )
        )
    if filters.section:
        conditions.append(articles.c.section == filters.section)
    if filters.language:
        conditions.append(articles.c.language == filters.language)
    if filters.published_after:
        conditions.append(articles.c.published_at >= filters.published_after)
    if filters.published_before:
        conditions.append(articles.c.published_at < filters.published_before)
    return conditions


async def list_articles(
    session: AsyncSession,
    *,
    filters: ArticleFilters,
    params: ListParams,
    sort: str | None,
    fields: frozenset[str] | None,
    viewer: Viewer,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], str | None, int | None]:
    now = utcnow()
    search = plan_search(q, session.get_bind().dialect.name) if q else None
    sort_fields, default_sort = search_sorting(sort, SORT_FIELDS, search, "-published_at")
    keys = parse_sort(sort, sort_fields, default=default_sort)
    columns = list(SUMMARY_COLUMNS)
    if fields is not None:
        columns += [column for column in BODY_COLUMNS if column.key in fields]
    query = select(*columns).where(*filter_conditions(filters, viewer, now))
    if search is not None:
        query = search.apply(query)
    rows, next_cursor = await fetch_page(
        session, query, keys=keys, id_column=articles.c.id, params=params
    )
    wants_relations = fields is None or bool({"authors", "entities"} & fields)
    bylines, tags = (
        await load_relations(session, [row.id for row in rows]) if wants_relations else ({}, {})
    )
    items = [
        article_public(row, bylines.get(row.id, []), tags.get(row.id, []), now, fields)
        for row in rows
    ]
    if search is not None and (fields is None or "snippet" in fields):
        snippets = await search.snippets(session, rows)
        for item, row in zip(items, rows, strict=True):
            item["snippet"] = snippets.get(row.id)
    total = await count_rows(session, query) if params.count else None
    return items, next_cursor, total


async def find_article_row(session: AsyncSession, ref: str) -> Any:
    """The article row for an id or slug (bodies included), trash included, or None."""
    ref_id = parse_ref(ref)
    condition = articles.c.id == ref_id if ref_id else articles.c.slug == ref
    query = select(*SUMMARY_COLUMNS, *BODY_COLUMNS, *change_time_columns()).where(condition)
    return (await session.execute(query)).first()


def visible_to(row: Any, viewer: Viewer, now: datetime) -> bool:
    if row.deleted_at is not None:
        return False
    if viewer.is_editor:
        return True
    return bool(
        row.status == ArticleStatus.published and row.published_at and row.published_at <= now
    )


async def get_existing_row(session: AsyncSession, ref: str, viewer: Viewer) -> Any:
    """The article ``ref`` names, trash included; an old slug raises ``Moved`` for editors
    and, for anyone else, only when the article is published: the redirect would tell
    a caller who may not see a draft its new slug. Else 404."""
    row = await find_article_row(session, ref)
    if row is None and parse_ref(ref) is None:
        current = await _moved_article(session, ref)
        if current is not None and (viewer.is_editor or visible_to(current, viewer, utcnow())):
            raise Moved(ref, current.slug)
    if row is None:
        raise NotFound(f"No article with ref {ref!r}.")
    return row


async def _moved_article(session: AsyncSession, old_slug: str) -> Any:
    """The current slug and visibility columns of the article that had ``old_slug``."""
    redirects = table_of(SlugRedirect)
    query = (
        select(articles.c.slug, articles.c.status, articles.c.published_at, articles.c.deleted_at)
        .join(redirects, redirects.c.target_id == articles.c.id)
        .where(redirects.c.kind == KIND, redirects.c.slug == old_slug)
    )
    return (await session.execute(query)).first()


async def get_visible_row(session: AsyncSession, ref: str, viewer: Viewer) -> Any:
    """The article ``ref`` names, if this viewer may see it; old slugs raise ``Moved``."""
    row = await get_existing_row(session, ref, viewer)
    if not visible_to(row, viewer, utcnow()):
        raise NotFound(f"No article with ref {ref!r}.")
    return row


async def get_article(session: AsyncSession, ref: str, viewer: Viewer) -> dict[str, Any]:
    """The article as this viewer sees it, without validators (a write's answer makes its
    own ETag from the article)."""
    _row, article = await _load_article(session, ref, viewer, utcnow())
    return article


async def _load_article(
    session: AsyncSession, ref: str, viewer: Viewer, now: datetime
) -> tuple[Any, dict[str, Any]]:
    row = await get_visible_row(session, ref, viewer)
    bylines, tags = await load_relations(session, [row.id])
    return row, article_public(row, bylines.get(row.id, []), tags.get(row.id, []), now)


async def read_article(
    session: AsyncSession, ref: str, viewer: Viewer, conditions: ReadConditions | None = None
) -> tuple[dict[str, Any], Validators]:
    """The article and its validators. With ``If-None-Match`` (or ``If-Modified-Since``)
    one query reading no body decides first, and a current copy raises ``NotModified``."""
    now = utcnow()
    if conditions is not None and conditions.present:
        state = await load_article_state(session, ref, now)
        if state is not None and visible_to(state.row, viewer, now):
            conditions.check(state.validators)
    row, article = await _load_article(session, ref, viewer, now)
    return article, validators_of(row, article, now)


async def current_etag(session: AsyncSession, article_id: uuid.UUID) -> str:
    state = await load_article_state(session, str(article_id), utcnow())
    if state is None:
        raise NotFound(f"No article with id {article_id}.")
    return state.validators.etag


async def lock_article(
    session: AsyncSession, ref: str, viewer: Viewer, conditions: WriteConditions | None
) -> Article:
    """The visible article ``ref`` names, locked for this write; a stale ``If-Match``
    raises 412. The lock is held until commit, so the check and the write are one step."""
    row = await get_visible_row(session, ref, viewer)
    article = await session.get_one(Article, row.id, with_for_update=True)
    if conditions is not None and conditions.if_match is not None:
        conditions.check(await current_etag(session, article.id))
    return article


_SINGULAR = {"authors": "author", "entities": "entity"}


async def _resolve_refs(
    session: AsyncSession, table: Any, refs: Sequence[str], field_name: str, columns: Sequence[str]
) -> list[dict[str, Any]]:
    """Rows for each ref in input order; an unknown ref is a 422 that names it."""
    if not refs:
        return []
    selected = [table.c[name] for name in columns]
    rows = (await session.execute(select(*selected).where(_ref_condition(table, refs)))).all()
    by_id = {row.id: row for row in rows}
    by_slug = {row.slug: row for row in rows}
    resolved: list[dict[str, Any]] = []
    kind = _SINGULAR[field_name]
    for index, ref in enumerate(refs):
        ref_id = parse_ref(ref)
        row = by_id.get(ref_id) if ref_id else by_slug.get(ref)
        if row is None:
            raise ValidationFailed(
                f"Unknown {kind} {ref!r}.",
                loc=["body", field_name, index],
                error_type=f"unknown_{kind}",
            )
        if all(existing["id"] != row.id for existing in resolved):
            resolved.append(dict(row._mapping))
    return resolved


async def resolve_authors(session: AsyncSession, refs: Sequence[str]) -> list[dict[str, Any]]:
    return await _resolve_refs(session, authors, refs, "authors", ("id", "slug", "name"))


async def resolve_entities(session: AsyncSession, refs: Sequence[str]) -> list[dict[str, Any]]:
    return await _resolve_refs(session, entities, refs, "entities", ("id", "slug", "name", "type"))


async def _replace_links(
    session: AsyncSession,
    article_id: uuid.UUID,
    bylines: list[dict[str, Any]] | None,
    tags: list[dict[str, Any]] | None,
) -> None:
    if bylines is not None:
        await session.execute(
            delete(article_authors_table).where(article_authors_table.c.article_id == article_id)
        )
        if bylines:
            await session.execute(
                insert(article_authors_table),
                [
                    {"article_id": article_id, "author_id": author["id"], "position": position}
                    for position, author in enumerate(bylines)
                ],
            )
    if tags is not None:
        await session.execute(
            delete(article_entities_table).where(article_entities_table.c.article_id == article_id)
        )
        if tags:
            await session.execute(
                insert(article_entities_table),
                [{"article_id": article_id, "entity_id": tag["id"]} for tag in tags],
            )


async def _with_auto_tags(
    session: AsyncSession, article: Article, tags: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """``tags`` (or the current tags) plus every entity the article's text names."""
    if tags is None:
        current = await session.execute(
            select(article_entities_table.c.entity_id).where(
                article_entities_table.c.article_id == article.id
            )
        )
        tags = [{"id": entity_id} for entity_id in current.scalars()]
    texts = [article.headline, article.standfirst, article.body_text]
    known = {tag["id"] for tag in tags}
    found = await entities_named_in(session, texts)
    return tags + [entity.public() for entity in found if entity.id not in known]


def body_columns(body: str, rendered: RenderedBody | None = None) -> dict[str, Any]:
    """The stored columns of a Markdown body: its source and what is rendered from it
    (``rendered``, when the caller rendered it already, off the event loop)."""
    rendered = rendered or render_body(body)
    return {
        "body": body,
        "body_html": rendered.html,
        "body_text": rendered.text,
        "word_count": rendered.word_count,
        "reading_time_minutes": rendered.reading_time_minutes,
    }


def _apply_body(article: Article, body: str, rendered: RenderedBody) -> None:
    for name, value in body_columns(body, rendered).items():
        setattr(article, name, value)


def _stored(value: Any) -> Any:
    """A validated input value as the database keeps it."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, AnyUrl):
        return str(value)
    return value


async def create_article(
    session: AsyncSession, data: ArticleCreate, viewer: Viewer
) -> dict[str, Any]:
    # Rendered in a thread before the write begins: no lock is held while it runs.
    rendered = await render_body_in_thread(data.body)
    await begin_write(session)

    async def add_and_read() -> dict[str, Any]:
        article = await add_article(session, data, viewer, rendered=rendered)
        return await get_article(session, str(article.id), viewer)

    return await commit_with_result(session, data.slug, add_and_read)


def new_article_columns(
    data: ArticleCreate, *, slug: str, now: datetime, rendered: RenderedBody | None = None
) -> dict[str, Any]:
    """Every column of a new article made from ``data``, its body rendered (``rendered``
    when given): what creating one article writes, and what an import writes for each."""
    published_at = data.published_at
    if data.status == ArticleStatus.published and published_at is None:
        published_at = now
    return {
        "id": uuid.uuid4(),
        "slug": slug,
        "headline": data.headline,
        "standfirst": data.standfirst,
        "dateline": data.dateline,
        "language": data.language,
        "section": data.section,
        "source": data.source,
        "canonical_url": _stored(data.canonical_url),
        "image": data.image.model_dump(mode="json") if data.image else None,
        "status": data.status.value,
        "published_at": published_at,
        **body_columns(data.body, rendered),
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
    }


async def add_article(
    session: AsyncSession,
    data: ArticleCreate,
    viewer: Viewer,
    *,
    rendered: RenderedBody | None = None,
) -> Article:
    """Create an article and its first revision in the caller's write, without committing,
    so that one use case (an import batch) can add many in one transaction. ``rendered``
    is the body rendered beforehand; without it the body is rendered in a thread here."""
    bylines = await resolve_authors(session, data.authors)
    tags = await resolve_entities(session, data.entities)
    if data.slug:
        await ensure_slug_free(session, articles, KIND, data.slug)
        slug = data.slug
    else:
        slug = await generate_slug(session, articles, KIND, data.headline)
    rendered = rendered or await render_body_in_thread(data.body)
    article = Article(**new_article_columns(data, slug=slug, now=utcnow(), rendered=rendered))
    if data.auto_tag:
        tags = await _with_auto_tags(session, article, tags)
    session.add(article)
    await session.flush()
    await _replace_links(session, article.id, bylines, tags)
    await write_revisions(session, await snapshot_articles(session, [article.id]), viewer.key_name)
    return article


def _merge_image(current: dict[str, Any] | None, patch: ArticleImagePatch | MISSING | None) -> Any:
    """JSON merge patch (RFC 7396) of the image object."""
    if patch is None or patch is MISSING:
        return None
    merged = dict(current or {})
    for key, value in patch.model_dump(mode="json", exclude_unset=True).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    try:
        return ArticleImage.model_validate(merged).model_dump(mode="json")
    except ValueError as exc:
        raise ValidationFailed(
            "image needs a url; send the whole image object or null to remove it.",
            loc=["body", "image", "url"],
            error_type="missing",
        ) from exc


async def update_article(
    session: AsyncSession,
    ref: str,
    data: ArticleUpdate,
    viewer: Viewer,
    conditions: WriteConditions | None = None,
) -> dict[str, Any]:
    """Apply a JSON merge patch: absent fields stay, null clears, the image merges."""
    # A new body is rendered in a thread before the write begins: no lock waits on it.
    rendered = await render_body_in_thread(data.body) if isinstance(data.body, str) else None
    await begin_write(session)
    article = await lock_article(session, ref, viewer, conditions)
    return await save_patch(session, article.id, data, viewer, rendered=rendered)


async def save_patch(
    session: AsyncSession,
    article_id: uuid.UUID,
    data: ArticleUpdate,
    viewer: Viewer,
    *,
    rendered: RenderedBody | None = None,
) -> dict[str, Any]:
    """Apply ``data`` to the locked article and commit; the answer is the article as this
    write left it. A patch that changes nothing writes nothing."""
    article = await patch_article(session, article_id, data, viewer, rendered=rendered)
    if article is None:
        await session.rollback()
        return await get_article(session, str(article_id), viewer)
    return await commit_with_result(
        session, article.slug, lambda: get_article(session, str(article_id), viewer)
    )


async def patch_article(
    session: AsyncSession,
    article_id: uuid.UUID,
    data: ArticleUpdate,
    viewer: Viewer,
    *,
    rendered: RenderedBody | None = None,
) -> Article | None:
    """Apply a merge patch in the caller's write, without committing: the article, now at
    its next version with a revision, or None when the patch changes nothing; the caller
    then rolls back (the transaction or its savepoint) to drop the edits already flushed.
    ``rendered`` is the new body rendered beforehand; else it is rendered in a thread."""
    article = await session.get_one(Article, article_id, with_for_update=True)
    before = await snapshot_articles(session, [article.id])
    changes = data.model_dump(exclude_unset=True, exclude={"auto_tag"})

    new_slug = changes.pop("slug", None)
    if new_slug and new_slug != article.slug:
        await ensure_slug_free(session, articles, KIND, new_slug, owner_id=article.id)
        await record_slug_change(session, KIND, article.id, article.slug, new_slug)
        article.slug = new_slug
    bylines = (
        await resolve_authors(session, changes.pop("authors")) if "authors" in changes else None
    )
    tags = (
        await resolve_entities(session, changes.pop("entities")) if "entities" in changes else None
    )
    if "body" in changes:
        body = changes.pop("body")
        _apply_body(article, body, rendered or await render_body_in_thread(body))
    if "image" in changes:
        changes.pop("image")
        article.image = _merge_image(article.image, data.image if data.image else None)
    for name, value in changes.items():
        setattr(article, name, _stored(value))
    if article.status == ArticleStatus.published and article.published_at is None:
        article.published_at = utcnow()
    if data.auto_tag:
        tags = await _with_auto_tags(session, article, tags)
    await _replace_links(session, article.id, bylines, tags)
    await session.flush()

    after = await snapshot_articles(session, [article.id])
    if after[article.id]["content"] == before[article.id]["content"]:
        # Nothing really changed: no new version, no revision.
        return None
    article.version += 1
    article.updated_at = utcnow()
    after[article.id]["version"] = article.version
    await write_revisions(session, after, viewer.key_name)
    return article


async def trash_article(
    session: AsyncSession, ref: str, viewer: Viewer, conditions: WriteConditions | None = None
) -> None:
    """Move to the trash: hidden from every caller and list, kept whole. Not a content
    change, so neither the version nor the revisions change."""
    await begin_write(session)
    article = await lock_article(session, ref, viewer, conditions)
    article.deleted_at = utcnow()
    await session.commit()
