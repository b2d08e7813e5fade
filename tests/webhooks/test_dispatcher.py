"""The dispatcher, fed by a change source defined here (the change log's reader is
injected): one delivery per matching active subscription, each change fanned out once."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select

from app.webhooks.dispatcher import Change, ChangedResource, dispatch_once, reading_entries
from app.webhooks.models import deliveries_table, dispatch_table
from tests.conftest import ADMIN, EDITOR, Backend
from tests.factories import make_article, make_author

PUBLIC_URL = "http://93.184.216.34/hooks/newsdesk"


class ListSource:
    """Changes with cursors "1", "2", …; reads what comes after a cursor."""

    def __init__(self) -> None:
        self.changes: list[Change] = []

    def add(self, event: str, kind: str, item: dict[str, Any], at: datetime | None = None) -> None:
        self.changes.append(
            Change(
                cursor=str(len(self.changes) + 1),
                event=event,
                at=at or datetime.now(UTC),
                resource=ChangedResource(kind, uuid.UUID(item["id"]), item["slug"]),
                keys=(f"{kind}-{item['id']}",),
            )
        )

    async def read(self, _session: Any, after: str | None, limit: int) -> list[Change]:
        start = int(after) if after else 0
        return self.changes[start : start + limit]


def subscribe(db: Backend, **fields: Any) -> dict[str, Any]:
    answer = db.client.post("/v1/webhooks", json={"url": PUBLIC_URL} | fields, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def dispatch(db: Backend, source: ListSource, limit: int = 100) -> int:
    sessionmaker = db.client.app.state.write_sessionmaker  # type: ignore[attr-defined]

    async def run() -> int:
        return await dispatch_once(sessionmaker, source.read, limit=limit)

    result: int = db.run(run)
    return result


def stored_deliveries(db: Backend) -> list[Any]:
    async def read() -> list[Any]:
        async with db.client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
            query = select(deliveries_table).order_by(deliveries_table.c.created_at)
            return list((await session.execute(query)).all())

    rows: list[Any] = db.run(read)
    return rows


def stored_cursor(db: Backend) -> str | None:
    async def read() -> str | None:
        async with db.client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
            cursor: str | None = (
                await session.execute(select(dispatch_table.c.cursor))
            ).scalar_one_or_none()
            return cursor

    result: str | None = db.run(read)
    return result


def test_each_change_goes_to_the_active_subscriptions_that_asked_for_it(db: Backend) -> None:
    everything = subscribe(db)
    published_only = subscribe(db, events=["article.published"])
    subscribe(db, active=False)
    authors_only = subscribe(db, events=["author.created"])
    article = make_article(db.client, headline="Ruto congratulates Trump")
    source = ListSource()
    source.add("article.created", "article", article)
    source.add("article.published", "article", article)

    assert dispatch(db, source) == 2
    rows = stored_deliveries(db)
    by_subscription = {(str(row.subscription_id), row.event) for row in rows}
    assert by_subscription == {
        (everything["id"], "article.created"),
        (everything["id"], "article.published"),
        (published_only["id"], "article.published"),
    }
    assert not any(str(row.subscription_id) == authors_only["id"] for row in rows)
    assert len({row.message_id for row in rows}) == 3
    assert all(row.status == "pending" and row.attempts == 0 for row in rows)

    body = orjson.loads(next(row.payload for row in rows if row.event == "article.published"))
    assert body["type"] == "article.published"
    assert body["data"]["cursor"] == "2"
    assert body["data"]["event"] == "article.published"
    assert body["data"]["keys"] == [f"article-{article['id']}"]
    assert body["data"]["resource"]["type"] == "article"
    assert body["data"]["resource"]["headline"] == "Ruto congratulates Trump"
    assert body["data"]["resource"]["body_html"] == article["body_html"]
    assert datetime.fromisoformat(body["timestamp"]) == datetime.fromisoformat(body["data"]["at"])
    assert stored_cursor(db) == "2"

    # Nothing new: nothing more, however often it runs.
    assert dispatch(db, source) == 0
    assert len(stored_deliveries(db)) == 3


def test_the_cursor_moves_in_batches_and_skips_nothing(db: Backend) -> None:
    subscribe(db)
    source = ListSource()
    authors = [make_author(db.client) for _ in range(5)]
    for author in authors:
        source.add("author.created", "author", author)
    assert dispatch(db, source, limit=2) == 2
    assert stored_cursor(db) == "2"
    assert dispatch(db, source, limit=2) == 2
    assert dispatch(db, source, limit=2) == 1
    assert dispatch(db, source, limit=2) == 0
    names = [orjson.loads(row.payload)["data"]["resource"]["name"] for row in stored_deliveries(db)]
    assert sorted(names) == sorted(author["name"] for author in authors)


def test_changes_before_a_subscription_existed_are_not_sent_to_it(db: Backend) -> None:
    article = make_article(db.client)
    source = ListSource()
    source.add("article.updated", "article", article, at=datetime.now(UTC) - timedelta(hours=1))
    subscribe(db)
    assert dispatch(db, source) == 1
    assert stored_deliveries(db) == []
    assert stored_cursor(db) == "1"


def test_a_resource_that_is_gone_is_sent_as_its_reference(db: Backend) -> None:
    subscribe(db)
    article = make_article(db.client)
    assert db.client.delete(f"/v1/articles/{article['id']}", headers=EDITOR).status_code == 204
    source = ListSource()
    source.add("article.deleted", "article", article)
    assert dispatch(db, source) == 1
    (row,) = stored_deliveries(db)
    resource = orjson.loads(row.payload)["data"]["resource"]
    assert resource == {"type": "article", "id": article["id"], "slug": article["slug"]}


def test_a_change_log_reader_of_json_entries_plugs_in(db: Backend) -> None:
    """Entries in the §12 shape of `GET /v1/changes`, read through ``reading_entries``."""
    subscribe(db, events=["author.updated"])
    author = make_author(db.client, name="Capital News Reporter")
    entries = [
        {
            "cursor": "c-1",
            "at": (datetime.now(UTC) + timedelta(seconds=1)).isoformat().replace("+00:00", "Z"),
            "event": "author.updated",
            "resource": {"type": "author", "id": author["id"], "slug": author["slug"]},
            "keys": [f"author-{author['id']}", "articles"],
        }
    ]

    async def read_entries(_session: Any, after: str | None, limit: int) -> list[dict[str, Any]]:
        return entries[:limit] if after is None else []

    sessionmaker = db.client.app.state.write_sessionmaker  # type: ignore[attr-defined]

    async def run() -> int:
        return await dispatch_once(sessionmaker, reading_entries(read_entries))

    assert db.run(run) == 1
    (row,) = stored_deliveries(db)
    data = orjson.loads(row.payload)["data"]
    assert data["cursor"] == "c-1"
    assert data["keys"] == [f"author-{author['id']}", "articles"]
    assert data["resource"]["name"] == "Capital News Reporter"
    assert data["resource"]["type"] == "author"
    assert stored_cursor(db) == "c-1"
