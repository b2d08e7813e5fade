"""Article use cases that write: create, update and trash.

The reads they answer with live in ``app.articles.queries``.
"""

import uuid
from datetime import UTC, datetime
from enum import Enum
from functools import cache, lru_cache
from typing import Any

from pydantic import MISSING, AnyUrl
from sqlalchemy import (
    Integer,
    bindparam,
    cast,
    delete,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.visitors import replacement_traverse

from app.articles.etags import change_time_columns
from app.articles.models import (
    Article,
    ArticleCreate,
    ArticleImage,
    ArticleImagePatch,
    ArticleStatus,
    ArticleUpdate,
    CorrectionCreate,
    article_authors_table,
    article_entities_table,
    corrections_table,
    expiry_follows_publication,
)
from app.articles.queries import (
    BODY_COLUMNS,
    KIND,
    SUMMARY_COLUMNS,
    ArticleData,
    Correction,
    article_public,
    articles,
    current_etag,
    dialect_of,
    get_article,
    get_visible_row,
    relation_columns,
    resolve_authors,
    resolve_entities,
    visible_to,
)
from app.articles.render import RenderedBody, render_body, render_body_in_thread
from app.articles.revisions import (
    WRITABLE_COLUMNS,
    record_revisions,
    revision_content,
    snapshot_articles,
    write_revisions,
)
from app.auth import Viewer
from app.db import first_record, utcnow
from app.entities.extract import entities_named_in
from app.errors import NotFound, ValidationFailed
from app.freshness.facts import ArticleFacts, facts_of
from app.freshness.log import changes_of, write_transaction
from app.freshness.models import releases_table
from app.freshness.validators import WriteConditions
from app.slugs import (
    commit_with_result,
    ensure_slug_free,
    generate_slug,
    parse_ref,
    record_slug_change,
    slug_conflicts,
)

# What a write reads of the article it locks: enough to check who may see it, to tell
# what changed (its revision content) and to record the change.
_LOCKED_COLUMNS = (
    articles.c.id,
    articles.c.version,
    articles.c.deleted_at,
    articles.c.body_text,
    *(articles.c[name] for name in WRITABLE_COLUMNS),
)


@cache
def _lock_query(by_id: bool) -> Any:
    """The article by id (or slug), locked until commit. Built once: the statement and
    its cache key are reused by every write."""
    column = articles.c.id if by_id else articles.c.slug
    return select(*_LOCKED_COLUMNS).where(column == bindparam("ref")).with_for_update()


async def _locked_row(session: AsyncSession, ref: str) -> Any | None:
    ref_id = parse_ref(ref)
    query = _lock_query(ref_id is not None)
    return first_record(await session.execute(query, {"ref": ref_id or ref}))


async def lock_article(
    session: AsyncSession, ref: str, viewer: Viewer, conditions: WriteConditions | None
) -> Any:
    """The visible article ``ref`` names, locked for this write (``_LOCKED_COLUMNS``); a
    stale ``If-Match`` raises 412. The lock is held until commit, so the check and the
    write are one step. Locking is the first read: whatever it returns is current."""
    row = await _locked_row(session, ref)
    if row is None or not visible_to(row, viewer, utcnow()):
        # Not there as named: a read of ``ref`` tells an old slug's redirect from a 404.
        await get_visible_row(session, ref, viewer)
        raise NotFound(f"No article with ref {ref!r}.")
    if conditions is not None and conditions.if_match is not None:
        conditions.check(await current_etag(session, row.id))
    return row


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
    session: AsyncSession, texts: list[str | None], tags: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``tags`` plus every entity that ``texts`` (headline, standfirst, body text) name."""
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


def _stored(value: Any) -> Any:
    """A validated input value as the database keeps it."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, AnyUrl):
        return str(value)
    if isinstance(value, datetime):
        # In UTC, as it reads back: a patch is compared with the stored row before writing.
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value


async def create_article(session: AsyncSession, data: ArticleCreate, viewer: Viewer) -> ArticleData:
    # Rendered in a thread before the write begins: no lock is held while it runs.
    rendered = await render_body_in_thread(data.body)

    async def add_and_read() -> ArticleData:
        article = await add_article(session, data, viewer, rendered=rendered)
        return await get_article(session, str(article.id), viewer)

    async with write_transaction(session):
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
        "expires_at": data.expires_at,
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
        texts = [article.headline, article.standfirst, article.body_text]
        tags = await _with_auto_tags(session, texts, tags)
    session.add(article)
    await session.flush()
    changes_of(session).created_articles([article.id])
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
) -> ArticleData:
    """Apply a JSON merge patch: absent fields stay, null clears, the image merges."""
    # A new body is rendered in a thread before the write begins: no lock waits on it.
    rendered = await render_body_in_thread(data.body) if isinstance(data.body, str) else None
    async with write_transaction(session):
        locked = await lock_article(session, ref, viewer, conditions)
        return await save_patch(session, locked, data, viewer, rendered=rendered)


