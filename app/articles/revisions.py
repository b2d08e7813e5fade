"""Revisions: a copy of an article's writable fields at each version.

Recording works on many articles at once with a fixed number of statements, because
deleting or merging an entity can change the tags of thousands of articles in one go.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.articles.models import (
    article_authors_table,
    article_entities_table,
    articles_table,
    revisions_table,
)
from app.db import utcnow

WRITABLE_COLUMNS = (
    "slug",
    "headline",
    "standfirst",
    "body",
    "dateline",
    "language",
    "section",
    "source",
    "canonical_url",
    "image",
    "status",
    "published_at",
    "expires_at",
)


def revision_content(
    columns: Mapping[Any, Any],
    author_ids: Iterable[uuid.UUID],
    entity_ids: Iterable[uuid.UUID],
) -> dict[str, Any]:
    """What a revision keeps of an article: its writable columns, its authors as ids in
    byline order and its entities as ids in id order."""
    content = {name: columns[name] for name in WRITABLE_COLUMNS}
    for name in ("published_at", "expires_at"):
        moment = content[name]
        content[name] = moment.isoformat() if moment else None
    content["authors"] = [str(author_id) for author_id in author_ids]
    content["entities"] = sorted(str(entity_id) for entity_id in entity_ids)
    return content


async def snapshot_articles(
    session: AsyncSession, article_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The writable fields of each article as stored now, authors and entities as ids."""
    if not article_ids:
        return {}
    columns = [articles_table.c[name] for name in WRITABLE_COLUMNS]
    rows = (
        await session.execute(
            select(articles_table.c.id, articles_table.c.version, *columns).where(
                articles_table.c.id.in_(article_ids)
            )
        )
    ).all()
    bylines: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for article_id, author_id in await session.execute(
        select(article_authors_table.c.article_id, article_authors_table.c.author_id)
        .where(article_authors_table.c.article_id.in_(article_ids))
        .order_by(article_authors_table.c.article_id, article_authors_table.c.position)
    ):
        bylines[article_id].append(author_id)
    tags: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for article_id, entity_id in await session.execute(
        select(article_entities_table.c.article_id, article_entities_table.c.entity_id).where(
            article_entities_table.c.article_id.in_(article_ids)
        )
    ):
        tags[article_id].append(entity_id)
    return {
        row.id: {
            "version": row.version,
            "content": revision_content(row._mapping, bylines[row.id], tags[row.id]),
        }
        for row in rows
    }


def revision_rows(
    snapshots: dict[uuid.UUID, dict[str, Any]], key_name: str | None
) -> list[dict[str, Any]]:
    """The ``article_revision`` rows that keep ``snapshots`` (``{"version", "content"}``
    by article id), made by ``key_name`` now."""
    now = utcnow()
    return [
        {
            "id": uuid.uuid4(),
            "article_id": article_id,
            "version": snapshot["version"],
            "key_name": key_name,
            "content": snapshot["content"],
            "created_at": now,
        }
        for article_id, snapshot in snapshots.items()
    ]


async def write_revisions(
    session: AsyncSession, snapshots: dict[uuid.UUID, dict[str, Any]], key_name: str | None
) -> None:
    if snapshots:
        await session.execute(insert(revisions_table), revision_rows(snapshots, key_name))


async def record_revisions(
    session: AsyncSession, article_ids: Sequence[uuid.UUID], key_name: str | None
) -> None:
    """Give each article a new version and a revision of its current content (used when
    a change elsewhere, such as removing an entity, altered its tags)."""
    if not article_ids:
        return
    await session.execute(
        update(articles_table)
        .where(articles_table.c.id.in_(article_ids))
        .values(version=articles_table.c.version + 1, updated_at=utcnow())
    )
    await write_revisions(session, await snapshot_articles(session, article_ids), key_name)
