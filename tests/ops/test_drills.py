"""Outage drills against a running server on a PostgreSQL server of the test's own: the
database stopped under load, started while the service waits, every connection of the pool
busy, and SIGTERM under load. The service answers 503 problems (never a 500, never a hang),
serves again on its own, keeps every write it acknowledged, and shuts down cleanly."""

import asyncio
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app.schema import upgrade
from tests.conftest import ADMIN_KEY, needs
from tests.servers import ThrowawayPostgres, migrated_and_seeded, postgres_bin, running_server

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
STORY = "/v1/articles/ruto-congratulates-trump-in-phone-call"
READ_PATHS = ("/v1/articles?limit=5", STORY, "/v1/feeds/articles.atom", "/v1/authors")
# Longer than any wait the service allows itself (connect 5 s, pool 10 s): a request that
# takes this long is a hang.
CLIENT_TIMEOUT = 20.0
# The bound: the same process serves again this soon after the database is back.
RECOVERY_SECONDS = 5.0
QUIET = {"NEWSDESK_ADMIN_KEY": ADMIN_KEY, "NEWSDESK_LOG_LEVEL": "warning"}


@pytest.fixture
def pg() -> Iterator[ThrowawayPostgres]:
    bin_dir = postgres_bin()
    needs(bin_dir is not None, "no PostgreSQL server binaries (initdb, pg_ctl) here")
    assert bin_dir is not None
    server = ThrowawayPostgres(bin_dir)
    try:
        yield server
    finally:
        server.close()


