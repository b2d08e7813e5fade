"""Webhook subscriptions: admin-only CRUD, a secret shown once, and URLs on non-public
addresses refused."""

import base64
import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN, EDITOR

PUBLIC_URL = "http://93.184.216.34/hooks/newsdesk"


def test_create_shows_the_secret_once(client: TestClient) -> None:
    created = client.post(
        "/v1/webhooks",
        json={"url": PUBLIC_URL, "events": ["article.published"], "description": "Site"},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    webhook = created.json()
    assert created.headers["location"].endswith(f"/v1/webhooks/{webhook['id']}")
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]+=*", webhook["secret"])
    assert len(base64.b64decode(webhook["secret"].removeprefix("whsec_"))) >= 24
    assert webhook["events"] == ["article.published"]
    assert webhook["active"] is True
    read = client.get(f"/v1/webhooks/{webhook['id']}", headers=ADMIN).json()
    assert "secret" not in read
    assert read == {key: value for key, value in webhook.items() if key != "secret"}
    listed = client.get("/v1/webhooks", headers=ADMIN).json()
    assert [item["id"] for item in listed["data"]] == [webhook["id"]]
    assert "secret" not in listed["data"][0]
    assert "total" not in listed["meta"]


def test_the_list_pages_oldest_first_and_counts(client: TestClient) -> None:
    made = [
        client.post("/v1/webhooks", json={"url": PUBLIC_URL}, headers=ADMIN).json()["id"]
        for _ in range(3)
    ]
    first = client.get("/v1/webhooks?limit=2&count=true", headers=ADMIN)
    assert first.json()["meta"]["total"] == 3
    assert 'rel="next"' in first.headers["link"]
    cursor = first.json()["meta"]["next_cursor"]
    second = client.get("/v1/webhooks", params={"limit": 2, "cursor": cursor}, headers=ADMIN)
    seen = [item["id"] for item in first.json()["data"] + second.json()["data"]]
    assert seen == made
    assert second.json()["meta"]["next_cursor"] is None
    bad = client.get("/v1/webhooks", params={"cursor": "nonsense"}, headers=ADMIN)
    assert bad.status_code == 400


def test_events_default_to_all_and_unknown_ones_are_refused(client: TestClient) -> None:
    webhook = client.post("/v1/webhooks", json={"url": PUBLIC_URL}, headers=ADMIN).json()
    assert webhook["events"] == ["*"]
    refused = client.post(
        "/v1/webhooks", json={"url": PUBLIC_URL, "events": ["article.eaten"]}, headers=ADMIN
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"][:2] == ["body", "events"]


def test_update_and_delete(client: TestClient) -> None:
    webhook = client.post("/v1/webhooks", json={"url": PUBLIC_URL}, headers=ADMIN).json()
    path = f"/v1/webhooks/{webhook['id']}"
    patched = client.patch(path, json={"events": ["entity.merged"], "active": False}, headers=ADMIN)
    assert patched.status_code == 200, patched.text
    assert patched.json()["events"] == ["entity.merged"]
    assert patched.json()["active"] is False
    assert patched.json()["url"] == PUBLIC_URL
    assert client.delete(path, headers=ADMIN).status_code == 204
    assert client.get(path, headers=ADMIN).status_code == 404
    assert client.delete(path, headers=ADMIN).status_code == 404


def test_admins_only(client: TestClient) -> None:
    assert client.get("/v1/webhooks").status_code == 401
    assert client.get("/v1/webhooks", headers=EDITOR).status_code == 403
    made = client.post("/v1/webhooks", json={"url": PUBLIC_URL}, headers=EDITOR)
    assert made.status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://2130706433/hook",
        "http://0x7f000001/hook",
        "ftp://93.184.216.34/hook",
        "not a url",
    ],
)
def test_non_public_targets_are_refused(client: TestClient, url: str) -> None:
    refused = client.post("/v1/webhooks", json={"url": url}, headers=ADMIN)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["loc"] == ["body", "url"]
    assert client.get("/v1/webhooks", headers=ADMIN).json()["data"] == []


def test_a_url_changed_to_a_private_address_is_refused(client: TestClient) -> None:
    webhook = client.post("/v1/webhooks", json={"url": PUBLIC_URL}, headers=ADMIN).json()
    path = f"/v1/webhooks/{webhook['id']}"
    refused = client.patch(path, json={"url": "http://127.0.0.1/hook"}, headers=ADMIN)
    assert refused.status_code == 422
    assert client.get(path, headers=ADMIN).json()["url"] == PUBLIC_URL
