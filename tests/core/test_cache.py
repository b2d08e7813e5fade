"""The response cache never answers with anything older than the last acknowledged write,
whichever worker or machine took the write."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY, EDITOR, Backend
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
