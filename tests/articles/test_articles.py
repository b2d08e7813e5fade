"""Articles: rendering, slugs, bylines, tags, status, merge-patch updates."""

import re
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from fastapi.testclient import TestClient

from tests.conftest import EDITOR
from tests.factories import make_article, make_author, make_entity

# Reads answered by the response cache and, with it off, by the app itself.
pytestmark = pytest.mark.response_cache("on", "off")


def test_create_returns_201_location_and_whole_article(client: TestClient) -> None:
    response = client.post(
        "/v1/articles",
        json={"headline": "Ruto Congratulates Trump", "body": "Hello *world*."},
        headers=EDITOR,
    )
    assert response.status_code == 201
    article = response.json()
    assert response.headers["location"].endswith("/v1/articles/ruto-congratulates-trump")
    assert article["version"] == 1
    assert article["status"] == "draft"
    assert article["published_at"] is None
    assert article["language"] == "en"
    assert article["body_html"] == "<p>Hello <em>world</em>.</p>\n"
    assert article["created_at"].endswith("Z")
    assert client.get(response.headers["location"], headers=EDITOR).json() == article


def test_markdown_is_sanitised(client: TestClient) -> None:
    body = (
        "Safe [link](https://example.com) and <b>bold</b>.\n\n"
        "<script>alert('x')</script>\n\n"
        '<a href="javascript:alert(1)" onclick="steal()">click</a>\n\n'
        '<img src="x.png" onerror="steal()">\n\n'
        "[bad](javascript:alert(1))"
    )
    html = make_article(client, body=body)["body_html"]
    assert "<script" not in html
    assert "alert('x')" not in html
    assert "onclick" not in html
    assert "onerror" not in html
    assert 'href="javascript' not in html.replace(" ", "")
    assert '<a href="https://example.com"' in html
    assert "<b>bold</b>" in html


def test_plain_text_word_count_and_reading_time(client: TestClient) -> None:
    body = (
        "# Heading\n\nKenya's **president** [spoke](https://example.com/x) today.\n\n- one\n- two"
    )
    article = make_article(client, body=body)
    assert article["body_text"] == "Heading\n\nKenya's president spoke today.\n\none\ntwo"
    assert "https://" not in article["body_text"]
    assert article["word_count"] == 7
    assert article["reading_time_minutes"] == 1
    long_one = make_article(client, body=" ".join(["word"] * 401))
    assert long_one["word_count"] == 401
    assert long_one["reading_time_minutes"] == 3
    assert make_article(client, body="")["reading_time_minutes"] == 0


def test_slugs_are_transliterated_and_suffixed(client: TestClient) -> None:
    assert make_article(client, headline="Côte d'Ivoire votes")["slug"] == "cote-d-ivoire-votes"
    assert make_article(client, headline="Same headline")["slug"] == "same-headline"
    assert make_article(client, headline="Same headline")["slug"] == "same-headline-2"
    assert make_article(client, headline="Same  headline!")["slug"] == "same-headline-3"
    assert make_article(client, headline="!!!")["slug"] == "article"
    long_slug = make_article(client, headline="word " * 60)["slug"]
    assert len(long_slug) <= 120


