"""Related lists, news formats, feeds and search: conditional GETs, and the trash."""

import feedparser
import pytest
from fastapi.testclient import TestClient

from tests.conftest import EDITOR
from tests.factories import make_article, make_entity

# Reads answered by the response cache and, with it off, by the app itself.
pytestmark = pytest.mark.response_cache("on", "off")


def _setup(client: TestClient) -> None:
    make_entity(client, name="Kenya", type="place", slug="kenya", external_ids={"wikidata": "Q114"})
    make_entity(client, name="Haiti", type="place", slug="haiti")
    make_article(
        client,
        headline="Ruto congratulates Trump",
        slug="ruto-congratulates-trump",
        body="Kenya leads the Haiti mission.",
        entities=["kenya", "haiti"],
    )
    make_article(
        client,
        headline="Blinken thanks Kenya for the Haiti mission",
        slug="blinken-thanks-kenya",
        body="The mission in Haiti.",
        entities=["kenya", "haiti"],
    )


DERIVED = (
    "/v1/articles/ruto-congratulates-trump/related",
    "/v1/articles/ruto-congratulates-trump/ninjs",
    "/v1/articles/ruto-congratulates-trump/jsonld",
    "/v1/feeds/articles.atom",
    "/v1/feeds/articles.rss",
    "/v1/articles?q=haiti",
)


def test_derived_views_answer_304_until_something_changes(client: TestClient) -> None:
    _setup(client)
    etags = {}
    for url in DERIVED:
        response = client.get(url)
        assert response.status_code == 200, url
        etags[url] = response.headers["etag"]
        again = client.get(url, headers={"If-None-Match": etags[url]})
        assert again.status_code == 304, url
        assert again.content == b""
    # ninjs shows the entity's Wikidata URI; changing it changes every derived view.
    assert (
        client.patch(
            "/v1/entities/kenya", json={"external_ids": {"wikidata": "Q1"}}, headers=EDITOR
        ).status_code
        == 200
    )
    for url in DERIVED:
        assert client.get(url, headers={"If-None-Match": etags[url]}).status_code == 200, url
    assert "Q1" in client.get("/v1/articles/ruto-congratulates-trump/ninjs").text


def test_feed_tags_are_weak(client: TestClient) -> None:
    _setup(client)
    assert client.get("/v1/feeds/articles.atom").headers["etag"].startswith('W/"')


def test_the_trash_is_gone_from_search_related_and_feeds(client: TestClient) -> None:
    _setup(client)
    assert client.delete("/v1/articles/blinken-thanks-kenya", headers=EDITOR).status_code == 204
    related = client.get("/v1/articles/ruto-congratulates-trump/related").json()["data"]
    assert related == []
    found = client.get("/v1/articles?q=blinken", headers=EDITOR).json()["data"]
    assert found == []
    for url in ("/v1/feeds/articles.atom", "/v1/feeds/articles.rss"):
        titles = [entry.title for entry in feedparser.parse(client.get(url).text).entries]
        assert titles == ["Ruto congratulates Trump"]
    for suffix in ("related", "ninjs", "jsonld"):
        gone = client.get(f"/v1/articles/blinken-thanks-kenya/{suffix}", headers=EDITOR)
        assert gone.status_code == 404
    assert (
        client.post("/v1/articles/blinken-thanks-kenya/restore", headers=EDITOR).status_code == 200
    )
    related = client.get("/v1/articles/ruto-congratulates-trump/related").json()["data"]
    assert [item["slug"] for item in related] == ["blinken-thanks-kenya"]
    assert client.get("/v1/articles?q=blinken").json()["data"][0]["slug"] == "blinken-thanks-kenya"
    atom = feedparser.parse(client.get("/v1/feeds/articles.atom").text)
    assert len(atom.entries) == 2


def test_old_slug_of_derived_views_redirects(client: TestClient) -> None:
    _setup(client)
    assert (
        client.patch(
            "/v1/articles/ruto-congratulates-trump",
            json={"slug": "ruto-calls-trump"},
            headers=EDITOR,
        ).status_code
        == 200
    )
    for suffix in ("related", "ninjs", "jsonld"):
        moved = client.get(
            f"/v1/articles/ruto-congratulates-trump/{suffix}", follow_redirects=False
        )
        assert moved.status_code == 301
        assert moved.headers["location"].endswith(f"/v1/articles/ruto-calls-trump/{suffix}")
