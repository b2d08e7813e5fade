"""Attacks on a running server that once poisoned or broke what every reader gets: a forged
Host header, a flood of junk URLs against the response cache, control characters in a
headline. Each runs on SQLite and on PostgreSQL."""

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import feedparser
import httpx
import pytest

from tests.conftest import ADMIN_KEY
from tests.servers import Server, migrated_and_seeded, running_server

StartServer = Callable[..., AbstractContextManager[Server]]

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
FEED = "/v1/feeds/articles.atom?entity=kenya"
STORY = "/v1/articles/ruto-congratulates-trump-in-phone-call"
BASE_ENV = {"NEWSDESK_ADMIN_KEY": ADMIN_KEY, "NEWSDESK_LOG_LEVEL": "warning"}


@pytest.fixture
def serve(scratch_url: str, tmp_path: Path) -> StartServer:
    """Start servers on one seeded database (SQLite or PostgreSQL), with extra settings."""
    migrated_and_seeded(scratch_url)

    def start(**env: str) -> AbstractContextManager[Server]:
        return running_server(tmp_path, extra_env=BASE_ENV | env, database_url=scratch_url)

    return start


# Namespaces and vocabularies a document names, which are not links of ours.
VOCABULARIES = {"http://www.w3.org", "http://purl.org", "https://schema.org", "http://schema.org"}


def absolute_urls(body: str) -> set[str]:
    """The origins (scheme and host) of the absolute URLs in ``body``."""
    return set(re.findall(r"https?://[^/\"'<>\s]+", body)) - VOCABULARIES


def cache_gauge(client: httpx.Client, name: str) -> float:
    metrics = client.get("/metrics").text
    found = re.search(rf"^{name} ([0-9.e+]+)$", metrics, re.MULTILINE)
    assert found, f"{name} is not in /metrics"
    return float(found.group(1))


def test_a_forged_host_does_not_reach_other_readers(serve: StartServer) -> None:
    with serve() as server, httpx.Client(base_url=server.url, timeout=10) as client:
        forged = client.get(FEED, headers={"Host": "evil.example"})
        assert forged.status_code == 200
        honest = client.get(FEED)
        assert honest.status_code == 200
        assert "evil.example" not in honest.text
        assert absolute_urls(honest.text) <= {server.url}
        listing = client.get("/v1/articles?limit=1")
        assert "evil.example" not in listing.headers.get("link", "")


def test_the_public_url_writes_every_absolute_url_and_hosts_are_checked(serve: StartServer) -> None:
    env = {
        "NEWSDESK_PUBLIC_URL": "https://news.example.com",
        "NEWSDESK_ALLOWED_HOSTS": "127.0.0.1,news.example.com",
    }
    with serve(**env) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        refused = client.get(FEED, headers={"Host": "evil.example"})
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["cache-control"] == "no-store"

        feed = client.get(FEED)
        assert feed.status_code == 200
        assert absolute_urls(feed.text) == {"https://news.example.com"}
        links = {link.href for link in feedparser.parse(feed.text).feed.links}
        assert "https://news.example.com/v1/feeds/articles.atom?entity=kenya" in links

        page = client.get("/v1/articles?limit=1")
        assert page.headers["link"].startswith("<https://news.example.com/v1/articles?")
        # ninjs and JSON-LD also name outside vocabularies (IPTC, Wikidata); none of their
        # links to this service may use the address the request came to.
        documents = client.get(f"{STORY}/ninjs").text + client.get(f"{STORY}/jsonld").text
        assert "https://news.example.com/v1/" in documents
        assert "127.0.0.1" not in documents

        created = client.post("/v1/authors", json={"name": "Wanjiru Kamau"}, headers=ADMIN)
        assert created.status_code == 201
        assert created.headers["location"].startswith("https://news.example.com/v1/authors/")


def test_junk_urls_do_not_grow_the_cache_past_its_budget(serve: StartServer) -> None:
    budget = 256 * 1024
    env = {"NEWSDESK_RESPONSE_CACHE_BYTES": str(budget)}
    with serve(**env) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get(STORY).status_code == 200
        before = cache_gauge(client, "newsdesk_response_cache_entries")
        junk = "x" * 60_000
        for number in range(40):
            missing = client.get(f"/v1/articles/no-such-story-{number}?pad={junk}")
            assert missing.status_code == 404
        # 404s of made-up URLs are not kept.
        assert cache_gauge(client, "newsdesk_response_cache_entries") == before
        for number in range(40):
            listing = client.get(f"/v1/articles?limit=1&pad{number}={junk}")
            assert listing.status_code == 200
        # Kept answers to junk URLs count their keys: the budget holds.
        used = cache_gauge(client, "newsdesk_response_cache_bytes")
        assert 0 < used <= budget
        assert cache_gauge(client, "newsdesk_response_cache_entries") < 40


@pytest.mark.parametrize("control", ["\x01", "\x0b", "\x1f"])
def test_a_control_character_in_a_headline_leaves_the_feeds_readable(
    serve: StartServer, control: str
) -> None:
    with serve() as server, httpx.Client(base_url=server.url, timeout=10) as client:
        created = client.post(
            "/v1/articles",
            json={
                "headline": f"Pasted{control}headline from a word processor",
                "standfirst": f"A summary{control}with a stray character",
                "body": f"Body text{control}here.",
                "status": "published",
                "entities": ["kenya"],
            },
            headers=ADMIN,
        )
        assert created.status_code == 201
        for path in ("/v1/feeds/articles.atom", "/v1/feeds/articles.rss"):
            feed = client.get(path)
            assert feed.status_code == 200
            parsed = feedparser.parse(feed.content)
            assert not parsed.bozo, parsed.get("bozo_exception")
            titles = [entry.title for entry in parsed.entries]
            assert "Pastedheadline from a word processor" in titles
