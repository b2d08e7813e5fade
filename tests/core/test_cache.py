"""The response cache never answers with anything older than the last acknowledged write,
whichever worker or machine took the write."""

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app.config import Settings
from app.main import create_app
from tests.conftest import (
    ADMIN_KEY,
    CACHE_DEFAULT_BYTES,
    EDITOR,
    Backend,
    StatementLog,
    record_statements,
)
from tests.factories import make_article, make_author
from tests.servers import migrated_and_seeded, running_server

STORY = "/v1/articles/ruto-congratulates-trump-in-phone-call"


def test_a_write_through_one_server_is_read_at_once_through_another(
    scratch_url: str, tmp_path: Path
) -> None:
    migrated_and_seeded(scratch_url)
    env = {"NEWSDESK_ADMIN_KEY": ADMIN_KEY, "NEWSDESK_LOG_LEVEL": "warning"}
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with (
        running_server(tmp_path, extra_env=env, database_url=scratch_url) as first,
        running_server(tmp_path, extra_env=env, database_url=scratch_url) as second,
        httpx.Client(base_url=first.url, timeout=10) as writer,
        httpx.Client(base_url=second.url, timeout=10) as reader,
    ):
        for round_ in range(15):
            # Both servers hold the story and the front page in their caches...
            for client in (writer, reader, reader):
                assert client.get(STORY).status_code == 200
                assert client.get("/v1/articles?limit=3&fields=standfirst").status_code == 200
            standfirst = f"Revised summary number {round_}"
            patched = writer.patch(STORY, json={"standfirst": standfirst}, headers=admin)
            assert patched.status_code == 200
            # ...and the very next read through the other one shows the write.
            assert reader.get(STORY).json()["standfirst"] == standfirst
            front = reader.get("/v1/articles?limit=3&fields=standfirst").json()["data"]
            assert front[0]["standfirst"] == standfirst
            assert reader.get(STORY).headers["etag"] == patched.headers["etag"]


@pytest.mark.response_cache("on", "off")
def test_cached_answers_follow_every_write(client: TestClient) -> None:
    author = make_author(client, name="Achieng Odhiambo")
    article = make_article(client, headline="First", authors=[author["slug"]])
    url = f"/v1/articles/{article['slug']}"
    assert client.get(url).json()["authors"][0]["name"] == "Achieng Odhiambo"
    assert (
        client.patch(
            f"/v1/authors/{author['slug']}", json={"name": "Achieng O."}, headers=EDITOR
        ).status_code
        == 200
    )
    assert client.get(url).json()["authors"][0]["name"] == "Achieng O."
    assert client.delete(url, headers=EDITOR).status_code == 204
    assert client.get(url).status_code == 404
    assert client.get("/v1/articles").json()["data"] == []


@pytest.mark.response_cache("on", "off")
def test_a_scheduled_article_appears_when_its_time_comes(
    client: TestClient, move_clock: Callable[[timedelta], None]
) -> None:
    soon = datetime.now(UTC) + timedelta(hours=1)
    article = make_article(client, headline="Embargoed", published_at=soon.isoformat())
    assert client.get("/v1/articles").json()["data"] == []
    assert client.get(f"/v1/articles/{article['slug']}").status_code == 404
    move_clock(timedelta(hours=1, seconds=1))
    assert [item["headline"] for item in client.get("/v1/articles").json()["data"]] == ["Embargoed"]
    assert client.get(f"/v1/articles/{article['slug']}").status_code == 200


def test_a_repeated_read_costs_one_statement_and_revalidates(db: Backend) -> None:
    client = db.client
    make_article(client, headline="Cached")
    first = client.get("/v1/articles")
    with db.statements.counting() as statements:
        again = client.get("/v1/articles")
        not_modified = client.get("/v1/articles", headers={"If-None-Match": first.headers["etag"]})
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["cache-control"] == "public, max-age=60"
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert len(statements) == 2
    # Editors never get a cached answer.
    assert client.get("/v1/articles", headers=EDITOR).headers["cache-control"] == (
        "private, no-store"
    )


@pytest.fixture
def older_transaction(db: Backend) -> Iterator[None]:
    """On PostgreSQL, a transaction with an id of its own (as a long report or a write
    elsewhere has) left open while the test runs."""
    if db.name != "postgresql":
        yield
        return
    loop = asyncio.new_event_loop()
    dsn = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = loop.run_until_complete(asyncpg.connect(dsn))
    try:
        loop.run_until_complete(connection.execute("BEGIN; SELECT pg_current_xact_id()"))
        yield
    finally:
        loop.run_until_complete(connection.close())
        loop.close()


def test_a_transaction_left_open_elsewhere_does_not_send_kept_answers_away(
    db: Backend, older_transaction: None
) -> None:
    """An older transaction still running holds back what PostgreSQL calls final: the
    stories written after it started stay 'in flight' to a server that starts now, and
    its cache still keeps its answers from the first read."""
    urls = [
        f"/v1/articles/{make_article(db.client, headline=f'Story {n}')['slug']}" for n in range(3)
    ]
    settings = Settings(
        database_url=db.url, response_cache_bytes=CACHE_DEFAULT_BYTES, webhook_sender=False
    )
    app = create_app(settings)
    log = StatementLog()
    with TestClient(app) as client:
        record_statements(app, log)
        for url in urls:
            assert client.get(url).status_code == 200
        with log.counting() as statements:
            for url in urls:
                assert client.get(url).status_code == 200
        assert len(statements) == len(urls)  # each one the cache's own check
