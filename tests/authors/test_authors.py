"""Authors: create, read, update, delete, search and sort."""

import jsonschema
import pytest
from fastapi.testclient import TestClient

from tests.conftest import EDITOR
from tests.factories import make_article, make_author

# Reads answered by the response cache and, with it off, by the app itself.
pytestmark = pytest.mark.response_cache("on", "off")


def test_create_read_update(client: TestClient) -> None:
    response = client.post(
        "/v1/authors",
        json={"name": "Achieng Odhiambo", "title": "Diplomatic Correspondent",
              "url": "https://example.com/achieng"},
        headers=EDITOR,
    )  # fmt: skip
    assert response.status_code == 201
    author = response.json()
    assert author["slug"] == "achieng-odhiambo"
    assert response.headers["location"].endswith("/v1/authors/achieng-odhiambo")
    assert author["article_count"] == 0
    assert client.get(f"/v1/authors/{author['id']}").json()["name"] == "Achieng Odhiambo"
    updated = client.patch(
        "/v1/authors/achieng-odhiambo", json={"title": None, "bio": "Covers diplomacy."},
        headers=EDITOR,
    ).json()  # fmt: skip
    assert updated["title"] is None
    assert updated["bio"] == "Covers diplomacy."
    assert updated["url"] == "https://example.com/achieng"


def test_validation(client: TestClient) -> None:
    for payload in [{}, {"name": ""}, {"name": "A", "email": "not-an-email"},
                    {"name": "A", "url": "ftp://x"}, {"name": "A", "role": "boss"}]:  # fmt: skip
        assert client.post("/v1/authors", json=payload, headers=EDITOR).status_code == 422


def test_q_matches_word_starts_case_insensitively(client: TestClient) -> None:
    for name in ["Achieng Odhiambo", "Brian Mutua", "Mutuku Ochieng", "José Núñez"]:
        make_author(client, name=name)

    def names(q: str) -> list[str]:
        return [item["name"] for item in client.get(f"/v1/authors?q={q}").json()["data"]]

    assert names("mutu") == ["Brian Mutua", "Mutuku Ochieng"]
    assert names("OCH") == ["Mutuku Ochieng"]
    assert names("hieng") == []
    assert names("brian m") == ["Brian Mutua"]
    assert names("nunez") == ["José Núñez"]
    assert names("núñ") == ["José Núñez"]
    assert names("%") == ["Achieng Odhiambo", "Brian Mutua", "José Núñez", "Mutuku Ochieng"]


def test_sort_by_article_count(client: TestClient) -> None:
    busy = make_author(client, name="Busy")
    idle = make_author(client, name="Idle")
    make_author(client, name="Some")
    make_article(client, authors=["busy"])
    make_article(client, authors=["busy", "some"])
    make_article(client, authors=["idle"], status="draft")
    listed = client.get("/v1/authors?sort=-article_count").json()["data"]
    assert [item["name"] for item in listed] == ["Busy", "Some", "Idle"]
    assert listed[0]["article_count"] == 2
    assert client.get(f"/v1/authors/{idle['slug']}").json()["article_count"] == 0
    assert client.get(f"/v1/authors/{busy['id']}").json()["article_count"] == 2
    assert client.get("/v1/authors?sort=popularity").status_code == 422


def test_delete_in_use_is_409_unless_forced(client: TestClient) -> None:
    author = make_author(client, name="Leaving")
    other = make_author(client, name="Staying")
    article = make_article(client, authors=["leaving", "staying"])
    response = client.delete("/v1/authors/leaving", headers=EDITOR)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert client.delete("/v1/authors/leaving?force=true", headers=EDITOR).status_code == 204
    assert client.get(f"/v1/authors/{author['id']}").status_code == 404
    after = client.get(f"/v1/articles/{article['slug']}").json()
    assert [item["id"] for item in after["authors"]] == [other["id"]]
    assert after["version"] == 2


def test_delete_unused(client: TestClient) -> None:
    make_author(client, name="Gone")
    assert client.delete("/v1/authors/gone", headers=EDITOR).status_code == 204
    assert client.get("/v1/authors/gone").status_code == 404
    assert client.delete("/v1/authors/gone", headers=EDITOR).status_code == 404


def test_a_bad_force_value_is_a_documented_problem(client: TestClient) -> None:
    author = make_author(client, name="Achieng Odhiambo")
    response = client.delete(f"/v1/authors/{author['slug']}?force=maybe", headers=EDITOR)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get(f"/v1/authors/{author['slug']}").status_code == 200
    document = client.get("/openapi.json").json()
    declared = document["paths"]["/v1/authors/{ref}"]["delete"]["responses"]["422"]
    assert "application/problem+json" in declared["content"]


def test_fields_picks_the_keys_of_each_listed_author(client: TestClient) -> None:
    make_author(client, name="Brian Mutua", email="brian@example.com")
    make_author(client, name="Achieng Odhiambo")
    page = client.get("/v1/authors?fields=name,article_count").json()
    assert [set(item) for item in page["data"]] == [{"id", "name", "article_count"}] * 2
    assert [item["name"] for item in page["data"]] == ["Achieng Odhiambo", "Brian Mutua"]
    # email stays an editor's field, whatever fields asks.
    assert client.get("/v1/authors?fields=email").json()["data"] == [
        {"id": item["id"]} for item in page["data"]
    ]
    shown = client.get("/v1/authors?fields=email", headers=EDITOR).json()["data"]
    assert [item.get("email") for item in shown] == [None, "brian@example.com"]
    # No fields, or an empty one, is every key, as before.
    assert "bio" in client.get("/v1/authors?fields=").json()["data"][0]


def test_fields_with_an_unknown_name_is_a_422(client: TestClient) -> None:
    make_author(client, name="Brian Mutua")
    response = client.get("/v1/authors?fields=name,headline")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["query", "fields"]
    assert "headline" in response.json()["detail"]


def test_listed_authors_with_fields_match_the_documented_schema(client: TestClient) -> None:
    make_author(client, name="Brian Mutua")
    document = client.get("/openapi.json").json()
    listing = document["paths"]["/v1/authors"]["get"]["responses"]["200"]
    schema = listing["content"]["application/json"]["schema"] | {
        "components": document["components"]
    }
    jsonschema.validate(client.get("/v1/authors?fields=slug").json(), schema)
    jsonschema.validate(client.get("/v1/authors").json(), schema)
