"""What requests cost in SQL statements: a list the same whatever its page size, one
article one query, a PATCH a fixed handful whatever the article holds."""

import re

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
    # A search is one page statement too on PostgreSQL, which quotes the snippets of the
    # rows it returns in it; SQLite quotes them in one more statement.
    word = made[0]["headline"].split()[0]
    quoting = 0 if db.name == "postgresql" else 1
    assert statements_for(db, f"/v1/articles?q={word}&limit=20") == 2 + quoting
    assert statements_for(db, f"/v1/articles?q={word}&limit=2") == 2 + quoting
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


@pytest.mark.response_cache("off")
def test_a_current_etag_is_one_statement_that_reads_no_body(db: Backend) -> None:
    """A revalidation (a CDN's, a browser's) of a story is answered 304 from one query of
    its head, bylines and tags, by slug as by id."""
    client: TestClient = db.client
    made = make_article(client, authors=[make_author(client)["slug"]])
    for ref in (made["slug"], made["id"]):
        etag = client.get(f"/v1/articles/{ref}").headers["etag"]
        with db.statements.counting() as statements:
            response = client.get(f"/v1/articles/{ref}", headers={"If-None-Match": etag})
        assert response.status_code == 304
        assert len(statements) == 1
        assert "body_html" not in statements[0]


def _kinds(statements: list[str]) -> list[str]:
    """Each statement as its verb and first table: ``SELECT api_key``, ``UPDATE article``."""
    kinds = []
    for statement in statements:
        if "pg_advisory_xact_lock_shared" in statement:
            kinds.append("writers' lock")
            continue
        verb = statement.split()[0].upper()
        found = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", statement)
        assert found is not None, statement
        kinds.append(f"{verb} {found.group(1)}")
    return kinds


def test_a_patch_is_one_locking_read_one_update_and_its_records(db: Backend) -> None:
    """Saving a story: the key, the article read and locked in one statement, one UPDATE
    that returns the answer, the revision and the change-log entry. No global lock: the
    writers' lock every write takes on PostgreSQL is shared."""
    client: TestClient = db.client
    authors = [make_author(client)["slug"] for _ in range(2)]
    entities = [make_entity(client)["slug"] for _ in range(3)]
    story = make_article(client, authors=authors, entities=entities)
    url = f"/v1/articles/{story['slug']}"
    writers_lock = ["writers' lock"] if db.name == "postgresql" else []
    with db.statements.counting() as statements:
        saved = client.patch(url, json={"standfirst": "Edited"}, headers=EDITOR)
    assert saved.status_code == 200
    assert saved.json()["version"] == story["version"] + 1
    assert [author["slug"] for author in saved.json()["authors"]] == authors
    assert _kinds(statements) == [
        "SELECT api_key",
        *writers_lock,
        "SELECT article",
        "UPDATE article",
        "INSERT article_revision",
        "INSERT change",
    ]
    # The same patch again changes nothing, and writes nothing.
    with db.statements.counting() as statements:
        again = client.patch(url, json={"standfirst": "Edited"}, headers=EDITOR)
    assert again.json() == saved.json()
    assert not [kind for kind in _kinds(statements) if kind.startswith(("UPDATE", "INSERT"))]
    assert len(statements) == 3 + len(writers_lock)  # the key, the lock, the answer


def test_a_patch_of_the_byline_replaces_only_the_byline(db: Backend) -> None:
    client: TestClient = db.client
    first, second = (make_author(client)["slug"] for _ in range(2))
    entities = [make_entity(client)["slug"] for _ in range(3)]
    story = make_article(client, authors=[first], entities=entities)
    with db.statements.counting() as statements:
        saved = client.patch(
            f"/v1/articles/{story['id']}", json={"authors": [second, first]}, headers=EDITOR
        )
    assert [author["slug"] for author in saved.json()["authors"]] == [second, first]
    writers_lock = ["writers' lock"] if db.name == "postgresql" else []
    assert _kinds(statements) == [
        "SELECT api_key",
        *writers_lock,
        "SELECT article",
        "SELECT author",
        "SELECT article_author",  # the byline and tags as they were, in one read
        "DELETE article_author",
        "INSERT article_author",
        "UPDATE article",
        "INSERT article_revision",
        "INSERT change",
    ]
