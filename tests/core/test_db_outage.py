"""When the database goes away the service answers 503 and recovers by itself."""

import asyncio
import socket
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.config import Settings
from app.db import is_connection_error
from app.main import create_app
from app.schema import upgrade
from tests.conftest import ADMIN, ADMIN_KEY, require_postgresql


class TcpProxy:
    """A switchable TCP relay between the app and PostgreSQL."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except Exception:  # either side going away ends the relay
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        for task in (
            asyncio.ensure_future(self._pipe(reader, upstream_writer)),
            asyncio.ensure_future(self._pipe(upstream_reader, writer)),
        ):
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for task in list(self.tasks):
            task.cancel()

    def start(self) -> None:
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(5)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(5)


def test_database_outage_is_503_then_recovers() -> None:
    pg_url = require_postgresql()
    upgrade(pg_url)
    url = make_url(pg_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    via_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    with TestClient(create_app(Settings(database_url=via_proxy))) as client:
        assert client.get("/v1/articles").status_code == 200
        proxy.stop()
        for _ in range(3):
            down = client.get("/v1/articles")
            assert down.status_code == 503
            assert down.headers["content-type"] == "application/problem+json"
            assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
        proxy.start()
        statuses = [client.get("/v1/articles").status_code for _ in range(3)]
        assert statuses[-1] == 200
        assert client.get("/readyz").status_code == 200


def test_unreachable_database_at_start_up_is_503_not_a_crash() -> None:
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings)) as client:
        response = client.get("/v1/articles/anything")
        assert response.status_code == 503
        assert response.json()["status"] == 503
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200


def _wait_until_served(client: TestClient, path: str, headers: dict[str, str]) -> None:
    """Requests while the set-up is pending are 503 problems; until one is answered."""
    deadline = time.monotonic() + 10
    while (response := client.get(path, headers=headers)).status_code == 503:
        assert response.headers["content-type"] == "application/problem+json"
        assert int(response.headers["retry-after"]) >= 1
        assert time.monotonic() < deadline, response.json()
        time.sleep(0.1)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_worker_started_while_the_database_is_away_finishes_its_set_up(
    kind: str, tmp_path: Path
) -> None:
    """Before: such a worker never made the bootstrap admin key, and never used its
    response cache, until restarted."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'later' / 'newsdesk.db'}"  # its folder is not there yet
    else:
        pg_url = require_postgresql()
        upgrade(pg_url)
        target = make_url(pg_url)
        proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)  # not started
        url = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, admin_key=ADMIN_KEY))
    with TestClient(app) as client:
        for headers in ({}, ADMIN):
            waiting = client.get("/v1/articles", headers=headers)
            assert waiting.status_code == 503  # not 401: the key cannot be checked yet
            assert waiting.headers["retry-after"] == "1"
        assert client.get("/healthz").status_code == 200

        if kind == "sqlite":
            (tmp_path / "later").mkdir()
            upgrade(url)
        else:
            proxy.start()
        _wait_until_served(client, "/v1/keys", ADMIN)  # the bootstrap admin key works

        statements: list[str] = []
        event.listen(
            app.state.engine.sync_engine,
            "before_cursor_execute",
            lambda *args: statements.append(args[2]),
        )
        assert client.get("/v1/articles").status_code == 200
        statements.clear()
        assert client.get("/v1/articles").status_code == 200
        assert statements == []  # answered by the response cache
    if kind == "postgresql":
        proxy.stop()


@pytest.mark.parametrize(
    ("sqlstate", "unavailable"),
    [
        ("53300", True),  # too many clients already
        ("57P01", True),  # terminating connection due to administrator command
        ("57P03", True),  # the database system is starting up
        ("08006", True),  # connection failure
        ("23505", False),  # a unique violation is the request's fault, not an outage
        ("42P01", False),  # an undefined table is a bug, not an outage
    ],
)
def test_errors_that_mean_not_now_are_told_from_errors_that_mean_not_this(
    sqlstate: str, unavailable: bool
) -> None:
    class DriverError(Exception):
        pass

    driver_error = DriverError("from the server")
    driver_error.sqlstate = sqlstate  # type: ignore[attr-defined]
    wrapped = DBAPIError("SELECT 1", None, driver_error)
    assert is_connection_error(wrapped) is unavailable
    assert is_connection_error(PoolTimeoutError("QueuePool limit reached"))
