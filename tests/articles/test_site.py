"""The site's own URLs, sitemaps (read by a real sitemap client), corrections, scheduled
unpublishing and accessible images (API.md §15)."""

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import text
from typer.testing import CliRunner
from usp.fetch_parse import SitemapFetcher
from usp.objects.sitemap import AbstractSitemap
from usp.web_client.abstract_client import (
    AbstractWebClient,
    AbstractWebClientResponse,
    AbstractWebClientSuccessResponse,
    WebClientErrorResponse,
)

from app.cli import cli
from app.config import Settings, get_settings
from app.main import create_app
from tests.articles.test_formats import ninjs_validator
from tests.conftest import ADMIN_KEY, EDITOR, Backend
from tests.factories import make_article

TEMPLATE = "https://www.example.com/{section}/{yyyy}/{mm}/{dd}/{slug}"
PUBLICATION = "Capital News Daily"
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def site(db: Backend) -> Iterator[TestClient]:
    """The API of a site with a URL template, its own name, and sitemaps split every two
    URLs (the protocol's 50,000, lowered by the setting), on the test database."""
    settings = Settings(
        database_url=db.url,
        admin_key=ADMIN_KEY,
        article_url_template=TEMPLATE,
        publication_name=PUBLICATION,
        sitemap_max_urls=2,
        # The sender's own transactions would hold back what the change log calls final.
        webhook_sender=False,
    )
    with TestClient(create_app(settings)) as client:
        yield client


class _Answer(AbstractWebClientSuccessResponse):
    def __init__(self, response: Any) -> None:
        self.response = response

    def status_code(self) -> int:
        return int(self.response.status_code)

    def status_message(self) -> str:
        return str(self.response.reason_phrase)

    def header(self, case_insensitive_name: str) -> str | None:
        value = self.response.headers.get(case_insensitive_name)
        return str(value) if value is not None else None

    def raw_data(self) -> bytes:
        return bytes(self.response.content)

    def url(self) -> str:
        return str(self.response.url)


