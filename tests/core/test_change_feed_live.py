"""The change log against a real ``newsdesk serve`` with two workers, on both databases:
the feed visits every entry once while writes go on, and a scheduled story's
``article.published`` is written once when its time comes, also after a restart that
missed the moment."""

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from tests.conftest import ADMIN_KEY
from tests.servers import migrated_and_seeded, running_server
from tests.webhooks.receiver import running_receiver, wait_until

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ENV = {"NEWSDESK_ADMIN_KEY": ADMIN_KEY, "NEWSDESK_LOG_LEVEL": "warning"}
TWO_WORKERS = ("--workers", "2")


def _drain(http: httpx.Client, after: str | None, *, limit: int = 7) -> tuple[list[Any], str]:
    """Every entry after ``after`` readable now, and the cursor to go on from."""
    seen: list[Any] = []
    while True:
        params = {"limit": str(limit)} | ({"after": after} if after else {})
        body = http.get("/v1/changes", params=params, headers=ADMIN).json()
        seen += body["data"]
        after = body["meta"]["next_cursor"]
        if not body["data"]:
            return seen, after


def _published(entries: list[Any], article_id: str) -> list[Any]:
    return [
        entry
        for entry in entries
        if entry["event"] == "article.published" and entry["resource"]["id"] == article_id
    ]


def _wait_for_release(http: httpx.Client, cursor: str, article_id: str) -> list[Any]:
    """Long-poll the feed (reading nothing else) until the story's release shows, then
    a few rounds more for any second one; every entry seen."""
    seen: list[Any] = []
    deadline = time.monotonic() + 30
    while not _published(seen, article_id) and time.monotonic() < deadline:
        body = http.get("/v1/changes", params={"after": cursor, "wait": "2"}).json()
        seen += body["data"]
        cursor = body["meta"]["next_cursor"]
    # Both workers run their release rounds every second: give them several.
    time.sleep(3)
    more, _ = _drain(http, cursor)
    return seen + more


def test_the_feed_visits_every_change_once_while_writes_go_on(
    scratch_url: str, tmp_path: Path
) -> None:
    migrated_and_seeded(scratch_url)
    with (
        running_server(tmp_path, extra_env=ENV, database_url=scratch_url, args=TWO_WORKERS) as srv,
        httpx.Client(base_url=srv.url, timeout=30) as http,
    ):
        stories = [
            http.post("/v1/articles", json={"headline": f"Story {n}"}, headers=ADMIN).json()
            for n in range(4)
        ]
        done = threading.Event()

        def edit(story: dict[str, Any]) -> None:
            with httpx.Client(base_url=srv.url, timeout=30) as writer:
                for take in range(12):
                    url = f"/v1/articles/{story['id']}"
                    patch = {"standfirst": f"Take {take}"}
                    if take % 4 == 3:
                        patch["status"] = "draft" if take % 8 == 3 else "published"
                    assert writer.patch(url, json=patch, headers=ADMIN).status_code == 200

        writers = [threading.Thread(target=edit, args=(story,)) for story in stories]
        read: list[Any] = []
        cursor: str | None = None
        for thread in writers:
            thread.start()
        while not done.is_set():
            page, cursor = _drain(http, cursor)
            read += page
            if not any(thread.is_alive() for thread in writers):
                done.set()
        page, cursor = _drain(http, cursor)
        read += page
        everything, _ = _drain(http, None, limit=1000)
    cursors = [entry["cursor"] for entry in read]
    assert len(cursors) == len(set(cursors))
    assert cursors == [entry["cursor"] for entry in everything]
    # Every save is there: its creation (a draft), then 12 updates, publications or
    # unpublications per story, in the order they were made.
    for story in stories:
        mine = [entry["event"] for entry in read if entry["resource"]["id"] == story["id"]]
        assert len(mine) == 1 + 12
        assert mine[8] == "article.published"
        assert mine[12] == "article.unpublished"


def test_a_scheduled_story_is_recorded_and_sent_once_with_two_workers(
    scratch_url: str, tmp_path: Path
) -> None:
    migrated_and_seeded(scratch_url)
    env = ENV | {"NEWSDESK_WEBHOOK_ALLOW_PRIVATE": "true"}
    with (
        running_receiver() as receiver,
        running_server(tmp_path, extra_env=env, database_url=scratch_url, args=TWO_WORKERS) as srv,
        httpx.Client(base_url=srv.url, timeout=30) as http,
    ):
        subscribed = http.post(
            "/v1/webhooks",
            json={"url": receiver.url, "events": ["article.published"]},
            headers=ADMIN,
        )
        assert subscribed.status_code == 201, subscribed.text
        secret = subscribed.json()["secret"]
        soon = datetime.now(UTC) + timedelta(seconds=2)
        story = http.post(
            "/v1/articles",
            json={"headline": "Embargoed", "status": "published", "published_at": soon.isoformat()},
            headers=ADMIN,
        ).json()
        assert story["status"] == "scheduled"
        cursor = http.get("/v1/changes").json()["meta"]["next_cursor"]
        seen = _wait_for_release(http, cursor, story["id"])
        released = _published(seen, story["id"])
        assert len(released) == 1
        assert released[0]["keys"][:2] == ["articles", f"article-{story['id']}"]
        assert datetime.fromisoformat(released[0]["at"]) >= soon.replace(microsecond=0)
        assert http.get(f"/v1/articles/{story['id']}").status_code == 200
        # Its webhook, once, though both workers dispatch and send.
        wait_until(lambda: receiver.requests, what="the release's delivery")
        time.sleep(2)
        messages = [Webhook(secret).verify(got.body, got.headers) for got in receiver.requests]
        assert [(m["type"], m["data"]["resource"]["id"]) for m in messages] == [
            ("article.published", story["id"])
        ]
        assert messages[0]["data"]["cursor"] == released[0]["cursor"]


def test_a_release_missed_while_no_server_ran_is_recorded_at_the_next_start(
    scratch_url: str, tmp_path: Path
) -> None:
    migrated_and_seeded(scratch_url)
    with (
        running_server(tmp_path, extra_env=ENV, database_url=scratch_url) as srv,
        httpx.Client(base_url=srv.url, timeout=30) as http,
    ):
        soon = datetime.now(UTC) + timedelta(seconds=2)
        story = http.post(
            "/v1/articles",
            json={"headline": "Embargoed", "status": "published", "published_at": soon.isoformat()},
            headers=ADMIN,
        ).json()
        cursor = http.get("/v1/changes").json()["meta"]["next_cursor"]
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 1)
    with (
        running_server(tmp_path, extra_env=ENV, database_url=scratch_url, args=TWO_WORKERS) as srv,
        httpx.Client(base_url=srv.url, timeout=30) as http,
    ):
        seen = _wait_for_release(http, cursor, story["id"])
    assert len(_published(seen, story["id"])) == 1
