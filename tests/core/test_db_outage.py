"""When the database goes away the service answers 503 and recovers by itself."""

import asyncio
import socket
import threading

from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app.config import Settings
from app.main import create_app
from app.schema import upgrade
from tests.conftest import require_postgresql


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
