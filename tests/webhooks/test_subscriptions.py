"""Webhook subscriptions: admin-only CRUD, a secret shown once, and URLs on non-public
addresses refused."""

import asyncio
import base64
import re
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.webhooks.sender import Attempt, new_client, new_secret, send
from tests.conftest import ADMIN, EDITOR
from tests.webhooks.receiver import running_receiver

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


def test_the_address_is_checked_again_before_each_attempt() -> None:
    """A host name may resolve elsewhere by the time a message goes out: an attempt to a
    non-public address is not made (and counts as unanswered) unless that is allowed."""
    with running_receiver() as receiver:
        attempt = Attempt(
            delivery_id=uuid.uuid4(),
            number=1,
            message_id="msg_test",
            payload='{"type": "webhook.test"}',
            url=receiver.url,
            secret=new_secret(),
            created_at=datetime.now(UTC),
        )

        async def attempt_with(settings: Settings) -> int | None:
            async with new_client() as client:
                return await send(client, attempt, settings)

        refused = asyncio.run(attempt_with(Settings(webhook_allow_private=False)))
        assert refused is None
        assert receiver.requests == []
        allowed = asyncio.run(attempt_with(Settings(webhook_allow_private=True)))
        assert allowed == 200
        assert len(receiver.requests) == 1