class ThroughTestClient(AbstractWebClient):
    """ultimate-sitemap-parser's web client, fetching from the app under test."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.fetched: list[str] = []

    def set_max_response_data_length(self, max_response_data_length: int | None) -> None:
        return None

    def get(self, url: str) -> AbstractWebClientResponse:
        self.fetched.append(url)
        response = self.client.get(url)
        if response.status_code != 200:
            return WebClientErrorResponse(f"HTTP {response.status_code}", retryable=False)
        assert response.headers["content-type"].startswith("application/xml")
        return _Answer(response)


def read_sitemap(client: TestClient, path: str) -> tuple[AbstractSitemap, list[str]]:
    web = ThroughTestClient(client)
    tree = SitemapFetcher(f"http://testserver{path}", recursion_level=0, web_client=web).sitemap()
    return tree, web.fetched


def second(moment: str) -> datetime:
    return datetime.fromisoformat(moment).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# url


def test_url_is_the_canonical_url_else_the_template_else_null(
    client: TestClient, site: TestClient
) -> None:
    canonical = make_article(client, canonical_url="https://news.example.org/ruto-call")
    plain = make_article(
        client, headline="Ruto Call", section="politics", published_at="2024-11-08T23:30:00-02:00"
    )
    no_section = make_article(client, headline="No Section", published_at="2024-11-08T10:00:00Z")
    draft = make_article(client, headline="Still a draft", status="draft")

    # Without a template only the canonical URL gives a page.
    assert canonical["url"] == "https://news.example.org/ruto-call"
    assert client.get(f"/v1/articles/{plain['slug']}").json()["url"] is None

    def url_on_site(article: dict[str, Any]) -> Any:
        return site.get(f"/v1/articles/{article['slug']}", headers=EDITOR).json()["url"]

    assert url_on_site(canonical) == "https://news.example.org/ruto-call"
    # The date is published_at's in UTC (23:30 at -02:00 is the 9th).
    assert url_on_site(plain) == "https://www.example.com/politics/2024/11/09/ruto-call"
    assert url_on_site(no_section) == "https://www.example.com/2024/11/08/no-section"
    assert url_on_site(draft) is None  # no date yet
    listed = site.get("/v1/articles", params={"fields": "url", "sort": "published_at"}).json()
    assert [item["url"] for item in listed["data"]] == [
        "https://www.example.com/2024/11/08/no-section",
        "https://www.example.com/politics/2024/11/09/ruto-call",
        "https://news.example.org/ruto-call",
    ]


def test_feeds_and_json_ld_link_to_the_page(site: TestClient) -> None:
    article = make_article(site, headline="Linked", section="world")
    page = article["url"]
    assert page.startswith("https://www.example.com/world/")
    atom = site.get("/v1/feeds/articles.atom").text
    assert f'href="{page}"' in atom
    document = site.get(f"/v1/articles/{article['slug']}/jsonld").json()
    assert document["url"] == page
    assert document["mainEntityOfPage"] == {"@type": "WebPage", "@id": page}
    assert document["publisher"] == {"@type": "Organization", "name": PUBLICATION}


def test_a_template_with_an_unknown_placeholder_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown placeholder 'year'"):
        Settings(article_url_template="https://example.com/{year}/{slug}")


# Sitemaps


def test_sitemap_index_and_monthly_sitemaps_read_by_a_sitemap_client(
    site: TestClient, client: TestClient
) -> None:
    november = [
        make_article(site, headline=f"November {day}", published_at=f"2024-11-{day:02d}T09:00:00Z")
        for day in (3, 8, 8, 20, 30)
    ]
    october = make_article(site, headline="October", published_at="2024-10-31T23:59:59Z")
    make_article(site, headline="Draft", status="draft")
    make_article(
        site, headline="Scheduled", published_at=iso(datetime.now(UTC) + timedelta(days=3))
    )
    make_article(
        site,
        headline="Expired",
        published_at="2024-11-09T09:00:00Z",
        expires_at="2024-11-10T09:00:00Z",
    )
    gone = make_article(site, headline="Trashed", published_at="2024-11-10T09:00:00Z")
    assert site.delete(f"/v1/articles/{gone['slug']}", headers=EDITOR).status_code == 204
    # The last change of a November article sets the month's lastmod.
    edited = site.patch(
        f"/v1/articles/{november[0]['slug']}", json={"standfirst": "Edited."}, headers=EDITOR
    ).json()

    tree, fetched = read_sitemap(site, "/v1/sitemaps/articles.xml")
    months = ["2024-10", "2024-11", "2024-11-2", "2024-11-3"]
    assert [sub.url for sub in tree.sub_sitemaps] == [
        f"http://testserver/v1/sitemaps/articles-{month}.xml" for month in months
    ]
    assert fetched[1:] == [sub.url for sub in tree.sub_sitemaps]
    pages = [(page.url, page.last_modified) for sub in tree.sub_sitemaps for page in sub.pages]
    current = {
        article["id"]: site.get(f"/v1/articles/{article['slug']}").json()
        for article in [october, *november]
    }
    expected = sorted(
        current.values(), key=lambda article: (article["published_at"], article["id"])
    )
    assert pages == [(article["url"], second(article["updated_at"])) for article in expected]
    assert [len(sub.pages) for sub in tree.sub_sitemaps] == [1, 2, 2, 1]

    index = etree.fromstring(site.get("/v1/sitemaps/articles.xml").content)
    lastmods = [entry.findtext(f"{SITEMAP_NS}lastmod") for entry in index]
    newest_november = iso(second(edited["updated_at"]))
    assert lastmods == [iso(second(october["updated_at"]))] + [newest_november] * 3

    # Without a template only articles with a canonical_url have a page to list.
    assert client.get("/v1/sitemaps/articles.xml").status_code == 200
    assert len(etree.fromstring(client.get("/v1/sitemaps/articles.xml").content)) == 0
    make_article(client, canonical_url="https://x.example/a", published_at="2024-11-05T00:00:00Z")
    tree, _ = read_sitemap(client, "/v1/sitemaps/articles.xml")
    assert [page.url for page in tree.all_pages()] == ["https://x.example/a"]


def test_news_sitemap_lists_the_last_48_hours_newest_first(site: TestClient) -> None:
    now = datetime.now(UTC)
    fresh = make_article(site, headline="Ruto & Trump", published_at=iso(now - timedelta(hours=1)))
    french = make_article(
        site, headline="Appel", language="fr-CA", published_at=iso(now - timedelta(hours=47))
    )
    make_article(site, headline="Too old", published_at=iso(now - timedelta(hours=49)))
    make_article(
        site,
        headline="Taken down",
        published_at=iso(now - timedelta(hours=2)),
        expires_at=iso(now - timedelta(minutes=5)),
    )

    tree, _ = read_sitemap(site, "/v1/sitemaps/news.xml")
    pages = tree.pages
    assert [page.url for page in pages] == [fresh["url"], french["url"]]
    for page, article, language in ((pages[0], fresh, "en"), (pages[1], french, "fr")):
        story = page.news_story
        assert story is not None
        assert story.title == article["headline"]
        assert story.publish_date == second(article["published_at"])
        assert story.publication_name == PUBLICATION
        assert story.publication_language == language
        assert page.last_modified == second(article["updated_at"])


def test_sitemaps_are_xml_with_etags_and_unknown_ones_are_404(site: TestClient) -> None:
    make_article(site, published_at="2024-11-08T18:30:00Z")
    for path in (
        "/v1/sitemaps/articles.xml",
        "/v1/sitemaps/articles-2024-11.xml",
        "/v1/sitemaps/news.xml",
    ):
        first = site.get(path)
        assert first.status_code == 200
        assert first.headers["content-type"] == "application/xml; charset=utf-8"
        again = site.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""
    make_article(site, published_at="2024-11-09T18:30:00Z")
    stale = site.get(
        "/v1/sitemaps/articles-2024-11.xml",
        headers={"If-None-Match": site.get("/v1/sitemaps/articles.xml").headers["etag"]},
    )
    assert stale.status_code == 200
    for missing in ("2024-12", "2024-13", "2024-11-1", "2024-11-2", "24-11", "2024-11-x"):
        answer = site.get(f"/v1/sitemaps/articles-{missing}.xml")
        assert answer.status_code == 404, missing
        assert answer.headers["content-type"] == "application/problem+json"


# Corrections


CORRECTION = "An earlier version said the call was on 7 November. It was on 8 November."


def test_corrections_are_appended_with_a_new_version(client: TestClient) -> None:
    article = make_article(client, headline="Ruto Congratulates Trump")
    url = f"/v1/articles/{article['slug']}"
    before_feed = client.get("/v1/feeds/articles.atom").text

    added = client.post(f"{url}/corrections", json={"text": CORRECTION}, headers=EDITOR)
    assert added.status_code == 201, added.text
    first = added.json()
    assert set(first) == {"id", "text", "created_at"}
    assert first["text"] == CORRECTION
    assert added.headers["location"] == f"http://testserver{url}"
    second_note = client.post(
        f"{url}/corrections", json={"text": "  The headline named the wrong day.  "}, headers=EDITOR
    ).json()
    assert second_note["text"] == "The headline named the wrong day."

    shown = client.get(url).json()
    assert shown["corrections"] == [first, second_note]  # oldest first
    assert shown["version"] == 3
    assert shown["updated_at"] >= second_note["created_at"]
    revisions = client.get(f"{url}/revisions", headers=EDITOR).json()["data"]
    assert [revision["version"] for revision in revisions] == [3, 2, 1]

    document = client.get(f"{url}/jsonld").json()
    assert document["correction"] == [
        {
            "@type": "CorrectionComment",
            "text": note["text"],
            "datePublished": iso(second(note["created_at"])),
        }
        for note in (first, second_note)
    ]
    # The feed entry is marked updated.
    assert client.get("/v1/feeds/articles.atom").text != before_feed
    assert iso(second(shown["updated_at"])) in client.get("/v1/feeds/articles.atom").text.replace(
        "+00:00", "Z"
    )


def test_a_correction_needs_an_editor_and_text(client: TestClient) -> None:
    article = make_article(client)
    url = f"/v1/articles/{article['slug']}/corrections"
    assert client.post(url, json={"text": CORRECTION}).status_code == 401
    for body in ({}, {"text": "   "}, {"text": CORRECTION, "id": "x"}, {"text": "x" * 5001}):
        answer = client.post(url, json=body, headers=EDITOR)
        assert answer.status_code == 422, body
    assert (
        client.post("/v1/articles/nope/corrections", json={"text": "x"}, headers=EDITOR).status_code
        == 404
    )
    assert client.get(f"/v1/articles/{article['slug']}").json()["version"] == 1
    assert client.get(f"/v1/articles/{article['slug']}").json()["corrections"] == []


@pytest.fixture
def newsdesk(db: Backend, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("NEWSDESK_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_export_and_import_keep_corrections(
    client: TestClient, db: Backend, newsdesk: CliRunner, tmp_path: Path
) -> None:
    article = make_article(client, headline="Corrected story")
    url = f"/v1/articles/{article['slug']}"
    note = client.post(f"{url}/corrections", json={"text": CORRECTION}, headers=EDITOR).json()
    target = tmp_path / "articles.ndjson"
    assert newsdesk.invoke(cli, ["export", str(target)]).exit_code == 0
    line = json.loads(target.read_text())
    [exported] = line["corrections"]
    assert exported["text"] == CORRECTION
    assert second(exported["created_at"]) == second(note["created_at"])

    async def forget(engine: Any) -> None:
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM article_correction"))
            await connection.execute(text("DELETE FROM article_revision"))
            await connection.execute(text("DELETE FROM article"))

    db.run(forget, db.engine)
    assert newsdesk.invoke(cli, ["import", str(target)]).exit_code == 0
    restored = client.get(url).json()
    assert [(c["text"], c["created_at"]) for c in restored["corrections"]] == [
        (CORRECTION, note["created_at"])
    ]
    # Again: nothing changes, nothing is duplicated.
    assert newsdesk.invoke(cli, ["import", str(target)]).exit_code == 0
    assert client.get(url).json() == restored
    # A line with one more correction appends it, as a new version.
    later = iso(second(note["created_at"]) + timedelta(minutes=5))
    line["corrections"].append({"text": "Another fix.", "created_at": later})
    target.write_text(json.dumps(line) + "\n")
    assert newsdesk.invoke(cli, ["import", str(target)]).exit_code == 0
    after = client.get(url).json()
    assert [c["text"] for c in after["corrections"]] == [CORRECTION, "Another fix."]
    assert after["version"] == restored["version"] + 1


# expires_at


def test_an_expired_article_is_gone_for_anonymous_callers(client: TestClient) -> None:
    now = datetime.now(UTC)
    published = iso(now - timedelta(days=2))
    expired = make_article(
        client,
        headline="Expired story",
        published_at=published,
        expires_at=iso(now - timedelta(hours=1)),
    )
    live = make_article(
        client,
        headline="Live story",
        published_at=published,
        expires_at=iso(now + timedelta(days=1)),
    )
    url = f"/v1/articles/{expired['slug']}"
    assert expired["status"] == "archived"
    assert client.get(url).status_code == 404
    assert client.get(f"{url}/jsonld").status_code == 404
    assert client.get(url, headers=EDITOR).json()["status"] == "archived"
    listed = client.get("/v1/articles", params={"count": "true"}).json()
    assert [item["slug"] for item in listed["data"]] == [live["slug"]]
    assert listed["meta"]["total"] == 1
    assert (
        client.get("/v1/articles", params={"q": "story"}).json()["data"][0]["slug"] == live["slug"]
    )
    assert len(client.get("/v1/articles", params={"q": "story"}).json()["data"]) == 1
    assert expired["slug"] not in client.get("/v1/feeds/articles.rss").text
    archived = client.get("/v1/articles", params={"status": "archived"}, headers=EDITOR).json()
    assert [item["slug"] for item in archived["data"]] == [expired["slug"]]
    # Cleared, it is back.
    client.patch(url, json={"expires_at": None}, headers=EDITOR)
    assert client.get(url).status_code == 200


def test_expiry_is_seen_at_the_instant_it_comes_even_through_the_cache(
    client: TestClient,
) -> None:
    now = datetime.now(UTC)
    soon = now + timedelta(seconds=2)
    article = make_article(client, published_at=iso(now - timedelta(hours=1)), expires_at=iso(soon))
    first = client.get("/v1/articles")
    assert [item["id"] for item in first.json()["data"]] == [article["id"]]
    etag = first.headers["etag"]
    assert client.get("/v1/articles", headers={"If-None-Match": etag}).status_code == 304
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)
    # No write happened: only the time passed.
    after = client.get("/v1/articles")
    assert after.json()["data"] == []
    assert client.get("/v1/articles", headers={"If-None-Match": etag}).status_code == 200
    assert client.get(f"/v1/articles/{article['slug']}").status_code == 404


def test_expires_at_must_follow_published_at(client: TestClient) -> None:
    refused = client.post(
        "/v1/articles",
        json={
            "headline": "Backwards",
            "status": "published",
            "published_at": "2024-11-08T18:30:00Z",
            "expires_at": "2024-11-08T18:00:00Z",
        },
        headers=EDITOR,
    )
    assert refused.status_code == 422
    article = make_article(client, published_at="2024-11-08T18:30:00Z")
    patched = client.patch(
        f"/v1/articles/{article['slug']}",
        json={"expires_at": "2024-01-01T00:00:00Z"},
        headers=EDITOR,
    )
    assert patched.status_code == 422
    assert patched.json()["errors"][0]["loc"] == ["body", "expires_at"]
    assert client.get(f"/v1/articles/{article['slug']}").json()["version"] == 1


# Images


IMAGE = {
    "url": "https://example.com/images/state-house.jpg",
    "caption": "State House, Nairobi.",
    "credit": "Capital News",
    "alt": "The white front of State House behind its gates.",
    "width": 1600,
    "height": 900,
}


def test_images_carry_alt_text_and_size_into_json_ld_and_ninjs(client: TestClient) -> None:
    article = make_article(client, image=IMAGE)
    assert article["image"] == IMAGE
    url = f"/v1/articles/{article['slug']}"
    assert client.get(f"{url}/jsonld").json()["image"] == {
        "@type": "ImageObject",
        "url": IMAGE["url"],
        "contentUrl": IMAGE["url"],
        "caption": IMAGE["caption"],
        "description": IMAGE["alt"],
        "creditText": IMAGE["credit"],
        "width": 1600,
        "height": 900,
    }
    document = client.get(f"{url}/ninjs").json()
    [picture] = document["associations"]
    assert picture["type"] == "picture"
    assert picture["renditions"] == [
        {"name": "original", "href": IMAGE["url"], "width": 1600, "height": 900}
    ]
    assert {"role": "alt", "contenttype": "text/plain", "value": IMAGE["alt"]} in picture[
        "descriptions"
    ]
    assert list(ninjs_validator().iter_errors(document)) == []
    patched = client.patch(url, json={"image": {"alt": None, "width": 800}}, headers=EDITOR).json()
    assert patched["image"] == IMAGE | {"alt": None, "width": 800}
    for bad in ({"width": 0}, {"height": "tall"}, {"alt": "x" * 1001}):
        answer = client.patch(url, json={"image": bad}, headers=EDITOR)
        assert answer.status_code == 422, bad
