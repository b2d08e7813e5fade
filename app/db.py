"""Database plumbing: the engine for SQLite or PostgreSQL, column types shared by every
domain, the constraint naming convention, the request-scoped session, and telling a
database that cannot be reached from any other failure."""

import asyncio
import contextlib
from collections import namedtuple
from collections.abc import AsyncIterator, MutableMapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, Protocol

import orjson
from fastapi import Depends, Request
from sqlalchemy import DateTime, Executable, String, Table, event
from sqlalchemy.engine import URL, Connection, Dialect, Engine, Result, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import SQLModel

# Re-exported: the domains read the time through app.db; app.clock lets tests move it.
from app.clock import utcnow as utcnow

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Execution option that makes a SQLite transaction take the write lock at BEGIN, so that
# read-then-write use cases cannot interleave with another writer.
WRITE_OPTION = "newsdesk_write"


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a SQLModel table class, for explicit ``select()`` queries."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


@lru_cache(maxsize=256)
def _record_type(columns: tuple[str, ...]) -> Any:
    try:
        fields: Any = namedtuple("Record", columns)  # type: ignore[misc]
    except ValueError:  # a column name no attribute can have: keep SQLAlchemy's rows
        return None
    # ``_mapping`` as on a Row, for the code that reads a row as a mapping.
    return type("Record", (fields,), {"__slots__": (), "_mapping": property(fields._asdict)})


def records(result: Result[Any]) -> list[Any]:
    """A result's rows as named tuples, read by name and by position as SQLAlchemy's rows
    are. A Row finds a name through a Python fallback (about 1 µs, ten times a named
    tuple's), and a page of articles reads its rows by name hundreds of times."""
    record_type = _record_type(tuple(result.keys()))
    rows = result.all()
    return list(rows) if record_type is None else [record_type._make(row) for row in rows]


def first_record(result: Result[Any]) -> Any:
    """The first row of ``result`` as ``records`` gives it, or None; the rest is discarded."""
    record_type = _record_type(tuple(result.keys()))
    row = result.first()
    return row if row is None or record_type is None else record_type._make(row)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always goes in and comes out as an aware UTC datetime.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text, which sorts correctly
    because every value is written in the same format.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        # asyncpg hands back UTC already: skip astimezone, a tenth of a page's row handling.
        return value if value.tzinfo is UTC else value.astimezone(UTC)


class SortableText(TypeDecorator[str]):
    """Text that sorts by code point on both databases (PostgreSQL's "C" collation is what
    SQLite does by default), so that ordering and cursors agree everywhere."""

    impl = String
    cache_ok = True

    @property
    def length(self) -> int | None:
        length: int | None = getattr(self.impl_instance, "length", None)
        return length

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        length = self.length
        if dialect.name == "postgresql":
            return dialect.type_descriptor(String(length, collation="C"))
        return dialect.type_descriptor(String(length))


def async_url(url: str) -> URL:
    """Accept plain ``sqlite:///`` and ``postgresql://`` URLs and pick the async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+asyncpg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}")


def create_engine(url: str, *, pool_size: int = 10, pool_timeout: float = 10) -> AsyncEngine:
    target = async_url(url)
    # Reads get bylines and tags as JSON built by the database: orjson parses it fastest.
    if target.get_backend_name() == "sqlite":
        engine = create_async_engine(target, json_deserializer=orjson.loads)
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(
        target,
        json_deserializer=orjson.loads,
        # No overflow: a connection opened past the pool would be closed on its return, and
        # opening one (and preparing its statements again) costs far more than a short wait
        # for a free one under a burst.
        pool_size=pool_size,
        max_overflow=0,
        pool_recycle=1800,
        # Every connection busy for this long: a 503 (``is_connection_error``), not a wait.
        pool_timeout=pool_timeout,
        # A database that stops answering must not hang requests: give up and answer 503.
        # asyncpg keeps each connection's prepared statements (SQLAlchemy's asyncpg dialect
        # caches them by SQL text): room for every read shape (filters, fields, sorts),
        # so a hot read is parsed and planned once per connection, not once per request.
        connect_args={"timeout": 5, "command_timeout": 30, "prepared_statement_cache_size": 500},
    )
    _configure_postgresql(engine)
    return engine


async def _prepare_postgresql_connection(driver: Any) -> None:
    """What every PostgreSQL connection of the app sets when it opens, on the driver's
    connection itself, outside any transaction a rollback would undo."""
    # Every statement is prepared once a connection and run with new values thousands of
    # times. Left to choose, PostgreSQL kept planning some of them again on each run (a
    # custom plan for "now", a ref, a page size): up to 2 ms a list page, more than running
    # it. The plans it makes once serve every value, being built for indexes.
    # Each saved story adds its search vector to the search index's pending list, and
    # every search reads that list whole: the write that takes it past 64 kB merges it (an
    # import allows itself more: ``app.articles.transfer``).
    await driver.execute(
        "SET plan_cache_mode = force_generic_plan; SET gin_pending_list_limit = '64kB'"
    )
    # A page of articles brings three JSON columns a row (bylines, tags, corrections):
    # orjson reads the bytes asyncpg hands over as they are, where SQLAlchemy's codec
    # decodes them to a string first in a Python function (5 % more lists a second).
    await driver.set_type_codec(
        "json", schema="pg_catalog", encoder=str.encode, decoder=orjson.loads, format="binary"
    )


def _configure_postgresql(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(_prepare_postgresql_connection)


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so that BEGIN can be IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def make_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that only read. On PostgreSQL they run in autocommit: each
    statement is its own transaction, which is what READ COMMITTED gives a read anyway (a
    snapshot a statement), without the BEGIN and ROLLBACK round trips around it."""
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    return make_sessionmaker(engine)


