"""If-Match on PATCH and DELETE: a stale ETag is a 412 and nothing changes."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EDITOR
from tests.factories import make_article, make_author, make_entity

# Reads answered by the response cache and, with it off, by the app itself.
pytestmark = pytest.mark.response_cache("on", "off")


def _read(client: TestClient, url: str) -> tuple[dict[str, Any], str]:
    response = client.get(url, headers=EDITOR)
    assert response.status_code == 200, response.text
    return response.json(), response.headers["etag"]


def _revision_count(client: TestClient, url: str) -> int:
    response = client.get(f"{url}/revisions?count=true", headers=EDITOR)
    assert response.status_code == 200, response.text
    total: int = response.json()["meta"]["total"]
    return total


def test_patch_with_current_etag_succeeds_and_returns_the_new_one(client: TestClient) -> None:
    article = make_article(client, headline="Ruto calls Trump")
    url = f"/v1/articles/{article['slug']}"
    _, etag = _read(client, url)
    response = client.patch(
        url, json={"standfirst": "A call from State House."}, headers=EDITOR | {"If-Match": etag}
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    new_etag = response.headers["etag"]
    assert new_etag != etag
    assert client.get(url, headers=EDITOR).headers["etag"] == new_etag


def test_patch_with_stale_etag_is_412_and_changes_nothing(client: TestClient) -> None:
    article = make_article(client, headline="Ruto calls Trump")
    url = f"/v1/articles/{article['slug']}"
    _, etag = _read(client, url)
    # A colleague saves first.
    first = client.patch(url, json={"headline": "Ruto calls Trump, talks Haiti"}, headers=EDITOR)
    assert first.status_code == 200
    before, current_etag = _read(client, url)
    stale = client.patch(url, json={"headline": "Overwritten"}, headers=EDITOR | {"If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    problem = stale.json()
    assert problem["status"] == 412
    assert problem["title"] == "Precondition Failed"
    assert problem["detail"]
    after, after_etag = _read(client, url)
    assert after == before
    assert after_etag == current_etag
    assert after["headline"] == "Ruto calls Trump, talks Haiti"
    assert after["version"] == 2
    assert _revision_count(client, url) == 2


def test_if_match_forms(client: TestClient) -> None:
    article = make_article(client, headline="Ruto calls Trump")
    url = f"/v1/articles/{article['slug']}"
    _, etag = _read(client, url)
    weak = client.patch(
        url, json={"section": "politics"}, headers=EDITOR | {"If-Match": f"W/{etag}"}
    )
    assert weak.status_code == 412, "If-Match compares strongly: a weak tag never matches"
    listed = client.patch(
        url, json={"section": "politics"}, headers=EDITOR | {"If-Match": f'"old", {etag}'}
    )
    assert listed.status_code == 200
    star = client.patch(url, json={"section": "world"}, headers=EDITOR | {"If-Match": "*"})
    assert star.status_code == 200
    assert star.json()["version"] == 3
    unquoted = client.patch(
        url, json={"section": "africa"}, headers=EDITOR | {"If-Match": star.headers["etag"][1:-1]}
    )
    assert unquoted.status_code == 200


def test_if_match_on_missing_article_is_404(client: TestClient) -> None:
    response = client.patch(
        "/v1/articles/no-such-story", json={"headline": "x"}, headers=EDITOR | {"If-Match": "*"}
    )
    assert response.status_code == 404


def test_if_match_sees_an_author_rename(client: TestClient) -> None:
    make_author(client, name="Brian Mutua", slug="brian-mutua")
    article = make_article(client, headline="Trade talks", authors=["brian-mutua"])
    url = f"/v1/articles/{article['slug']}"
    _, etag = _read(client, url)
    assert (
        client.patch(
            "/v1/authors/brian-mutua", json={"name": "Brian K. Mutua"}, headers=EDITOR
        ).status_code
        == 200
    )
    response = client.patch(url, json={"section": "business"}, headers=EDITOR | {"If-Match": etag})
    assert response.status_code == 412


def test_delete_with_stale_etag_is_412_and_keeps_the_article(client: TestClient) -> None:
    article = make_article(client, headline="Ruto calls Trump")
    url = f"/v1/articles/{article['slug']}"
    _, etag = _read(client, url)
    assert client.patch(url, json={"standfirst": "Updated."}, headers=EDITOR).status_code == 200
    response = client.delete(url, headers=EDITOR | {"If-Match": etag})
    assert response.status_code == 412
    assert client.get(url).status_code == 200
    _, current = _read(client, url)
    assert client.delete(url, headers=EDITOR | {"If-Match": current}).status_code == 204
    assert client.get(url, headers=EDITOR).status_code == 404


def test_author_and_entity_if_match(client: TestClient) -> None:
    make_author(client, name="Achieng Odhiambo", slug="achieng-odhiambo")
    make_entity(client, name="Kenya", type="place", slug="kenya")
    for url, patch, text_field in (
        ("/v1/authors/achieng-odhiambo", {"title": "Senior Reporter"}, "bio"),
        ("/v1/entities/kenya", {"aliases": ["Kenyan"]}, "description"),
    ):
        read = client.get(url, headers=EDITOR)
        etag = read.headers["etag"]
        assert client.get(url, headers=EDITOR | {"If-None-Match": etag}).status_code == 304
        ok = client.patch(url, json=patch, headers=EDITOR | {"If-Match": etag})
        assert ok.status_code == 200, ok.text
        assert ok.headers["etag"] != etag
        assert client.get(url, headers=EDITOR).headers["etag"] == ok.headers["etag"]
        stale = client.patch(url, json={text_field: "x"}, headers=EDITOR | {"If-Match": etag})
        assert stale.status_code == 412
        assert client.get(url, headers=EDITOR).json()[text_field] is None
        assert client.delete(url, headers=EDITOR | {"If-Match": etag}).status_code == 412
        assert client.get(url).status_code == 200
        deleted = client.delete(url, headers=EDITOR | {"If-Match": ok.headers["etag"]})
        assert deleted.status_code == 204
        assert client.get(url).status_code == 404


def test_author_etag_depends_on_who_asks(client: TestClient) -> None:
    make_author(client, name="Achieng Odhiambo", slug="achieng-odhiambo", email="ao@example.com")
    anonymous = client.get("/v1/authors/achieng-odhiambo")
    editor = client.get("/v1/authors/achieng-odhiambo", headers=EDITOR)
    assert "email" not in anonymous.json()
    assert editor.json()["email"] == "ao@example.com"
    assert anonymous.headers["etag"] != editor.headers["etag"]
    # An anonymous cache never gets a 304 for the editor's copy, and the reverse.
    revalidated = client.get(
        "/v1/authors/achieng-odhiambo", headers={"If-None-Match": editor.headers["etag"]}
    )
    assert revalidated.status_code == 200
    assert "email" not in revalidated.json()


def test_entity_etag_follows_article_count(client: TestClient) -> None:
    make_entity(client, name="Kenya", type="place", slug="kenya")
    read = client.get("/v1/entities/kenya")
    assert read.json()["article_count"] == 0
    make_article(client, headline="Kenya story", entities=["kenya"])
    again = client.get("/v1/entities/kenya", headers={"If-None-Match": read.headers["etag"]})
    assert again.status_code == 200
    assert again.json()["article_count"] == 1
