"""A response cache for anonymous reads that is never staler than the last write.

Every write bumps the content counter (``app.changes``) in its own transaction, and the only
change nobody writes is a scheduled article going live. So the pair (counter, next go-live
time), read with one tiny query, tells whether anything at all has changed since a response
was made. Each worker keeps the anonymous ``GET`` responses it made under their URL with the
pair they were made at, and serves one again only while the database still shows the same
pair. That check runs on every request, against the database every worker and machine
shares, so a write acknowledged anywhere is seen by the very next read everywhere.

The cache sits just outside the framework: a hit costs the check and a copy of stored bytes,
with no routing, no dependencies and no serialisation.
"""

import asyncio
import logging
import sqlite3
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
from sqlalchemy.engine import make_url
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.conditional import parse_entity_tags, parse_http_date, weak_match
from app.db import is_connection_error, utcnow
from app.metrics import CACHE_BYTES, CACHE_ENTRIES

logger = logging.getLogger("newsdesk.cache")

ContentState = tuple[int, datetime | None]
STATE_KEY = "content_state"
# Not 404: a made-up URL is as cheap to answer again as to look up, and keeping every one
# would let anyone fill the store with junk.
_CACHEABLE_STATUS = frozenset({200, 301})
# What a kept response costs beyond its key, headers and body: the entry's objects.
_ENTRY_OVERHEAD = 400
_CONDITIONAL_HEADERS = frozenset({b"if-none-match", b"if-modified-since"})

_STATE_SQL = (
    "SELECT value, (SELECT min(published_at) FROM article"
    " WHERE status = 'published' AND deleted_at IS NULL AND published_at > {now})"
    " FROM content_version WHERE id = 1"
)


class ContentClock(Protocol):
    """Reads the content state; shared by every worker because it lives in the database."""

    async def read(self) -> ContentState: ...

    async def close(self) -> None: ...


class PostgresClock:
    """The state over a small asyncpg pool of its own: a prepared statement and nothing
    else, far cheaper than a full session."""

    def __init__(self, pool: "asyncpg.Pool[Any]") -> None:
        self.pool = pool

    @classmethod
    async def connect(cls, database_url: str) -> "PostgresClock":
        dsn = make_url(database_url).set(drivername="postgresql")
        pool = await asyncpg.create_pool(
            dsn.render_as_string(hide_password=False),
            min_size=0,
            max_size=2,
            timeout=5,
            command_timeout=10,
        )
        return cls(pool)

    async def read(self) -> ContentState:
        row = await self.pool.fetchrow(_STATE_SQL.format(now="$1"), utcnow())
        if row is None:
            return 0, None
        return int(row[0]), row[1]

    async def close(self) -> None:
        await self.pool.close()


class SharedReads:
    """Lets concurrent requests share one read of the clock, without any of them getting a
    reading taken before it arrived: a request waits for the next read to start, never
    joins one already under way. Under load one round trip then answers many requests."""

    def __init__(self, clock: ContentClock) -> None:
        self.clock = clock
        self.running: asyncio.Task[None] | None = None
        self.waiting: asyncio.Future[ContentState] | None = None

    async def read(self) -> ContentState:
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

    async def _read_into(self, future: "asyncio.Future[ContentState]") -> None:
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


class SQLiteClock:
    """The state through a plain sqlite3 connection, read inline: in WAL mode a read never
    waits for a writer, and this one takes microseconds."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.connection.execute("PRAGMA busy_timeout=2000")

    async def read(self) -> ContentState:
        now = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
        row = self.connection.execute(_STATE_SQL.format(now="?"), (now,)).fetchone()
        if row is None:
            return 0, None
        released = datetime.fromisoformat(row[1]).replace(tzinfo=UTC) if row[1] else None
        return int(row[0]), released

    async def close(self) -> None:
        self.connection.close()


async def open_clock(database_url: str) -> ContentClock | None:
    """The clock for this database, or None where there is no file to share."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return None
        return SQLiteClock(url.database)
    return SharedReads(await PostgresClock.connect(database_url))


@dataclass(slots=True)
class Stored:
    state: ContentState
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str | None
    last_modified: datetime | None
    route: Any

    def cost(self, key: bytes) -> int:
        """The memory this entry holds under ``key``: key, headers, body and overhead."""
        header_bytes = sum(len(name) + len(value) for name, value in self.headers)
        return len(key) + header_bytes + len(self.body) + _ENTRY_OVERHEAD


