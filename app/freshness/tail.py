"""Each worker's view of the change log: which cache keys changed, and when.

On every cacheable request the worker reads, in one small statement, the entries it may
not have seen yet (see ``app.freshness.horizon``), the content epoch, and the latest
scheduled release whose time has come but that the release task has not recorded yet.
It numbers its readings (generations) and remembers, per key, the generation at which it
last changed. A response kept at generation ``g`` is still current while none of its keys
changed after ``g``: the check reads the database every worker and machine shares, so a
write acknowledged anywhere is seen by the very next read everywhere.
"""

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
from sqlalchemy.engine import make_url

from app.db import utcnow
from app.freshness.horizon import ALL_FINAL


@dataclass(frozen=True)
class LogReading:
    """What one look at the database found."""

    epoch: int
    horizon: int
    # (id, txid, keys) of the entries at or past the last horizon that list keys.
    entries: list[tuple[int, int, list[str]]]
    # The latest release due but not yet recorded, if any.
    due_release: datetime | None
    # The newest final entry that lists keys, as "txid.id".
    newest_stale: str | None


@dataclass(frozen=True)
class ClockReading:
    """What a request learns from the clock: the generation answers made for it are kept
    at, and the version of public content (``app.freshness.horizon.log_version``), for the
    ETags of lists."""

    generation: int
    public_version: str


class LogSource(Protocol):
    async def read(self, since: int) -> LogReading: ...

    async def close(self) -> None: ...


# One statement: the content epoch, the horizon, the latest release due but unrecorded,
# and the entries that list keys from the last horizon on. The first reading (``$1`` above
# every txid) takes the entries from its own horizon on: those it does not take are final,
# and an answer made after it already shows them; one it skipped that was not final yet
# would come back as new at the next reading and send away what had been kept since.
_POSTGRES_SQL = (
    "SELECT s.epoch, s.horizon, s.due, c.id, c.txid, c.keys::text, "
    "(SELECT n.txid || '.' || n.id FROM change n WHERE n.stale AND n.txid < s.horizon "
    "ORDER BY n.txid DESC, n.id DESC LIMIT 1) FROM (SELECT "
    "(SELECT value FROM content_version WHERE id = 1) AS epoch, "
    "pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS horizon, "
    "(SELECT max(due_at) FROM scheduled_release WHERE due_at <= $2) AS due"
    ") s LEFT JOIN change c ON c.stale AND c.txid >= least($1, s.horizon)"
)
# SQLite: txid is 0 and ids come in commit order; the horizon is the next id to see.
_SQLITE_SQL = (
    "SELECT s.epoch, s.horizon, s.due, c.id, c.txid, c.keys, "
    "(SELECT n.txid || '.' || n.id FROM change n WHERE n.stale "
    "ORDER BY n.txid DESC, n.id DESC LIMIT 1) FROM (SELECT "
    "(SELECT value FROM content_version WHERE id = 1) AS epoch, "
    "(SELECT coalesce(max(id), 0) + 1 FROM change) AS horizon, "
    "(SELECT max(due_at) FROM scheduled_release WHERE due_at <= ?) AS due"
    ") s LEFT JOIN change c ON c.stale AND c.id >= ?"
)


def _reading(rows: list[Any], parse_time: Any) -> LogReading:
    first = rows[0]
    entries = [(int(row[3]), int(row[4]), json.loads(row[5])) for row in rows if row[3] is not None]
    return LogReading(int(first[0] or 0), int(first[1]), entries, parse_time(first[2]), first[6])


class PostgresLog:
    """The reading over a small asyncpg pool of its own: a prepared statement and nothing
    else, far cheaper than a full session."""

    def __init__(self, pool: "asyncpg.Pool[Any]") -> None:
        self.pool = pool

    @classmethod
    async def connect(cls, database_url: str) -> "PostgresLog":
        dsn = make_url(database_url).set(drivername="postgresql")
        pool = await asyncpg.create_pool(
            dsn.render_as_string(hide_password=False),
            min_size=0,
            max_size=2,
            timeout=5,
            command_timeout=10,
        )
        return cls(pool)

    async def read(self, since: int) -> LogReading:
        rows = await self.pool.fetch(_POSTGRES_SQL, since, utcnow())
        return _reading(rows, lambda value: value)

    async def close(self) -> None:
        await self.pool.close()


