"""Scheduled articles going live: their ``article.published`` entry is written when their
time comes, whether or not anyone reads them then.

Every worker of ``newsdesk serve`` runs ``release_loop``; each round claims the due
articles with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL), so whatever the number of
workers and machines one of them records each release, once. SQLite's single writer does
the same by itself. A release missed while no server ran is recorded at the next start.
An editor saving a due article first records it in that save instead (its entry tells
from the list below that nobody was told yet), and the round then finds nothing to do.
"""

import asyncio
import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.articles.models import articles_table
from app.db import is_connection_error, utcnow
from app.freshness.log import write_transaction
from app.freshness.models import releases_table

logger = logging.getLogger("newsdesk.releases")

# Rounds are this far apart; an entry is due within 5 seconds of its time.
INTERVAL_SECONDS = 1.0
_PER_ROUND = 200


async def due_release(session: AsyncSession, now: datetime) -> datetime | None:
    """The latest release whose time has come and that is not recorded yet, if any."""
    query = select(func.max(releases_table.c.due_at)).where(releases_table.c.due_at <= now)
    released: datetime | None = (await session.execute(query)).scalar_one_or_none()
    return released


async def release_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    write_sessionmaker: async_sessionmaker[AsyncSession],
) -> int:
    """Record the releases whose time has come; how many this call recorded."""
    async with sessionmaker() as session:
        if await due_release(session, utcnow()) is None:
            return 0
    releases, articles = releases_table, articles_table
    async with write_sessionmaker() as session, write_transaction(session) as changes:
        claimed = (
            select(releases.c.article_id)
            .join(articles, articles.c.id == releases.c.article_id)
            .where(releases.c.due_at <= utcnow())
            .order_by(releases.c.due_at, releases.c.article_id)
            .limit(_PER_ROUND)
            .with_for_update(of=[releases, articles], skip_locked=True)
        )
        ids = list((await session.execute(claimed)).scalars())
        # The commit at the end of the block writes each one's article.published.
        await changes.before_articles(session, ids)
        return len(ids)


async def release_loop(
    sessionmaker: async_sessionmaker[AsyncSession],
    write_sessionmaker: async_sessionmaker[AsyncSession],
    interval: float = INTERVAL_SECONDS,
) -> None:
    """Run ``release_due`` every ``interval`` seconds until cancelled."""
    while True:
        try:
            while await release_due(sessionmaker, write_sessionmaker) == _PER_ROUND:
                pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The database may be away for a while; the next round tries again.
            if not is_connection_error(exc):
                logger.exception("recording scheduled releases failed")
        await asyncio.sleep(interval)
