"""Revisions: every change writes one; list, read and restore them."""

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import ADMIN, EDITOR
from tests.factories import make_article, make_author, make_entity


def _revisions(client: TestClient, url: str, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"{url}/revisions{query}", headers=EDITOR)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def test_create_writes_revision_one_and_each_change_the_next(client: TestClient) -> None:
    article = make_article(client, headline="Ruto calls Trump")
    url = f"/v1/articles/{article['slug']}"
    assert (
        client.patch(
            url, json={"standfirst": "A call from State House."}, headers=EDITOR
        ).status_code
        == 200
    )
    assert client.patch(url, json={"section": "politics"}, headers=ADMIN).status_code == 200
    assert (
        client.patch(url, json={"section": "politics"}, headers=ADMIN).status_code == 200
    )  # no change: no revision
    revisions = _revisions(client, url)
    assert [revision["version"] for revision in revisions] == [3, 2, 1]
    assert [revision["key_name"] for revision in revisions] == [
        "bootstrap admin",
        "test editor",
        "test editor",
    ]
    assert set(revisions[0]) == {"version", "created_at", "key_name"}
    assert revisions[0]["created_at"].endswith("Z")
    assert client.get(url).json()["version"] == 3


def test_revisions_are_paged_with_cursors(client: TestClient) -> None:
    article = make_article(client, headline="Ruto calls Trump")
    url = f"/v1/articles/{article['slug']}"
    for number in range(2, 6):
        assert (
            client.patch(url, json={"standfirst": f"Take {number}."}, headers=EDITOR).status_code
            == 200
        )
    first = client.get(f"{url}/revisions?limit=2&count=true", headers=EDITOR)
    body = first.json()
    assert [item["version"] for item in body["data"]] == [5, 4]
    assert body["meta"]["total"] == 5
    assert 'rel="next"' in first.headers["link"]
    seen = [item["version"] for item in body["data"]]
    cursor = body["meta"]["next_cursor"]
    while cursor:
        page = client.get(f"{url}/revisions", params={"limit": 2, "cursor": cursor}, headers=EDITOR)
        seen += [item["version"] for item in page.json()["data"]]
        cursor = page.json()["meta"]["next_cursor"]
    assert seen == [5, 4, 3, 2, 1]
    bad = client.get(f"{url}/revisions?cursor=nonsense", headers=EDITOR)
    assert bad.status_code == 400