@dataclass
class Answer:
    kind: str
    started: float
    status: int | None = None
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class Load:
    """Anonymous reads and keyed writes from several threads, each on its own keep-alive
    connection, until stopped; every answer (or failure to get one) is kept."""

    def __init__(self, base_url: str, *, readers: int = 3, writers: int = 2) -> None:
        self.base_url = base_url
        self.answers: list[Answer] = []
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._read, args=(n,), daemon=True) for n in range(readers)
        ] + [threading.Thread(target=self._write, args=(n,), daemon=True) for n in range(writers)]

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(CLIENT_TIMEOUT + 5)
            assert not thread.is_alive(), "a request hung past the client's timeout"

    def _read(self, number: int) -> None:
        with httpx.Client(base_url=self.base_url, timeout=CLIENT_TIMEOUT) as client:
            count = number
            while not self.stopping.is_set():
                path = READ_PATHS[count % len(READ_PATHS)]
                self._keep("read", partial(client.get, path))
                count += 1

    def _write(self, number: int) -> None:
        with httpx.Client(base_url=self.base_url, timeout=CLIENT_TIMEOUT) as client:
            count = 0
            while not self.stopping.is_set():
                story = {"headline": f"Drill story {number}-{count}", "status": "published"}
                self._keep("write", partial(client.post, "/v1/articles", json=story, headers=ADMIN))
                count += 1
                time.sleep(0.02)

    def _keep(self, kind: str, call: Callable[[], httpx.Response]) -> None:
        answer = Answer(kind, time.monotonic())
        try:
            response = call()
        except httpx.TransportError as exc:
            answer.error = type(exc).__name__
        else:
            answer.status = response.status_code
            answer.headers = dict(response.headers)
            if response.status_code in (201, 503):
                answer.body = response.json()
        self.answers.append(answer)

    def wait_for(self, wanted: Callable[[Answer], bool], count: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while sum(1 for answer in list(self.answers) if wanted(answer)) < count:
            assert time.monotonic() < deadline, f"not {count} such answers in {seconds} s"
            time.sleep(0.05)


def assert_only_answers_or_503_problems(answers: list[Answer]) -> None:
    for answer in answers:
        assert answer.error is None, f"{answer.kind}: no answer ({answer.error})"
        assert answer.status in (200, 201, 503), f"{answer.kind}: {answer.status}"
        if answer.status == 503:
            assert answer.headers["content-type"] == "application/problem+json"
            assert int(answer.headers["retry-after"]) >= 1
            assert answer.body["status"] == 503
            assert "Traceback" not in str(answer.body)


def serves_again_within(client: httpx.Client, seconds: float, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not serving {seconds} s after the database is back"
        time.sleep(0.1)


def sql_value(url: str, query: str, *args: Any) -> Any:
    async def fetch() -> Any:
        connection = await asyncpg.connect(url)
        try:
            return await connection.fetchval(query, *args)
        finally:
            await connection.close()

    return asyncio.run(fetch())


@contextmanager
def article_table_locked(pg: ThrowawayPostgres, url: str) -> Iterator[Callable[[], None]]:
    """Hold a lock on the article table that lets reads through and makes every write wait;
    yields the function that lets it go."""
    database = url.rsplit("/", 1)[1]
    where = ["-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-d", database]
    psql = subprocess.Popen(
        [str(pg.bin_dir / "psql"), *where, "-q", "-v", "ON_ERROR_STOP=1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    assert psql.stdin is not None
    psql.stdin.write(b"BEGIN;\nLOCK TABLE article IN EXCLUSIVE MODE;\n")
    psql.stdin.flush()

    def release() -> None:
        if psql.poll() is None:
            assert psql.stdin is not None
            psql.stdin.write(b"COMMIT;\n")
            psql.stdin.close()
            psql.wait(10)

    held = (
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
        " WHERE c.relname = 'article' AND l.mode = 'ExclusiveLock' AND l.granted"
    )
    wait_until(lambda: sql_value(url, held) == 1, "the lock was not taken")
    try:
        yield release
    finally:
        release()


def waiting_on_locks(url: str) -> int:
    query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    return int(sql_value(url, query))


def wait_until(condition: Callable[[], bool], failure: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)


def post_story(base_url: str, headline: str) -> httpx.Response:
    story = {"headline": headline, "status": "published"}
    return httpx.post(f"{base_url}/v1/articles", json=story, headers=ADMIN, timeout=CLIENT_TIMEOUT)


def in_background(call: Callable[[], httpx.Response]) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except httpx.TransportError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_database_stopped_under_load_then_back(pg: ThrowawayPostgres, tmp_path: Path) -> None:
    url = pg.new_database("outage")
    migrated_and_seeded(url)
    with (
        running_server(tmp_path, extra_env=QUIET, database_url=url) as server,
        Load(server.url) as load,
        httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT) as client,
    ):
        load.wait_for(lambda a: a.kind == "write" and a.status == 201, count=5, seconds=30)
        pg.stop()
        # Both anonymous reads and writes meet the outage, and answer 503.
        load.wait_for(lambda a: a.kind == "read" and a.status == 503, count=5, seconds=30)
        load.wait_for(lambda a: a.kind == "write" and a.status == 503, count=5, seconds=30)
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503

        pg.start()
        back = time.monotonic()
        serves_again_within(client, RECOVERY_SECONDS, lambda: client.get(STORY).status_code == 200)
        serves_again_within(
            client,
            RECOVERY_SECONDS - (time.monotonic() - back),
            lambda: client.get("/readyz").status_code == 200,
        )
        load.wait_for(lambda a: a.status == 201 and a.started > back, count=3, seconds=10)
        load.stop()

        assert server.process.poll() is None, "the server process did not live through it"
        assert_only_answers_or_503_problems(load.answers)
        acknowledged = [a.body for a in load.answers if a.status == 201]
        for story in acknowledged:
            kept = client.get(f"/v1/articles/{story['id']}", headers=ADMIN)
            assert kept.status_code == 200, f"acknowledged write {story['slug']} is lost"
            assert kept.json()["headline"] == story["headline"]


def test_a_worker_started_while_the_database_is_down_sets_up_once_it_is_back(
    pg: ThrowawayPostgres, tmp_path: Path
) -> None:
    url = pg.new_database("late")
    upgrade(url)  # migrated, but the bootstrap admin key is not there yet
    pg.stop()
    with (
        running_server(tmp_path, extra_env=QUIET, database_url=url, plain_uvicorn=True) as server,
        httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT) as client,
    ):
        for headers in ({}, ADMIN):
            waiting = client.get("/v1/articles", headers=headers)
            assert waiting.status_code == 503  # not a 401: the key cannot be checked yet
            assert waiting.headers["content-type"] == "application/problem+json"
            assert int(waiting.headers["retry-after"]) >= 1
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200

        pg.start()
        serves_again_within(
            client,
            RECOVERY_SECONDS,
            lambda: client.get("/v1/keys", headers=ADMIN).status_code == 200,
        )
        story = {"headline": "Written after a late start", "status": "published"}
        assert client.post("/v1/articles", json=story, headers=ADMIN).status_code == 201
        assert client.get("/v1/articles").json()["data"][0]["headline"] == story["headline"]
        assert client.get("/readyz").status_code == 200
        assert server.process.poll() is None


def test_every_connection_busy_is_a_503_not_a_500(pg: ThrowawayPostgres, tmp_path: Path) -> None:
    url = pg.new_database("pool")
    migrated_and_seeded(url)
    env = QUIET | {
        "NEWSDESK_DB_POOL_SIZE": "2",  # two connections, no more at a peak
        "NEWSDESK_DB_POOL_TIMEOUT": "1",
        "NEWSDESK_RESPONSE_CACHE_BYTES": "0",  # every read needs a connection of the pool
    }
    with (
        running_server(tmp_path, extra_env=env, database_url=url) as server,
        httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT) as client,
        article_table_locked(pg, url) as release,
    ):
        writes = [in_background(partial(post_story, server.url, f"Held up {n}")) for n in range(2)]
        wait_until(lambda: waiting_on_locks(url) == 2, "the writes did not take the pool")
        for path in ("/v1/articles", STORY):
            busy = client.get(path)
            assert busy.status_code == 503
            assert busy.headers["content-type"] == "application/problem+json"
            assert int(busy.headers["retry-after"]) >= 1
        release()
        for thread, outcome in writes:
            thread.join(CLIENT_TIMEOUT)
            assert outcome[0].status_code == 201
        assert client.get(STORY).status_code == 200


def test_sigterm_under_load_finishes_requests_under_way(
    pg: ThrowawayPostgres, tmp_path: Path
) -> None:
    url = pg.new_database("sigterm")
    migrated_and_seeded(url)
    grace = 15
    env = QUIET | {"NEWSDESK_SHUTDOWN_GRACE_SECONDS": str(grace)}
    with (
        running_server(tmp_path, extra_env=env, database_url=url) as server,
        article_table_locked(pg, url) as release,
    ):
        writes = [
            in_background(partial(post_story, server.url, f"Under way {n}")) for n in range(3)
        ]
        wait_until(lambda: waiting_on_locks(url) == 3, "the writes are not under way")
        with Load(server.url, writers=0) as load:
            load.wait_for(lambda a: a.status == 200, count=10, seconds=30)
            server.process.send_signal(signal.SIGTERM)
            wait_until(lambda: refuses_connections(server.url), "still accepting")
            assert all(thread.is_alive() for thread, _ in writes), "cut off, not finished"
            release()
            for thread, outcome in writes:
                thread.join(CLIENT_TIMEOUT)
                assert outcome[0].status_code == 201, outcome[0]
            server.process.wait(grace)  # it exits, within the grace period
            # uvicorn ends by raising the signal it caught again, once it is done.
            assert server.process.returncode in (0, -signal.SIGTERM)
        for answer in load.answers:
            # Each read was answered in full, or not let in at all: never a 5xx.
            assert answer.status == 200 or answer.error is not None, answer
    assert sql_value(url, "SELECT count(*) FROM article WHERE headline LIKE 'Under way%'") == 3


def test_sigterm_exits_within_the_grace_period_when_requests_do_not_finish(
    pg: ThrowawayPostgres, tmp_path: Path
) -> None:
    url = pg.new_database("stuck")
    migrated_and_seeded(url)
    grace = 2
    env = QUIET | {"NEWSDESK_SHUTDOWN_GRACE_SECONDS": str(grace)}
    with (
        running_server(tmp_path, extra_env=env, database_url=url) as server,
        article_table_locked(pg, url),
    ):
        stuck = in_background(partial(post_story, server.url, "Never let through"))
        wait_until(lambda: waiting_on_locks(url) == 1, "the write is not under way")
        server.process.send_signal(signal.SIGTERM)
        # The grace period, and a little for closing the pool and the process.
        server.process.wait(grace + 3)
        stuck[0].join(CLIENT_TIMEOUT)
        answer = stuck[1][0]
        assert isinstance(answer, httpx.TransportError) or answer.status_code != 201


def refuses_connections(base_url: str) -> bool:
    try:
        httpx.get(f"{base_url}/healthz", timeout=2)
    except httpx.ConnectError:
        return True
    except httpx.TransportError:
        return False
    return False
