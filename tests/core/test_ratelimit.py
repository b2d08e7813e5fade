"""Rate limits: failed authentications per client address and a request budget per key,
answered with a 429 problem, Retry-After and the RateLimit fields; counted in each worker's
memory, or in Redis for every worker and machine at once."""

import asyncio
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import ADMIN, ADMIN_KEY, EDITOR, REDIS_URL_ENV, Backend, needs
from tests.factories import make_article
from tests.servers import free_port, migrated_and_seeded, running_server

BAD_KEY = {"Authorization": "Bearer nd_not_a_key_at_all"}
STANDING = re.compile(r'^"(?P<policy>[a-z-]+)";r=(?P<remaining>\d+);t=(?P<reset>\d+)$')


def standing(response: httpx.Response) -> tuple[str, int, int]:
    found = STANDING.match(response.headers["ratelimit"])
    assert found, response.headers["ratelimit"]
    return found["policy"], int(found["remaining"]), int(found["reset"])


def assert_limited(response: httpx.Response, policy: str) -> None:
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 429
    assert problem["type"] == "urn:newsdesk:problem:too-many-requests"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["ratelimit-policy"].startswith(f'"{policy}";q=')
    name, remaining, reset = standing(response)
    assert (name, remaining) == (policy, 0)
    assert reset == int(response.headers["retry-after"])


