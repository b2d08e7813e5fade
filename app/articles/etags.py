"""Validators of a single article: its ETag and Last-Modified.

An article's JSON is fixed by its own row at one ``version`` (every change to it bumps the
version; trash and restore leave the content, and so the tag, alone), by the status shown
(``scheduled`` turns into ``published`` with time alone), and by the ``id``, ``slug`` and
``name`` (and ``type``) of its authors and entities, which change when those are edited.
The tag is a hash over exactly these, so answering ``If-None-Match`` takes one query that
reads no body.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)

from app.articles.models import (
    ArticleStatus,
    article_authors_table,
    article_entities_table,
    articles_table,
    is_expired,
    shown_status,
)
from app.authors.models import authors_table as authors
from app.db import Reader, UTCDateTime
from app.entities.models import entities_table as entities
from app.freshness.validators import Validators, make_etag
from app.slugs import parse_ref

articles = articles_table


def article_etag(article: Mapping[str, Any]) -> str:
    """The ETag of an article representation (a dict as the API returns it)."""
    parts: list[Any] = ["article", article["id"], article["version"], article["status"]]
    for author in article["authors"]:
        parts += ["a", author["id"], author["slug"], author["name"]]
    # Tags are shown ordered by name, so their set (with names) fixes their order.
    for tag in sorted(article["entities"], key=lambda tag: str(tag["id"])):
        parts += ["e", tag["id"], tag["slug"], tag["name"], tag["type"]]
    return make_etag(*parts)


def last_modified(
    row: Any,
    authors_changed_at: datetime | None,
    entities_changed_at: datetime | None,
    now: datetime,
) -> datetime:
    """When the representation last changed: the article's own update, an edit of one of
    its authors or entities, or the moment a scheduled article went live."""
    moments: list[datetime | None] = [row.updated_at, authors_changed_at, entities_changed_at]
    if row.status == ArticleStatus.published and row.published_at and row.published_at <= now:
        moments.append(row.published_at)
    if row.status == ArticleStatus.published and is_expired(row, now):
        moments.append(row.expires_at)
    return max(moment for moment in moments if moment is not None)


@cache  # built once: the constructs are immutable, and building them costs a read time
def change_time_columns() -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """Latest ``updated_at`` of an article's authors and of its entities, as correlated
    scalar subqueries to add to a query of the article row."""
    links = article_authors_table
    tag_links = article_entities_table
    authors_changed = (
        select(func.max(authors.c.updated_at))
        .select_from(links.join(authors, authors.c.id == links.c.author_id))
        .where(links.c.article_id == articles.c.id)
        .correlate(articles)
        .scalar_subquery()
        .label("authors_changed_at")
    )
    entities_changed = (
        select(func.max(entities.c.updated_at))
        .select_from(tag_links.join(entities, entities.c.id == tag_links.c.entity_id))
        .where(tag_links.c.article_id == articles.c.id)
        .correlate(articles)
        .scalar_subquery()
        .label("entities_changed_at")
    )
    return authors_changed, entities_changed


def validators_of(row: Any, article: Mapping[str, Any], now: datetime) -> Validators:
    """Validators of a loaded article; ``row`` must carry ``change_time_columns()``."""
    return Validators(
        article_etag(article),
        last_modified(row, row.authors_changed_at, row.entities_changed_at, now),
    )


@dataclass(frozen=True)
class ArticleState:
    """An article's head (id, status, dates; no body) and its current validators."""

    row: Any
    validators: Validators


@cache
def _state_query(by_id: bool) -> Any:
    """One statement: the article head, then its bylines in order, then its tags. Built
    once for each kind of ref, the ref a bound parameter: building it took longer than the
    database takes to run it, on the path of every conditional GET of a story."""
    column = articles.c.id if by_id else articles.c.slug
    condition: ColumnElement[bool] = column == bindparam("ref", type_=column.type)
    no_text = cast(null(), String)
    no_time = cast(null(), UTCDateTime())
    head = select(
        literal(0).label("part"),
        articles.c.version.label("position"),
        articles.c.id.label("id"),
        articles.c.slug.label("slug"),
        articles.c.status.label("name"),
        no_text.label("type"),
        articles.c.updated_at.label("changed_at"),
        articles.c.published_at.label("published_at"),
        articles.c.deleted_at.label("deleted_at"),
        articles.c.expires_at.label("expires_at"),
    ).where(condition)
    links = article_authors_table
    bylines = (
        select(
            literal(1),
            links.c.position,
            authors.c.id,
            authors.c.slug,
            authors.c.name,
            no_text,
            authors.c.updated_at,
            no_time,
            no_time,
            no_time,
        )
        .select_from(
            links.join(authors, authors.c.id == links.c.author_id).join(
                articles, articles.c.id == links.c.article_id
            )
        )
        .where(condition)
    )
    tag_links = article_entities_table
    tags = (
        select(
            literal(2),
            cast(literal(0), Integer),
            entities.c.id,
            entities.c.slug,
            entities.c.name,
            entities.c.type,
            entities.c.updated_at,
            no_time,
            no_time,
            no_time,
        )
        .select_from(
            tag_links.join(entities, entities.c.id == tag_links.c.entity_id).join(
                articles, articles.c.id == tag_links.c.article_id
            )
        )
        .where(condition)
    )
    united = union_all(head, bylines, tags).subquery()
    return select(united).order_by(united.c.part, united.c.position)


@dataclass(frozen=True)
class _Head:
    id: uuid.UUID
    version: int
    slug: str
    status: str
    updated_at: datetime
    published_at: datetime | None
    deleted_at: datetime | None
    expires_at: datetime | None


async def load_article_state(session: Reader, ref: str, now: datetime) -> ArticleState | None:
    """The current validators of the article ``ref`` names (trash included), or None."""
    head: _Head | None = None
    bylines: list[dict[str, Any]] = []
    tags: list[dict[str, Any]] = []
    authors_changed: list[datetime] = []
    entities_changed: list[datetime] = []
    ref_id = parse_ref(ref)
    rows = await session.execute(_state_query(ref_id is not None), {"ref": ref_id or ref})
    for row in rows:
        if row.part == 0:
            head = _Head(
                row.id,
                row.position,
                row.slug,
                row.name,
                row.changed_at,
                row.published_at,
                row.deleted_at,
                row.expires_at,
            )
        elif row.part == 1:
            bylines.append({"id": row.id, "slug": row.slug, "name": row.name})
            authors_changed.append(row.changed_at)
        else:
            tags.append({"id": row.id, "slug": row.slug, "name": row.name, "type": row.type})
            entities_changed.append(row.changed_at)
    if head is None:
        return None
    shown = {
        "id": head.id,
        "version": head.version,
        "status": shown_status(head, now),
        "authors": bylines,
        "entities": tags,
    }
    validators = Validators(
        article_etag(shown),
        last_modified(head, _latest(authors_changed), _latest(entities_changed), now),
    )
    return ArticleState(head, validators)


def _latest(moments: Sequence[datetime]) -> datetime | None:
    return max(moments) if moments else None
