"""The demo story as IPTC ninjs 2.2 and as schema.org JSON-LD."""

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.demo.data import WORKED_EXAMPLE_SLUG
from app.demo.load import load_demo
from tests.conftest import EDITOR, Backend
from tests.factories import make_article, make_author, make_entity

# Reads answered by the response cache and, with it off, by the app itself.
pytestmark = pytest.mark.response_cache("on", "off")

# IPTC's schema, kept with the tests (tests/data/README.md says where it comes from).
NINJS_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "ninjs-schema_2.2.json"


@pytest.fixture
def demo(db: Backend) -> TestClient:
    db.run(load_demo, db.client.app.state.write_sessionmaker)  # type: ignore[attr-defined]
    return db.client


def ninjs_validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads(NINJS_SCHEMA.read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_the_demo_story_as_valid_ninjs(demo: TestClient) -> None:
    validator = ninjs_validator()
    response = demo.get(f"/v1/articles/{WORKED_EXAMPLE_SLUG}/ninjs")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "public, max-age=60"
    document = response.json()
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.path))
    assert errors == [], [error.message for error in errors]
    article = demo.get(f"/v1/articles/{WORKED_EXAMPLE_SLUG}").json()
    assert document["uri"] == f"urn:uuid:{article['id']}"
    assert document["type"] == "text"
    assert document["version"] == "1"
    assert document["pubstatus"] == "usable"
    assert document["language"] == "en"
    assert document["versioncreated"] == article["updated_at"]
    assert document["firstcreated"] == article["created_at"]
    assert document["headlines"][0]["value"] == article["headline"]
    bodies = {body["contenttype"]: body["value"] for body in document["bodies"]}
    assert bodies["text/html"] == article["body_html"]
    assert bodies["text/plain"] == article["body_text"]
    assert document["by"] == "Capital News Reporter"
    assert document["located"] == "NAIROBI, Kenya"
    people = {person["name"] for person in document["people"]}
    assert {"William Ruto", "Donald Trump"} <= people
    places = {place["name"]: place for place in document["places"]}
    assert places["Kenya"]["uri"] == "http://www.wikidata.org/entity/Q114"
    assert "Haiti" in places
    assert {org["name"] for org in document["organisations"]} >= {"United Nations"}
    assert {subject["name"] for subject in document["subjects"]} == {"Tumaini Peace Initiative"}
    assert all(isinstance(document[group], list) for group in ("events", "subjects"))


def test_ninjs_of_drafts_and_scheduled_articles(client: TestClient) -> None:
    validator = ninjs_validator()
    make_author(client, name="Achieng Odhiambo", slug="achieng")
    make_author(client, name="Brian Mutua", slug="brian")
    make_author(client, name="Capital News Reporter", slug="desk")
    make_entity(client, name="2024 United States presidential election", type="event")
    draft = make_article(
        client,
        headline="Draft",
        status="draft",
        authors=["achieng", "brian", "desk"],
        entities=["2024-united-states-presidential-election"],
        image={"url": "https://example.com/a.jpg", "caption": "State House", "credit": "PSCU"},
        canonical_url="https://example.com/draft",
    )
    assert client.get(f"/v1/articles/{draft['slug']}/ninjs").status_code == 404
    document = client.get(f"/v1/articles/{draft['slug']}/ninjs", headers=EDITOR).json()
    assert list(validator.iter_errors(document)) == []
    assert document["pubstatus"] == "withheld"
    assert document["by"] == "Achieng Odhiambo, Brian Mutua and Capital News Reporter"
    assert document["events"][0]["name"] == "2024 United States presidential election"
    assert document["associations"][0]["renditions"][0]["href"] == "https://example.com/a.jpg"
    scheduled = make_article(client, headline="Later", published_at="2099-01-01T06:00:00Z")
    document = client.get(f"/v1/articles/{scheduled['id']}/ninjs", headers=EDITOR).json()
    assert list(validator.iter_errors(document)) == []
    assert document["pubstatus"] == "withheld"
    assert document["embargoed"] == "2099-01-01T06:00:00Z"


def test_the_demo_story_as_json_ld(demo: TestClient) -> None:
    response = demo.get(f"/v1/articles/{WORKED_EXAMPLE_SLUG}/jsonld")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ld+json"
    assert response.headers["cache-control"] == "public, max-age=60"
    document = response.json()
    article = demo.get(f"/v1/articles/{WORKED_EXAMPLE_SLUG}").json()
    assert document["@context"] == "https://schema.org"
    assert document["@type"] == "NewsArticle"
    assert document["headline"] == article["headline"]
    assert document["datePublished"] == "2024-11-08T18:30:00Z"
    assert document["dateModified"] == article["updated_at"]
    assert document["author"] == [
        {
            "@type": "Person",
            "@id": "http://testserver/v1/authors/capital-news-reporter",
            "name": "Capital News Reporter",
        }
    ]
    assert document["publisher"] == {"@type": "Organization", "name": "Capital News"}
    assert document["dateline"] == "NAIROBI, Kenya"
    assert document["articleSection"] == "politics"
    about = {node["name"]: node for node in document["about"]}
    mentions = {node["name"] for node in document.get("mentions", [])}
    # The headline names Ruto, Trump, the US, Kenya and Haiti.
    assert {"William Ruto", "Donald Trump", "United States", "Kenya", "Haiti"} <= set(about)
    assert about["Kenya"]["@type"] == "Place"
    assert about["Kenya"]["sameAs"] == ["http://www.wikidata.org/entity/Q114"]
    assert about["William Ruto"]["@type"] == "Person"
    assert not set(about) & mentions
    assert {tag["name"] for tag in article["entities"]} == set(about) | mentions


def test_json_ld_cannot_close_a_script_element(client: TestClient) -> None:
    article = make_article(
        client,
        headline="</script><script>alert(1)</script> & more",
        standfirst="1 < 2 > 0",
        body="Line\u2028break",
    )
    response = client.get(f"/v1/articles/{article['slug']}/jsonld")
    raw = response.content
    for forbidden in (b"<", b">", b"&", "\u2028".encode()):
        assert forbidden not in raw
    assert b"\\u003c/script\\u003e" in raw
    document = response.json()
    assert document["headline"] == "</script><script>alert(1)</script> & more"
    assert document["description"] == "1 < 2 > 0"
    # No source: the publication (NEWSDESK_PUBLICATION_NAME, default Newsdesk) publishes it.
    assert document["publisher"] == {"@type": "Organization", "name": "Newsdesk"}


def test_formats_of_hidden_or_missing_articles_are_404(client: TestClient) -> None:
    make_article(client, slug="gone")
    assert client.delete("/v1/articles/gone", headers=EDITOR).status_code == 204
    for path in ("/v1/articles/gone/ninjs", "/v1/articles/nope/jsonld"):
        response = client.get(path, headers=EDITOR)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
