"""Entity extraction (§7) and ``auto_tag`` (§5), on the worked example's catalogue."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncEngine

from app.demo.data import ENTITIES
from tests.conftest import EDITOR, Backend
from tests.factories import make_article, make_entity

STORY = (
    "Kenya's President William Ruto phoned US President-elect Donald Trump about "
    "U.S.-Kenya ties, the Haiti mission and the Tumaini Peace Initiative for South Sudan; "
    "let us hope Sudan follows. Kenyan officials, Ruto said, thanked the UN."
)


@pytest.fixture
def catalogue(client: TestClient) -> dict[str, dict[str, Any]]:
    return {entity["slug"]: make_entity(client, **entity) for entity in ENTITIES}


def extract(client: TestClient, text: str) -> dict[str, Any]:
    response = client.post("/v1/entities/extract", json={"text": text}, headers=EDITOR)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def spans(client: TestClient, text: str) -> list[tuple[str, str, int, int]]:
    return [
        (match["entity"]["slug"], match["text"], match["start"], match["end"])
        for match in extract(client, text)["matches"]
    ]


@pytest.mark.usefixtures("catalogue")
def test_the_worked_example_traps(client: TestClient) -> None:
    expected_texts = [
        ("kenya", "Kenya"),
        ("william-ruto", "President William Ruto"),
        ("united-states", "US"),
        ("donald-trump", "President-elect Donald Trump"),
        ("united-states", "U.S."),
        ("kenya", "Kenya"),
        ("haiti", "Haiti"),
        ("tumaini-peace-initiative", "Tumaini Peace Initiative"),
        ("south-sudan", "South Sudan"),
        ("sudan", "Sudan"),
        ("kenya", "Kenyan"),
        ("william-ruto", "Ruto"),
        ("united-nations", "UN"),
    ]
    found = spans(client, STORY)
    assert [(slug, text) for slug, text, _, _ in found] == expected_texts
    for _slug, text, start, end in found:
        assert STORY[start:end] == text
    assert found[0][2:] == (0, 5)
    assert found[4][2:] == (STORY.index("U.S."), STORY.index("U.S.") + 4)
    assert found[5][2:] == (STORY.index("U.S.-") + 5, STORY.index("U.S.-") + 10)
    assert found[9][2:] == (STORY.index("Sudan follows"), STORY.index("Sudan follows") + 5)


@pytest.mark.usefixtures("catalogue")
def test_entities_are_counted_most_named_first(client: TestClient) -> None:
    body = extract(client, STORY)
    counts = [(entity["slug"], entity["count"]) for entity in body["entities"]]
    assert counts[:3] == [("kenya", 3), ("william-ruto", 2), ("united-states", 2)]
    assert ("sudan", 1) in counts
    assert ("south-sudan", 1) in counts
    assert set(body["entities"][0]) == {"id", "slug", "name", "type", "count"}
    assert body["entities"][0]["type"] == "place"


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    "text",
    [
        "let us go",  # lower-case "us" is a pronoun
        "USA and USSR",  # US inside a longer word
        "Kenyanness",  # alias inside a longer word
        "Sudanese",  # whole alias of Sudan, but check it is the alias and not "Sudan"
        "kenya haiti",  # case matters
        "",
    ],
)
def test_boundaries_and_case(client: TestClient, text: str) -> None:
    found = spans(client, text)
    if text == "Sudanese":
        assert found == [("sudan", "Sudanese", 0, 8)]
    else:
        assert found == []


@pytest.mark.usefixtures("catalogue")
def test_offsets_are_code_points(client: TestClient) -> None:
    text = "🇰🇪 Überblick — Kenya’s ties with Haiti"
    found = spans(client, text)
    assert found == [
        ("kenya", "Kenya", text.index("Kenya"), text.index("Kenya") + 5),
        ("haiti", "Haiti", text.index("Haiti"), text.index("Haiti") + 5),
    ]


def test_the_matcher_follows_the_catalogue(client: TestClient, db: Backend) -> None:
    assert spans(client, "Talks in Mombasa") == []
    city = make_entity(client, name="Mombasa", type="place")
    assert spans(client, "Talks in Mombasa") == [("mombasa", "Mombasa", 9, 16)]
    renamed = client.patch(
        f"/v1/entities/{city['id']}", json={"name": "Mombasa City"}, headers=EDITOR
    )
    assert renamed.status_code == 200
    assert spans(client, "Talks in Mombasa") == []
    assert spans(client, "Talks in Mombasa City") == [("mombasa", "Mombasa City", 9, 21)]
    aliased = client.patch(
        f"/v1/entities/{city['id']}", json={"aliases": ["Mombasa"]}, headers=EDITOR
    )
    assert aliased.status_code == 200
    assert spans(client, "Talks in Mombasa") == [("mombasa", "Mombasa", 9, 16)]
    assert client.delete(f"/v1/entities/{city['id']}", headers=EDITOR).status_code == 204
    assert spans(client, "Talks in Mombasa City") == []


def test_a_change_made_by_another_worker_is_seen(client: TestClient, db: Backend) -> None:
    """Another worker (or any SQL client) renames an entity: this process's cached matcher
    must notice through the database, not through its own memory."""
    make_entity(client, name="Kisumu", type="place")
    assert spans(client, "Rain in Kisumu") == [("kisumu", "Kisumu", 8, 14)]

    async def rename(engine: AsyncEngine) -> None:
        async with engine.begin() as connection:
            await connection.execute(
                sql("UPDATE entity SET name = 'Eldoret' WHERE slug = 'kisumu'")
            )

    db.run(rename, db.engine)
    assert spans(client, "Rain in Kisumu") == []
    assert spans(client, "Rain in Eldoret") == [("kisumu", "Eldoret", 8, 15)]


def test_a_name_shared_by_two_entities_goes_to_its_owner(client: TestClient) -> None:
    make_entity(client, name="Georgia", type="place", slug="georgia-country")
    make_entity(client, name="Georgia State", type="place", aliases=["Georgia"], slug="a-state")
    assert spans(client, "Georgia") == [("georgia-country", "Georgia", 0, 7)]


def test_extraction_needs_an_editor_and_a_text(client: TestClient) -> None:
    response = client.post("/v1/entities/extract", json={"text": "Kenya"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    for body in ({}, {"text": 3}, {"text": "x", "other": 1}):
        response = client.post("/v1/entities/extract", json=body, headers=EDITOR)
        assert response.status_code == 422
    response = client.post(
        "/v1/entities/extract",
        content="text=Kenya",
        headers=EDITOR | {"Content-Type": "text/plain"},
    )
    assert response.status_code == 415


def test_auto_tag_on_create(client: TestClient, catalogue: dict[str, dict[str, Any]]) -> None:
    article = make_article(
        client,
        headline="Ruto Congratulates Trump, Discusses U.S.-Kenya Ties",
        standfirst="The Haiti mission came up.",
        body="Talks on *South Sudan* went on. [Nairobi](https://example.com/UN) hosted.",
        entities=["capital-news"],
        auto_tag=True,
    )
    tagged = {entity["slug"] for entity in article["entities"]}
    # The link URL is not text: "UN" in it does not tag the United Nations.
    assert tagged == {
        "capital-news",
        "william-ruto",
        "donald-trump",
        "united-states",
        "kenya",
        "haiti",
        "south-sudan",
        "nairobi",
    }
    plain = make_article(client, headline="Ruto and Trump", entities=[])
    assert plain["entities"] == []


def test_auto_tag_on_update_keeps_or_replaces_tags(
    client: TestClient, catalogue: dict[str, dict[str, Any]]
) -> None:
    article = make_article(client, headline="Talks", entities=["capital-news"])
    assert article["version"] == 1
    updated = client.patch(
        f"/v1/articles/{article['id']}",
        json={"body": "Blinken thanked Kenya.", "auto_tag": True},
        headers=EDITOR,
    )
    assert updated.status_code == 200
    assert {entity["slug"] for entity in updated.json()["entities"]} == {
        "capital-news",
        "antony-blinken",
        "kenya",
    }
    assert updated.json()["version"] == 2
    replaced = client.patch(
        f"/v1/articles/{article['id']}",
        json={"entities": ["haiti"], "auto_tag": True},
        headers=EDITOR,
    )
    assert {entity["slug"] for entity in replaced.json()["entities"]} == {
        "haiti",
        "antony-blinken",
        "kenya",
    }
    again = client.patch(f"/v1/articles/{article['id']}", json={"auto_tag": True}, headers=EDITOR)
    assert again.json()["version"] == replaced.json()["version"]
