"""What the change log needs to know of an article, read before and after a write: enough
to tell which event it was and which anonymous answers it made stale."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, Uuid, cast, literal, null, select, union_all

from app.articles.models import (
    article_authors_table,
    article_entities_table,
    articles_table,
    is_publicly_visible,
)
from app.db import UTCDateTime
from app.freshness.models import releases_table

articles = articles_table
# Ids per query: well under SQLite's limit of bound parameters.
_IDS_PER_QUERY = 2_000


@dataclass
class ArticleFacts:
    id: uuid.UUID
    slug: str
    status: str
    published_at: datetime | None
    expires_at: datetime | None
    deleted_at: datetime | None
    version: int
    # When the release task is to record a change of visibility (going live or expiring):
    # that time may have come, but nobody was told yet.
    pending_due_at: datetime | None
    authors: set[uuid.UUID] = field(default_factory=set)
    entities: set[uuid.UUID] = field(default_factory=set)

    def visible(self, now: datetime) -> bool:
        """Visible to anonymous callers now."""
        return is_publicly_visible(self, now)

    def announced(self, now: datetime) -> bool:
        """Visible as far as the change log has told: while a change of visibility whose
        time has come is not recorded yet, the log still says what held just before it (a
        story due to go live counts as not visible, one due to expire as visible)."""
        due = self.pending_due_at
        if due is not None and due <= now:
            return self.visible(due - timedelta(microseconds=1))
        return self.visible(now)

    def next_change(self, now: datetime) -> datetime | None:
        """The next moment time alone changes whether anonymous callers see it: its
        scheduled publication, or the expiry of a published story; None if none."""
        if self.deleted_at is not None or self.status != "published":
            return None
        if self.published_at is not None and self.published_at > now:
            return self.published_at
        if self.expires_at is not None and self.expires_at > now:
            return self.expires_at
        return None


def facts_query(ids: Sequence[uuid.UUID]) -> Any:
    """One statement: each article's head, then its author ids, then its entity ids."""
    no_id = cast(null(), Uuid)
    no_text = cast(null(), String)
    no_time = cast(null(), UTCDateTime())
    no_number = cast(null(), Integer)
    pending = (
        select(releases_table.c.due_at)
        .where(releases_table.c.article_id == articles.c.id)
        .scalar_subquery()
    )
    head = select(
        literal(0).label("part"),
        articles.c.id.label("article_id"),
        no_id.label("other_id"),
        articles.c.slug.label("slug"),
        articles.c.status.label("status"),
        articles.c.published_at.label("published_at"),
        articles.c.expires_at.label("expires_at"),
        articles.c.deleted_at.label("deleted_at"),
        articles.c.version.label("version"),
        pending.label("pending_due_at"),
    ).where(articles.c.id.in_(ids))
    bylines = select(
        literal(1),
        article_authors_table.c.article_id,
        article_authors_table.c.author_id,
        no_text,
        no_text,
        no_time,
        no_time,
        no_time,
        no_number,
        no_time,
    ).where(article_authors_table.c.article_id.in_(ids))
    tags = select(
        literal(2),
        article_entities_table.c.article_id,
        article_entities_table.c.entity_id,
        no_text,
        no_text,
        no_time,
        no_time,
        no_time,
        no_number,
        no_time,
    ).where(article_entities_table.c.article_id.in_(ids))
    united = union_all(head, bylines, tags).subquery()
    return select(united).order_by(united.c.part)


def facts_of(
    row: Any,
    article_id: uuid.UUID,
    pending_due_at: datetime | None,
    authors: Iterable[uuid.UUID] = (),
    entities: Iterable[uuid.UUID] = (),
) -> ArticleFacts:
    """The facts of an article from a row with its slug, status, dates and version."""
    return ArticleFacts(
        id=article_id,
        slug=row.slug,
        status=str(row.status),
        published_at=row.published_at,
        expires_at=row.expires_at,
        deleted_at=row.deleted_at,
        version=row.version,
        pending_due_at=pending_due_at,
        authors=set(authors),
        entities=set(entities),
    )


def parse_facts(rows: Iterable[Any]) -> dict[uuid.UUID, ArticleFacts]:
    found: dict[uuid.UUID, ArticleFacts] = {}
    for row in rows:
        if row.part == 0:
            found[row.article_id] = facts_of(row, row.article_id, row.pending_due_at)
        elif (facts := found.get(row.article_id)) is not None:
            (facts.authors if row.part == 1 else facts.entities).add(row.other_id)
    return found


def chunks(ids: Sequence[uuid.UUID]) -> list[Sequence[uuid.UUID]]:
    return [ids[start : start + _IDS_PER_QUERY] for start in range(0, len(ids), _IDS_PER_QUERY)]
