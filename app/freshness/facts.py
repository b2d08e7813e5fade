"""What the change log needs to know of an article, read before and after a write: enough
to tell which event it was and which anonymous answers it made stale."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, Uuid, cast, literal, null, select, union_all

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
    deleted_at: datetime | None
    version: int
    # Waiting for the release task: its time may have come, but nobody was told yet.
    pending_release: bool
    authors: set[uuid.UUID] = field(default_factory=set)
    entities: set[uuid.UUID] = field(default_factory=set)

    def visible(self, now: datetime) -> bool:
        """Visible to anonymous callers now."""
        return is_publicly_visible(self, now)

    def announced(self, now: datetime) -> bool:
        """Visible as far as the change log has told: a scheduled article whose time has
        come but whose ``article.published`` is not recorded yet counts as not visible."""
        return self.visible(now) and not self.pending_release

    def scheduled(self, now: datetime) -> bool:
        return bool(
            self.deleted_at is None
            and self.status == "published"
            and self.published_at is not None
            and self.published_at > now
        )


def facts_query(ids: Sequence[uuid.UUID]) -> Any:
    """One statement: each article's head, then its author ids, then its entity ids."""
    no_id = cast(null(), Uuid)
    no_text = cast(null(), String)
    no_time = cast(null(), UTCDateTime())
    no_number = cast(null(), Integer)
    no_flag = cast(null(), Boolean)
    pending = (
        select(releases_table.c.article_id)
        .where(releases_table.c.article_id == articles.c.id)
        .exists()
    )
    head = select(
        literal(0).label("part"),
        articles.c.id.label("article_id"),
        no_id.label("other_id"),
        articles.c.slug.label("slug"),
        articles.c.status.label("status"),
        articles.c.published_at.label("published_at"),
        articles.c.deleted_at.label("deleted_at"),
        articles.c.version.label("version"),
        pending.label("pending_release"),
    ).where(articles.c.id.in_(ids))
    bylines = select(
        literal(1),
        article_authors_table.c.article_id,
        article_authors_table.c.author_id,
        no_text,
        no_text,
        no_time,
        no_time,
        no_number,
        no_flag,
    ).where(article_authors_table.c.article_id.in_(ids))
    tags = select(
        literal(2),
        article_entities_table.c.article_id,
        article_entities_table.c.entity_id,
        no_text,
        no_text,
        no_time,
        no_time,
        no_number,
        no_flag,
    ).where(article_entities_table.c.article_id.in_(ids))
    united = union_all(head, bylines, tags).subquery()
    return select(united).order_by(united.c.part)


def parse_facts(rows: Iterable[Any]) -> dict[uuid.UUID, ArticleFacts]:
    found: dict[uuid.UUID, ArticleFacts] = {}
    for row in rows:
        if row.part == 0:
            found[row.article_id] = ArticleFacts(
                id=row.article_id,
                slug=row.slug,
                status=str(row.status),
                published_at=row.published_at,
                deleted_at=row.deleted_at,
                version=row.version,
                pending_release=bool(row.pending_release),
            )
        elif (facts := found.get(row.article_id)) is not None:
            (facts.authors if row.part == 1 else facts.entities).add(row.other_id)
    return found


def chunks(ids: Sequence[uuid.UUID]) -> list[Sequence[uuid.UUID]]:
    return [ids[start : start + _IDS_PER_QUERY] for start in range(0, len(ids), _IDS_PER_QUERY)]
