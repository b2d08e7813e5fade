"""A response cache for anonymous reads that is never staler than the last write, and
the cache tags on every anonymous answer.

Each worker keeps the anonymous ``GET`` answers it made under their URL, with their cache
keys and the generation of the worker's change clock they were made at
(``app.freshness.tail``). Before answering, it reads the clock (one tiny query against the
database every worker shares) and serves a kept answer only while none of its keys
changed since: a write makes stale exactly what its change-log entry names, so a draft
save keeps every public answer, and publishing one story keeps the other stories' pages.

The cache sits just outside the framework: a hit costs the check and a copy of stored
bytes, with no routing, no dependencies and no serialisation.
"""

import asyncio
import ctypes
import logging
import sys
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import is_connection_error, utcnow
from app.freshness.tags import SHOWN_KEYS, header_values, response_keys
from app.freshness.tail import FreshnessClock
from app.freshness.validators import parse_entity_tags, parse_http_date, weak_match
from app.metrics import CACHE_BYTES, CACHE_ENTRIES

logger = logging.getLogger("newsdesk.cache")

# Not 404: a made-up URL is as cheap to answer again as to look up, and keeping every one
# would let anyone fill the store with junk.
_CACHEABLE_STATUS = frozenset({200, 301})
# What a kept response costs beyond its own objects: its place in the store (the
# dictionary's slot, the (entry, cost) pair) and the ETag and date parsed from it.
_ENTRY_OVERHEAD = 300
# glibc keeps the pages of evicted answers in its heap, in holes between live blocks that
# it never gives back by itself (a few MB at the default budget): malloc_trim does, in
# about a millisecond, so the store calls it after each sixteenth of its budget let go.
_malloc_trim: Callable[[int], int] | None
try:
    _malloc_trim = ctypes.CDLL(None).malloc_trim
except (AttributeError, OSError, TypeError):  # a C library without it (not glibc)
    _malloc_trim = None
_CONDITIONAL_HEADERS = frozenset({b"if-none-match", b"if-modified-since"})
# Answers that are never kept: the changes feed moves with every write.
_NEVER_KEPT = ("/v1/changes",)
PUBLIC_VERSION = "public_version"


@dataclass(slots=True)
class Stored:
    generation: int
    keys: tuple[str, ...]
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str | None
    last_modified: datetime | None
    route: Any

    def cost(self, key: bytes) -> int:
        """The memory this entry holds under ``key``, as Python counts it: the key, every
        header (the pair and its two strings), the cache keys, the body and the entry."""
        headers = sys.getsizeof(self.headers) + sum(
            sys.getsizeof(pair) + sys.getsizeof(pair[0]) + sys.getsizeof(pair[1])
            for pair in self.headers
        )
        keys = sys.getsizeof(self.keys) + sum(sys.getsizeof(each) for each in self.keys)
        own = sys.getsizeof(key) + sys.getsizeof(self.body) + sys.getsizeof(self)
        return own + headers + keys + _ENTRY_OVERHEAD


