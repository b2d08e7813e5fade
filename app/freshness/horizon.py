"""Reading the change log without ever skipping an entry.

On PostgreSQL, entry ids come from a sequence, and transactions commit in any order: an
entry numbered 7 may be visible while number 6, from a transaction still running, is not
yet. Every entry therefore carries its transaction's id (``txid``), and readers use the
oldest transaction still running when they look (``xmin`` of their snapshot): everything
from a transaction older than that is final, committed or gone. So

* the changes feed pages in ``(txid, id)`` order and hands out only entries with
  ``txid < xmin``: whatever commits later belongs to a transaction no older than that
  ``xmin``, so it sorts after every cursor already given out;
* a worker's cache reads, on each request, the entries with ``txid`` at or above the
  ``xmin`` it saw last time (the only ones that can be new), and remembers which of those
  it has applied;
* a version of "everything that makes a public answer stale" is the newest final entry
  plus the ids of the entries not final yet, which changes whenever one commits.

SQLite has one writer at a time, which takes its ids in commit order: there ``txid`` is 0,
the horizon is the newest id, and the same queries hold.
"""

from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Text,
    bindparam,
    cast,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Reader, utcnow
from app.freshness.models import changes_table, releases_table

# Above every txid: on SQLite, where every entry is final once it can be seen.
ALL_FINAL = 2**62


# Every change-log writer holds this advisory lock, shared, from the start of its
# transaction (no writer ever waits for another: nobody takes it exclusively), so that a
# reader can list the transactions of this database that may still write entries.
WRITERS_LOCK = 0x6E64_6368  # "ndch"
_WRITERS_SQL = text(
    "SELECT least(s.next, ("
    # A running transaction's 32-bit xid, widened to the 64-bit txid of the same epoch.
    " SELECT min(s.next - (((s.next % 4294967296) - x.transactionid::text::bigint"
    " + 4294967296) % 4294967296))"
    " FROM pg_locks a JOIN pg_locks x ON x.pid = a.pid AND x.locktype = 'transactionid'"
    " AND x.mode = 'ExclusiveLock' AND x.granted"
    " WHERE a.locktype = 'advisory' AND a.granted AND a.classid = 0 AND a.objsubid = 1"
    " AND a.objid = :lock AND a.database ="
    " (SELECT oid FROM pg_database WHERE datname = current_database())"
    ")) FROM (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS next) s"
)


# Built once: every write transaction runs it.
TAKE_WRITERS_LOCK = select(func.pg_advisory_xact_lock_shared(WRITERS_LOCK))


async def hold_writers_lock(session: AsyncSession) -> None:
    """Mark the session's transaction as a change-log writer (PostgreSQL), before it
    writes anything: see ``writers_horizon``."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(TAKE_WRITERS_LOCK)


async def writers_horizon(session: AsyncSession) -> int:
    """The first txid that may not be final yet among this database's writers, for a
    reader's *next* statement: every transaction that holds the writers' lock now has a
    txid at or above it, and any that takes it later gets a txid above it. Other
    databases' transactions on the same server do not hold readers back, as the
    snapshot's ``xmin`` would."""
    if session.get_bind().dialect.name != "postgresql":
        return ALL_FINAL
    return int((await session.execute(_WRITERS_SQL, {"lock": WRITERS_LOCK})).scalar_one())


@cache
def _log_version_query(dialect: str, public: bool) -> Select[Any]:
    """``log_version``'s statement, built once: it runs before every list and feed, and
    building it (and its cache key) cost more than running it."""
    changes = changes_table
    edge = select(horizon(dialect).label("w")).subquery()
    wanted = [changes.c.stale] if public else []
    newest_final = (
        select(cast(changes.c.txid, Text) + "." + cast(changes.c.id, Text))
        .where(*wanted, changes.c.txid < edge.c.w)
        .order_by(changes.c.txid.desc(), changes.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    in_flight: Any = literal("")
    if dialect == "postgresql":
        ids = cast(changes.c.id, Text)
        in_flight = (
            select(func.string_agg(ids, aggregate_order_by(literal(","), changes.c.id)))
            .where(*wanted, changes.c.txid >= edge.c.w)
            .scalar_subquery()
        )
    due = (
        select(func.max(releases_table.c.due_at))
        .where(releases_table.c.due_at <= bindparam("now", type_=releases_table.c.due_at.type))
        .scalar_subquery()
    )
    return select(newest_final, in_flight, due).select_from(edge)


def horizon(dialect: str) -> ColumnElement[int]:
    """The first txid that may not be final yet, as the reading statement sees it."""
    if dialect == "postgresql":
        xmin = func.pg_snapshot_xmin(func.pg_current_snapshot())
        return cast(cast(xmin, Text), BigInteger)
    return literal(ALL_FINAL, BigInteger)


async def log_version(session: Reader, *, public: bool) -> str:
    """A value that changes whenever an entry commits (``public``: an entry that makes
    some anonymous answer stale), or a scheduled article's time comes before the release
    task has recorded it; read in one statement."""
    query = _log_version_query(session.get_bind().dialect.name, public)
    row = (await session.execute(query, {"now": utcnow()})).one()
    released = row[2].isoformat() if row[2] is not None else ""
    return f"{row[0]}/{row[1] or ''}/{released}"
