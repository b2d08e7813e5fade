"""Cursor pagination: every item exactly once, in order, whatever the sort."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EDITOR
from tests.factories import make_article, make_author

# Reads answered by the response cache and, with it off, by the app itself.
pytestmark = pytest.mark.response_cache("on", "off")


def walk(client: TestClient, url: str, headers: dict[str, str] | None = None) -> list[Any]:
    """Follow next_cursor to the end; check the Link header agrees."""
    items: list[Any] = []
    pages = 0
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["data"]
        cursor = page["meta"]["next_cursor"]
        if cursor:
            assert 'rel="next"' in response.headers["link"]
            link = response.headers["link"].split(";")[0].strip("<>")
            url = link.replace("http://testserver", "")
        else:
            assert "link" not in response.headers
            url = ""
        pages += 1
        assert pages < 100
    return items


@pytest.fixture
def seven_articles(client: TestClient) -> list[dict[str, Any]]:
    # Two share a publication time, so the id has to break the tie.
    times = ["2024-11-01", "2024-11-02", "2024-11-03", "2024-11-03", "2024-11-04",
             "2024-11-05", "2024-11-06"]  # fmt: skip
    return [
        make_article(client, headline=f"Story {letter}", published_at=f"{when}T10:00:00Z")
        for letter, when in zip("GCEAFBD", times, strict=True)
    ]


def test_default_order_newest_first_each_once(
    client: TestClient, seven_articles: list[dict[str, Any]]
) -> None:
    items = walk(client, "/v1/articles?limit=2")
    assert len(items) == 7
    assert len({item["id"] for item in items}) == 7
    keys = [(item["published_at"], item["id"]) for item in items]
    assert keys == sorted(keys, reverse=True)


@pytest.mark.parametrize("sort", ["headline", "-headline", "created_at", "-updated_at",
                                  "published_at,headline", "-published_at,-headline"])  # fmt: skip
def test_every_sort_visits_each_item_once_in_order(
    client: TestClient, seven_articles: list[dict[str, Any]], sort: str
) -> None:
    paged = walk(client, f"/v1/articles?limit=3&sort={sort}")
    whole = client.get(f"/v1/articles?limit=100&sort={sort}").json()["data"]
    assert [item["id"] for item in paged] == [item["id"] for item in whole]
    assert len(whole) == 7
    if sort == "headline":
        assert [item["headline"] for item in whole] == sorted(item["headline"] for item in whole)


def test_items_added_while_paging_do_not_disturb(
    client: TestClient, seven_articles: list[dict[str, Any]]
) -> None:
    first = client.get("/v1/articles?limit=3").json()
    make_article(client, headline="Breaking", published_at="2024-12-01T00:00:00Z")
    make_article(client, headline="Backdated", published_at="2024-10-01T00:00:00Z")
    rest = walk(client, f"/v1/articles?limit=3&cursor={first['meta']['next_cursor']}")
    seen = [item["headline"] for item in first["data"] + rest]
    assert len(seen) == len(set(seen))
    assert "Breaking" not in seen
    assert "Backdated" in seen
    assert {item["headline"] for item in seven_articles} <= set(seen)


def test_drafts_without_publication_time_sort_last_for_editors(
    client: TestClient, seven_articles: list[dict[str, Any]]
) -> None:
    for number in range(3):
        make_article(client, headline=f"Draft {number}", status="draft")
    items = walk(client, "/v1/articles?limit=4", headers=EDITOR)
    assert len(items) == 10
    assert [item["status"] for item in items[-3:]] == ["draft"] * 3
    ascending = walk(client, "/v1/articles?limit=4&sort=published_at", headers=EDITOR)
    assert [item["status"] for item in ascending[-3:]] == ["draft"] * 3
    assert len({item["id"] for item in ascending}) == 10


def test_count_only_when_asked(client: TestClient, seven_articles: list[dict[str, Any]]) -> None:
    assert "total" not in client.get("/v1/articles?limit=2").json()["meta"]
    meta = client.get("/v1/articles?limit=2&count=true").json()["meta"]
    assert meta == {"limit": 2, "next_cursor": meta["next_cursor"], "total": 7}
    assert (
        client.get("/v1/articles?count=true&published_after=2024-11-05").json()["meta"]["total"]
        == 2
    )


def test_cursor_from_another_sort_is_400(
    client: TestClient, seven_articles: list[dict[str, Any]]
) -> None:
    cursor = client.get("/v1/articles?limit=2").json()["meta"]["next_cursor"]
    assert client.get(f"/v1/articles?limit=2&sort=headline&cursor={cursor}").status_code == 400


def test_fields_selects_keys_and_keeps_id(
    client: TestClient, seven_articles: list[dict[str, Any]]
) -> None:
    item = client.get("/v1/articles?fields=headline,slug").json()["data"][0]
    assert set(item) == {"id", "headline", "slug"}
    full = client.get("/v1/articles").json()["data"][0]
    assert not {"body", "body_html", "body_text"} & set(full)
    with_body = client.get("/v1/articles?fields=body_html,authors").json()["data"][0]
    assert set(with_body) == {"id", "body_html", "authors"}
    assert with_body["body_html"].startswith("<p>")


def test_author_list_pages_by_name(client: TestClient) -> None:
    for name in ["Zawadi", "Amina", "Otieno", "Baraka", "Njeri"]:
        make_author(client, name=name)
    names = [item["name"] for item in walk(client, "/v1/authors?limit=2")]
    assert names == ["Amina", "Baraka", "Njeri", "Otieno", "Zawadi"]
    names = [item["name"] for item in walk(client, "/v1/authors?limit=2&sort=-name")]
    assert names == ["Zawadi", "Otieno", "Njeri", "Baraka", "Amina"]