def test_revisions_are_for_editors(client: TestClient) -> None:
    article = make_article(client, headline="Ruto calls Trump")
    url = f"/v1/articles/{article['slug']}"
    for path in (f"{url}/revisions", f"{url}/revisions/1"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.post(f"{url}/revisions/1/restore").status_code == 401


def test_read_a_revision_as_it_was(client: TestClient) -> None:
    author = make_author(client, name="Achieng Odhiambo")
    kenya = make_entity(client, name="Kenya", type="place")
    article = make_article(
        client,
        headline="Ruto calls Trump",
        body="First *draft*.",
        authors=[author["slug"]],
        entities=[kenya["slug"]],
        published_at="2024-11-08T18:30:00+03:00",
        image={"url": "https://example.com/state-house.jpg", "caption": "State House"},
    )
    url = f"/v1/articles/{article['slug']}"
    assert (
        client.patch(
            url,
            json={"headline": "Ruto congratulates Trump", "body": "Second.", "entities": []},
            headers=EDITOR,
        ).status_code
        == 200
    )
    response = client.get(f"{url}/revisions/1", headers=EDITOR)
    assert response.status_code == 200
    revision = response.json()
    assert revision["version"] == 1
    assert revision["key_name"] == "test editor"
    assert revision["headline"] == "Ruto calls Trump"
    assert revision["body"] == "First *draft*."
    assert revision["slug"] == "ruto-calls-trump"
    assert revision["status"] == "published"
    assert revision["published_at"] == "2024-11-08T15:30:00Z"
    assert revision["authors"] == [author["id"]]
    assert revision["entities"] == [kenya["id"]]
    assert revision["image"]["caption"] == "State House"
    assert "body_html" not in revision
    assert client.get(f"{url}/revisions/2", headers=EDITOR).json()["entities"] == []
    missing = client.get(f"{url}/revisions/9", headers=EDITOR)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get(f"{url}/revisions/0", headers=EDITOR).status_code == 422
    assert client.get(f"{url}/revisions/latest", headers=EDITOR).status_code == 422


def test_revision_etag_is_fixed(client: TestClient) -> None:
    article = make_article(client, headline="Ruto calls Trump")
    url = f"/v1/articles/{article['slug']}/revisions/1"
    etag = client.get(url, headers=EDITOR).headers["etag"]
    assert (
        client.patch(
            f"/v1/articles/{article['slug']}", json={"body": "New."}, headers=EDITOR
        ).status_code
        == 200
    )
    assert client.get(url, headers=EDITOR | {"If-None-Match": etag}).status_code == 304


def test_restore_makes_a_new_version_with_that_content(client: TestClient) -> None:
    author = make_author(client, name="Achieng Odhiambo")
    other = make_author(client, name="Brian Mutua")
    kenya = make_entity(client, name="Kenya", type="place")
    article = make_article(
        client,
        headline="Ruto calls Trump",
        body="First *draft*.",
        authors=[author["slug"]],
        entities=[kenya["slug"]],
        image={"url": "https://example.com/state-house.jpg", "caption": "State House"},
    )
    url = f"/v1/articles/{article['slug']}"
    assert (
        client.patch(
            url,
            json={
                "headline": "Ruto congratulates Trump",
                "body": "Rewritten.",
                "authors": [other["slug"]],
                "entities": [],
                "image": None,
                "section": "politics",
            },
            headers=EDITOR,
        ).status_code
        == 200
    )
    response = client.post(f"{url}/revisions/1/restore", headers=ADMIN)
    assert response.status_code == 200, response.text
    restored = response.json()
    assert restored["version"] == 3
    assert restored["headline"] == "Ruto calls Trump"
    assert restored["body"] == "First *draft*."
    assert "<em>draft</em>" in restored["body_html"]
    assert [a["id"] for a in restored["authors"]] == [author["id"]]
    assert [e["id"] for e in restored["entities"]] == [kenya["id"]]
    assert restored["image"]["caption"] == "State House"
    assert restored["section"] is None
    assert response.headers["etag"] == client.get(url).headers["etag"]
    revisions = _revisions(client, url)
    assert (revisions[0]["version"], revisions[0]["key_name"]) == (3, "bootstrap admin")
    assert [r["version"] for r in revisions] == [3, 2, 1]
    first = client.get(f"{url}/revisions/1", headers=EDITOR).json()
    latest = client.get(f"{url}/revisions/3", headers=EDITOR).json()
    for meta in ("version", "created_at", "key_name"):
        first.pop(meta)
        latest.pop(meta)
    assert latest == first


def test_restore_of_the_current_content_changes_nothing(client: TestClient) -> None:
    article = make_article(client, headline="Ruto calls Trump")
    url = f"/v1/articles/{article['slug']}"
    response = client.post(f"{url}/revisions/1/restore", headers=EDITOR)
    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert len(_revisions(client, url)) == 1


def test_restore_takes_the_old_slug_back(client: TestClient) -> None:
    article = make_article(client, headline="Ruto calls Trump")
    assert (
        client.patch(
            "/v1/articles/ruto-calls-trump", json={"slug": "ruto-trump-call"}, headers=EDITOR
        ).status_code
        == 200
    )
    response = client.post("/v1/articles/ruto-trump-call/revisions/1/restore", headers=EDITOR)
    assert response.status_code == 200
    assert response.json()["slug"] == "ruto-calls-trump"
    assert client.get("/v1/articles/ruto-calls-trump").json()["id"] == article["id"]
    moved = client.get("/v1/articles/ruto-trump-call", follow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["location"].endswith("/v1/articles/ruto-calls-trump")


def test_restore_leaves_out_deleted_authors_and_entities(client: TestClient) -> None:
    kept = make_author(client, name="Achieng Odhiambo")
    gone = make_author(client, name="Brian Mutua")
    kenya = make_entity(client, name="Kenya", type="place")
    haiti = make_entity(client, name="Haiti", type="place")
    article = make_article(
        client,
        headline="Ruto calls Trump",
        authors=[gone["slug"], kept["slug"]],
        entities=[kenya["slug"], haiti["slug"]],
    )
    url = f"/v1/articles/{article['slug']}"
    assert (
        client.patch(
            url, json={"headline": "Changed", "authors": [], "entities": []}, headers=EDITOR
        ).status_code
        == 200
    )
    assert client.delete(f"/v1/authors/{gone['slug']}", headers=EDITOR).status_code == 204
    assert client.delete(f"/v1/entities/{haiti['slug']}", headers=EDITOR).status_code == 204
    response = client.post(f"{url}/revisions/1/restore", headers=EDITOR)
    assert response.status_code == 200, response.text
    restored = response.json()
    assert restored["headline"] == "Ruto calls Trump"
    assert [a["id"] for a in restored["authors"]] == [kept["id"]]
    assert [e["id"] for e in restored["entities"]] == [kenya["id"]]


def test_restore_follows_a_merged_entity(client: TestClient) -> None:
    ruto = make_entity(client, name="William Ruto", type="person")
    duplicate = make_entity(client, name="President Ruto", type="person")
    article = make_article(client, headline="Ruto calls Trump", entities=[duplicate["slug"]])
    url = f"/v1/articles/{article['slug']}"
    assert (
        client.patch(url, json={"headline": "Changed", "entities": []}, headers=EDITOR).status_code
        == 200
    )
    merged = client.post(
        f"/v1/entities/{duplicate['slug']}/merge", json={"into": ruto["slug"]}, headers=EDITOR
    )
    assert merged.status_code == 200
    restored = client.post(f"{url}/revisions/1/restore", headers=EDITOR).json()
    assert [e["id"] for e in restored["entities"]] == [ruto["id"]]


def test_restore_with_if_match(client: TestClient) -> None:
    article = make_article(client, headline="Ruto calls Trump")
    url = f"/v1/articles/{article['slug']}"
    etag = client.get(url, headers=EDITOR).headers["etag"]
    assert client.patch(url, json={"headline": "Changed"}, headers=EDITOR).status_code == 200
    stale = client.post(f"{url}/revisions/1/restore", headers=EDITOR | {"If-Match": etag})
    assert stale.status_code == 412
    assert client.get(url).json()["headline"] == "Changed"
    current = client.get(url, headers=EDITOR).headers["etag"]
    ok = client.post(f"{url}/revisions/1/restore", headers=EDITOR | {"If-Match": current})
    assert ok.status_code == 200
    assert ok.json()["headline"] == "Ruto calls Trump"


def test_restore_of_a_missing_version_is_404(client: TestClient) -> None:
    article = make_article(client, headline="Ruto calls Trump")
    response = client.post(f"/v1/articles/{article['slug']}/revisions/7/restore", headers=EDITOR)
    assert response.status_code == 404
    assert (
        client.post("/v1/articles/nothing/revisions/1/restore", headers=EDITOR).status_code == 404
    )


def test_revisions_of_an_article_in_the_trash_are_404(client: TestClient) -> None:
    article = make_article(client, headline="Ruto calls Trump")
    url = f"/v1/articles/{article['slug']}"
    assert client.delete(url, headers=EDITOR).status_code == 204
    assert client.get(f"{url}/revisions", headers=EDITOR).status_code == 404


def test_deleting_an_entity_with_force_records_revisions(client: TestClient) -> None:
    kenya = make_entity(client, name="Kenya", type="place")
    tagged = [
        make_article(client, headline=f"Kenya story {n}", entities=[kenya["slug"]]) for n in (1, 2)
    ]
    untouched = make_article(client, headline="Other story")
    refused = client.delete(f"/v1/entities/{kenya['slug']}", headers=EDITOR)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert client.get(f"/v1/entities/{kenya['slug']}").status_code == 200
    assert (
        client.delete(f"/v1/entities/{kenya['slug']}?force=true", headers=ADMIN).status_code == 204
    )
    assert client.get(f"/v1/entities/{kenya['slug']}").status_code == 404
    for article in tagged:
        url = f"/v1/articles/{article['slug']}"
        now = client.get(url).json()
        assert now["entities"] == []
        assert now["version"] == 2
        revisions = _revisions(client, url)
        assert [(r["version"], r["key_name"]) for r in revisions] == [
            (2, "bootstrap admin"),
            (1, "test editor"),
        ]
        assert client.get(f"{url}/revisions/2", headers=EDITOR).json()["entities"] == []
    assert client.get(f"/v1/articles/{untouched['slug']}").json()["version"] == 1


def test_deleting_an_author_with_force_records_revisions(client: TestClient) -> None:
    gone = make_author(client, name="Brian Mutua")
    kept = make_author(client, name="Achieng Odhiambo")
    article = make_article(client, headline="Trade talks", authors=[gone["slug"], kept["slug"]])
    url = f"/v1/articles/{article['slug']}"
    refused = client.delete(f"/v1/authors/{gone['slug']}", headers=EDITOR)
    assert refused.status_code == 409
    assert client.delete(f"/v1/authors/{gone['slug']}?force=true", headers=ADMIN).status_code == 204
    now = client.get(url).json()
    assert [a["id"] for a in now["authors"]] == [kept["id"]]
    assert now["version"] == 2
    assert _revisions(client, url)[0] == {
        "version": 2,
        "created_at": _revisions(client, url)[0]["created_at"],
        "key_name": "bootstrap admin",
    }
    assert client.get(f"{url}/revisions/2", headers=EDITOR).json()["authors"] == [kept["id"]]
