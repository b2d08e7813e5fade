"""POST /v1/entities/{ref}/merge: fold a duplicate into the entity that stays."""

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import ADMIN, EDITOR
from tests.factories import make_article, make_entity


def _setup(client: TestClient) -> dict[str, Any]:
    ruto = make_entity(
        client,
        name="William Ruto",
        type="person",
        slug="william-ruto",
        aliases=["Ruto", "President William Ruto"],
        description="President of Kenya.",
        external_ids={"wikidata": "Q1031853"},
    )
    duplicate = make_entity(
        client,
        name="President Ruto",
        type="person",
        slug="president-ruto",
        aliases=["Ruto", "William Samoei Ruto", "William Ruto"],
    )
    kenya = make_entity(client, name="Kenya", type="place", slug="kenya")
    only_duplicate = make_article(
        client, headline="Only the duplicate", entities=["president-ruto", "kenya"]
    )
    both = make_article(
        client, headline="Both of them", entities=["president-ruto", "william-ruto"]
    )
    only_target = make_article(client, headline="Only the target", entities=["william-ruto"])
    untagged = make_article(client, headline="Untagged")
    return {
        "ruto": ruto,
        "duplicate": duplicate,
        "kenya": kenya,
        "only_duplicate": only_duplicate,
        "both": both,
        "only_target": only_target,
        "untagged": untagged,
    }


def _merge(client: TestClient, ref: str, into: str, headers: dict[str, str] = EDITOR) -> Any:
    return client.post(f"/v1/entities/{ref}/merge", json={"into": into}, headers=headers)


def test_merge_moves_tags_and_names_and_removes_the_first(client: TestClient) -> None:
    made = _setup(client)
    response = _merge(client, "president-ruto", "william-ruto", headers=ADMIN)
    assert response.status_code == 200, response.text
    merged = response.json()
    assert merged["id"] == made["ruto"]["id"]
    assert merged["slug"] == "william-ruto"
    assert merged["name"] == "William Ruto"
    assert merged["aliases"] == [
        "Ruto",
        "President William Ruto",
        "President Ruto",
        "William Samoei Ruto",
    ]
    assert merged["description"] == "President of Kenya."
    assert merged["external_ids"] == {"wikidata": "Q1031853"}
    assert merged["article_count"] == 3
    assert response.headers["etag"] == client.get("/v1/entities/william-ruto").headers["etag"]

    for key in ("only_duplicate", "both", "only_target"):
        article = client.get(f"/v1/articles/{made[key]['slug']}").json()
        ids = [entity["id"] for entity in article["entities"]]
        assert ids.count(made["ruto"]["id"]) == 1, key
        assert made["duplicate"]["id"] not in ids
    assert [
        e["slug"] for e in client.get("/v1/articles/only-the-duplicate").json()["entities"]
    ] == [
        "kenya",
        "william-ruto",
    ]
    tagged = client.get("/v1/entities/william-ruto/articles?count=true").json()
    assert tagged["meta"]["total"] == 3
    # Searching by a name of the duplicate finds the entity that stays.
    found = client.get("/v1/entities?q=samoei").json()["data"]
    assert [entity["slug"] for entity in found] == ["william-ruto"]
    assert client.get("/v1/entities?count=true").json()["meta"]["total"] == 2


def test_the_first_slug_and_id_redirect_to_the_second(client: TestClient) -> None:
    made = _setup(client)
    assert (
        client.patch(
            "/v1/entities/president-ruto", json={"slug": "ruto"}, headers=EDITOR
        ).status_code
        == 200
    )
    _merge(client, "ruto", "william-ruto")
    for old in ("ruto", "president-ruto", made["duplicate"]["id"]):
        moved = client.get(f"/v1/entities/{old}", follow_redirects=False)
        assert moved.status_code == 301, old
        assert moved.headers["location"].endswith("/v1/entities/william-ruto")
    articles = client.get("/v1/entities/president-ruto/articles", follow_redirects=False)
    assert articles.status_code == 301
    assert articles.headers["location"].endswith("/v1/entities/william-ruto/articles")
    # The old slugs stay reserved.
    taken = client.post(
        "/v1/entities", json={"name": "Ruto", "type": "person", "slug": "ruto"}, headers=EDITOR
    )
    assert taken.status_code == 409
    assert make_entity(client, name="President Ruto", type="person")["slug"] == "president-ruto-2"


