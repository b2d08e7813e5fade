"""Related articles: published stories sharing the most entities, newest first on ties."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EDITOR, Backend
from tests.factories import make_article, make_entity

# Reads answered by the response cache and, with it off, by the app itself.
pytestmark = pytest.mark.response_cache("on", "off")


def related(client: TestClient, ref: str, **params: object) -> list[str]:
    response = client.get(f"/v1/articles/{ref}/related", params=params)
    assert response.status_code == 200, response.text
    return [item["slug"] for item in response.json()["data"]]


def test_most_shared_first_then_newest(client: TestClient) -> None:
    for name in ("Kenya", "Haiti", "Sudan", "Nairobi"):
        make_entity(client, name=name, type="place")
    make_article(client, slug="origin", entities=["kenya", "haiti", "sudan"])
    make_article(
        client,
        slug="two-old",
        entities=["kenya", "haiti", "nairobi"],
        published_at="2024-11-01T10:00:00Z",
    )
    make_article(
        client, slug="two-new", entities=["haiti", "sudan"], published_at="2024-11-05T10:00:00Z"
    )
    make_article(client, slug="three", entities=["kenya", "haiti", "sudan", "nairobi"])
    make_article(client, slug="one-newest", entities=["sudan"], published_at="2024-11-09T10:00:00Z")
    make_article(client, slug="none", entities=["nairobi"])
    make_article(client, slug="untagged")
    assert related(client, "origin") == ["three", "two-new", "two-old", "one-newest"]
    response = client.get("/v1/articles/origin/related", params={"limit": 2})
    body = response.json()
    assert [item["slug"] for item in body["data"]] == ["three", "two-new"]
    assert body["meta"] == {"limit": 2, "next_cursor": None}
    first = body["data"][0]
    assert first["shared_entities"] == 3
    assert [entity["slug"] for entity in first["entities"]] == [
        "haiti",
        "kenya",
        "nairobi",
        "sudan",
    ]
    assert "body" not in first
    assert response.headers["cache-control"] == "public, max-age=60"


def test_only_published_articles_and_never_itself(client: TestClient) -> None:
    make_entity(client, name="Haiti", type="place")
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    make_article(client, slug="origin", entities=["haiti"])
    make_article(client, slug="live", entities=["haiti"])
    make_article(client, slug="draft", entities=["haiti"], status="draft")
    make_article(client, slug="archived", entities=["haiti"], status="archived")
    make_article(client, slug="scheduled", entities=["haiti"], published_at=future)
    make_article(client, slug="trashed", entities=["haiti"])
    assert client.delete("/v1/articles/trashed", headers=EDITOR).status_code == 204
    assert related(client, "origin") == ["live"]
    editor = client.get("/v1/articles/origin/related", headers=EDITOR).json()
    assert [item["slug"] for item in editor["data"]] == ["live"]
    # Editors may ask from a draft; anonymous callers get 404 for it.
    assert client.get("/v1/articles/draft/related", headers=EDITOR).status_code == 200
    missing = client.get("/v1/articles/draft/related")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/articles/trashed/related", headers=EDITOR).status_code == 404


def test_limits_and_old_slugs(client: TestClient) -> None:
    make_article(client, slug="first-slug")
    assert related(client, "first-slug") == []
    for limit in (0, 101, "x"):
        response = client.get("/v1/articles/first-slug/related", params={"limit": limit})
        assert response.status_code == 422
    renamed = client.patch("/v1/articles/first-slug", json={"slug": "new-slug"}, headers=EDITOR)
    assert renamed.status_code == 200
    moved = client.get("/v1/articles/first-slug/related?limit=5", follow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["location"] == "/v1/articles/new-slug/related?limit=5"


def test_one_ranking_query_whatever_the_limit(client: TestClient, db: Backend) -> None:
    make_entity(client, name="Kenya", type="place")
    make_article(client, slug="origin", entities=["kenya"])
    for _ in range(5):
        make_article(client, entities=["kenya"])
    counts = []
    for limit in (1, 5):
        with db.statements.counting() as statements:
            assert len(related(client, "origin", limit=limit)) == limit
        counts.append(len(statements))
    assert counts[0] == counts[1]