def test_explicit_slug_taken_is_409(client: TestClient) -> None:
    make_article(client, slug="kenya-news")
    response = client.post(
        "/v1/articles", json={"headline": "Other", "slug": "kenya-news"}, headers=EDITOR
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


def test_bad_slugs_are_422(client: TestClient) -> None:
    for slug in ["Kenya", "kenya--news", "-kenya", "kenya news", "x" * 121,
                 "123e4567-e89b-12d3-a456-426614174000"]:  # fmt: skip
        response = client.post("/v1/articles", json={"headline": "A", "slug": slug}, headers=EDITOR)
        assert response.status_code == 422, slug


def test_byline_order_and_tags(client: TestClient) -> None:
    first = make_author(client, name="Zawadi Kamau")
    second = make_author(client, name="Amina Yusuf")
    kenya = make_entity(client, name="Kenya", type="place")
    article = make_article(
        client, authors=[first["slug"], second["id"]], entities=[kenya["id"], "kenya"]
    )
    assert [author["name"] for author in article["authors"]] == ["Zawadi Kamau", "Amina Yusuf"]
    assert article["authors"][0] == {
        "id": first["id"],
        "slug": first["slug"],
        "name": first["name"],
    }
    assert article["entities"] == [
        {"id": kenya["id"], "slug": "kenya", "name": "Kenya", "type": "place"}
    ]


def test_unknown_author_or_entity_is_422_naming_it(client: TestClient) -> None:
    make_author(client, name="Known")
    response = client.post(
        "/v1/articles",
        json={"headline": "A", "authors": ["known", "nobody-at-all"]},
        headers=EDITOR,
    )
    assert response.status_code == 422
    body = response.json()
    assert "nobody-at-all" in body["detail"]
    assert body["errors"][0]["loc"] == ["body", "authors", 1]
    response = client.post(
        "/v1/articles", json={"headline": "A", "entities": ["atlantis"]}, headers=EDITOR
    )
    assert response.status_code == 422
    assert "atlantis" in response.json()["detail"]
    assert client.get("/v1/articles", headers=EDITOR).json()["data"] == []


def test_publishing_sets_published_at_once(client: TestClient) -> None:
    draft = make_article(client, status="draft")
    published = client.patch(
        f"/v1/articles/{draft['slug']}", json={"status": "published"}, headers=EDITOR
    ).json()
    assert published["status"] == "published"
    first_time = published["published_at"]
    assert first_time is not None
    archived = client.patch(
        f"/v1/articles/{draft['slug']}", json={"status": "archived"}, headers=EDITOR
    ).json()
    assert archived["published_at"] == first_time
    again = client.patch(
        f"/v1/articles/{draft['slug']}", json={"status": "published"}, headers=EDITOR
    ).json()
    assert again["published_at"] == first_time


def test_future_publication_is_scheduled(client: TestClient) -> None:
    soon = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    article = make_article(client, published_at=soon.isoformat())
    assert article["status"] == "scheduled"
    assert article["published_at"] == soon.isoformat().replace("+00:00", "Z")
    assert (
        client.post(
            "/v1/articles", json={"headline": "x", "status": "scheduled"}, headers=EDITOR
        ).status_code
        == 422
    )


def test_timestamps_with_offsets_are_stored_as_utc(client: TestClient) -> None:
    article = make_article(client, published_at="2024-11-08T21:30:00+03:00")
    assert article["published_at"] == "2024-11-08T18:30:00Z"


def test_patch_is_a_merge_patch(client: TestClient) -> None:
    author = make_author(client)
    article = make_article(
        client,
        standfirst="Summary",
        section="politics",
        dateline="NAIROBI, Kenya",
        authors=[author["slug"]],
        image={"url": "https://example.com/a.jpg", "caption": "A caption", "credit": "AP"},
    )
    url = f"/v1/articles/{article['slug']}"
    updated = client.patch(
        url,
        json={"standfirst": None, "headline": "New headline", "image": {"caption": None}},
        headers=EDITOR | {"Content-Type": "application/merge-patch+json"},
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["standfirst"] is None
    assert body["headline"] == "New headline"
    assert body["slug"] == article["slug"]
    assert body["section"] == "politics"
    assert body["dateline"] == "NAIROBI, Kenya"
    assert body["authors"] == article["authors"]
    assert body["image"] == {
        "url": "https://example.com/a.jpg",
        "caption": None,
        "credit": "AP",
        "alt": None,
        "width": None,
        "height": None,
    }
    assert body["version"] == 2
    assert body["updated_at"] >= article["updated_at"]


def test_patch_rejects_null_for_required_fields_and_changes_nothing(client: TestClient) -> None:
    article = make_article(client)
    url = f"/v1/articles/{article['slug']}"
    for field in ["headline", "status", "language", "authors", "slug"]:
        response = client.patch(url, json={field: None}, headers=EDITOR)
        assert response.status_code == 422, field
    assert client.get(url, headers=EDITOR).json()["version"] == 1


def test_patch_with_no_real_change_keeps_the_version(client: TestClient) -> None:
    article = make_article(client, section="politics")
    response = client.patch(
        f"/v1/articles/{article['slug']}", json={"section": "politics"}, headers=EDITOR
    )
    assert response.json()["version"] == 1


def test_patch_replaces_byline_and_tags(client: TestClient) -> None:
    one, two = make_author(client), make_author(client)
    place = make_entity(client, name="Haiti", type="place")
    article = make_article(client, authors=[one["slug"]])
    updated = client.patch(
        f"/v1/articles/{article['id']}",
        json={"authors": [two["slug"], one["slug"]], "entities": ["haiti"]},
        headers=EDITOR,
    ).json()
    assert [author["id"] for author in updated["authors"]] == [two["id"], one["id"]]
    assert [entity["id"] for entity in updated["entities"]] == [place["id"]]


def test_patch_slug_conflict_is_409(client: TestClient) -> None:
    make_article(client, slug="taken")
    article = make_article(client)
    response = client.patch(
        f"/v1/articles/{article['slug']}", json={"slug": "taken"}, headers=EDITOR
    )
    assert response.status_code == 409


def test_language_is_normalised_and_validated(client: TestClient) -> None:
    assert make_article(client, language="EN-gb")["language"] == "en-GB"
    response = client.post(
        "/v1/articles", json={"headline": "x", "language": "english!"}, headers=EDITOR
    )
    assert response.status_code == 422


def test_canonical_url_must_be_http(client: TestClient) -> None:
    ok = make_article(client, canonical_url="https://example.com/story")
    assert ok["canonical_url"] == "https://example.com/story"
    response = client.post(
        "/v1/articles",
        json={"headline": "x", "canonical_url": "javascript:alert(1)"},
        headers=EDITOR,
    )
    assert response.status_code == 422


def test_delete_hides_the_article(client: TestClient) -> None:
    article = make_article(client)
    assert client.delete(f"/v1/articles/{article['slug']}", headers=EDITOR).status_code == 204
    assert client.get(f"/v1/articles/{article['slug']}").status_code == 404
    assert client.get(f"/v1/articles/{article['slug']}", headers=EDITOR).status_code == 404
    assert client.get("/v1/articles", headers=EDITOR).json()["data"] == []
    trash = client.get("/v1/articles?status=deleted", headers=EDITOR).json()["data"]
    assert [item["id"] for item in trash] == [article["id"]]
    assert trash[0]["status"] == "deleted"
    assert client.post("/v1/articles", json={"headline": "x", "slug": article["slug"]},
                       headers=EDITOR).status_code == 409  # fmt: skip


def test_an_unknown_entity_is_named_in_plain_words(client: TestClient) -> None:
    response = client.post(
        "/v1/articles", json={"headline": "A", "entities": ["atlantis"]}, headers=EDITOR
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "Unknown entity 'atlantis'."
    assert response.json()["errors"][0]["type"] == "unknown_entity"


def test_list_items_with_fields_match_the_documented_item_schema(client: TestClient) -> None:
    make_article(client, headline="Ruto calls Trump")
    document = client.get("/openapi.json").json()
    listing = document["paths"]["/v1/articles"]["get"]["responses"]["200"]
    schema = listing["content"]["application/json"]["schema"] | {
        "components": document["components"]
    }
    page = client.get("/v1/articles?fields=slug,headline").json()
    assert set(page["data"][0]) == {"id", "slug", "headline"}
    jsonschema.validate(page, schema)
    full = client.get("/v1/articles").json()
    jsonschema.validate(full, schema)


def test_the_documented_language_pattern_is_the_one_enforced(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    create = document["components"]["schemas"]["ArticleCreate"]["properties"]["language"]
    pattern = re.compile(create["pattern"])
    for tag in ("en", "en-GB", "zh-Hant-TW", "sw"):
        assert pattern.search(tag)
        assert make_article(client, language=tag)["language"] == tag
    for tag in ("english!", "e", "en_GB", "0000"):
        assert not pattern.search(tag)
        response = client.post(
            "/v1/articles", json={"headline": "x", "language": tag}, headers=EDITOR
        )
        assert response.status_code == 422


@pytest.mark.parametrize("flag", [0, 1, "yes", "true"])
def test_auto_tag_takes_only_a_boolean(client: TestClient, flag: object) -> None:
    article = make_article(client, headline="Ruto calls Trump")
    url = f"/v1/articles/{article['slug']}"
    response = client.patch(url, json={"auto_tag": flag, "headline": "Changed"}, headers=EDITOR)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "auto_tag"]
    assert client.get(url, headers=EDITOR).json()["headline"] == "Ruto calls Trump"
    response = client.post("/v1/articles", json={"headline": "x", "auto_tag": flag}, headers=EDITOR)
    assert response.status_code == 422
