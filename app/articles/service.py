"""Article use cases that write: create, update and trash.

The reads they answer with live in ``app.articles.queries``.
"""

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import MISSING, AnyUrl
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.articles.models import (
    Article,
    ArticleCreate,
    ArticleImage,
    ArticleImagePatch,
    ArticleStatus,
    ArticleUpdate,
    article_authors_table,
    article_entities_table,
)
from app.articles.queries import (
    KIND,
    ArticleData,
    articles,
    current_etag,
    get_article,
    get_visible_row,
    resolve_authors,
    resolve_entities,
)
from app.articles.render import RenderedBody, render_body, render_body_in_thread
from app.articles.revisions import snapshot_articles, write_revisions
from app.auth import Viewer
from app.changes import begin_write
from app.conditional import WriteConditions
from app.db import utcnow
from app.entities.extract import entities_named_in
from app.errors import ValidationFailed
from app.slugs import (
    commit_with_result,
    ensure_slug_free,
    generate_slug,
    record_slug_change,
)


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


async def create_article(session: AsyncSession, data: ArticleCreate, viewer: Viewer) -> ArticleData:
    # Rendered in a thread before the write begins: no lock is held while it runs.
    rendered = await render_body_in_thread(data.body)
    await begin_write(session)

    async def add_and_read() -> ArticleData:
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
) -> ArticleData:
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
) -> ArticleData:
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
