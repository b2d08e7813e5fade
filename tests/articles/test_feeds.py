"""Atom and RSS feeds, read back with feedparser as a feed reader would."""

from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from fastapi.testclient import TestClient

from tests.conftest import EDITOR, Backend
from tests.factories import make_article, make_author, make_entity

# Reads answered by the response cache and, with it off, by the app itself.
pytestmark = pytest.mark.response_cache("on", "off")

FEEDS = [
    ("/v1/feeds/articles.atom", "application/atom+xml; charset=utf-8", "atom10"),
    ("/v1/feeds/articles.rss", "application/rss+xml; charset=utf-8", "rss20"),
]


def read(client: TestClient, path: str, **params: object) -> feedparser.FeedParserDict:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


@pytest.mark.parametrize(("path", "media_type", "version"), FEEDS)
def test_newest_published_first_with_content(
    client: TestClient, path: str, media_type: str, version: str
) -> None:
    author = make_author(client, name="Achieng Odhiambo")
    make_entity(client, name="Kenya", type="place")
    make_article(client, slug="older", published_at="2024-11-07T09:00:00Z")
    make_article(
        client,
        slug="newer",
        headline="Ruto & Trump <talk>",
        standfirst="A call on Friday.",
        body="They spoke about **trade**.",
        published_at="2024-11-08T18:30:00Z",
        authors=[author["slug"]],
        entities=["kenya"],
        section="politics",
        canonical_url="https://example.com/ruto-trump",
    )
    make_article(client, slug="draft", status="draft")
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    make_article(client, slug="scheduled", published_at=future)
    make_article(client, slug="trashed")
    assert client.delete("/v1/articles/trashed", headers=EDITOR).status_code == 204

    response = client.get(path)
    assert response.headers["content-type"] == media_type
    assert response.headers["cache-control"] == "public, max-age=60"
    parsed = read(client, path)
    assert parsed.version == version
    titles = [entry.title for entry in parsed.entries]
    assert titles[0] == "Ruto & Trump <talk>"
    assert len(titles) == 2
    newer = client.get("/v1/articles/newer").json()
    entry = parsed.entries[0]
    assert entry.link == "https://example.com/ruto-trump"
    assert entry.id == f"urn:uuid:{newer['id']}"
    assert entry.published_parsed[:6] == (2024, 11, 8, 18, 30, 0)
    assert entry.summary == "A call on Friday."
    assert "<strong>trade</strong>" in entry.content[0].value
    assert entry.author == "Achieng Odhiambo"
    assert {tag.term for tag in entry.tags} >= {"politics"}
    assert {tag.get("label") or tag.term for tag in entry.tags} >= {"Kenya"}
    older = parsed.entries[1]
    assert older.link.startswith("http://testserver/v1/articles/older")
    assert parsed.feed.title == "Newsdesk"
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["alternate"] == "http://testserver/v1/articles"


def test_atom_dates_and_self_link(client: TestClient) -> None:
    make_article(client, slug="only", published_at="2024-11-08T18:30:00Z")
    parsed = read(client, "/v1/feeds/articles.atom", section="")
    article = client.get("/v1/articles/only").json()
    updated = datetime.fromisoformat(article["updated_at"].replace("Z", "+00:00"))
    assert parsed.feed.updated_parsed[:6] == updated.timetuple()[:6]
    assert parsed.entries[0].updated_parsed[:6] == updated.timetuple()[:6]
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["self"].startswith("http://testserver/v1/feeds/articles.atom")


@pytest.mark.parametrize(("path", "media_type", "version"), FEEDS)
def test_filters(client: TestClient, path: str, media_type: str, version: str) -> None:
    author = make_author(client, name="Brian Mutua", slug="brian")
    for name in ("Kenya", "Haiti", "Sudan"):
        make_entity(client, name=name, type="place")
    make_article(client, headline="Kenya and Haiti", entities=["kenya", "haiti"], authors=["brian"])
    make_article(client, headline="Kenya and Sudan", entities=["kenya", "sudan"], section="world")
    make_article(client, headline="Haiti alone", entities=["haiti"], section="world")

    def titles(**params: object) -> set[str]:
        return {entry.title for entry in read(client, path, **params).entries}

    assert titles(entity=["kenya", "haiti,sudan"]) == {"Kenya and Haiti", "Kenya and Sudan"}
    assert titles(entity="haiti") == {"Kenya and Haiti", "Haiti alone"}
    assert titles(author=author["id"]) == {"Kenya and Haiti"}
    assert titles(section="world") == {"Kenya and Sudan", "Haiti alone"}
    assert titles(section="world", entity="haiti") == {"Haiti alone"}
    assert titles(entity="no-such-entity") == set()


def test_fifty_newest_in_a_fixed_number_of_statements(client: TestClient, db: Backend) -> None:
    author = make_author(client)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    counts = []
    for number in range(52):
        make_article(
            client,
            headline=f"Story {number}",
            published_at=(start + timedelta(hours=number)).isoformat(),
            authors=[author["slug"]],
        )
        if number in (0, 51):
            with db.statements.counting() as statements:
                parsed = read(client, "/v1/feeds/articles.rss")
            counts.append(len(statements))
    assert counts[0] == counts[1]
    assert len(parsed.entries) == 50
    assert parsed.entries[0].title == "Story 51"
    assert parsed.entries[-1].title == "Story 2"


def test_an_empty_feed_is_still_valid(client: TestClient) -> None:
    for path, _, version in FEEDS:
        parsed = read(client, path)
        assert parsed.version == version
        assert parsed.entries == []


@pytest.mark.parametrize(("path", "media_type", "version"), FEEDS)
def test_a_filter_with_control_characters_still_gives_a_feed(
    client: TestClient, path: str, media_type: str, version: str
) -> None:
    make_article(client, headline="Ruto calls Trump", section="politics")
    parsed = read(client, path, entity="kenya\x01\x1f", section="politics\x08")
    assert parsed.version == version
    assert parsed.entries == []
    assert "\x01" not in parsed.feed.subtitle
