"""The trash: DELETE hides an article everywhere and keeps it whole; restore brings it back."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN, EDITOR
from tests.factories import make_article, make_author, make_entity

# Reads answered by the response cache and, with it off, by the app itself.
pytestmark = pytest.mark.response_cache("on", "off")


def _setup(client: TestClient) -> dict[str, Any]:
    make_author(client, name="Achieng Odhiambo", slug="achieng-odhiambo")
    make_entity(client, name="Kenya", type="place", slug="kenya")
    make_entity(client, name="Haiti", type="place", slug="haiti")
    make_article(
        client, headline="Another Kenya story", authors=["achieng-odhiambo"], entities=["kenya"]
    )
    return make_article(
        client,
        headline="Ruto congratulates Trump in phone call",
        slug="ruto-congratulates-trump-in-phone-call",
        body="President William Ruto **called** Donald Trump.",
        standfirst="A call from State House.",
        dateline="NAIROBI, Kenya",
        section="politics",
        source="Capital News",
        published_at="2024-11-08T18:30:00Z",
        authors=["achieng-odhiambo"],
        entities=["kenya", "haiti"],
        image={"url": "https://example.com/state-house.jpg", "credit": "Capital News"},
    )


URL = "/v1/articles/ruto-congratulates-trump-in-phone-call"


def _slugs(client: TestClient, url: str, headers: dict[str, str] | None = None) -> list[str]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return [item["slug"] for item in response.json()["data"]]


def test_delete_hides_the_article_everywhere(client: TestClient) -> None:
    article = _setup(client)
    slug = article["slug"]
    assert client.get("/v1/authors/achieng-odhiambo").json()["article_count"] == 2
    assert client.delete(URL, headers=EDITOR).status_code == 204

    for headers in (None, EDITOR, ADMIN):
        response = client.get(URL, headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert client.get(f"/v1/articles/{article['id']}", headers=headers).status_code == 404
        for url in (
            "/v1/articles",
            "/v1/articles?entity=kenya",
            "/v1/articles?author=achieng-odhiambo",
            "/v1/authors/achieng-odhiambo/articles",
            "/v1/entities/kenya/articles",
            "/v1/entities/haiti/articles",
        ):
            assert slug not in _slugs(client, url, headers), url
    assert _slugs(client, "/v1/articles?status=published", EDITOR) == ["another-kenya-story"]
    counted = client.get("/v1/articles?count=true").json()["meta"]["total"]
    assert counted == 1
    assert client.get("/v1/articles?count=true", headers=EDITOR).json()["meta"]["total"] == 1
    assert client.get("/v1/authors/achieng-odhiambo").json()["article_count"] == 1
    assert client.get("/v1/entities/kenya").json()["article_count"] == 1
    assert client.get("/v1/entities/haiti").json()["article_count"] == 0
    by_count = client.get("/v1/entities?sort=-article_count").json()["data"]
    assert [(e["slug"], e["article_count"]) for e in by_count] == [("kenya", 1), ("haiti", 0)]
    # Writes see the trash as gone too.
    assert client.patch(URL, json={"headline": "x"}, headers=EDITOR).status_code == 404


def test_editors_list_the_trash(client: TestClient) -> None:
    article = _setup(client)
    assert client.delete(URL, headers=EDITOR).status_code == 204
    response = client.get("/v1/articles?status=deleted&count=true", headers=EDITOR)
    assert response.status_code == 200
    body = response.json()
    assert [item["slug"] for item in body["data"]] == [article["slug"]]
    assert body["data"][0]["status"] == "deleted"
    assert body["meta"]["total"] == 1
    anonymous = client.get("/v1/articles?status=deleted")
    assert anonymous.status_code == 401


def test_delete_twice_is_404(client: TestClient) -> None:
    _setup(client)
    assert client.delete(URL, headers=EDITOR).status_code == 204
    second = client.delete(URL, headers=EDITOR)
    assert second.status_code == 404
    assert second.headers["content-type"] == "application/problem+json"


def test_delete_needs_an_editor(client: TestClient) -> None:
    _setup(client)
    assert client.delete(URL).status_code == 401
    assert client.get(URL).status_code == 200


def test_restore_brings_it_back_exactly_as_it_was(client: TestClient) -> None:
    article = _setup(client)
    before = client.get(URL, headers=EDITOR)
    revisions_before = client.get(f"{URL}/revisions", headers=EDITOR).json()
    assert client.delete(URL, headers=EDITOR).status_code == 204
    response = client.post(f"/v1/articles/{article['id']}/restore", headers=EDITOR)
    assert response.status_code == 200, response.text
    assert response.json() == before.json()
    assert response.headers["etag"] == before.headers["etag"]
    after = client.get(URL)
    assert after.status_code == 200
    assert after.json() == before.json()
    # The trash is not an edit: no version, no revision; caches stay valid.
    assert client.get(f"{URL}/revisions", headers=EDITOR).json() == revisions_before
    assert client.get(URL, headers={"If-None-Match": before.headers["etag"]}).status_code == 304
    assert article["slug"] in _slugs(client, "/v1/articles")
    assert article["slug"] in _slugs(client, "/v1/entities/haiti/articles")
    assert client.get("/v1/authors/achieng-odhiambo").json()["article_count"] == 2
    assert _slugs(client, "/v1/articles?status=deleted", EDITOR) == []


def test_restore_by_slug_and_of_a_live_article(client: TestClient) -> None:
    article = _setup(client)
    live = client.post(f"{URL}/restore", headers=EDITOR)
    assert live.status_code == 200
    assert live.json()["version"] == article["version"]
    assert client.delete(URL, headers=EDITOR).status_code == 204
    assert client.post(f"{URL}/restore", headers=EDITOR).status_code == 200
    assert client.get(URL).status_code == 200


def test_restore_needs_an_editor_and_an_article(client: TestClient) -> None:
    article = _setup(client)
    assert client.delete(URL, headers=EDITOR).status_code == 204
    assert client.post(f"/v1/articles/{article['id']}/restore").status_code == 401
    assert client.get(URL, headers=EDITOR).status_code == 404
    missing = client.post("/v1/articles/no-such-story/restore", headers=EDITOR)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_the_slug_of_a_trashed_article_stays_taken(client: TestClient) -> None:
    article = _setup(client)
    assert client.delete(URL, headers=EDITOR).status_code == 204
    taken = client.post(
        "/v1/articles", json={"headline": "Impostor", "slug": article["slug"]}, headers=EDITOR
    )
    assert taken.status_code == 409
    generated = make_article(client, headline="Ruto congratulates Trump in phone call")
    assert generated["slug"] == "ruto-congratulates-trump-in-phone-call-2"


def test_list_etag_changes_on_delete_and_restore(client: TestClient) -> None:
    article = _setup(client)
    etag = client.get("/v1/articles").headers["etag"]
    assert client.delete(URL, headers=EDITOR).status_code == 204
    after_delete = client.get("/v1/articles", headers={"If-None-Match": etag})
    assert after_delete.status_code == 200
    assert article["slug"] not in [item["slug"] for item in after_delete.json()["data"]]
    assert client.post(f"{URL}/restore", headers=EDITOR).status_code == 200
    restored = client.get("/v1/articles", headers={"If-None-Match": after_delete.headers["etag"]})
    assert restored.status_code == 200
    assert article["slug"] in [item["slug"] for item in restored.json()["data"]]
