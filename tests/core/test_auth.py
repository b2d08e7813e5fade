"""Who may do what: anonymous readers, editors, admins; keys; caching headers."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN, EDITOR
from tests.factories import make_article, make_author


def test_anonymous_write_is_401_with_bearer_challenge(client: TestClient) -> None:
    response = client.post("/v1/articles", json={"headline": "A"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "header", ["Bearer not-a-key", "Basic dXNlcjpwYXNz", "Bearer", "nd_test_editor_key"]
)
def test_invalid_credentials_are_401(client: TestClient, header: str) -> None:
    response = client.get("/v1/articles", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["cache-control"] == "private, no-store"


def test_editor_may_not_manage_keys(client: TestClient) -> None:
    response = client.post("/v1/keys", json={"name": "x", "role": "editor"}, headers=EDITOR)
    assert response.status_code == 403
    assert client.get("/v1/keys", headers=EDITOR).status_code == 403


def test_admin_creates_lists_and_revokes_keys(client: TestClient) -> None:
    created = client.post("/v1/keys", json={"name": "sports desk", "role": "editor"}, headers=ADMIN)
    assert created.status_code == 201
    key = created.json()
    secret = key["key"]
    assert created.headers["location"].endswith(f"/v1/keys/{key['id']}")
    their_headers = {"Authorization": f"Bearer {secret}"}
    assert (
        client.post("/v1/articles", json={"headline": "Hi"}, headers=their_headers).status_code
        == 201
    )

    listed = client.get("/v1/keys", headers=ADMIN).json()["data"]
    assert "sports desk" in [item["name"] for item in listed]
    assert all("key" not in item and "key_hash" not in item for item in listed)
    assert secret not in str(listed)

    assert client.delete(f"/v1/keys/{key['id']}", headers=ADMIN).status_code == 204
    assert client.get("/v1/articles", headers=their_headers).status_code == 401
    assert client.delete(f"/v1/keys/{key['id']}", headers=ADMIN).status_code == 404
    names = [item["name"] for item in client.get("/v1/keys", headers=ADMIN).json()["data"]]
    assert "sports desk" not in names
    revoked = client.get("/v1/keys?include_revoked=true", headers=ADMIN).json()["data"]
    assert any(item["name"] == "sports desk" and item["revoked_at"] for item in revoked)


def test_key_role_must_be_known(client: TestClient) -> None:
    response = client.post("/v1/keys", json={"name": "x", "role": "owner"}, headers=ADMIN)
    assert response.status_code == 422


def test_anonymous_readers_see_published_only(client: TestClient) -> None:
    make_article(client, headline="Out now", status="published")
    draft = make_article(client, headline="Not yet", status="draft")
    archived = make_article(client, headline="Old news", status="archived")
    scheduled = make_article(
        client, headline="Tomorrow", status="published", published_at="2999-01-01T00:00:00Z"
    )
    headlines = [item["headline"] for item in client.get("/v1/articles").json()["data"]]
    assert headlines == ["Out now"]
    for hidden in (draft, archived, scheduled):
        assert client.get(f"/v1/articles/{hidden['slug']}").status_code == 404
        assert client.get(f"/v1/articles/{hidden['id']}").status_code == 404
        assert client.get(f"/v1/articles/{hidden['slug']}", headers=EDITOR).status_code == 200
    assert scheduled["status"] == "scheduled"
    editor_view = client.get("/v1/articles", headers=EDITOR).json()["data"]
    assert len(editor_view) == 4


@pytest.mark.parametrize("status", ["draft", "scheduled", "archived", "deleted", "published,draft"])
def test_anonymous_status_filter_other_than_published_is_401(
    client: TestClient, status: str
) -> None:
    assert client.get(f"/v1/articles?status={status}").status_code == 401
    assert client.get("/v1/articles?status=published").status_code == 200


def test_author_email_only_for_editors(client: TestClient) -> None:
    author = make_author(client, name="Brian Mutua", email="b.mutua@example.com")
    assert author["email"] == "b.mutua@example.com"
    public = client.get(f"/v1/authors/{author['slug']}").json()
    assert "email" not in public
    listed = client.get("/v1/authors").json()["data"][0]
    assert "email" not in listed
    assert client.get("/v1/authors", headers=EDITOR).json()["data"][0]["email"]


def test_cache_control_public_for_anonymous_private_for_keys(client: TestClient) -> None:
    article = make_article(client)
    anonymous = client.get(f"/v1/articles/{article['slug']}")
    assert anonymous.headers["cache-control"] == "public, max-age=60"
    assert "Authorization" in anonymous.headers["vary"]
    assert client.get("/v1/articles").headers["cache-control"] == "public, max-age=60"
    keyed = client.get(f"/v1/articles/{article['slug']}", headers=EDITOR)
    assert keyed.headers["cache-control"] == "private, no-store"
    created = client.post("/v1/authors", json={"name": "X"}, headers=EDITOR)
    assert created.headers["cache-control"] == "private, no-store"
    missing = client.get("/v1/articles/none-such")
    assert "public" not in missing.headers["cache-control"]


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    echoed = client.get("/v1/articles", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = client.get("/v1/articles")
    assert len(generated.headers["x-request-id"]) >= 16
    other = client.get("/v1/articles")
    assert other.headers["x-request-id"] != generated.headers["x-request-id"]
    assert client.get("/v1/nothing").headers["x-request-id"]


def test_head_answers_like_get_without_a_body(client: TestClient) -> None:
    article = make_article(client)
    get = client.get(f"/v1/articles/{article['slug']}")
    head = client.head(f"/v1/articles/{article['slug']}")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["cache-control"] == "public, max-age=60"
    assert client.head("/v1/feeds/articles.atom").status_code == 200
    assert client.head("/docs").status_code == 200
    assert client.head("/v1/articles/none-such").status_code == 404