async def save_patch(
    session: AsyncSession,
    locked: Any,
    data: ArticleUpdate,
    viewer: Viewer,
    *,
    rendered: RenderedBody | None = None,
) -> ArticleData:
    """Apply ``data`` to the article ``lock_article`` locked and commit; the answer is the
    article as this write left it. A patch that changes nothing writes nothing."""
    new_slug = data.slug if isinstance(data.slug, str) else None
    async with slug_conflicts(session, new_slug):
        written = await _apply_patch(session, locked, data, viewer, rendered=rendered)
        if written is None:
            # Read before the rollback: a transaction begun after it would announce
            # itself as a writer again (``app.freshness.log``) for nothing.
            article = await get_article(session, str(locked.id), viewer)
            await session.rollback()
            return article
        article = article_public(written, utcnow())
        await session.commit()
    return article


async def patch_article(
    session: AsyncSession,
    article_id: uuid.UUID,
    data: ArticleUpdate,
    viewer: Viewer,
    *,
    rendered: RenderedBody | None = None,
) -> Any | None:
    """Lock the article and apply a merge patch in the caller's write, without
    committing: the article as written (``_apply_patch``), now at its next version with
    a revision, or None when the patch changes nothing, in which case nothing was
    written. ``rendered`` is the new body rendered beforehand; else it is rendered in a thread."""
    locked = await _locked_row(session, str(article_id))
    if locked is None:
        raise NotFound(f"No article with id {article_id}.")
    written = await _apply_patch(session, locked, data, viewer, rendered=rendered)
    if written is None:
        # The caller may change the article otherwise (an import adds corrections):
        # the change log needs it as it was, which an unchanged patch did not record.
        await changes_of(session).before_articles(session, [article_id])
    return written