# Where a request keeps the read sessions it opened, for ``close_request_sessions``.
_REQUEST_SESSIONS = "read_sessions"


class Reader(Protocol):
    """What a read needs of the database: statements run, and which database it is. An
    AsyncSession has both; the read endpoints get a ``ReadConnection``."""

    def get_bind(self) -> Engine | Connection: ...

    async def execute(
        self, statement: Executable, params: Any = None
    ) -> Result[*tuple[Any, ...]]: ...


class ReadConnection:
    """A request's reads: Core statements on one pooled connection, taken at the first
    statement and given back once the answer is sent (``close_request_sessions``). On
    PostgreSQL in autocommit: each statement is its own transaction, which is what READ
    COMMITTED gives a read anyway, without BEGIN and ROLLBACK round trips. An AsyncSession
    in its place took a sixth of an uncached story read's time: the proxy it registers, its
    identity map, ORM execution layer and transaction bookkeeping, none of which a read
    uses."""

    __slots__ = ("_connection", "engine")

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._connection: AsyncConnection | None = None

    def get_bind(self) -> Engine:
        return self.engine.sync_engine

    async def execute(self, statement: Executable, params: Any = None) -> Result[*tuple[Any, ...]]:
        connection = self._connection
        if connection is None:
            connection = self._connection = await self.engine.connect()
        return await connection.execute(statement, params)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


def make_read_engine(engine: AsyncEngine) -> AsyncEngine:
    """The engine of ``ReadConnection``: on PostgreSQL, the same pool in autocommit."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


async def get_session(request: Request) -> Reader:
    """The request's ``ReadConnection``, closed by the request plumbing once the answer is
    sent. Not a ``yield`` dependency: the exit stack FastAPI keeps around one cost a
    twentieth of an uncached story read."""
    reader = ReadConnection(request.app.state.read_engine)
    request.scope["state"].setdefault(_REQUEST_SESSIONS, []).append(reader)
    return reader


async def close_request_sessions(state: MutableMapping[str, Any]) -> None:
    for session in state.pop(_REQUEST_SESSIONS, ()):
        await _close(session)


async def _close(session: AsyncSession | ReadConnection) -> None:
    """Close a request's session after its answer is made. A database that went away
    meanwhile makes the closing rollback fail; the answer stands (a write has committed
    before it), so that failure must not turn it into an error."""
    try:
        await session.close()
    except Exception as exc:
        if not is_connection_error(exc):
            raise


def make_write_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose transaction holds the write lock from BEGIN on (SQLite)."""
    return make_sessionmaker(engine.execution_options(**{WRITE_OPTION: True}))


def make_write_queue(engine: AsyncEngine) -> asyncio.Lock | None:
    """On SQLite, the queue a worker's write requests take their turn in. SQLite lets one
    transaction write at a time; without a queue, writers that find the database busy
    sleep and retry (SQLite's busy handler), and under a burst some wait seconds while
    others go first. Waiting in line costs no sleep and keeps arrival order. PostgreSQL
    writes go on side by side (None)."""
    return asyncio.Lock() if engine.dialect.name == "sqlite" else None


async def get_write_session(request: Request) -> AsyncIterator[AsyncSession]:
    queue: asyncio.Lock | None = request.app.state.write_queue
    async with queue or contextlib.nullcontext():
        session: AsyncSession = request.app.state.write_sessionmaker()
        try:
            yield session
        finally:
            await _close(session)


SessionDep = Annotated[Reader, Depends(get_session)]
WriteSessionDep = Annotated[AsyncSession, Depends(get_write_session)]


# SQLSTATE classes that mean "not now" rather than "not this": connection exceptions,
# insufficient resources (too many clients), and the server shutting down or starting up.
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P01", "57P02", "57P03")


# What the databases say when one statement is over their limits (SQLite's expression
# depth and bound parameters, PostgreSQL's stack depth, parser memory and argument count).
# SQLite reports these as OperationalError, the class of its outages; they are the
# request's doing.
_STATEMENT_LIMIT_MESSAGES = (
    "expression tree is too large",
    "too many sql variables",
    "too many terms in compound select",
    "parser stack overflow",
    "too many arguments on function",
    "pattern too complex",
    "string or blob too big",
    "stack depth limit exceeded",
    "memory exhausted at or near",
    "statement is too complex",
    "number of query arguments cannot exceed",
)


def is_statement_too_big(exc: BaseException) -> bool:
    """True when the database refused one statement for its size or depth: a request
    that asks too much, not an outage."""
    if not isinstance(exc, DBAPIError) or exc.connection_invalidated:
        return False
    message = str(exc.orig).lower()
    return any(known in message for known in _STATEMENT_LIMIT_MESSAGES)


def is_connection_error(exc: BaseException) -> bool:
    """True for failures that mean the database cannot serve us right now: unreachable,
    restarting, or every pooled connection busy (the pool's wait timed out)."""
    if is_statement_too_big(exc):
        return False
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(
        exc, OperationalError | OSError | ConnectionError | TimeoutError | PoolTimeoutError
    ):
        return True
    sqlstate = getattr(getattr(exc, "orig", exc), "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
        return True
    return type(exc).__module__.startswith("asyncpg") and "Connection" in type(exc).__name__
