"""A worker's set-up that needs the database (the schema check, the bootstrap admin key,
the response cache's clock), run at start-up, or, when the database is away then, on the
first request after it is back: the worker never stays half set up, and never needs a
restart to finish."""

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from app.db import is_connection_error
from app.problems import problem_response
from app.schema import NotMigrated

logger = logging.getLogger("newsdesk.startup")

# Paths answered without the database, so they need no finished set-up: liveness, metrics
# and the documentation stay up while the database is away.
_NO_DATABASE_PATHS = frozenset({"/healthz", "/metrics", "/openapi.json", "/docs", "/redoc"})
_NO_DATABASE_PREFIX = "/static/"
# After a failed attempt, requests are answered 503 at once for this long instead of each
# trying again: a crowd of clients must not become a crowd of connection attempts.
RETRY_PAUSE_SECONDS = 1.0


class StartUp:
    def __init__(self, steps: Callable[[], Awaitable[None]]) -> None:
        self.steps = steps
        self.done = False
        self.attempt: asyncio.Task[bool] | None = None
        self.failed_at = -math.inf

    async def first(self) -> None:
        """At start-up: a database that does not answer is waited for (the worker serves
        503s meanwhile); any other failure, such as a schema that is not migrated, stops
        the worker as before."""
        try:
            await self.steps()
        except Exception as exc:
            if not is_connection_error(exc):
                raise
            logger.warning("database unreachable at start-up; serving 503 until it answers")
            return
        self.done = True

    async def ensure(self) -> bool:
        """True once set up; otherwise try (or join the attempt under way) and say whether
        it worked. Attempts are at least ``RETRY_PAUSE_SECONDS`` apart."""
        if self.done:
            return True
        if self.attempt is None:
            if time.monotonic() - self.failed_at < RETRY_PAUSE_SECONDS:
                return False
            self.attempt = asyncio.ensure_future(self._try())
        return await asyncio.shield(self.attempt)

    async def _try(self) -> bool:
        try:
            await self.steps()
        except NotMigrated as exc:
            logger.warning("set-up waits for the database: %s", exc)
        except Exception as exc:
            if not is_connection_error(exc):
                raise
        else:
            self.done = True
            logger.info("database is back: set-up finished")
            return True
        finally:
            self.attempt = None
        self.failed_at = time.monotonic()
        return False


def needs_database(path: str) -> bool:
    return path not in _NO_DATABASE_PATHS and not path.startswith(_NO_DATABASE_PREFIX)


class FinishStartUp:
    """ASGI middleware: before a request that needs the database, finish the set-up if it
    could not run at start-up; while it cannot, answer a 503 problem with Retry-After."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and needs_database(scope["path"]):
            startup: StartUp | None = getattr(scope["app"].state, "startup", None)
            if startup is not None and not await startup.ensure():
                response = problem_response(
                    503,
                    "The service is starting and the database does not answer yet; "
                    "try again shortly.",
                    type_name="service-unavailable",
                    instance=scope["path"],
                    headers={"Retry-After": str(math.ceil(RETRY_PAUSE_SECONDS))},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
