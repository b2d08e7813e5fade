"""ETag, Last-Modified, If-None-Match and If-Modified-Since on articles and their lists."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EDITOR, Backend
from tests.factories import make_article, make_author, make_entity

# With the cache on, the cache answers anonymous conditional reads; with it off, the app.
pytestmark = pytest.mark.response_cache("on", "off")


def _story(client: TestClient) -> dict[str, object]:
    make_author(client, name="Achieng Odhiambo", slug="achieng-odhiambo")
    make_entity(client, name="Kenya", type="place", slug="kenya")
    return make_article(
        client,
        headline="Ruto congratulates Trump in phone call",
        slug="ruto-congratulates-trump-in-phone-call",
        authors=["achieng-odhiambo"],
        entities=["kenya"],
    )


URL = "/v1/articles/ruto-congratulates-trump-in-phone-call"


def test_get_carries_strong_etag_and_last_modified(client: TestClient) -> None:
    _story(client)
    response = client.get(URL)
    assert response.status_code == 200
    etag = response.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    modified = parsedate_to_datetime(response.headers["last-modified"])
    updated = datetime.fromisoformat(response.json()["updated_at"].replace("Z", "+00:00"))
    assert modified == updated.replace(microsecond=0)
    # The same representation always has the same tag, by id as by slug.
    assert client.get(URL).headers["etag"] == etag
    article_id = response.json()["id"]
    assert client.get(f"/v1/articles/{article_id}").headers["etag"] == etag


def test_if_none_match_current_is_304_without_body(client: TestClient) -> None:
    _story(client)
    first = client.get(URL)
    etag = first.headers["etag"]
    response = client.get(URL, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["last-modified"] == first.headers["last-modified"]
    assert response.headers["cache-control"] == "public, max-age=60"
    assert "Authorization" in response.headers["vary"]
    assert "x-request-id" in response.headers


def test_if_none_match_forms(client: TestClient) -> None:
    _story(client)
    etag = client.get(URL).headers["etag"]
    assert client.get(URL, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert client.get(URL, headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
    assert client.get(URL, headers={"If-None-Match": "*"}).status_code == 304
    stale = client.get(URL, headers={"If-None-Match": '"not-this-one"'})
    assert stale.status_code == 200
    assert stale.json()["slug"] == "ruto-congratulates-trump-in-phone-call"
    assert stale.headers["etag"] == etag


def test_editor_304_keeps_private_cache_control(client: TestClient) -> None:
    _story(client)
    etag = client.get(URL, headers=EDITOR).headers["etag"]
    response = client.get(URL, headers=EDITOR | {"If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["etag"] == etag


def test_etag_changes_with_every_change_of_the_representation(client: TestClient) -> None:
    _story(client)
    seen = [client.get(URL).headers["etag"]]

    def changed() -> str:
        response = client.get(URL, headers={"If-None-Match": seen[-1]})
        assert response.status_code == 200, "a changed article must not be answered with 304"
        seen.append(response.headers["etag"])
        return response.text

    assert (
        client.patch(
            URL, json={"standfirst": "A call from State House."}, headers=EDITOR
        ).status_code
        == 200
    )
    assert "A call from State House." in changed()
    # Renaming an author changes the article's authors[].name without touching the article.
    assert (
        client.patch(
            "/v1/authors/achieng-odhiambo", json={"name": "Achieng O."}, headers=EDITOR
        ).status_code
        == 200
    )
    assert "Achieng O." in changed()
    assert (
        client.patch(
            "/v1/entities/kenya", json={"name": "Republic of Kenya"}, headers=EDITOR
        ).status_code
        == 200
    )
    assert "Republic of Kenya" in changed()
    assert (
        client.patch(
            "/v1/entities/kenya", json={"slug": "republic-of-kenya"}, headers=EDITOR
        ).status_code
        == 200
    )
    assert "republic-of-kenya" in changed()
    assert client.patch(URL, json={"entities": []}, headers=EDITOR).status_code == 200
    assert '"entities":[]' in changed()
    assert len(set(seen)) == len(seen)
    # A patch that changes nothing keeps the tag.
    assert client.patch(URL, json={"entities": []}, headers=EDITOR).status_code == 200
    assert client.get(URL, headers={"If-None-Match": seen[-1]}).status_code == 304


def test_unrelated_writes_keep_the_article_tag(client: TestClient) -> None:
    _story(client)
    etag = client.get(URL).headers["etag"]
    make_article(client, headline="Another story")
    make_entity(client, name="Haiti", type="place")
    assert (
        client.patch(
            "/v1/entities/haiti", json={"aliases": ["Haitian"]}, headers=EDITOR
        ).status_code
        == 200
    )
    assert client.get(URL, headers={"If-None-Match": etag}).status_code == 304


def test_anonymous_and_editor_see_the_same_article_tag(client: TestClient) -> None:
    _story(client)
    assert client.get(URL).headers["etag"] == client.get(URL, headers=EDITOR).headers["etag"]


def test_conditional_request_does_not_reveal_hidden_articles(client: TestClient) -> None:
    draft = make_article(client, headline="Draft story", status="draft")
    etag = client.get(f"/v1/articles/{draft['slug']}", headers=EDITOR).headers["etag"]
    response = client.get(f"/v1/articles/{draft['slug']}", headers={"If-None-Match": etag})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert client.delete(f"/v1/articles/{draft['slug']}", headers=EDITOR).status_code == 204
    gone = client.get(f"/v1/articles/{draft['slug']}", headers=EDITOR | {"If-None-Match": etag})
    assert gone.status_code == 404


def test_old_slug_with_if_none_match_still_redirects(client: TestClient) -> None:
    _story(client)
    etag = client.get(URL).headers["etag"]
    assert client.patch(URL, json={"slug": "ruto-calls-trump"}, headers=EDITOR).status_code == 200
    response = client.get(URL, headers={"If-None-Match": etag}, follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"].endswith("/v1/articles/ruto-calls-trump")


def test_scheduled_article_turning_published_changes_the_tag(
    client: TestClient, move_clock: Callable[[timedelta], None]
) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=5)
    article = make_article(client, headline="Embargoed story", published_at=soon.isoformat())
    url = f"/v1/articles/{article['slug']}"
    before = client.get(url, headers=EDITOR)
    assert before.json()["status"] == "scheduled"
    list_before = client.get("/v1/articles")
    assert list_before.json()["data"] == []
    move_clock(timedelta(minutes=6))
    after = client.get(url, headers=EDITOR | {"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.json()["status"] == "published"
    listed = client.get("/v1/articles", headers={"If-None-Match": list_before.headers["etag"]})
    assert listed.status_code == 200
    assert [item["slug"] for item in listed.json()["data"]] == [article["slug"]]


def test_if_modified_since(client: TestClient) -> None:
    _story(client)
    response = client.get(URL)
    last_modified = response.headers["last-modified"]
    assert client.get(URL, headers={"If-Modified-Since": last_modified}).status_code == 304
    earlier = parsedate_to_datetime(last_modified) - timedelta(seconds=1)
    older = client.get(URL, headers={"If-Modified-Since": format_datetime(earlier, usegmt=True)})
    assert older.status_code == 200
    # If-None-Match wins over If-Modified-Since.
    both = client.get(URL, headers={"If-None-Match": '"stale"', "If-Modified-Since": last_modified})
    assert both.status_code == 200
    assert client.get(URL, headers={"If-Modified-Since": "not a date"}).status_code == 200


def test_if_modified_since_sees_an_author_rename(
    client: TestClient, move_clock: Callable[[timedelta], None]
) -> None:
    _story(client)
    # A whole second after the story was written, and the rename a whole second later:
    # Last-Modified has one-second resolution.
    boundary = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    since = format_datetime(boundary, usegmt=True)
    move_clock(timedelta(seconds=2))
    assert client.get(URL, headers={"If-Modified-Since": since}).status_code == 304
    renamed = client.patch(
        "/v1/authors/achieng-odhiambo", json={"name": "Achieng O."}, headers=EDITOR
    )
    assert renamed.status_code == 200
    response = client.get(URL, headers={"If-Modified-Since": since})
    assert response.status_code == 200
    assert response.json()["authors"][0]["name"] == "Achieng O."


@pytest.mark.response_cache("off")
def test_304_reads_the_article_in_one_statement(db: Backend) -> None:
    """The app's own 304 (the cache, when on, answers before the app with its own check,
    which test_cache.py counts): the one statement that reads the article."""
    client = db.client
    _story(client)
    etag = client.get(URL).headers["etag"]
    with db.statements.counting() as statements:
        assert client.get(URL, headers={"If-None-Match": etag}).status_code == 304
    assert len(statements) == 1, statements
    assert "from article" in statements[0].lower()


def test_list_etag_and_304(client: TestClient) -> None:
    _story(client)
    first = client.get("/v1/articles?limit=5")
    etag = first.headers["etag"]
    again = client.get("/v1/articles?limit=5", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    # Another query string is another representation.
    assert client.get("/v1/articles?limit=4").headers["etag"] != etag
    # Editors get another list than anonymous callers.
    assert client.get("/v1/articles?limit=5", headers=EDITOR).headers["etag"] != etag
    make_article(client, headline="Kenya and the US resume trade talks")
    changed = client.get("/v1/articles?limit=5", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert len(changed.json()["data"]) == 2
    assert changed.headers["etag"] != etag


def test_list_etag_changes_when_an_author_is_renamed(client: TestClient) -> None:
    _story(client)
    for url in ("/v1/articles", "/v1/authors", "/v1/authors/achieng-odhiambo/articles"):
        etag = client.get(url).headers["etag"]
        assert (
            client.patch(
                "/v1/authors/achieng-odhiambo", json={"title": f"Reporter at {url}"}, headers=EDITOR
            ).status_code
            == 200
        )
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 200


@pytest.mark.response_cache("off")
def test_list_304_costs_one_statement(db: Backend) -> None:
    """The app's own list 304: the change log's version and nothing of the list itself."""
    client = db.client
    _story(client)
    etag = client.get("/v1/articles").headers["etag"]
    with db.statements.counting() as statements:
        assert client.get("/v1/articles", headers={"If-None-Match": etag}).status_code == 304
    assert len(statements) == 1, statements
    assert "change.txid" in statements[0]  # the change log's version, nothing of the list
    assert "headline" not in statements[0]


def test_head_carries_the_validators_and_revalidates(client: TestClient) -> None:
    _story(client)
    got = client.get(URL)
    head = client.head(URL)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == got.headers["etag"]
    assert head.headers["last-modified"] == got.headers["last-modified"]
    again = client.head(URL, headers={"If-None-Match": got.headers["etag"]})
    assert again.status_code == 304
    listed = client.head("/v1/articles", headers={"If-None-Match": '"stale"'})
    assert listed.status_code == 200
    assert listed.headers["etag"] == client.get("/v1/articles").headers["etag"]
