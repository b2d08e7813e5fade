"""API keys one by one and a page at a time, and the bootstrap admin key that the
configured NEWSDESK_ADMIN_KEY becomes (and stops being when it changes)."""

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import ADMIN, ADMIN_KEY, EDITOR, Backend


def _create(client: TestClient, name: str, role: str = "editor") -> dict[str, str]:
    response = client.post("/v1/keys", json={"name": name, "role": role}, headers=ADMIN)
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def test_get_one_key_shows_it_without_its_secret(client: TestClient) -> None:
    created = _create(client, "wire desk")
    response = client.get(f"/v1/keys/{created['id']}", headers=ADMIN)
    assert response.status_code == 200
    key = response.json()
    assert key == {
        "id": created["id"],
        "name": "wire desk",
        "role": "editor",
        "prefix": created["key"][:10],
        "created_at": created["created_at"],
        "revoked_at": None,
    }
    assert created["key"] not in response.text
    assert response.headers["cache-control"] == "private, no-store"

    assert client.delete(f"/v1/keys/{created['id']}", headers=ADMIN).status_code == 204
    revoked = client.get(f"/v1/keys/{created['id']}", headers=ADMIN).json()
    assert revoked["revoked_at"] is not None
    assert revoked["name"] == "wire desk"


def test_get_one_key_refuses_editors_strangers_and_unknown_ids(client: TestClient) -> None:
    created = _create(client, "photo desk")
    url = f"/v1/keys/{created['id']}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=EDITOR).status_code == 403
    missing = client.get("/v1/keys/00000000-0000-4000-8000-000000000000", headers=ADMIN)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/keys/not-a-uuid", headers=ADMIN).status_code == 422


def test_keys_are_paged_with_cursors(client: TestClient) -> None:
    names = {f"desk {number}" for number in range(5)}
    for name in sorted(names):
        _create(client, name)
    revoked = _create(client, "gone desk")
    assert client.delete(f"/v1/keys/{revoked['id']}", headers=ADMIN).status_code == 204

    seen: list[dict[str, str]] = []
    url: str | None = "/v1/keys?limit=2&count=true"
    pages = 0
    while url:
        response = client.get(url, headers=ADMIN)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["data"]) <= 2
        # The two test keys and the five desks, never the revoked one.
        assert page["meta"]["total"] == 7
        seen += page["data"]
        cursor = page["meta"]["next_cursor"]
        url = f"/v1/keys?limit=2&count=true&cursor={cursor}" if cursor else None
        pages += 1
    assert pages == 4
    assert len({item["id"] for item in seen}) == 7
    assert {item["name"] for item in seen} == names | {"bootstrap admin", "test editor"}

    everything = client.get("/v1/keys?limit=100&include_revoked=true&count=true", headers=ADMIN)
    assert everything.json()["meta"]["total"] == 8
    bad = client.get("/v1/keys?cursor=not-a-cursor", headers=ADMIN)
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"


def test_changing_the_admin_key_retires_the_old_bootstrap_key(db: Backend) -> None:
    """A restart with another NEWSDESK_ADMIN_KEY: the new secret works, the old one is
    revoked (kept and listed as such), and restarting with the old one brings it back."""
    new_secret = "nd_rotated_admin_key_0123456789abcdefghijklmn"
    new_admin = {"Authorization": f"Bearer {new_secret}"}

    def started_with(secret: str | None) -> TestClient:
        return TestClient(create_app(Settings(database_url=db.url, admin_key=secret)))

    with started_with(new_secret) as rotated:
        assert rotated.get("/v1/keys", headers=new_admin).status_code == 200
        assert rotated.get("/v1/keys", headers=ADMIN).status_code == 401
        listed = rotated.get("/v1/keys?include_revoked=true&limit=100", headers=new_admin)
        bootstrap = [item for item in listed.json()["data"] if item["name"] == "bootstrap admin"]
        assert len(bootstrap) == 2
        assert sum(item["revoked_at"] is None for item in bootstrap) == 1
        assert {item["role"] for item in bootstrap} == {"admin"}
    # The session's app sees the rotation at once: the old secret no longer works there.
    assert db.client.get("/v1/keys", headers=ADMIN).status_code == 401

    with started_with(ADMIN_KEY) as restored:
        assert restored.get("/v1/keys", headers=ADMIN).status_code == 200
        assert restored.get("/v1/keys", headers=new_admin).status_code == 401

    with started_with(None) as without:
        # No configured secret: no bootstrap key works any more; editors' keys still do.
        assert without.get("/v1/keys", headers=ADMIN).status_code == 401
        assert without.get("/v1/articles", headers=EDITOR).status_code == 200
