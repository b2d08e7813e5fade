"""Racing writers against a real server on PostgreSQL: the database decides who wins, and
nobody's edit is silently lost.

These start ``newsdesk serve`` (two worker processes) in a subprocess on the test
database and fire concurrent requests at it. They need PostgreSQL: SQLite lets one
writer in at a time, so there is no race to show there.
"""

import asyncio
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY, EDITOR, Backend
from tests.factories import make_article, make_entity
from tests.servers import free_port, newsdesk_command

RACERS = 20


def _wait_until_ready(base_url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = server.stdout.read().decode() if server.stdout else ""
            raise RuntimeError(f"newsdesk serve exited early:\n{output}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("newsdesk serve did not answer /healthz within 60 seconds")


@pytest.fixture(scope="module")
def live_server(backend: Backend) -> Iterator[str]:
    """``newsdesk serve --workers 2`` on the test database; yields its base URL."""
    if backend.name != "postgresql":
        pytest.skip(
            f"racing requests run on PostgreSQL only (this is the {backend.name} run; "
            "set NEWSDESK_TEST_DATABASE_URL to a PostgreSQL database to run them)"
        )
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSDESK_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env |= {
        "NEWSDESK_DATABASE_URL": backend.url,
        "NEWSDESK_ADMIN_KEY": ADMIN_KEY,
        "NEWSDESK_LOG_LEVEL": "warning",
        "NEWSDESK_DB_POOL_SIZE": "12",
    }
    server = subprocess.Popen(
        [newsdesk_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(base_url, server)
        yield base_url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _race(base_url: str, requests: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
    """Send every (method, path, options) at once and return the responses in order."""

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(requests))
        async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
            return list(
                await asyncio.gather(
                    *(http.request(method, path, **options) for method, path, options in requests)
                )
            )

    return asyncio.run(run())


def _statuses(responses: list[httpx.Response]) -> Counter[int]:
    for response in responses:
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
    return Counter(response.status_code for response in responses)


def _revision_versions(client: TestClient, url: str) -> list[int]:
    response = client.get(f"{url}/revisions?limit=100", headers=EDITOR)
    assert response.status_code == 200
    return [item["version"] for item in response.json()["data"]]


def test_racing_patches_with_the_same_if_match_have_one_winner(
    db: Backend, live_server: str
) -> None:
    client = db.client
    article = make_article(client, headline="Ruto congratulates Trump")
    url = f"/v1/articles/{article['slug']}"
    read = client.get(url, headers=EDITOR)
    etag = read.headers["etag"]
    requests = [
        (
            "PATCH",
            url,
            {"json": {"headline": f"Edit number {n}"}, "headers": EDITOR | {"If-Match": etag}},
        )
        for n in range(RACERS)
    ]
    responses = _race(live_server, requests)
    assert _statuses(responses) == {200: 1, 412: RACERS - 1}
    winner = next(response for response in responses if response.status_code == 200)
    now = client.get(url, headers=EDITOR).json()
    assert now["version"] == read.json()["version"] + 1
    assert now["headline"] == winner.json()["headline"]
    assert _revision_versions(client, url) == [2, 1]


def test_racing_patches_without_if_match_are_all_recorded(db: Backend, live_server: str) -> None:
    client = db.client
    article = make_article(client, headline="Ruto congratulates Trump")
    url = f"/v1/articles/{article['slug']}"
    requests = [
        ("PATCH", url, {"json": {"standfirst": f"Take {n}"}, "headers": EDITOR})
        for n in range(RACERS)
    ]
    responses = _race(live_server, requests)
    assert _statuses(responses) == {200: RACERS}
    assert sorted(response.json()["version"] for response in responses) == list(
        range(2, RACERS + 2)
    )
    assert client.get(url).json()["version"] == RACERS + 1
    assert _revision_versions(client, url) == list(range(RACERS + 1, 0, -1))


def test_racing_deletes_with_the_same_if_match_have_one_winner(
    db: Backend, live_server: str
) -> None:
    client = db.client
    article = make_article(client, headline="Ruto congratulates Trump")
    url = f"/v1/articles/{article['slug']}"
    etag = client.get(url, headers=EDITOR).headers["etag"]
    requests = [("DELETE", url, {"headers": EDITOR | {"If-Match": etag}}) for _ in range(RACERS)]
    statuses = _statuses(_race(live_server, requests))
    assert statuses[204] == 1
    assert set(statuses) <= {204, 404, 412}
    listed = client.get("/v1/articles?status=deleted", headers=EDITOR).json()["data"]
    assert [item["slug"] for item in listed] == [article["slug"]]


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("articles", {"headline": "Ruto congratulates Trump"}),
        ("authors", {"name": "Achieng Odhiambo"}),
        ("entities", {"name": "William Ruto", "type": "person"}),
    ],
)
def test_racing_creates_with_the_same_slug_have_one_winner(
    db: Backend, live_server: str, kind: str, payload: dict[str, str]
) -> None:
    client = db.client
    body = payload | {"slug": "the-same-slug"}
    requests = [("POST", f"/v1/{kind}", {"json": body, "headers": EDITOR}) for _ in range(RACERS)]
    responses = _race(live_server, requests)
    assert _statuses(responses) == {201: 1, 409: RACERS - 1}
    listed = client.get(f"/v1/{kind}?count=true", headers=EDITOR).json()
    assert listed["meta"]["total"] == 1
    assert listed["data"][0]["slug"] == "the-same-slug"


def test_racing_creates_without_a_slug_all_get_their_own(db: Backend, live_server: str) -> None:
    client = db.client
    requests = [
        ("POST", "/v1/articles", {"json": {"headline": "Breaking news"}, "headers": EDITOR})
        for _ in range(RACERS)
    ]
    responses = _race(live_server, requests)
    assert _statuses(responses) == {201: RACERS}
    slugs = {response.json()["slug"] for response in responses}
    assert slugs == {"breaking-news"} | {f"breaking-news-{n}" for n in range(2, RACERS + 1)}
    total = client.get("/v1/articles?count=true&status=draft", headers=EDITOR).json()["meta"]
    assert total["total"] == RACERS


def test_racing_merges_in_both_directions_have_one_winner(db: Backend, live_server: str) -> None:
    client = db.client
    make_entity(client, name="William Ruto", type="person", slug="william-ruto")
    make_entity(client, name="President Ruto", type="person", slug="president-ruto")
    article = make_article(
        client, headline="Ruto calls Trump", entities=["william-ruto", "president-ruto"]
    )
    requests = [
        (
            "POST",
            f"/v1/entities/{source}/merge",
            {"json": {"into": target}, "headers": EDITOR},
        )
        for source, target in [
            ("william-ruto", "president-ruto"),
            ("president-ruto", "william-ruto"),
        ]
        * (RACERS // 2)
    ]
    statuses = _statuses(_race(live_server, requests))
    assert statuses[200] == 1
    # The losers find their entity gone: merged away (308 to the winner), or its target gone.
    assert set(statuses) <= {200, 308, 404, 422}
    remaining = client.get("/v1/entities?type=person").json()["data"]
    assert len(remaining) == 1
    tags = client.get(f"/v1/articles/{article['slug']}").json()["entities"]
    assert [tag["id"] for tag in tags] == [remaining[0]["id"]]
    assert _revision_versions(client, f"/v1/articles/{article['slug']}") == [2, 1]