class ResponseStore:
    """Least recently used responses, within a budget of bytes that counts all an entry
    holds (its key and headers as well as its body)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self.items: OrderedDict[bytes, tuple[Stored, int]] = OrderedDict()

    def get(self, key: bytes) -> Stored | None:
        entry = self.items.get(key)
        if entry is None:
            return None
        self.items.move_to_end(key)
        return entry[0]

    def put(self, key: bytes, stored: Stored) -> None:
        cost = stored.cost(key)
        self.discard(key)
        if cost > self.max_bytes // 8:
            return
        self.items[key] = (stored, cost)
        self.used += cost
        while self.used > self.max_bytes:
            _, (_, oldest_cost) = self.items.popitem(last=False)
            self.used -= oldest_cost
        self._report()

    def discard(self, key: bytes) -> None:
        old = self.items.pop(key, None)
        if old is not None:
            self.used -= old[1]
            self._report()

    def _report(self) -> None:
        CACHE_BYTES.set(self.used)
        CACHE_ENTRIES.set(len(self.items))


def _cache_key(scope: Scope) -> bytes:
    """Everything a response depends on but the credentials (which bypass the store):
    the scheme and host that absolute URLs in it are built from, the path and the query."""
    host = next((value for name, value in scope["headers"] if name == b"host"), b"")
    scheme: str = scope.get("scheme", "http")
    path: str = scope["path"]
    query: bytes = scope["query_string"]
    return b"%s://%s%s?%s" % (scheme.encode(), host, path.encode("utf-8", "surrogateescape"), query)


def _is_cacheable_request(scope: Scope) -> bool:
    if scope["method"] != "GET" or not scope["path"].startswith("/v1/"):
        return False
    return not any(name == b"authorization" for name, _ in scope["headers"])


def _not_modified(scope: Scope, stored: Stored) -> bool:
    """RFC 9110 §13.2.2: If-None-Match first; If-Modified-Since only without it."""
    if stored.status != 200 or stored.etag is None:
        return False
    headers = Headers(scope=scope)
    tags = parse_entity_tags(headers.get("if-none-match"))
    if tags is not None:
        return weak_match(tags, stored.etag)
    since = parse_http_date(headers.get("if-modified-since"))
    if since is None or stored.last_modified is None or since > utcnow():
        return False
    return stored.last_modified <= since


class ResponseCache:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.store = ResponseStore(max_bytes)
        self.enabled = max_bytes > 0
        # Misses being answered now, by URL and state: requests for the same URL that miss
        # meanwhile wait for that answer instead of all making it (right after a write, a
        # busy front page would otherwise be rendered once per waiting reader).
        self.filling: dict[tuple[bytes, ContentState], asyncio.Future[Stored | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        clock: ContentClock | None = None
        if self.enabled and scope["type"] == "http" and _is_cacheable_request(scope):
            clock = getattr(scope["app"].state, "content_clock", None)
        if clock is None:
            await self.app(scope, receive, send)
            return
        try:
            state = await clock.read()
        except Exception as exc:
            # Most likely the database is away: let the app answer (with its 503).
            if not is_connection_error(exc):
                logger.warning("response cache bypassed: %s", type(exc).__name__)
            await self.app(scope, receive, send)
            return
        key = _cache_key(scope)
        stored = self.store.get(key)
        if stored is None or stored.state != state:
            stored = await self._shared_fill(scope, receive, send, key, state)
            if stored is None:
                return
        await self._answer(scope, send, stored)

    async def _shared_fill(
        self, scope: Scope, receive: Receive, send: Send, key: bytes, state: ContentState
    ) -> Stored | None:
        """Fill, or wait for the fill already under way for the same URL at the same state
        (made for a reading no older than this request's, so just as fresh)."""
        pending = self.filling.get((key, state))
        if pending is not None:
            shared = await asyncio.shield(pending)
            if shared is not None:
                return shared
            # The other answer was not one to share (or never came): make our own.
            return await self._fill(scope, receive, send, key, state)
        future: asyncio.Future[Stored | None] = asyncio.get_running_loop().create_future()
        self.filling[(key, state)] = future
        stored: Stored | None = None
        try:
            stored = await self._fill(scope, receive, send, key, state)
            return stored
        finally:
            del self.filling[(key, state)]
            # Only what the store kept is shared: the same rules decide both.
            future.set_result(
                stored if stored is not None and self.store.get(key) is stored else None
            )

    async def _fill(
        self, scope: Scope, receive: Receive, send: Send, key: bytes, state: ContentState
    ) -> Stored | None:
        """Let the app answer without the client's conditions, keep what it says, and
        return it; or, for a response not worth keeping, pass it through and return None."""
        scope.setdefault("state", {})[STATE_KEY] = state
        unconditional = dict(
            scope,
            headers=[(k, v) for k, v in scope["headers"] if k not in _CONDITIONAL_HEADERS],
        )
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(unconditional, receive, capture)
        # The router leaves the matched route in the scope (metrics and logs read it).
        scope["route"] = unconditional.get("route")
        if not start:
            return None
        headers = Headers(raw=start["headers"])
        stored = Stored(
            state=state,
            status=start["status"],
            headers=list(start["headers"]),
            body=b"".join(chunks),
            etag=headers.get("etag"),
            last_modified=parse_http_date(headers.get("last-modified")),
            route=scope["route"],
        )
        private = "private" in headers.get("cache-control", "")
        if stored.status in _CACHEABLE_STATUS and "set-cookie" not in headers and not private:
            self.store.put(key, stored)
        else:
            self.store.discard(key)
        return stored

    async def _answer(self, scope: Scope, send: Send, stored: Stored) -> None:
        scope["route"] = stored.route
        if _not_modified(scope, stored):
            kept = [(k, v) for k, v in stored.headers if k in (b"etag", b"last-modified")]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send(
            {"type": "http.response.start", "status": stored.status, "headers": stored.headers}
        )
        await send({"type": "http.response.body", "body": stored.body})
