"""A list request costs the same number of SQL statements whatever its page size."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EDITOR, Backend
from tests.factories import make_article, make_author, make_entity

# Reads answered by the response cache and, with it off, by the app itself.
pytestmark = pytest.mark.response_cache("on", "off")


def statements_for(db: Backend, url: str, headers: dict[str, str] | None = None) -> int:
    with db.statements.counting() as statements:
        response = db.client.get(url, headers=headers)
    assert response.status_code == 200
    return len(statements)


def test_listing_1_or_100_articles_costs_the_same(db: Backend) -> None:
    client: TestClient = db.client
    authors = [make_author(client)["slug"] for _ in range(3)]
    entities = [make_entity(client)["slug"] for _ in range(5)]
    for number in range(100):
        make_article(
            client,
            authors=authors[: 1 + number % 3],
            entities=entities[: 2 + number % 4],
        )
    one = statements_for(db, "/v1/articles?limit=1")
    hundred = statements_for(db, "/v1/articles?limit=100")
    assert hundred == one
    page = client.get("/v1/articles?limit=100").json()["data"]
    assert len(page) == 100
    assert all(item["authors"] and item["entities"] for item in page)
    assert statements_for(db, "/v1/articles?limit=100&count=true") == one + 1
    assert statements_for(db, "/v1/articles?limit=100", EDITOR) == one + 1  # the key lookup


def test_author_and_entity_lists_are_fixed_cost(db: Backend) -> None:
    client: TestClient = db.client
    make_author(client)
    make_entity(client)
    one_author = statements_for(db, "/v1/authors?limit=1")
    one_entity = statements_for(db, "/v1/entities?limit=1")
    for _ in range(30):
        make_author(client)
        make_entity(client)
    assert statements_for(db, "/v1/authors?limit=100") == one_author
    assert statements_for(db, "/v1/entities?limit=100") == one_entity


@pytest.mark.response_cache("on")  # the counts include the content state the cache reads
def test_each_read_is_one_query_with_its_relations(db: Backend) -> None:
    """The database builds bylines and tags into the article's own row: one article, or a
    page of any size, is one query (after the content state the response cache reads)."""
    client: TestClient = db.client
    authors = [make_author(client)["slug"] for _ in range(3)]
    entities = [make_entity(client)["slug"] for _ in range(4)]
    made = [make_article(client, authors=authors[:2], entities=entities) for _ in range(25)]
    slug = made[0]["slug"]
    assert statements_for(db, "/v1/articles?limit=20") == 2
    assert statements_for(db, f"/v1/articles/{slug}") == 2
    assert statements_for(db, f"/v1/articles/{made[0]['id']}") == 2
    assert statements_for(db, "/v1/feeds/articles.atom") == 2
    assert statements_for(db, f"/v1/articles/{slug}/related") == 3  # the article, then its kin
    # A search adds one statement: the snippets of the page returned, and no others.
    word = made[0]["headline"].split()[0]
    assert statements_for(db, f"/v1/articles?q={word}&limit=20") == 3
    assert statements_for(db, f"/v1/articles?q={word}&fields=id,slug") == 2
    page = client.get("/v1/articles?limit=20").json()["data"]
    assert [author["slug"] for author in page[0]["authors"]] == authors[:2]
    assert sorted(tag["slug"] for tag in page[0]["entities"]) == sorted(entities)


@pytest.mark.response_cache("off")
def test_uncached_reads_cost_one_statement_and_the_version(db: Backend) -> None:
    """With no response cache, a story is its one query; a list page is the change log's
    version (its ETag) and the page, on the first page as on the pages after it."""
    client: TestClient = db.client
    author = make_author(client)["slug"]
    made = [make_article(client, authors=[author]) for _ in range(5)]
    assert statements_for(db, f"/v1/articles/{made[0]['slug']}") == 1
    assert statements_for(db, f"/v1/articles/{made[0]['id']}") == 1
    assert statements_for(db, "/v1/articles?limit=2") == 2
    cursor = client.get("/v1/articles?limit=2").json()["meta"]["next_cursor"]
    assert statements_for(db, f"/v1/articles?limit=2&cursor={cursor}") == 2
    assert statements_for(db, "/v1/articles?limit=2", EDITOR) == 3  # and the key lookup
