"""The change log (API.md §12): an entry for every change, in the change's own
transaction, with the keys of the anonymous answers it makes stale; the changes feed; the
cache tags on anonymous answers; and a response cache that lets go of only what a change
names."""

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.articles.models import articles_table
from app.db import make_sessionmaker, make_write_sessionmaker
from app.demo.load import load_demo
from app.freshness.feed import read_change_entries
from app.webhooks.dispatcher import reading_entries
from tests.conftest import EDITOR, Backend
from tests.factories import make_article, make_author, make_entity


def changes(client: TestClient, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every entry the caller may see, paging through with the cursors."""
    seen: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params = {"limit": "2"} | ({"after": after} if after else {})
        page = client.get("/v1/changes", params=params, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["meta"]["next_cursor"]
        seen += body["data"]
        if not body["data"]:
            return seen
        after = body["meta"]["next_cursor"]


def events(client: TestClient, headers: dict[str, str] | None = None) -> list[tuple[str, str]]:
    return [(entry["event"], entry["resource"]["slug"]) for entry in changes(client, headers)]


def tags(response: Any) -> list[str]:
    keys = response.headers["surrogate-key"].split(" ")
    assert response.headers["cache-tag"].split(",") == keys
    return keys


def test_every_change_is_recorded_with_its_event_and_keys(client: TestClient) -> None:
    author = make_author(client, name="Achieng Odhiambo")
    kenya = make_entity(client, name="Kenya", type="place")
    story = make_article(
        client, headline="Ruto calls Trump", authors=[author["slug"]], entities=["kenya"]
    )
    url = f"/v1/articles/{story['slug']}"
    assert client.patch(url, json={"standfirst": "A call"}, headers=EDITOR).status_code == 200
    assert client.patch(url, json={"status": "draft"}, headers=EDITOR).status_code == 200
    assert client.patch(url, json={"status": "published"}, headers=EDITOR).status_code == 200
    assert client.delete(url, headers=EDITOR).status_code == 204
    assert client.post(f"/v1/articles/{story['id']}/restore", headers=EDITOR).status_code == 200
    entries = changes(client, EDITOR)
    assert [(entry["event"], entry["resource"]["slug"]) for entry in entries] == [
        ("author.created", "achieng-odhiambo"),
        ("entity.created", "kenya"),
        ("article.created", "ruto-calls-trump"),
        ("article.published", "ruto-calls-trump"),
        ("article.updated", "ruto-calls-trump"),
        ("article.unpublished", "ruto-calls-trump"),
        ("article.published", "ruto-calls-trump"),
        ("article.deleted", "ruto-calls-trump"),
        ("article.restored", "ruto-calls-trump"),
    ]
    article_key, author_key = f"article-{story['id']}", f"author-{author['id']}"
    assert entries[1]["keys"] == ["entities", f"entity-{kenya['id']}"]
    assert entries[0]["keys"] == ["authors", author_key]
    assert entries[0]["resource"] == {"type": "author", "id": author["id"], "slug": author["slug"]}
    # Coming and going moves the article_count of its author and entity; an edit does not.
    came = ["articles", "authors", "entities", article_key]
    assert entries[3]["keys"] == came
    assert entries[4]["keys"] == ["articles", article_key]
    assert entries[5]["keys"] == came
    assert entries[7]["keys"] == came
    for entry in entries:
        assert datetime.fromisoformat(entry["at"]) <= datetime.now(UTC)


def test_a_draft_never_public_lists_no_keys_and_anonymous_callers_do_not_see_it(
    client: TestClient,
) -> None:
    draft = make_article(client, headline="Embargoed draft", status="draft")
    url = f"/v1/articles/{draft['slug']}"
    assert client.patch(url, json={"headline": "Still a draft"}, headers=EDITOR).status_code == 200
    assert client.patch(url, json={"slug": "renamed-draft"}, headers=EDITOR).status_code == 200
    entries = changes(client, EDITOR)
    assert [entry["event"] for entry in entries] == [
        "article.created",
        "article.updated",
        "article.updated",
    ]
    assert all(entry["keys"] == [] for entry in entries)
    assert changes(client) == []
    # Its old slug is as unknown to anonymous callers as the draft itself.
    assert client.get("/v1/articles/embargoed-draft").status_code == 404
    make_author(client, name="Public author")
    assert events(client) == [("author.created", "public-author")]


def test_anonymous_callers_see_changes_to_what_they_could_see(client: TestClient) -> None:
    story = make_article(client, headline="Public story")
    url = f"/v1/articles/{story['slug']}"
    client.patch(url, json={"status": "draft"}, headers=EDITOR)
    client.patch(url, json={"headline": "Hidden edit"}, headers=EDITOR)
    assert events(client) == [
        ("article.created", "public-story"),
        ("article.published", "public-story"),
        ("article.unpublished", "public-story"),
    ]
    assert len(changes(client, EDITOR)) == 4


def test_rolled_back_changes_leave_no_entry(client: TestClient) -> None:
    story = make_article(client, headline="Ruto calls Trump", slug="ruto-calls-trump")
    url = f"/v1/articles/{story['slug']}"
    before = changes(client, EDITOR)
    refused = client.patch(url, json={"headline": "Lost"}, headers=EDITOR | {"If-Match": '"x"'})
    assert refused.status_code == 412
    taken = client.post(
        "/v1/articles", json={"headline": "Again", "slug": "ruto-calls-trump"}, headers=EDITOR
    )
    assert taken.status_code == 409
    unknown = client.post(
        "/v1/articles", json={"headline": "By nobody", "authors": ["nobody"]}, headers=EDITOR
    )
    assert unknown.status_code == 422
    make_author(client, name="In use", slug="in-use")
    client.patch(url, json={"authors": ["in-use"]}, headers=EDITOR)
    recorded = changes(client, EDITOR)
    assert client.delete("/v1/authors/in-use", headers=EDITOR).status_code == 409
    unchanged = client.patch(url, json={"headline": story["headline"]}, headers=EDITOR)
    assert unchanged.status_code == 200
    assert changes(client, EDITOR) == recorded
    assert len(recorded) == len(before) + 2


def test_forced_deletes_merges_and_revision_restores_are_recorded(client: TestClient) -> None:
    author = make_author(client, name="Achieng Odhiambo")
    ruto = make_entity(client, name="William Ruto", type="person")
    president = make_entity(client, name="President Ruto", type="person")
    story = make_article(
        client, headline="Ruto calls", authors=[author["slug"]], entities=[president["slug"]]
    )
    url = f"/v1/articles/{story['slug']}"
    client.patch(url, json={"headline": "Ruto calls Trump"}, headers=EDITOR)
    start = len(changes(client, EDITOR))
    merged = client.post(
        f"/v1/entities/{president['slug']}/merge", json={"into": ruto["slug"]}, headers=EDITOR
    )
    assert merged.status_code == 200
    deleted = client.delete(f"/v1/authors/{author['slug']}?force=true", headers=EDITOR)
    assert deleted.status_code == 204
    assert client.post(f"{url}/revisions/1/restore", headers=EDITOR).status_code == 200
    entries = changes(client, EDITOR)[start:]
    assert [(entry["event"], entry["resource"]["type"]) for entry in entries] == [
        ("entity.merged", "entity"),
        ("article.updated", "article"),
        ("author.deleted", "author"),
        ("article.updated", "article"),
        ("article.updated", "article"),
    ]
    assert entries[0]["resource"]["id"] == president["id"]
    assert set(entries[0]["keys"]) >= {f"entity-{president['id']}", f"entity-{ruto['id']}"}
    # The article's tags changed while it was public: entities' counts moved.
    assert entries[1]["keys"] == ["articles", "entities", f"article-{story['id']}"]


def test_seed_records_what_it_adds(db: Backend) -> None:
    counts = db.run(load_demo, make_write_sessionmaker(db.engine))
    entries = changes(db.client, EDITOR)
    created = [entry["event"] for entry in entries if entry["event"].endswith(".created")]
    assert len(created) == counts["authors"] + counts["entities"] + counts["articles"]
    assert db.run(load_demo, make_write_sessionmaker(db.engine)) == {
        "authors": 0,
        "entities": 0,
        "articles": 0,
    }
    assert len(changes(db.client, EDITOR)) == len(entries)


def test_the_feed_checks_its_parameters(client: TestClient) -> None:
    empty = client.get("/v1/changes").json()
    assert empty["data"] == []
    assert empty["meta"] == {"limit": 100, "next_cursor": empty["meta"]["next_cursor"]}
    make_author(client)
    # The cursor of an empty log reads on from the beginning.
    after = client.get("/v1/changes", params={"after": empty["meta"]["next_cursor"]}).json()
    assert [entry["event"] for entry in after["data"]] == ["author.created"]
    too_big = base64.urlsafe_b64encode(b"9999999999999999999.1").decode()
    for bad in ("not-a-cursor", "MTI", "%%%", too_big, "LTEuMg"):
        response = client.get("/v1/changes", params={"after": bad})
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
    for params in ({"limit": "0"}, {"limit": "1001"}, {"wait": "31"}, {"wait": "-1"}):
        assert client.get("/v1/changes", params=params).status_code == 422
    assert client.get("/v1/changes").headers["cache-control"] == "no-store"


def test_a_long_poll_answers_empty_when_nothing_comes(client: TestClient) -> None:
    make_author(client)
    cursor = client.get("/v1/changes").json()["meta"]["next_cursor"]
    held = client.get("/v1/changes", params={"after": cursor, "wait": "1"}).json()
    assert held == {"data": [], "meta": {"limit": 100, "next_cursor": cursor}}


def test_anonymous_answers_carry_the_keys_the_log_lists(client: TestClient) -> None:
    author = make_author(client, name="Achieng Odhiambo")
    kenya = make_entity(client, name="Kenya", type="place")
    story = make_article(client, headline="Story", authors=[author["slug"]], entities=["kenya"])
    article_key = f"article-{story['id']}"
    author_key, entity_key = f"author-{author['id']}", f"entity-{kenya['id']}"
    page = client.get(f"/v1/articles/{story['slug']}")
    assert tags(page) == [article_key, author_key, entity_key]
    assert tags(client.get("/v1/articles")) == ["articles", article_key, author_key, entity_key]
    assert tags(client.get("/v1/authors")) == ["authors", author_key]
    assert tags(client.get(f"/v1/authors/{author['slug']}")) == ["authors", author_key]
    assert tags(client.get(f"/v1/entities/{kenya['slug']}")) == ["entities", entity_key]
    assert "entities" in tags(client.get(f"/v1/entities/{kenya['slug']}/articles"))
    assert tags(client.get("/v1/feeds/articles.atom")) == ["articles"]
    assert tags(client.get("/v1/articles/no-such-story")) == ["articles"]
    revalidated = client.get(
        f"/v1/articles/{story['slug']}", headers={"If-None-Match": page.headers["etag"]}
    )
    assert revalidated.status_code == 304
    assert tags(revalidated) == tags(page)
    # Every key a change lists is one that some answer carries.
    client.patch(f"/v1/articles/{story['slug']}", json={"headline": "New"}, headers=EDITOR)
    assert changes(client)[-1]["keys"] == ["articles", article_key]
    assert "surrogate-key" not in client.get("/v1/articles", headers=EDITOR).headers


def test_a_draft_save_leaves_cached_public_answers_cached(db: Backend) -> None:
    client = db.client
    story = make_article(client, headline="Public story")
    draft = make_article(client, headline="Draft", status="draft")
    reads = [f"/v1/articles/{story['slug']}", "/v1/articles", "/v1/feeds/articles.rss"]
    first = [client.get(url) for url in reads]
    etag = client.get("/v1/articles").headers["etag"]
    saved = client.patch(
        f"/v1/articles/{draft['slug']}", json={"body": "More words"}, headers=EDITOR
    )
    assert saved.status_code == 200
    with db.statements.counting() as statements:
        again = [client.get(url) for url in reads]
    # One look at the change log each, and every answer straight from the cache.
    assert statements == ["SELECT content state (response cache)"] * len(reads)
    assert [response.content for response in again] == [response.content for response in first]
    assert client.get("/v1/articles").headers["etag"] == etag


def test_publishing_one_story_keeps_the_other_stories_cached(db: Backend) -> None:
    client = db.client
    kenya = make_entity(client, name="Kenya", type="place")
    story = make_article(client, headline="Old story", entities=[kenya["slug"]])
    other = make_article(client, headline="Other story")
    client.get(f"/v1/articles/{story['slug']}")
    client.get(f"/v1/articles/{other['slug']}")
    client.get("/v1/articles")
    news = make_article(client, headline="Breaking", entities=[kenya["slug"]])
    with db.statements.counting() as statements:
        assert client.get(f"/v1/articles/{other['slug']}").status_code == 200
    assert statements == ["SELECT content state (response cache)"]
    # What the publication made stale is answered afresh: the lists.
    listed = client.get("/v1/articles").json()["data"]
    assert listed[0]["slug"] == news["slug"]
    # A story that shares the new story's entity shows only the entity's name: kept.
    with db.statements.counting() as statements:
        client.get(f"/v1/articles/{story['slug']}")
    assert len(statements) == 1


def test_a_scheduled_story_is_recorded_when_its_time_comes(client: TestClient) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=1)
    story = make_article(client, headline="Embargoed", published_at=soon.isoformat())
    assert events(client, EDITOR) == [("article.created", "embargoed")]
    assert changes(client) == []
    cursor = client.get("/v1/changes").json()["meta"]["next_cursor"]
    # No read of the story: the release task writes the entry by itself.
    arrived: list[dict[str, Any]] = []
    for _ in range(20):
        arrived += client.get("/v1/changes", params={"after": cursor, "wait": "1"}).json()["data"]
        if arrived:
            break
    assert [(entry["event"], entry["resource"]["id"]) for entry in arrived] == [
        ("article.published", story["id"])
    ]
    assert client.get(f"/v1/articles/{story['slug']}").status_code == 200
    assert [event for event, _ in events(client, EDITOR)] == [
        "article.created",
        "article.published",
    ]


def test_an_expiring_story_is_recorded_as_unpublished_when_its_time_comes(
    client: TestClient,
) -> None:
    expiry = datetime.now(UTC) + timedelta(seconds=1)
    story = make_article(client, headline="Taken down soon", expires_at=expiry.isoformat())
    url = f"/v1/articles/{story['slug']}"
    assert client.get(url).status_code == 200  # kept by the response cache
    cursor = client.get("/v1/changes").json()["meta"]["next_cursor"]
    # No write: the release task writes the entry when the expiry comes.
    arrived: list[dict[str, Any]] = []
    for _ in range(20):
        arrived += client.get("/v1/changes", params={"after": cursor, "wait": "1"}).json()["data"]
        if arrived:
            break
    assert [(entry["event"], entry["resource"]["id"]) for entry in arrived] == [
        ("article.unpublished", story["id"])
    ]
    assert "articles" in arrived[0]["keys"]
    assert client.get(url).status_code == 404
    assert [event for event, _ in events(client, EDITOR)] == [
        "article.created",
        "article.published",
        "article.unpublished",
    ]


def test_a_content_write_outside_write_transaction_is_refused(db: Backend) -> None:
    make_article(db.client, headline="Untouched")

    async def write_behind_the_log() -> None:
        async with make_write_sessionmaker(db.engine)() as session:
            await session.execute(update(articles_table).values(headline="Changed silently"))
            await session.commit()

    with pytest.raises(RuntimeError, match="write_transaction"):
        db.run(write_behind_the_log)
    assert db.client.get("/v1/articles/untouched").json()["headline"] == "Untouched"


def test_the_webhook_dispatcher_reads_the_log_one_entry_at_a_time(db: Backend) -> None:
    make_author(db.client, name="First")
    make_author(db.client, name="Second")
    reader = reading_entries(read_change_entries)

    async def read(after: str | None) -> list[Any]:
        async with make_sessionmaker(db.engine)() as session:
            return list(await reader(session, after, 1))

    first = db.run(read, None)
    second = db.run(read, first[0].cursor)
    assert [(change.event, change.resource.slug) for change in first + second] == [
        ("author.created", "first"),
        ("author.created", "second"),
    ]
    assert db.run(read, second[0].cursor) == []