async def _apply_patch(
    session: AsyncSession,
    locked: Any,
    data: ArticleUpdate,
    viewer: Viewer,
    *,
    rendered: RenderedBody | None,
) -> Any | None:
    """``patch_article`` for the article row ``locked``. What the patch changes is worked
    out before anything is written, so a patch that changes nothing writes nothing; else
    one UPDATE writes the changed columns and the next version, and returns the article
    as a read shows it (with its bylines and tags), which is also what its revision and
    change-log entry are made of. Links are read only when the patch may change them."""
    article_id = locked.id
    changes = data.model_dump(exclude_unset=True, exclude={"auto_tag"})
    bylines = (
        await resolve_authors(session, changes.pop("authors")) if "authors" in changes else None
    )
    tags = (
        await resolve_entities(session, changes.pop("entities")) if "entities" in changes else None
    )
    values = await _new_values(session, locked, data, changes, rendered)
    current = {**locked._mapping, **values}
    links_before: tuple[list[uuid.UUID], list[uuid.UUID]] = ([], [])
    if bylines is not None or tags is not None or data.auto_tag:
        links_before = await _link_ids(session, article_id)
    if data.auto_tag:
        texts = [current["headline"], current["standfirst"], current["body_text"]]
        if tags is None:
            tags = [{"id": entity_id} for entity_id in links_before[1]]
        tags = await _with_auto_tags(session, texts, tags)
    links_after = (
        [author["id"] for author in bylines] if bylines is not None else links_before[0],
        [tag["id"] for tag in tags] if tags is not None else links_before[1],
    )
    if revision_content(current, *links_after) == revision_content(locked._mapping, *links_before):
        return None  # nothing really changed: no new version, no revision
    await _replace_links(
        session,
        article_id,
        bylines if links_after[0] != links_before[0] else None,
        tags if set(links_after[1]) != set(links_before[1]) else None,
    )
    written = await _write_columns(session, article_id, values)
    authors_after = [uuid.UUID(author["id"]) for author in written.authors]
    entities_after = [uuid.UUID(tag["id"]) for tag in written.entities]
    if bylines is None and tags is None:
        links_before = (authors_after, entities_after)  # not read: they did not change
    changes_log = changes_of(session)
    changes_log.before_article(_facts(locked, written.pending_due_at, *links_before))
    changes_log.after_article(
        session, _facts(written, written.pending_due_at, authors_after, entities_after)
    )
    content = revision_content(written._mapping, authors_after, entities_after)
    await write_revisions(
        session, {article_id: {"version": written.version, "content": content}}, viewer.key_name
    )
    return written


async def _new_values(
    session: AsyncSession,
    locked: Any,
    data: ArticleUpdate,
    changes: dict[str, Any],
    rendered: RenderedBody | None,
) -> dict[str, Any]:
    """The article's columns that ``changes`` (the patch, less its links) set, as stored;
    a new slug is checked free and the old one kept redirecting."""
    values: dict[str, Any] = {}
    new_slug = changes.pop("slug", None)
    if new_slug and new_slug != locked.slug:
        await ensure_slug_free(session, articles, KIND, new_slug, owner_id=locked.id)
        await record_slug_change(session, KIND, locked.id, locked.slug, new_slug)
        values["slug"] = new_slug
    if "body" in changes:
        body = changes.pop("body")
        values.update(body_columns(body, rendered or await render_body_in_thread(body)))
    if "image" in changes:
        changes.pop("image")
        values["image"] = _merge_image(locked.image, data.image if data.image else None)
    values.update((name, _stored(value)) for name, value in changes.items())
    status = values.get("status", locked.status)
    published_at = values.get("published_at", locked.published_at)
    if status == ArticleStatus.published and published_at is None:
        values["published_at"] = published_at = utcnow()
    if not expiry_follows_publication(published_at, values.get("expires_at", locked.expires_at)):
        raise ValidationFailed(
            "expires_at must be later than published_at.",
            loc=["body", "expires_at"],
            error_type="value_error",
        )
    return values


async def _write_columns(
    session: AsyncSession, article_id: uuid.UUID, values: dict[str, Any]
) -> Any:
    """One UPDATE ... RETURNING (``_patch_statement``): ``values`` and the next version
    (the row is locked by this transaction, so there is one)."""
    params = {_value_name(name): value for name, value in values.items()}
    query = _patch_statement(dialect_of(session), tuple(sorted(values)))
    result = await session.execute(
        query, {"article_id": article_id, "written_at": utcnow(), **params}
    )
    return first_record(result)


def _value_name(column: str) -> str:
    # A bound parameter may not share the name of a column the UPDATE sets.
    return f"new_{column}"


@lru_cache(maxsize=256)
def _patch_statement(dialect: str, columns: tuple[str, ...]) -> Any:
    """UPDATE of ``columns`` (and the next version) of one article, returning the article
    as a read of it does and the release its change of visibility waits for. One
    statement per set of columns, built once: building it cost more than running it."""
    pending = (
        select(releases_table.c.due_at)
        .where(releases_table.c.article_id == bindparam("article_id"))
        .scalar_subquery()
        .label("pending_due_at")
    )
    return (
        update(articles)
        .where(articles.c.id == bindparam("article_id", type_=articles.c.id.type))
        .values(
            {
                **{
                    name: bindparam(_value_name(name), type_=articles.c[name].type)
                    for name in columns
                },
                "version": articles.c.version + 1,
                "updated_at": bindparam("written_at", type_=articles.c.updated_at.type),
            }
        )
        .returning(
            *SUMMARY_COLUMNS,
            *BODY_COLUMNS,
            *(_of_the_article(column) for column in change_time_columns()),
            *(_of_the_article(column) for column in relation_columns(dialect)),
            pending,
        )
    )


