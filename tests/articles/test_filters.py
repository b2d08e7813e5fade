"""The filters of GET /v1/articles and of the author and entity article lists."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EDITOR
from tests.factories import make_article, make_author, make_entity

# Reads answered by the response cache and, with it off, by the app itself.
pytestmark = pytest.mark.response_cache("on", "off")


@pytest.fixture
def newsroom(client: TestClient) -> dict[str, Any]:
    make_author(client, name="Achieng Odhiambo")
    make_author(client, name="Brian Mutua")
    catalogue = [("Kenya", "place"), ("Haiti", "place"), ("Sudan", "place"),
                 ("William Ruto", "person"), ("Tumaini Peace Initiative", "topic")]  # fmt: skip
    for name, kind in catalogue:
        make_entity(client, name=name, type=kind)
    stories = {
        "haiti": make_article(client, headline="Haiti mission", section="world",
                              published_at="2024-11-05T08:00:00Z",
                              authors=["achieng-odhiambo"], entities=["kenya", "haiti"]),
        "sudan": make_article(client, headline="Aid in Sudan", section="world",
                              published_at="2024-11-03T12:00:00Z",
                              authors=["brian-mutua"], entities=["sudan"]),
        "call": make_article(client, headline="Ruto call", section="politics",
                             published_at="2024-11-08T18:30:00Z",
                             authors=["brian-mutua", "achieng-odhiambo"],
                             entities=["kenya", "william-ruto", "sudan"]),
        "talks": make_article(client, headline="Tumaini talks", section="politics",
                              language="sw", published_at="2024-11-04T09:30:00Z",
                              entities=["kenya", "tumaini-peace-initiative"]),
    }  # fmt: skip
    return stories


def headlines(client: TestClient, query: str, headers: dict[str, str] | None = None) -> list[str]:
    response = client.get(f"/v1/articles?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [item["headline"] for item in response.json()["data"]]


def test_entity_any_and_all(client: TestClient, newsroom: dict[str, Any]) -> None:
    assert headlines(client, "entity=haiti,sudan") == ["Ruto call", "Haiti mission", "Aid in Sudan"]
    assert headlines(client, "entity=kenya&entity=haiti,sudan") == ["Ruto call", "Haiti mission"]
    assert headlines(client, "entity=kenya&entity=sudan&entity=william-ruto") == ["Ruto call"]
    haiti_id = client.get("/v1/entities/haiti").json()["id"]
    assert headlines(client, f"entity={haiti_id}") == ["Haiti mission"]
    assert headlines(client, "entity=atlantis") == []


def test_author_any_and_all(client: TestClient, newsroom: dict[str, Any]) -> None:
    assert headlines(client, "author=brian-mutua") == ["Ruto call", "Aid in Sudan"]
    assert headlines(client, "author=brian-mutua&author=achieng-odhiambo") == ["Ruto call"]
    assert headlines(client, "author=brian-mutua,achieng-odhiambo") == [
        "Ruto call", "Haiti mission", "Aid in Sudan"
    ]  # fmt: skip


def test_entity_type_section_language(client: TestClient, newsroom: dict[str, Any]) -> None:
    assert headlines(client, "entity_type=topic") == ["Tumaini talks"]
    assert headlines(client, "entity_type=person") == ["Ruto call"]
    assert headlines(client, "section=world") == ["Haiti mission", "Aid in Sudan"]
    assert headlines(client, "language=sw") == ["Tumaini talks"]
    assert headlines(client, "language=SW") == ["Tumaini talks"]
    assert client.get("/v1/articles?entity_type=planet").status_code == 422


def test_published_after_inclusive_before_exclusive(
    client: TestClient, newsroom: dict[str, Any]
) -> None:
    assert headlines(client, "published_after=2024-11-05") == ["Ruto call", "Haiti mission"]
    assert headlines(client, "published_after=2024-11-05T08:00:00Z") == [
        "Ruto call", "Haiti mission"
    ]  # fmt: skip
    assert headlines(client, "published_before=2024-11-05T08:00:00Z") == [
        "Tumaini talks", "Aid in Sudan"
    ]  # fmt: skip
    assert headlines(client, "published_after=2024-11-04&published_before=2024-11-06") == [
        "Haiti mission", "Tumaini talks"
    ]  # fmt: skip
    # 11:00 in Nairobi is 08:00 UTC.
    assert headlines(client, "published_after=2024-11-05T11:00:00%2B03:00") == [
        "Ruto call", "Haiti mission"
    ]  # fmt: skip


def test_status_filter_for_editors(client: TestClient, newsroom: dict[str, Any]) -> None:
    make_article(client, headline="Draft piece", status="draft")
    make_article(client, headline="Old piece", status="archived")
    assert headlines(client, "status=draft", EDITOR) == ["Draft piece"]
    assert headlines(client, "status=archived", EDITOR) == ["Old piece"]
    assert set(headlines(client, "status=draft,archived", EDITOR)) == {"Draft piece", "Old piece"}
    assert len(headlines(client, "status=published", EDITOR)) == 4
    assert client.get("/v1/articles?status=lost", headers=EDITOR).status_code == 422


def test_author_and_entity_article_lists(client: TestClient, newsroom: dict[str, Any]) -> None:
    response = client.get("/v1/authors/brian-mutua/articles?fields=headline")
    assert [item["headline"] for item in response.json()["data"]] == ["Ruto call", "Aid in Sudan"]
    response = client.get("/v1/entities/kenya/articles?section=politics&limit=1")
    page = response.json()
    assert [item["headline"] for item in page["data"]] == ["Ruto call"]
    assert page["meta"]["next_cursor"]
    assert client.get("/v1/entities/atlantis/articles").status_code == 404
    assert client.get("/v1/authors/nobody/articles").status_code == 404
    counts = {
        item["slug"]: item["article_count"]
        for item in client.get("/v1/entities?sort=-article_count").json()["data"]
    }
    assert counts["kenya"] == 3
    assert counts["haiti"] == 1


@pytest.mark.response_cache("off")
def test_first_pages_follow_the_viewer_the_fields_and_the_limit(client: TestClient) -> None:
    """The first page of an unfiltered list is the busiest read: asked in turn by an
    anonymous reader and an editor, with different fields and sizes, each gets its own."""
    author = make_author(client)["slug"]
    live = [make_article(client, authors=[author])["id"] for _ in range(2)]
    draft = make_article(client, status="draft")["id"]

    def ids(url: str, headers: dict[str, str] | None = None) -> list[str]:
        return [item["id"] for item in client.get(url, headers=headers).json()["data"]]

    assert ids("/v1/articles") == live[::-1]
    assert ids("/v1/articles", EDITOR) == [*live[::-1], draft]  # drafts have no date: last
    assert ids("/v1/articles") == live[::-1]
    assert ids("/v1/articles?limit=1") == [live[1]]
    assert ids("/v1/articles?sort=published_at") == live
    slim = client.get("/v1/articles?fields=slug").json()["data"][0]
    assert set(slim) == {"id", "slug"}
    bylined = client.get("/v1/articles?fields=authors").json()["data"][0]
    assert [byline["slug"] for byline in bylined["authors"]] == [author]