class ResponseStore:
    """Least recently used responses, within a budget of bytes that counts all an entry
    holds (its key and headers as well as its body)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self.released = 0
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
            self.released += oldest_cost
        if self.released > self.max_bytes // 16 and _malloc_trim is not None:
            _malloc_trim(0)
            self.released = 0
        self._report()

    def discard(self, key: bytes) -> None:
        old = self.items.pop(key, None)
        if old is not None:
            self.used -= old[1]
            self.released += old[1]
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


def _is_anonymous_read(scope: Scope) -> bool:
    if scope["method"] != "GET" or not scope["path"].startswith("/v1/"):
        return False
    if scope["path"].startswith(_NEVER_KEPT):
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
        # Misses being answered now, by URL and generation: requests for the same URL that
        # miss meanwhile wait for that answer instead of all making it (right after a
        # write, a busy front page would otherwise be rendered once per waiting reader).
        self.filling: dict[tuple[bytes, int], asyncio.Future[Stored | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_anonymous_read(scope):
            await self.app(scope, receive, send)
            return
        clock: FreshnessClock | None = None
        if self.enabled:
            clock = getattr(scope["app"].state, "content_clock", None)
        if clock is None:
            # Nothing kept, but the answer still carries its cache tags; the app answers
            # the client's conditions itself (its own 304s).
            stored = await self._fill(scope, receive, send, b"", 0, keep=False)
            if stored is not None:
                await self._answer(scope, send, stored)
            return
        try:
            reading = await clock.read()
        except Exception as exc:
            # Most likely the database is away: let the app answer (with its 503).
            if not is_connection_error(exc):
                logger.warning("response cache bypassed: %s", type(exc).__name__)
            await self.app(scope, receive, send)
            return
        key = _cache_key(scope)
        stored = self.store.get(key)
        if stored is None or not clock.current(stored.generation, stored.keys):
            # Lists make their ETag from the version read here (as old as the reading,
            # so never newer than what they show), without reading it again.
            scope.setdefault("state", {})[PUBLIC_VERSION] = reading.public_version
            stored = await self._shared_fill(scope, receive, send, key, reading.generation)
            if stored is None:
                return
        await self._answer(scope, send, stored)

    async def _shared_fill(
        self, scope: Scope, receive: Receive, send: Send, key: bytes, generation: int
    ) -> Stored | None:
        """Fill, or wait for the fill already under way for the same URL at the same
        generation (made for a reading no older than this request's, so just as fresh)."""
        pending = self.filling.get((key, generation))
        if pending is not None:
            shared = await asyncio.shield(pending)
            if shared is not None:
                return shared
            # The other answer was not one to share (or never came): make our own.
            return await self._fill(scope, receive, send, key, generation)
        future: asyncio.Future[Stored | None] = asyncio.get_running_loop().create_future()
        self.filling[(key, generation)] = future
        stored: Stored | None = None
        try:
            stored = await self._fill(scope, receive, send, key, generation)
            return stored
        finally:
            del self.filling[(key, generation)]
            # Only what the store kept is shared: the same rules decide both.
            future.set_result(
                stored if stored is not None and self.store.get(key) is stored else None
            )

    async def _fill(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        key: bytes,
        generation: int,
        *,
        keep: bool = True,
    ) -> Stored | None:
        """Let the app answer, tag what it says, keep it (when ``keep``) and return it; or,
        for an answer that is not a whole response, pass it through and return None. An
        answer to keep is asked for without the client's conditions (the store answers
        those itself from what it keeps); one not kept is asked for as the client sent it."""
        # Shared with the copy below: an endpoint leaves the keys of its answer in it.
        state = scope.setdefault("state", {})
        state.pop(SHOWN_KEYS, None)
        unconditional = (
            dict(
                scope,
                headers=[(k, v) for k, v in scope["headers"] if k not in _CONDITIONAL_HEADERS],
            )
            if keep
            else scope
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
        body = b"".join(chunks)
        template = getattr(scope["route"], "path_format", None)
        keys = response_keys(
            template, scope["path"], start["status"], body, state.pop(SHOWN_KEYS, None)
        )
        raw_headers = [*start["headers"], *header_values(keys)]
        headers = Headers(raw=raw_headers)
        stored = Stored(
            generation=generation,
            keys=tuple(keys),
            status=start["status"],
            headers=raw_headers,
            body=body,
            etag=headers.get("etag"),
            last_modified=parse_http_date(headers.get("last-modified")),
            route=scope["route"],
        )
        # A response that says it is private (a preview link) is never kept.
        private = "private" in headers.get("cache-control", "")
        if (
            keep
            and stored.status in _CACHEABLE_STATUS
            and "set-cookie" not in headers
            and not private
        ):
            # Kept as an exact copy: orjson's output keeps the buffer it grew, several
            # times the length of the JSON, which the budget would not see.
            stored.body = bytes(memoryview(body))
            self.store.put(key, stored)
        elif keep:
            self.store.discard(key)
        return stored

    async def _answer(self, scope: Scope, send: Send, stored: Stored) -> None:
        scope["route"] = stored.route
        if _not_modified(scope, stored):
            kept = [
                (k, v)
                for k, v in stored.headers
                if k in (b"etag", b"last-modified", b"surrogate-key", b"cache-tag")
            ]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send(
            {"type": "http.response.start", "status": stored.status, "headers": stored.headers}
        )
        await send({"type": "http.response.body", "body": stored.body})