@pytest.fixture
def limited(db: Backend) -> Iterator[TestClient]:
    """An app of its own on the test database, with small limits counted in memory."""
    settings = Settings(
        database_url=db.url,
        admin_key=ADMIN_KEY,
        auth_failure_limit="3/minute",
        key_rate_limit="5/minute",
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_failed_authentications_are_limited_per_address(limited: TestClient) -> None:
    for left in (2, 1, 0):
        refused = limited.get("/v1/articles", headers=BAD_KEY)
        assert refused.status_code == 401
        assert refused.headers["ratelimit-policy"] == '"failed-auth";q=3;w=60'
        assert standing(refused)[:2] == ("failed-auth", left)
    # Now every key from this address waits, the right one too: guessing gets no answer.
    assert_limited(limited.get("/v1/articles", headers=BAD_KEY), "failed-auth")
    assert_limited(limited.get("/v1/articles", headers=EDITOR), "failed-auth")
    malformed = limited.get("/v1/articles", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_limited(malformed, "failed-auth")
    # Reading without a key is not an attempt to authenticate.
    assert limited.get("/v1/articles").status_code == 200


def test_each_key_has_a_request_budget(limited: TestClient) -> None:
    for left in (4, 3, 2, 1):
        answered = limited.get("/v1/articles", headers=EDITOR)
        assert answered.status_code == 200
        assert answered.headers["ratelimit-policy"] == '"key";q=5;w=60'
        assert standing(answered)[:2] == ("key", left)
    created = limited.post("/v1/authors", json={"name": "Last One In"}, headers=EDITOR)
    assert created.status_code == 201
    assert standing(created)[:2] == ("key", 0)
    refused = limited.post("/v1/authors", json={"name": "Too Late"}, headers=EDITOR)
    assert_limited(refused, "key")
    # The refused write changed nothing, and other keys have budgets of their own.
    names = [author["name"] for author in limited.get("/v1/authors", headers=ADMIN).json()["data"]]
    assert names == ["Last One In"]
    assert limited.get("/v1/articles").headers.get("ratelimit") is None


def test_a_request_spends_one_unit_however_many_of_its_parts_ask_who_is_asking(
    limited: TestClient,
) -> None:
    # An article's revisions need an editor, and their ETag depends on who asks: two
    # questions about the key in one request, one unit of its budget.
    article = make_article(limited)
    for left in (3, 2, 1):
        answered = limited.get(f"/v1/articles/{article['id']}/revisions", headers=EDITOR)
        assert answered.status_code == 200
        assert standing(answered)[:2] == ("key", left)


def test_limits_can_be_turned_off(db: Backend) -> None:
    settings = Settings(database_url=db.url, auth_failure_limit="", key_rate_limit="")
    with TestClient(create_app(settings)) as client:
        for _ in range(5):
            assert client.get("/v1/articles", headers=BAD_KEY).status_code == 401
        answered = client.get("/v1/articles", headers=EDITOR)
        assert answered.status_code == 200
        assert "ratelimit" not in answered.headers


def test_a_redis_that_does_not_answer_lets_requests_through(db: Backend) -> None:
    settings = Settings(
        database_url=db.url,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        auth_failure_limit="1/minute",
        key_rate_limit="1/minute",
    )
    with TestClient(create_app(settings)) as client:
        for _ in range(3):
            assert client.get("/v1/articles", headers=EDITOR).status_code == 200
            assert client.get("/v1/articles", headers=BAD_KEY).status_code == 401


@pytest.mark.parametrize("setting", ["NEWSDESK_AUTH_FAILURE_LIMIT", "NEWSDESK_KEY_RATE_LIMIT"])
def test_a_limit_that_does_not_parse_is_refused(setting: str) -> None:
    with pytest.raises(ValueError, match="100/minute"):
        Settings(**{setting.removeprefix("NEWSDESK_").lower(): "lots"})


@pytest.fixture
def redis_url() -> str:
    """The test Redis database, emptied first (counts of an earlier run would linger)."""
    url = os.environ.get(REDIS_URL_ENV, "")
    needs(bool(url), f"{REDIS_URL_ENV} is not set")
    import coredis

    async def empty() -> None:
        client: coredis.Redis[bytes] = coredis.Redis.from_url(url)
        await client.flushdb()

    asyncio.run(empty())
    return url


def test_redis_counts_for_every_server_at_once(redis_url: str, tmp_path: Path) -> None:
    """Two servers on one database and one Redis: failures and a key's requests are counted
    once, whichever server answers (each in its own memory would allow twice as many)."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    migrated_and_seeded(url)
    env = {
        "NEWSDESK_ADMIN_KEY": ADMIN_KEY,
        "NEWSDESK_REDIS_URL": redis_url,
        "NEWSDESK_AUTH_FAILURE_LIMIT": "4/minute",
        "NEWSDESK_KEY_RATE_LIMIT": "6/minute",
        "NEWSDESK_LOG_LEVEL": "warning",
    }
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with (
        running_server(tmp_path, extra_env=env, database_url=url) as first,
        running_server(tmp_path, extra_env=env, database_url=url) as second,
    ):
        servers = [first.url, second.url]
        statuses = [
            httpx.get(f"{servers[n % 2]}/v1/articles", headers=admin).status_code for n in range(8)
        ]
        assert statuses == [200] * 6 + [429] * 2
        failures = [httpx.get(f"{servers[n % 2]}/v1/articles", headers=BAD_KEY) for n in range(6)]
        assert [response.status_code for response in failures] == [401] * 4 + [429] * 2
        assert_limited(failures[-1], "failed-auth")
        assert httpx.get(f"{second.url}/v1/articles").status_code == 200


@pytest.mark.parametrize("trusted", [False, True])
def test_x_forwarded_for_counts_only_from_a_proxy_the_operator_named(
    trusted: bool, tmp_path: Path
) -> None:
    """Untrusted, the header cannot buy a client a fresh budget; from a named proxy, each
    client behind it has its own."""
    env = {"NEWSDESK_AUTH_FAILURE_LIMIT": "2/minute", "NEWSDESK_LOG_LEVEL": "warning"}
    if trusted:
        env["NEWSDESK_FORWARDED_ALLOW_IPS"] = "127.0.0.1"
    with running_server(tmp_path, extra_env=env) as server:
        statuses = [
            httpx.get(
                f"{server.url}/v1/articles",
                headers=BAD_KEY | {"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(1, 7)
        ]
    assert statuses == ([401] * 6 if trusted else [401, 401, 429, 429, 429, 429])