class SQLiteLog:
    """The reading through a plain sqlite3 connection, inline: in WAL mode a read never
    waits for a writer, and this one takes microseconds."""

    def __init__(self, path: str) -> None:
        import sqlite3  # here: a PostgreSQL worker has no use for it (1 MB)

        self.connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.connection.execute("PRAGMA busy_timeout=2000")

    async def read(self, since: int) -> LogReading:
        now = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
        rows = self.connection.execute(_SQLITE_SQL, (now, min(since, ALL_FINAL))).fetchall()
        return _reading(rows, _sqlite_time)

    async def close(self) -> None:
        self.connection.close()


def _sqlite_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None


@dataclass
class KeyClock:
    """Per-key change generations of one worker, kept up to date from its readings."""

    source: LogSource
    generation: int = 0
    # Everything kept before this generation is stale (a new epoch, a release).
    flushed: int = 0
    changed: dict[str, int] = field(default_factory=dict)
    epoch: int | None = None
    # Nothing is kept before the first reading, so it reads only the entries not final
    # yet (see ``_POSTGRES_SQL``).
    horizon: int = ALL_FINAL
    applied: dict[int, int] = field(default_factory=dict)  # id → txid, not final yet
    due_release: datetime | None = None

    async def read(self) -> ClockReading:
        """Look at the database: the generation answers may be kept at, and the version
        of public content."""
        reading = await self.source.read(self.horizon)
        self.apply(reading)
        in_flight = sorted(i for i, txid, _ in reading.entries if txid >= reading.horizon)
        released = reading.due_release.isoformat() if reading.due_release else ""
        version = f"{reading.newest_stale}/{','.join(map(str, in_flight))}/{released}"
        return ClockReading(self.generation, version)

    def apply(self, reading: LogReading) -> None:
        fresh = [entry for entry in reading.entries if entry[0] not in self.applied]
        release_came = reading.due_release is not None and reading.due_release != self.due_release
        epoch_moved = self.epoch is not None and reading.epoch != self.epoch
        if fresh or release_came or epoch_moved:
            self.generation += 1
        for change_id, txid, keys in fresh:
            self.applied[change_id] = txid
            for key in keys:
                self.changed[key] = self.generation
        if release_came or epoch_moved:
            # A scheduled article went live and its entry is not written yet: which
            # answers it changes is not known, so none is kept.
            self.flushed = self.generation
        self.epoch, self.due_release = reading.epoch, reading.due_release
        self.horizon = reading.horizon
        # Entries below the new horizon are final: they can never be read again.
        self.applied = {i: t for i, t in self.applied.items() if t >= reading.horizon}

    def current(self, kept_at: int, keys: tuple[str, ...]) -> bool:
        """Whether an answer kept at generation ``kept_at`` with ``keys`` is current."""
        if kept_at < self.flushed:
            return False
        changed = self.changed
        return all(changed.get(key, 0) <= kept_at for key in keys)

    async def close(self) -> None:
        await self.source.close()


class FreshnessClock(Protocol):
    """What the response cache asks: a fresh reading, and whether a kept answer holds."""

    async def read(self) -> ClockReading: ...

    def current(self, kept_at: int, keys: tuple[str, ...]) -> bool: ...

    async def close(self) -> None: ...


class SharedReads:
    """Lets concurrent requests share one read of the clock, without any of them getting a
    reading taken before it arrived: a request waits for the next read to start, never
    joins one already under way. Under load one round trip then answers many requests."""

    def __init__(self, clock: FreshnessClock) -> None:
        self.clock = clock
        self.running: asyncio.Task[None] | None = None
        self.waiting: asyncio.Future[ClockReading] | None = None

    def current(self, kept_at: int, keys: tuple[str, ...]) -> bool:
        return self.clock.current(kept_at, keys)

    async def read(self) -> ClockReading:
        future = self.waiting
        if future is None:
            future = self.waiting = asyncio.get_running_loop().create_future()
            if self.running is None:
                self._start_next()
        return await asyncio.shield(future)

    def _start_next(self) -> None:
        future, self.waiting = self.waiting, None
        assert future is not None
        self.running = asyncio.ensure_future(self._read_into(future))

    async def _read_into(self, future: "asyncio.Future[ClockReading]") -> None:
        try:
            future.set_result(await self.clock.read())
        except Exception as exc:
            future.set_exception(exc)
        finally:
            self.running = None
            if self.waiting is not None:
                self._start_next()

    async def close(self) -> None:
        if self.running is not None:
            await asyncio.gather(self.running, return_exceptions=True)
        await self.clock.close()


async def open_clock(database_url: str) -> FreshnessClock | None:
    """The clock for this database, or None where there is no file to share."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return None
        return KeyClock(SQLiteLog(url.database))
    return SharedReads(KeyClock(await PostgresLog.connect(database_url)))
