"""SQL statements per request, counted in-process.

The server under load cannot be asked how many statements a request ran (the app has no
such switch, and pg_stat_statements needs a server restart to load). So the same app,
built by ``create_app`` against the same database, runs a few requests of each scenario
through httpx's ASGI transport while a ``before_cursor_execute`` listener on its engine
counts what reaches the driver. Transaction control is counted apart, from the engine's
begin, commit and rollback events: on PostgreSQL each is a round trip of its own that no
cursor sees (SQLite's BEGIN, which the app sends itself, is counted there and only there).
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import event

from app.config import Settings
from app.main import create_app
from bench.wrk import HttpRequest

_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@dataclass
class StatementCount:
    per_request: list[int] = field(default_factory=list)
    transaction_control: list[int] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    sample: list[str] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return sum(self.per_request) / len(self.per_request) if self.per_request else 0.0

    @property
    def transaction_mean(self) -> float:
        control = self.transaction_control
        return sum(control) / len(control) if control else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "mean": round(self.mean, 2),
            "transaction_control_mean": round(self.transaction_mean, 2),
            "per_request": self.per_request,
            "transaction_control": self.transaction_control,
            "statuses": self.statuses,
            "sample": self.sample,
        }


async def _count(
    database_url: str,
    scenarios: dict[str, Sequence[HttpRequest]],
    per_scenario: int,
    response_cache_bytes: int | None,
) -> dict[str, StatementCount]:
    settings = Settings(database_url=database_url, log_level="warning")
    if response_cache_bytes is not None:
        settings = settings.model_copy(update={"response_cache_bytes": response_cache_bytes})
    app = create_app(settings)
    seen: list[str] = []
    control: list[str] = []
    counts: dict[str, StatementCount] = {}
    async with app.router.lifespan_context(app):
        engine = app.state.engine

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if not statement.lstrip().upper().startswith(_TRANSACTION_CONTROL):
                seen.append(statement)

        listeners: list[tuple[str, Any]] = [("before_cursor_execute", record)]
        for name in ("begin", "commit", "rollback"):

            def note(conn: Any, name: str = name) -> None:
                # An autocommit connection (the reads on PostgreSQL) sends no BEGIN,
                # COMMIT or ROLLBACK, whatever SQLAlchemy's events say.
                if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                    control.append(name)

            listeners.append((name, note))
            event.listen(engine.sync_engine, name, note)

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for key, requests in scenarios.items():
                result = StatementCount()
                # The first request warms caches (compiled statements, the pool); the next
                # ones are counted.
                for index in range(per_scenario + 1):
                    request = requests[index % len(requests)]
                    seen.clear()
                    control.clear()
                    response = await client.request(
                        request.method,
                        request.path,
                        headers=request.headers,
                        content=request.body.encode() if request.body is not None else None,
                    )
                    if index:
                        result.per_request.append(len(seen))
                        result.transaction_control.append(len(control))
                        result.statuses.append(response.status_code)
                        result.sample = [" ".join(text.split())[:300] for text in seen]
                counts[key] = result
        for name, listener in listeners:
            event.remove(engine.sync_engine, name, listener)
    return counts


def count_statements(
    database_url: str,
    scenarios: dict[str, Sequence[HttpRequest]],
    per_scenario: int = 5,
    *,
    response_cache_bytes: int | None = None,
) -> dict[str, StatementCount]:
    """Statements each scenario's requests run, ``per_scenario`` requests each, by an app
    whose response cache has ``response_cache_bytes`` (None: the default budget)."""
    return asyncio.run(_count(database_url, scenarios, per_scenario, response_cache_bytes))