def _of_the_article(column: Any) -> Any:
    """A read's column correlated to the article row, made to name the article by its
    bound id instead: inside RETURNING, SQLite names no table, so the correlation would
    read as the inner table's own ``id``."""
    article_id = bindparam("article_id", type_=articles.c.id.type)

    def by_bound_id(element: Any, **_kw: Any) -> Any:
        return article_id if element is articles.c.id else None

    return replacement_traverse(column, {}, by_bound_id)


def _facts(
    row: Any,
    pending_due_at: datetime | None,
    author_ids: list[uuid.UUID],
    entity_ids: list[uuid.UUID],
) -> ArticleFacts:
    return facts_of(row, row.id, pending_due_at, author_ids, entity_ids)


@cache
def _link_ids_query() -> Any:
    """One statement: the article's author ids in byline order, then its entity ids."""
    links, tag_links = article_authors_table, article_entities_table
    bylines = select(
        literal(1).label("part"), links.c.position.label("position"), links.c.author_id.label("id")
    ).where(links.c.article_id == bindparam("id"))
    tags = select(literal(2), cast(literal(0), Integer), tag_links.c.entity_id).where(
        tag_links.c.article_id == bindparam("id")
    )
    united = union_all(bylines, tags).subquery()
    return select(united.c.part, united.c.id).order_by(united.c.part, united.c.position)


async def _link_ids(
    session: AsyncSession, article_id: uuid.UUID
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    authors: list[uuid.UUID] = []
    entities: list[uuid.UUID] = []
    for part, linked_id in await session.execute(_link_ids_query(), {"id": article_id}):
        (authors if part == 1 else entities).append(linked_id)
    return authors, entities


async def trash_article(
    session: AsyncSession, ref: str, viewer: Viewer, conditions: WriteConditions | None = None
) -> None:
    """Move to the trash: hidden from every caller and list, kept whole. Not a content
    change, so neither the version nor the revisions change."""
    async with write_transaction(session) as changes:
        locked = await lock_article(session, ref, viewer, conditions)
        await changes.before_articles(session, [locked.id])
        await session.execute(
            update(articles).where(articles.c.id == locked.id).values(deleted_at=utcnow())
        )


async def add_correction(
    session: AsyncSession,
    ref: str,
    data: CorrectionCreate,
    viewer: Viewer,
    conditions: WriteConditions | None = None,
) -> tuple[Correction, str]:
    """Append a correction: the article moves to its next version (``updated_at`` now,
    so feeds show the entry as updated) with a revision, as for any change. The
    correction, and the article's slug."""
    async with write_transaction(session) as changes:
        locked = await lock_article(session, ref, viewer, conditions)
        await changes.before_articles(session, [locked.id])
        article_id, slug = locked.id, locked.slug
        correction = Correction(id=str(uuid.uuid4()), text=data.text, created_at=utcnow())
        await append_corrections(session, article_id, [correction])
        await record_revisions(session, [article_id], viewer.key_name)
    return correction, slug


async def append_corrections(
    session: AsyncSession, article_id: uuid.UUID, corrections: list[Correction]
) -> None:
    """Store corrections of one article as given (an import keeps their ids and times)."""
    if corrections:
        await session.execute(
            insert(corrections_table),
            [
                {
                    "id": uuid.UUID(note["id"]),
                    "article_id": article_id,
                    "text": note["text"],
                    "created_at": note["created_at"],
                }
                for note in corrections
            ],
        )
