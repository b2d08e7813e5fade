"""One client fixture for both databases, and for the response cache on and off.

Every test that takes ``client`` runs on a SQLite file and on PostgreSQL (named by
``NEWSDESK_TEST_DATABASE_URL``; without it the PostgreSQL half skips, except in CI where
it fails). Each database is built by running the real migrations once per session; every
test starts from empty tables, with one admin and one editor key.

A module (or test) marked ``@pytest.mark.response_cache("on", "off")`` runs once with the
response cache and once with ``NEWSDESK_RESPONSE_CACHE_BYTES=0``, so that the app's own
conditional-request code answers; without the marker a test runs with the cache on, as
the service does by default. ``response_cache("off")`` alone runs it without the cache.
"""

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app import clock as app_clock
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
REDIS_URL_ENV = "NEWSDESK_TEST_REDIS_URL"
KEPT_TABLES = {"alembic_version", "content_version", "instance_secret"}


CACHE_MODES = ("on", "off")
CACHE_DEFAULT_BYTES: int = Settings.model_fields["response_cache_bytes"].default


def in_ci() -> bool:
    """CI sets CI=true: there, something a test needs being absent is a failure."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(reason: str) -> NoReturn:
    """Skip for a missing prerequisite, or fail in CI, where a skip would hide a failure."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing prerequisite is a failure)", pytrace=False)
    pytest.skip(reason)


def require_postgresql() -> str:
    url = os.environ.get(PG_URL_ENV)
    if not url:
        missing(f"{PG_URL_ENV} is not set")
    return url


def backends() -> list[str]:
    return ["sqlite", "postgresql"]


def needs(available: bool, reason: str) -> None:
    """Skip a test whose service or tool is missing here; in CI, where every test must
    run, fail it instead."""
    if not available:
        missing(reason)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql_only: needs a real PostgreSQL server")
    config.addinivalue_line(
        "markers",
        "response_cache(*modes): run with the response cache in these modes ('on', 'off')",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give every test on the shared app the cache modes its ``response_cache`` marker
    names (the cache on when unmarked)."""
    if "cache_mode" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("response_cache")
    modes = marker.args if marker is not None else ("on",)
    assert modes, "response_cache needs at least one mode"
    assert set(modes) <= set(CACHE_MODES), f"unknown cache modes {modes}"
    ids = [f"cache-{mode}" for mode in modes]
    metafunc.parametrize("cache_mode", modes, indirect=True, scope="session", ids=ids)


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
        url = require_postgresql()
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
    cache: str = "on"

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
        # DELETE, not TRUNCATE: the tables hold a few rows, and PostgreSQL's TRUNCATE makes
        # new files for every table (about 25 times slower here, before every test).
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


@pytest.fixture(scope="session")
def scratch_postgresql() -> Iterator[str]:
    """A PostgreSQL database of its own beside the session's, created once (creating and
    dropping a database for every test costs seconds each: a checkpoint every time)."""
    base = make_url(require_postgresql())
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


@pytest.fixture(params=backends())
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, unmigrated database of its own, so that going down does not disturb
    other tests: a new SQLite file, or the scratch PostgreSQL database with an empty
    schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    url: str = request.getfixturevalue("scratch_postgresql")
    asyncio.run(_reset_postgresql(url))
    return url


@pytest.fixture(scope="session", params=backends())
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's migrated database of each kind, shared by the apps on top of it."""
    return fresh_database_url(request.param, tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="session")
def cache_mode(request: pytest.FixtureRequest) -> str:
    """'on' or 'off': given by ``pytest_generate_tests`` from the response_cache marker."""
    mode: str = getattr(request, "param", "on")
    return mode


@pytest.fixture(scope="session")
def backend(database_url: str, cache_mode: str) -> Iterator[Backend]:
    settings = Settings(
        database_url=database_url,
        admin_key=ADMIN_KEY,
        cache_max_age=60,
        # No webhook sender in the test app: tests that send run a real server for that.
        webhook_sender=False,
        # 0 is how a deployment turns the cache off: the app answers every request itself.
        response_cache_bytes=CACHE_DEFAULT_BYTES if cache_mode == "on" else 0,
        # Thousands of requests from one test client: the rate limits have their own tests.
        auth_failure_limit="100000/minute",
        key_rate_limit="100000/minute",
    )
    app = create_app(settings)
    log = StatementLog()
    with TestClient(app) as client:
        assert (app.state.content_clock is not None) == (cache_mode == "on")
        record_statements(app, log)
        name = make_url(database_url).get_backend_name()
        yield Backend(name, database_url, client, log, cache_mode)


def record_statements(app: Any, log: StatementLog) -> None:
    """Log the statements a started app sends while ``log`` is counting, its response
    cache's reads of the content state among them."""

    @event.listens_for(app.state.engine.sync_engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # BEGIN is how SQLite transactions start here (PostgreSQL's never show up).
        if log.active and not statement.startswith("BEGIN"):
            log.statements.append(statement)

    count_clock_reads(app.state.content_clock, log)


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


@pytest.fixture(autouse=True)
def move_clock() -> Iterator[Callable[[timedelta], None]]:
    """Moves the app's clock forward (``move_clock(timedelta(seconds=2))``) for tests of
    scheduled content, instead of sleeping; every test starts on the wall clock.
    (In-process apps only: a server in a subprocess keeps the wall clock.)"""
    app_clock.reset()
    yield app_clock.advance
    app_clock.reset()
