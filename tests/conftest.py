"""One client fixture for both databases.

Every test that takes ``client`` runs twice: on a SQLite file and, when
``NEWSDESK_TEST_DATABASE_URL`` names a PostgreSQL database, on PostgreSQL. Each database
is built by running the real migrations once per session; every test starts from empty
tables, with one admin and one editor key.
"""

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.auth import hash_key
from app.changes import content_version_table
from app.config import Settings
from app.db import async_url, utcnow
from app.keys.models import ApiKey
from app.main import create_app
from app.models import metadata
from app.schema import upgrade

ADMIN_KEY = "nd_test_admin_key_0123456789abcdefghijklmnop"
EDITOR_KEY = "nd_test_editor_key_0123456789abcdefghijklmnop"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
EDITOR = {"Authorization": f"Bearer {EDITOR_KEY}"}
PG_URL_ENV = "NEWSDESK_TEST_DATABASE_URL"
KEPT_TABLES = {"alembic_version", "content_version", "instance_secret"}


def backends() -> list[Any]:
    return [
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not os.environ.get(PG_URL_ENV), reason=f"{PG_URL_ENV} is not set"
            ),
        ),
    ]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql_only: needs a real PostgreSQL server")


async def _reset_postgresql(url: str) -> None:
    engine = create_async_engine(async_url(url), poolclass=NullPool)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def fresh_database_url(backend: str, tmp_dir: Path) -> str:
    """An empty database of this kind, migrated to head by the real migrations."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_dir / 'newsdesk-test.db'}"
    else:
        url = os.environ[PG_URL_ENV]
        asyncio.run(_reset_postgresql(url))
    upgrade(url)
    return url


@dataclass
class StatementLog:
    statements: list[str] = field(default_factory=list)
    active: bool = False

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.statements.clear()
        self.active = True
        try:
            yield self.statements
        finally:
            self.active = False


@dataclass
class Backend:
    name: str
    url: str
    client: TestClient
    statements: StatementLog

    @property
    def engine(self) -> AsyncEngine:
        engine: AsyncEngine = self.client.app.state.engine  # type: ignore[attr-defined]
        return engine

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a coroutine function on the app's event loop (where its engine lives)."""
        portal = self.client.portal
        assert portal is not None
        return portal.call(fn, *args)


async def _empty_tables(engine: AsyncEngine) -> None:
    tables = [table for table in metadata.sorted_tables if table.name not in KEPT_TABLES]
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            await connection.execute(text(f"TRUNCATE {names} CASCADE"))
        else:
            for table in reversed(tables):
                await connection.execute(table.delete())
        # Emptying tables behind the app's back is a change like any other: say so, or the
        # response cache would rightly keep answering from before.
        await connection.execute(
            update(content_version_table)
            .where(content_version_table.c.id == 1)
            .values(value=content_version_table.c.value + 1)
        )
        await connection.execute(
            ApiKey.__table__.insert(),
            [
                {
                    "id": uuid.uuid4(),
                    "name": name,
                    "role": role,
                    "key_hash": hash_key(secret),
                    "prefix": secret[:8],
                    "bootstrap": role == "admin",
                    "created_at": utcnow(),
                }
                for name, role, secret in (
                    ("bootstrap admin", "admin", ADMIN_KEY),
                    ("test editor", "editor", EDITOR_KEY),
                )
            ],
        )


@pytest.fixture(params=backends())
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own, so that going down does not disturb other tests."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    base = make_url(os.environ[PG_URL_ENV])
    name = f"{base.database}_migrations"

    async def admin(statement: str) -> None:
        engine = create_async_engine(
            async_url(base.render_as_string(hide_password=False)),
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
        )
        async with engine.connect() as connection:
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}"'))


@pytest.fixture(scope="session", params=backends())
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    url = fresh_database_url(request.param, tmp_path_factory.mktemp(request.param))
    # No webhook sender in the test app: tests that send run a real server for that.
    settings = Settings(
        database_url=url, admin_key=ADMIN_KEY, cache_max_age=60, webhook_sender=False
    )
    app = create_app(settings)
    log = StatementLog()
    with TestClient(app) as client:
        engine: AsyncEngine = app.state.engine

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            # BEGIN is how SQLite transactions start here (PostgreSQL's never show up).
            if log.active and not statement.startswith("BEGIN"):
                log.statements.append(statement)

        count_clock_reads(app.state.content_clock, log)
        yield Backend(request.param, url, client, log)


def count_clock_reads(clock: Any, log: StatementLog) -> None:
    """The response cache reads the content state on its own connection; count those
    reads as the statements they are."""
    if clock is None:
        return
    read = clock.read

    async def counted() -> Any:
        if log.active:
            log.statements.append("SELECT content state (response cache)")
        return await read()

    clock.read = counted


@pytest.fixture
def db(backend: Backend) -> Backend:
    """The backend with empty tables and the two test keys."""
    backend.run(_empty_tables, backend.engine)
    return backend


@pytest.fixture
def client(db: Backend) -> TestClient:
    return db.client