def test_merge_records_a_revision_for_every_affected_article(client: TestClient) -> None:
    made = _setup(client)
    _merge(client, "president-ruto", "william-ruto", headers=ADMIN)
    for key, version in (("only_duplicate", 2), ("both", 2), ("only_target", 1), ("untagged", 1)):
        url = f"/v1/articles/{made[key]['slug']}"
        assert client.get(url).json()["version"] == version, key
        revisions = client.get(f"{url}/revisions", headers=EDITOR).json()["data"]
        assert revisions[0]["version"] == version
        if version == 2:
            assert revisions[0]["key_name"] == "bootstrap admin"
            content = client.get(f"{url}/revisions/2", headers=EDITOR).json()
            assert made["ruto"]["id"] in content["entities"]
            assert made["duplicate"]["id"] not in content["entities"]


def test_merge_chains_keep_redirecting(client: TestClient) -> None:
    _setup(client)
    make_entity(client, name="Ruto (person)", type="person", slug="ruto-person")
    _merge(client, "president-ruto", "ruto-person")
    _merge(client, "ruto-person", "william-ruto")
    for old in ("president-ruto", "ruto-person"):
        moved = client.get(f"/v1/entities/{old}", follow_redirects=False)
        assert moved.headers["location"].endswith("/v1/entities/william-ruto")
    aliases = client.get("/v1/entities/william-ruto").json()["aliases"]
    assert "Ruto (person)" in aliases
    assert "President Ruto" in aliases
    assert len(aliases) == len(set(aliases))


def test_merge_into_an_old_slug_follows_it(client: TestClient) -> None:
    _setup(client)
    assert (
        client.patch(
            "/v1/entities/william-ruto", json={"slug": "ruto-william"}, headers=EDITOR
        ).status_code
        == 200
    )
    response = _merge(client, "president-ruto", "william-ruto")
    assert response.status_code == 200
    assert response.json()["slug"] == "ruto-william"


def test_merge_into_itself_is_422(client: TestClient) -> None:
    made = _setup(client)
    for into in ("president-ruto", made["duplicate"]["id"]):
        response = _merge(client, "president-ruto", into)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["loc"] == ["body", "into"]
    assert client.get("/v1/entities/president-ruto").status_code == 200


def test_merge_errors(client: TestClient) -> None:
    _setup(client)
    unknown = _merge(client, "president-ruto", "nobody")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"] == ["body", "into"]
    assert _merge(client, "nobody", "william-ruto").status_code == 404
    assert _merge(client, "president-ruto", "william-ruto", headers={}).status_code == 401
    extra = client.post(
        "/v1/entities/president-ruto/merge",
        json={"into": "william-ruto", "also": 1},
        headers=EDITOR,
    )
    assert extra.status_code == 422
    missing = client.post("/v1/entities/president-ruto/merge", json={}, headers=EDITOR)
    assert missing.status_code == 422
    # None of that changed anything.
    assert client.get("/v1/entities/president-ruto").json()["article_count"] == 2
    assert client.get("/v1/articles/both-of-them").json()["version"] == 1


def test_merge_changes_the_etags_it_should(client: TestClient) -> None:
    made = _setup(client)
    article_url = f"/v1/articles/{made['only_duplicate']['slug']}"
    article_etag = client.get(article_url).headers["etag"]
    entity_etag = client.get("/v1/entities/william-ruto").headers["etag"]
    _merge(client, "president-ruto", "william-ruto")
    assert client.get(article_url, headers={"If-None-Match": article_etag}).status_code == 200
    after = client.get("/v1/entities/william-ruto", headers={"If-None-Match": entity_etag})
    assert after.status_code == 200
