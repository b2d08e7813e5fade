"""Attacks on a running server (`newsdesk serve`), on both databases: each one answered
as a problem that says what is wrong, never a 500 or a 503, and leaking nothing."""

import asyncio
import base64
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.db import async_url
from app.schema import upgrade
from tests.conftest import ADMIN_KEY, PG_URL_ENV, backends
from tests.servers import Server, running_server

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@dataclass
class Target:
    backend: str
    url: str
    server: Server
    http: httpx.Client
    folder: Path


async def _admin_statement(base_url: str, statement: str) -> None:
    engine = create_async_engine(
        async_url(base_url), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


@pytest.fixture(scope="module", params=backends())
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """One server for the module on a database of its own, migrated and empty."""
    folder = tmp_path_factory.mktemp(f"hostile-{request.param}")
    drop: str | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'hostile.db'}"
    else:
        base = make_url(os.environ[PG_URL_ENV])
        name = f"{base.database}_hostile"
        admin_url = base.render_as_string(hide_password=False)
        asyncio.run(_admin_statement(admin_url, f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(_admin_statement(admin_url, f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        drop = f'DROP DATABASE IF EXISTS "{name}"'
    upgrade(url)
    env = {"NEWSDESK_ADMIN_KEY": ADMIN_KEY, "NEWSDESK_LOG_LEVEL": "warning"}
    try:
        with (
            running_server(folder, extra_env=env, database_url=url) as server,
            httpx.Client(base_url=server.url, timeout=30) as http,
        ):
            yield Target(request.param, url, server, http, folder)
    finally:
        if drop is not None:
            asyncio.run(_admin_statement(os.environ[PG_URL_ENV], drop))


def _create(target: Target, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = target.http.post(path, json=payload, headers=ADMIN)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _is_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def test_an_old_slug_tells_nobody_who_may_not_see_the_article_its_new_slug(
    target: Target,
) -> None:
    http = target.http
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    cases = {
        "draft": {"status": "draft"},
        "scheduled": {"status": "published", "published_at": later},
        "trashed": {"status": "published"},
    }
    for label, fields in cases.items():
        old = f"secret-{label}-plan"
        _create(target, "/v1/articles", {"headline": f"Plan {label}", "slug": old, **fields})
        renamed = http.patch(
            f"/v1/articles/{old}", json={"slug": f"renamed-{label}-plan"}, headers=ADMIN
        )
        assert renamed.status_code == 200
        if label == "trashed":
            assert (
                http.delete(f"/v1/articles/renamed-{label}-plan", headers=ADMIN).status_code == 204
            )

        anonymous = http.get(f"/v1/articles/{old}")
        unknown = http.get(f"/v1/articles/never-{label}-existed")
        body = _is_problem(anonymous, 404)
        assert "renamed" not in anonymous.text
        assert "location" not in anonymous.headers
        assert body["detail"].replace(old, "X") == _is_problem(unknown, 404)["detail"].replace(
            f"never-{label}-existed", "X"
        )
        # The same for the article's other views and for a conditional read.
        for suffix in ("/related", "/ninjs", "/jsonld"):
            assert http.get(f"/v1/articles/{old}{suffix}").status_code == 404, suffix
        conditional = http.get(f"/v1/articles/{old}", headers={"If-None-Match": '"x"'})
        assert conditional.status_code == 404
        # Editors still follow the redirect.
        editor = http.get(f"/v1/articles/{old}", headers=ADMIN)
        assert editor.status_code == 301
        assert editor.headers["location"] == f"/v1/articles/renamed-{label}-plan"

    # A published article's old slug still redirects everyone.
    _create(
        target, "/v1/articles", {"headline": "Public", "slug": "public-old", "status": "published"}
    )
    http.patch("/v1/articles/public-old", json={"slug": "public-new"}, headers=ADMIN)
    moved = http.get("/v1/articles/public-old")
    assert moved.status_code == 301
    assert moved.headers["location"] == "/v1/articles/public-new"


def _unkeyed_tag(*parts: Any) -> str:
    """How list tags used to be made: a plain hash of values anyone can guess."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(str(part).encode())
        digest.update(b"\x1f")
    return f'"{digest.hexdigest()}"'


def test_list_tags_cannot_be_computed_or_inverted_from_guessable_values(
    target: Target,
) -> None:
    http = target.http
    embargo = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    _create(
        target,
        "/v1/articles",
        {
            "headline": "Embargoed results",
            "status": "published",
            "published_at": embargo.isoformat(),
        },
    )
    url = f"{target.server.url}/v1/articles"
    tag = http.get("/v1/articles").headers["etag"]
    # The attack: try every plausible write counter with the embargo time (here even
    # known exactly). Without the instance secret no guess gives the tag.
    guesses = {
        _unkeyed_tag("content", "public", url, counter, moment)
        for counter in range(0, 3000)
        for moment in (embargo.isoformat(), "")
    }
    assert tag not in guesses
    # The tag is still a validator: the same state gives the same tag, and 304.
    again = http.get("/v1/articles", headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.headers["etag"] == tag


def test_another_server_on_the_same_database_makes_the_same_tags(target: Target) -> None:
    http = target.http
    article = _create(target, "/v1/articles", {"headline": "Shared tags", "status": "published"})
    path = f"/v1/articles/{article['slug']}"
    env = {"NEWSDESK_ADMIN_KEY": ADMIN_KEY, "NEWSDESK_LOG_LEVEL": "warning"}
    with (
        running_server(target.folder, extra_env=env, database_url=target.url) as second,
        httpx.Client(base_url=second.url, timeout=30) as other,
    ):
        tag = http.get(path).headers["etag"]
        assert other.get(path).headers["etag"] == tag
        assert other.get(path, headers={"If-None-Match": tag}).status_code == 304


def test_thousands_of_filters_are_a_422_not_an_outage(target: Target) -> None:
    http = target.http
    many = "&".join(f"entity=topic-{number}" for number in range(1100))
    for path in ("/v1/articles", "/v1/feeds/articles.atom"):
        response = http.get(f"{path}?{many}")
        body = _is_problem(response, 422)
        assert body["errors"][0]["type"] == "too_many_refs"
    joined = ",".join(f"topic-{number}" for number in range(51))
    _is_problem(http.get(f"/v1/articles?entity={joined}"), 422)
    fifty = ",".join(f"topic-{number}" for number in range(25))
    assert http.get(f"/v1/articles?entity={fifty}&author={fifty}").status_code == 200
    # The server is up: nothing was taken for a database outage.
    assert http.get("/readyz").status_code == 200


def test_deeply_nested_bodies_are_refused_at_once(target: Target) -> None:
    http = target.http
    for body in (">" * 20_000 + " x", "<blockquote>" * 5_000, "- " * 3_000 + "x"):
        response = http.post("/v1/articles", json={"headline": "Deep", "body": body}, headers=ADMIN)
        problem = _is_problem(response, 422)
        assert problem["errors"][0]["loc"] == ["body", "body"]
        assert problem["errors"][0]["type"] == "body_too_deep"
    # 500,000 characters of ">" plus text would render to megabytes of HTML.
    huge = ("> " * 30 + "x\n\n") * 7_000
    response = http.post("/v1/articles", json={"headline": "Huge", "body": huge}, headers=ADMIN)
    assert _is_problem(response, 422)["errors"][0]["type"] == "body_too_large"
    existing = _create(target, "/v1/articles", {"headline": "Patched later"})
    patched = http.patch(
        f"/v1/articles/{existing['slug']}", json={"body": ">" * 20_000}, headers=ADMIN
    )
    _is_problem(patched, 422)
    assert http.get(f"/v1/articles/{existing['slug']}", headers=ADMIN).json()["version"] == 1
    # Nesting within the limit is rendered as usual.
    fine = _create(target, "/v1/articles", {"headline": "Quoted", "body": ">" * 10 + " deep"})
    assert fine["body_html"].count("<blockquote>") == 10


def test_extraction_of_an_oversized_text_is_a_422(target: Target) -> None:
    response = target.http.post(
        "/v1/entities/extract", json={"text": "Kenya " * 20_000}, headers=ADMIN
    )
    assert _is_problem(response, 422)["errors"][0]["loc"] == ["body", "text"]


def test_out_of_range_values_are_problems_not_500s(target: Target) -> None:
    http = target.http
    article = _create(target, "/v1/articles", {"headline": "Ranges", "status": "published"})
    slug = article["slug"]
    for name in ("published_after", "published_before"):
        for value in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "10000-01-01"):
            _is_problem(http.get("/v1/articles", params={name: value}), 422)
    some_id = uuid.uuid4().hex
    cursors = {
        "/v1/articles": ("-published_at", "9999-12-31T23:59:59-23:59"),
        f"/v1/articles/{slug}/revisions": ("-version", 2**63),
        "/v1/entities?sort=article_count": ("article_count", 2**63),
        "/v1/authors?sort=-article_count": ("-article_count", 2**64 - 1),
        "/v1/articles?sort=headline": ("headline", "nul \x00 inside"),
    }
    for path, (sort, value) in cursors.items():
        token = base64.urlsafe_b64encode(json.dumps({"s": sort, "v": [value, some_id]}).encode())
        response = http.get(path, params={"cursor": token.decode().rstrip("=")}, headers=ADMIN)
        _is_problem(response, 400)
    for version in ("9223372036854775808", "2147483648", "99999999999999999999999"):
        _is_problem(http.get(f"/v1/articles/{slug}/revisions/{version}", headers=ADMIN), 422)
        restore = http.post(f"/v1/articles/{slug}/revisions/{version}/restore", headers=ADMIN)
        _is_problem(restore, 422)
    assert http.get(f"/v1/articles/{slug}/revisions/2147483647", headers=ADMIN).status_code == 404
    # An If-Modified-Since that falls off the calendar in UTC is ignored, as RFC 9110 asks.
    ignored = http.get(
        f"/v1/articles/{slug}", headers={"If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 -2359"}
    )
    assert ignored.status_code == 200
    for moment in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+00:01"):
        created = http.post(
            "/v1/articles", json={"headline": "Far", "published_at": moment}, headers=ADMIN
        )
        assert _is_problem(created, 422)["errors"][0]["loc"] == ["body", "published_at"]
        patched = http.patch(f"/v1/articles/{slug}", json={"published_at": moment}, headers=ADMIN)
        _is_problem(patched, 422)
    # The ends of the calendar themselves are fine.
    edge = _create(
        target,
        "/v1/articles",
        {"headline": "Edge", "status": "published", "published_at": "9999-12-31T23:59:59Z"},
    )
    assert edge["status"] == "scheduled"
    assert http.get("/v1/articles?status=scheduled", headers=ADMIN).status_code == 200
