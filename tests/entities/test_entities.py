"""Entities: types, aliases, search, counts, deletion."""

import jsonschema
import pytest
from fastapi.testclient import TestClient

from tests.conftest import EDITOR
from tests.factories import make_article, make_entity

# Reads answered by the response cache and, with it off, by the app itself.
pytestmark = pytest.mark.response_cache("on", "off")


def test_create_with_aliases_and_external_ids(client: TestClient) -> None:
    response = client.post(
        "/v1/entities",
        json={"name": "William Ruto", "type": "person",
              "aliases": ["Ruto", "President William Ruto", "Ruto"],
              "external_ids": {"wikidata": "Q-example"}},
        headers=EDITOR,
    )  # fmt: skip
    assert response.status_code == 201
    entity = response.json()
    assert entity["slug"] == "william-ruto"
    assert entity["aliases"] == ["Ruto", "President William Ruto"]
    assert entity["external_ids"] == {"wikidata": "Q-example"}
    assert entity["article_count"] == 0


def test_type_is_required_and_checked(client: TestClient) -> None:
    assert client.post("/v1/entities", json={"name": "X"}, headers=EDITOR).status_code == 422
    response = client.post("/v1/entities", json={"name": "X", "type": "planet"}, headers=EDITOR)
    assert response.status_code == 422


def test_q_matches_names_and_aliases(client: TestClient) -> None:
    make_entity(client, name="William Ruto", type="person", aliases=["Ruto"])
    make_entity(client, name="United States", type="place", aliases=["U.S.", "US"])
    make_entity(client, name="South Sudan", type="place", aliases=["South Sudanese"])
    make_entity(client, name="Sudan", type="place", aliases=["Sudanese"])

    def names(query: str) -> list[str]:
        return [item["name"] for item in client.get(f"/v1/entities?{query}").json()["data"]]

    assert names("q=rut") == ["William Ruto"]
    assert names("q=sud") == ["South Sudan", "Sudan"]
    assert names("q=sudanese") == ["South Sudan", "Sudan"]
    assert names("q=us") == ["United States"]
    assert names("q=united s") == ["United States"]
    assert names("type=person") == ["William Ruto"]
    assert names("type=place&q=south") == ["South Sudan"]


def test_patch_replaces_lists(client: TestClient) -> None:
    entity = make_entity(client, name="Kenya", type="place", aliases=["Kenyan"])
    updated = client.patch(
        "/v1/entities/kenya", json={"aliases": ["Republic of Kenya"]}, headers=EDITOR
    ).json()
    assert updated["aliases"] == ["Republic of Kenya"]
    assert updated["id"] == entity["id"]
    assert client.get("/v1/entities?q=republic").json()["data"][0]["id"] == entity["id"]
    assert client.get("/v1/entities?q=kenyan").json()["data"] == []
    assert (
        client.patch("/v1/entities/kenya", json={"type": None}, headers=EDITOR).status_code == 422
    )


def test_article_count_counts_published_only(client: TestClient) -> None:
    make_entity(client, name="Haiti", type="place")
    make_article(client, entities=["haiti"])
    make_article(client, entities=["haiti"], status="draft")
    trashed = make_article(client, entities=["haiti"])
    assert client.delete(f"/v1/articles/{trashed['slug']}", headers=EDITOR).status_code == 204
    assert client.get("/v1/entities/haiti").json()["article_count"] == 1


def test_delete_in_use_is_409_unless_forced(client: TestClient) -> None:
    make_entity(client, name="Sudan", type="place")
    make_entity(client, name="Kenya", type="place")
    article = make_article(client, entities=["sudan", "kenya"])
    assert client.delete("/v1/entities/sudan", headers=EDITOR).status_code == 409
    assert client.delete("/v1/entities/sudan?force=true", headers=EDITOR).status_code == 204
    after = client.get(f"/v1/articles/{article['slug']}").json()
    assert [item["slug"] for item in after["entities"]] == ["kenya"]
    assert after["version"] == 2
    assert client.get("/v1/entities/sudan").status_code == 404


def test_a_bad_force_value_is_a_documented_problem(client: TestClient) -> None:
    entity = make_entity(client, name="Kenya", type="place")
    response = client.delete(f"/v1/entities/{entity['slug']}?force=maybe", headers=EDITOR)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get(f"/v1/entities/{entity['slug']}").status_code == 200
    document = client.get("/openapi.json").json()
    declared = document["paths"]["/v1/entities/{ref}"]["delete"]["responses"]["422"]
    assert "application/problem+json" in declared["content"]


def test_fields_picks_the_keys_of_each_listed_entity(client: TestClient) -> None:
    make_entity(client, name="Kenya", type="place", aliases=["Republic of Kenya"])
    make_entity(client, name="William Ruto", type="person")
    page = client.get("/v1/entities?fields=name,type&sort=name").json()
    assert page["data"] == [
        {"id": page["data"][0]["id"], "name": "Kenya", "type": "place"},
        {"id": page["data"][1]["id"], "name": "William Ruto", "type": "person"},
    ]
    assert client.get("/v1/entities?type=place&fields=aliases").json()["data"] == [
        {"id": page["data"][0]["id"], "aliases": ["Republic of Kenya"]}
    ]


def test_fields_with_an_unknown_name_is_a_422(client: TestClient) -> None:
    response = client.get("/v1/entities?fields=name,email")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["query", "fields"]


def test_listed_entities_with_fields_match_the_documented_schema(client: TestClient) -> None:
    make_entity(client, name="Kenya", type="place")
    document = client.get("/openapi.json").json()
    listing = document["paths"]["/v1/entities"]["get"]["responses"]["200"]
    schema = listing["content"]["application/json"]["schema"] | {
        "components": document["components"]
    }
    jsonschema.validate(client.get("/v1/entities?fields=type").json(), schema)
    jsonschema.validate(client.get("/v1/entities").json(), schema)
