"""CORS (NEWSDESK_CORS_ORIGINS): browsers on the listed origins may call the API, with the
validators and paging headers exposed; other origins get no CORS headers; without the
setting there is no CORS at all."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import EDITOR, Backend
from tests.factories import make_article

ALLOWED = "https://desk.example.com"


@pytest.fixture
def cors_client(db: Backend) -> Iterator[TestClient]:
    settings = Settings(database_url=db.url, cors_origins=f"{ALLOWED}, https://other.example")
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_listed_origin_reads_with_the_validators_exposed(
    db: Backend, cors_client: TestClient
) -> None:
    make_article(db.client, headline="Seen from the browser")
    response = cors_client.get("/v1/articles", headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    exposed = {
        name.strip().lower()
        for name in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"etag", "last-modified", "link", "location", "x-request-id"} <= exposed
    assert "Origin" in response.headers["vary"]


def test_a_preflight_allows_writes_with_if_match(cors_client: TestClient) -> None:
    response = cors_client.options(
        "/v1/articles/some-story",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "PATCH" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "content-type", "if-match"):
        assert header in allowed


def test_a_write_from_a_listed_origin_carries_the_cors_header(cors_client: TestClient) -> None:
    response = cors_client.post(
        "/v1/articles", json={"headline": "From the desk"}, headers=EDITOR | {"Origin": ALLOWED}
    )
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == ALLOWED


def test_another_origin_gets_no_cors_headers(cors_client: TestClient) -> None:
    response = cors_client.get("/v1/articles", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = cors_client.options(
        "/v1/articles",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers


def test_without_the_setting_there_is_no_cors(client: TestClient) -> None:
    response = client.get("/v1/articles", headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
