"""Related articles: published stories that share entities with a given one."""

from typing import Any

from sqlalchemy import func, select

from app.articles.models import article_entities_table, publicly_visible
from app.articles.queries import (
    SUMMARY_COLUMNS,
    article_public,
    articles,
    dialect_of,
    get_visible_row,
    relation_columns,
)
from app.auth import Viewer
from app.db import Reader, utcnow


async def list_related(
    session: Reader, ref: str, *, viewer: Viewer, limit: int
) -> list[dict[str, Any]]:
    """Published articles sharing at least one entity with ``ref``, most shared first,
    then newest first; never ``ref`` itself. One query ranks them, whatever the limit."""
    row = await get_visible_row(session, ref, viewer)
    mine = article_entities_table.alias("mine")
    theirs = article_entities_table.alias("theirs")
    shared = (
        select(theirs.c.article_id, func.count().label("shared_entities"))
        .join(mine, mine.c.entity_id == theirs.c.entity_id)
        .where(mine.c.article_id == row.id, theirs.c.article_id != row.id)
        .group_by(theirs.c.article_id)
        .subquery("shared")
    )
    now = utcnow()
    query = (
        select(
            *SUMMARY_COLUMNS,
            *relation_columns(dialect_of(session)),
            shared.c.shared_entities,
        )
        .join(shared, shared.c.article_id == articles.c.id)
        .where(publicly_visible(now))
        .order_by(
            shared.c.shared_entities.desc(), articles.c.published_at.desc(), articles.c.id.desc()
        )
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [
        article_public(related, now) | {"shared_entities": related.shared_entities}
        for related in rows
    ]
