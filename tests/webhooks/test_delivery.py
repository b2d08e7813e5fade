"""Deliveries from a real `newsdesk serve` to a real receiver on 127.0.0.1, on both
databases: signed so that the Standard Webhooks reference library accepts them, retried
until a 2xx with one webhook-id, sent after a SIGKILL, logged, and retried by hand."""

import json
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.conftest import ADMIN, ADMIN_KEY, EDITOR, Backend
from tests.servers import Server, newsdesk_command, running_server
from tests.webhooks.receiver import Receiver, running_receiver, wait_until

FAST = {
    "NEWSDESK_ADMIN_KEY": ADMIN_KEY,
    "NEWSDESK_LOG_LEVEL": "warning",
    "NEWSDESK_WEBHOOK_ALLOW_PRIVATE": "true",
    "NEWSDESK_WEBHOOK_POLL_INTERVAL": "0.2",
    "NEWSDESK_WEBHOOK_RETRY_DELAYS": "0.2",
    "NEWSDESK_WEBHOOK_TIMEOUT": "2",
}


@contextmanager
def server_on(db: Backend, tmp_path: Path, **env: str) -> Iterator[Server]:
    with running_server(tmp_path, database_url=db.url, extra_env=FAST | env) as server:
        yield server


def subscribe(server: Server, receiver: Receiver, **fields: Any) -> dict[str, Any]:
    answer = httpx.post(
        f"{server.url}/v1/webhooks", json={"url": receiver.url} | fields, headers=ADMIN
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def send_test(server: Server, webhook_id: str) -> dict[str, Any]:
    answer = httpx.post(f"{server.url}/v1/webhooks/{webhook_id}/test", headers=ADMIN)
    assert answer.status_code == 202, answer.text
    queued: dict[str, Any] = answer.json()
    return queued


def deliveries(server: Server, webhook_id: str, **params: Any) -> dict[str, Any]:
    answer = httpx.get(
        f"{server.url}/v1/webhooks/{webhook_id}/deliveries", params=params, headers=ADMIN
    )
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


def settled(server: Server, webhook_id: str, status: str) -> dict[str, Any] | None:
    items = deliveries(server, webhook_id)["data"]
    return items[0] if items and items[0]["status"] == status else None


def verified(secret: str, received: Any) -> Any:
    """What the reference library makes of a delivery (it raises if the signature is bad)."""
    return Webhook(secret).verify(received.body, received.headers)


def test_a_signed_test_message_reaches_the_receiver(db: Backend, tmp_path: Path) -> None:
    with running_receiver() as receiver, server_on(db, tmp_path) as server:
        webhook = subscribe(server, receiver)
        queued = send_test(server, webhook["id"])
        assert queued["status"] == "pending"
        assert queued["event"] == "webhook.test"
        wait_until(lambda: receiver.requests, what="the delivery")
        received = receiver.requests[0]
        message = verified(webhook["secret"], received)
        assert message["type"] == "webhook.test"
        assert message["data"]["webhook"]["id"] == webhook["id"]
        assert received.headers["webhook-id"] == queued["message_id"]
        assert received.headers["Content-Type"] == "application/json"
        assert received.headers["webhook-signature"].startswith("v1,")
        done = wait_until(lambda: settled(server, webhook["id"], "succeeded"), what="success")
        assert done["attempts"] == 1
        assert done["response_status"] == 200
        assert done["next_attempt_at"] is None
        # Another secret does not verify it.
        other = subscribe(server, receiver)
        with pytest.raises(WebhookVerificationError, match="signature"):
            verified(other["secret"], received)


def test_a_publish_reaches_the_receiver_signed(db: Backend, tmp_path: Path) -> None:
    with running_receiver() as receiver, server_on(db, tmp_path) as server:
        webhook = subscribe(server, receiver, events=["article.published"])
        created = httpx.post(
            f"{server.url}/v1/articles",
            json={"headline": "Ruto congratulates Trump", "body": "Text.", "status": "published"},
            headers=EDITOR,
        )
        assert created.status_code == 201, created.text
        article = created.json()
        wait_until(lambda: receiver.requests, what="the delivery")
        message = verified(webhook["secret"], receiver.requests[0])
        assert message["type"] == "article.published"
        data = message["data"]
        assert data["event"] == "article.published"
        assert data["resource"]["id"] == article["id"]
        assert data["resource"]["headline"] == "Ruto congratulates Trump"
        assert f"article-{article['id']}" in data["keys"]
        # The change feed lists the same entry under the same cursor.
        feed = httpx.get(f"{server.url}/v1/changes", headers=EDITOR).json()["data"]
        assert data["cursor"] in [entry["cursor"] for entry in feed]


def test_a_change_carries_the_resource_as_an_editor_sees_it(db: Backend, tmp_path: Path) -> None:
    with running_receiver() as receiver, server_on(db, tmp_path) as server:
        webhook = subscribe(server, receiver, events=["article.updated"])
        draft = httpx.post(
            f"{server.url}/v1/articles",
            json={"headline": "Ruto congratulates Trump", "body": "Draft.", "status": "draft"},
            headers=EDITOR,
        ).json()
        patched = httpx.patch(
            f"{server.url}/v1/articles/{draft['id']}",
            json={"standfirst": "A call after the count."},
            headers=EDITOR,
        )
        assert patched.status_code == 200, patched.text
        wait_until(lambda: receiver.requests, what="the delivery")
        message = verified(webhook["secret"], receiver.requests[0])
        assert message["type"] == "article.updated"
        data = message["data"]
        assert data["event"] == "article.updated"
        # A draft never public lists no cache keys; the editor's view is all there.
        assert data["keys"] == []
        assert data["resource"]["type"] == "article"
        assert data["resource"]["id"] == draft["id"]
        assert data["resource"]["status"] == "draft"
        assert data["resource"]["standfirst"] == "A call after the count."
        assert len(receiver.requests) == 1


def test_a_receiver_failing_twice_gets_the_message_three_times_with_one_id(
    db: Backend, tmp_path: Path
) -> None:
    with running_receiver([500, 500, 200]) as receiver, server_on(db, tmp_path) as server:
        webhook = subscribe(server, receiver)
        queued = send_test(server, webhook["id"])
        done = wait_until(lambda: settled(server, webhook["id"], "succeeded"), what="success")
        assert len(receiver.requests) == 3
        assert {r.headers["webhook-id"] for r in receiver.requests} == {queued["message_id"]}
        assert {r.body for r in receiver.requests} == {receiver.requests[0].body}
        for received in receiver.requests:
            assert verified(webhook["secret"], received)["type"] == "webhook.test"
        assert (done["attempts"], done["response_status"]) == (3, 200)


def test_a_message_committed_before_a_sigkill_is_sent_after_the_restart(
    db: Backend, tmp_path: Path
) -> None:
    with running_receiver() as receiver:
        # This server commits the delivery and dies before any sender sees it.
        with server_on(db, tmp_path, NEWSDESK_WEBHOOK_SENDER="false") as first:
            webhook = subscribe(first, receiver)
            queued = send_test(first, webhook["id"])
            assert first.process is not None
            first.process.send_signal(signal.SIGKILL)
            first.process.wait()
        assert receiver.requests == []
        with server_on(db, tmp_path) as second:
            wait_until(lambda: receiver.requests, what="the delivery after the restart")
            received = receiver.requests[0]
            assert received.headers["webhook-id"] == queued["message_id"]
            assert verified(webhook["secret"], received)["type"] == "webhook.test"
            wait_until(lambda: settled(second, webhook["id"], "succeeded"), what="success")


def test_an_attempt_cut_short_by_a_sigkill_is_sent_again(db: Backend, tmp_path: Path) -> None:
    with running_receiver() as receiver:
        receiver.answering.clear()  # hold the first attempt unanswered
        with server_on(db, tmp_path, NEWSDESK_WEBHOOK_TIMEOUT="1") as first:
            webhook = subscribe(first, receiver)
            queued = send_test(first, webhook["id"])
            wait_until(lambda: receiver.requests, what="the first attempt")
            assert first.process is not None
            first.process.send_signal(signal.SIGKILL)
            first.process.wait()
        receiver.answering.set()
        with server_on(db, tmp_path, NEWSDESK_WEBHOOK_TIMEOUT="1") as second:
            done = wait_until(
                lambda: settled(second, webhook["id"], "succeeded"), seconds=60, what="success"
            )
        assert len(receiver.requests) == 2
        assert {r.headers["webhook-id"] for r in receiver.requests} == {queued["message_id"]}
        assert done["attempts"] == 2


def test_delivery_log_and_retry_by_hand(db: Backend, tmp_path: Path) -> None:
    slow = {"NEWSDESK_WEBHOOK_RETRY_DELAYS": "3600"}
    with running_receiver([503]) as receiver, server_on(db, tmp_path, **slow) as server:
        webhook = subscribe(server, receiver)
        queued = send_test(server, webhook["id"])

        def first_attempt_failed() -> dict[str, Any] | None:
            item = deliveries(server, webhook["id"])["data"][0]
            return item if item["attempts"] == 1 and item["response_status"] == 503 else None

        failed_once = wait_until(first_attempt_failed, what="the first attempt")
        assert failed_once["status"] == "pending"
        due = datetime.fromisoformat(failed_once["next_attempt_at"])
        assert (due - datetime.now(UTC)).total_seconds() > 3000

        retried = httpx.post(
            f"{server.url}/v1/webhooks/{webhook['id']}/deliveries/{queued['id']}/retry",
            headers=ADMIN,
        )
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "succeeded"
        assert retried.json()["attempts"] == 2
        assert retried.json()["response_status"] == 200
        assert [r.headers["webhook-id"] for r in receiver.requests] == [queued["message_id"]] * 2

        later = [send_test(server, webhook["id"]) for _ in range(2)]
        first_page = deliveries(server, webhook["id"], limit=2, count="true")
        assert first_page["meta"]["total"] == 3
        assert [item["id"] for item in first_page["data"]] == [later[1]["id"], later[0]["id"]]
        cursor = first_page["meta"]["next_cursor"]
        rest = deliveries(server, webhook["id"], limit=2, cursor=cursor)
        assert [item["id"] for item in rest["data"]] == [queued["id"]]
        assert rest["meta"]["next_cursor"] is None

        missing = httpx.post(
            f"{server.url}/v1/webhooks/{webhook['id']}/deliveries/{uuid.uuid4()}/retry",
            headers=ADMIN,
        )
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"


def test_a_message_never_answered_with_2xx_is_failed_after_the_retry_period(
    db: Backend, tmp_path: Path
) -> None:
    short = {"NEWSDESK_WEBHOOK_RETRY_FOR": "1"}
    with running_receiver([500] * 1000) as receiver, server_on(db, tmp_path, **short) as server:
        webhook = subscribe(server, receiver)
        send_test(server, webhook["id"])
        done = wait_until(lambda: settled(server, webhook["id"], "failed"), what="failed")
        assert done["response_status"] == 500
        assert done["next_attempt_at"] is None
        assert done["attempts"] == len(receiver.requests) >= 2


def test_newsdesk_worker_sends_for_a_server_that_does_not(db: Backend, tmp_path: Path) -> None:
    with running_receiver() as receiver:
        with server_on(db, tmp_path, NEWSDESK_WEBHOOK_SENDER="false") as server:
            webhook = subscribe(server, receiver)
            queued = send_test(server, webhook["id"])
            log = (tmp_path / "worker.log").open("wb")
            worker = subprocess.Popen(
                [newsdesk_command(), "worker"],
                env=server.env | {"NEWSDESK_LOG_LEVEL": "info"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_until(lambda: receiver.requests, what="the worker's delivery")
                wait_until(lambda: settled(server, webhook["id"], "succeeded"), what="success")
            finally:
                worker.send_signal(signal.SIGTERM)
                assert worker.wait(timeout=20) == 0
                log.close()
        assert receiver.requests[0].headers["webhook-id"] == queued["message_id"]
        lines = [
            json.loads(line)
            for line in (tmp_path / "worker.log").read_text().splitlines()
            if line.startswith("{")
        ]
        attempt = next(line for line in lines if line.get("message_id") == queued["message_id"])
        assert (attempt["attempt"], attempt["response_status"]) == (1, 200)
