"""Full-text search with ``q``: the same cases give the same hits on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.articles import search as search_module
from tests.conftest import EDITOR, Backend
from tests.factories import make_article, make_author, make_entity

# Reads answered by the response cache and, with it off, by the app itself.
pytestmark = pytest.mark.response_cache("on", "off")


def search(client: TestClient, q: str, **params: Any) -> Any:
    response = client.get("/v1/articles", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()


def slugs(client: TestClient, q: str, **params: Any) -> list[str]:
    return [item["slug"] for item in search(client, q, **params)["data"]]


@pytest.fixture
def corpus(client: TestClient) -> None:
    make_article(
        client,
        slug="ruto-trump-call",
        headline="Ruto Congratulates Trump in Phone Call",
        standfirst="Kenya's president called the president-elect.",
        body="They discussed **U.S.-Kenya** ties and the Haiti mission.",
    )
    make_article(
        client,
        slug="blinken-sudan",
        headline="Blinken thanks Kenya for the Haiti mission",
        body="Talks on the Tumaini Peace Initiative for South Sudan and aid access in Sudan.",
    )
    make_article(
        client,
        slug="harris-concedes",
        headline="Harris concedes the election",
        body="The Vice President spoke to supporters in Washington.",
    )
    make_article(
        client,
        slug="cote-divoire-vote",
        headline="Côte d'Ivoire prepares its vote",
        body="Voters in Abidjan queue early; São Tomé watches.",
    )


@pytest.mark.usefixtures("corpus")
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("haiti", {"ruto-trump-call", "blinken-sudan"}),
        ("HAITI Kenya", {"ruto-trump-call", "blinken-sudan"}),
        ("haiti trump", {"ruto-trump-call"}),
        ('"haiti mission"', {"ruto-trump-call", "blinken-sudan"}),
        ('"mission haiti"', set()),
        ('"south sudan"', {"blinken-sudan"}),
        ("sudan -south", set()),
        ("haiti -blinken", {"ruto-trump-call"}),
        ('haiti -"peace initiative"', {"ruto-trump-call"}),
        ("harris or blinken", {"harris-concedes", "blinken-sudan"}),
        ("ruto trump or harris", {"ruto-trump-call", "harris-concedes"}),
        ("ruto harris OR washington", {"harris-concedes"}),
        ("U.S.-Kenya", {"ruto-trump-call"}),
        ("u.s.", {"ruto-trump-call"}),
        ("Kenya's", {"ruto-trump-call"}),
        ("president-elect", {"ruto-trump-call"}),
        ("cote d'ivoire", {"cote-divoire-vote"}),
        ("CÔTE", {"cote-divoire-vote"}),
        ("Co\u0302te", {"cote-divoire-vote"}),  # the accent typed as a separate mark
        ("sao tome", {"cote-divoire-vote"}),
        # Words find their other forms (English stemming on both databases).
        ("congratulate", {"ruto-trump-call"}),
        ("elections", {"harris-concedes", "ruto-trump-call"}),  # and president-elect
        ("conceding", {"harris-concedes"}),
        ('"conceding the elections"', {"harris-concedes"}),
        ("Côtes", {"cote-divoire-vote"}),
        ("strong", set()),  # Markdown markup is not indexed, only the rendered text
        ("zanzibar", set()),
    ],
)
def test_web_search_syntax(client: TestClient, q: str, expected: set[str]) -> None:
    assert set(slugs(client, q)) == expected


def test_a_phrase_does_not_run_from_one_field_into_the_next(client: TestClient) -> None:
    make_article(client, slug="split", headline="Talks in Nairobi", standfirst="Haiti next")
    assert slugs(client, '"nairobi haiti"') == []
    assert slugs(client, "nairobi haiti") == ["split"]


def test_headline_matches_rank_above_standfirst_above_body(client: TestClient) -> None:
    make_article(client, slug="in-body", headline="Regional news", body="A word on Tumaini.")
    make_article(client, slug="in-headline", headline="Tumaini talks resume", body="Talks.")
    make_article(client, slug="in-standfirst", headline="Peace news", standfirst="Tumaini talks.")
    assert slugs(client, "tumaini") == ["in-headline", "in-standfirst", "in-body"]
    reverse = slugs(client, "tumaini", sort="-relevance")
    assert reverse == ["in-body", "in-standfirst", "in-headline"]
    by_date = slugs(client, "tumaini", sort="headline")
    assert by_date == ["in-standfirst", "in-body", "in-headline"]


def test_snippet_marks_matches_and_escapes_the_text(client: TestClient) -> None:
    make_article(
        client,
        slug="escaped",
        headline="Budget vote",
        body="Costs rise when 5 &lt; 6 &amp; the Haiti mission goes on.",
    )
    item = search(client, "haiti")["data"][0]
    snippet = item["snippet"]
    assert "<mark>Haiti</mark>" in snippet
    assert "5 &lt; 6 &amp; the" in snippet
    assert snippet.count("<") == snippet.count("<mark>") + snippet.count("</mark>")
    assert snippet.count("<mark>") == snippet.count("</mark>") >= 1
    assert "body" not in item
    assert "body_text" not in item


def test_snippet_follows_fields(client: TestClient) -> None:
    make_article(client, headline="Haiti mission", body="Police from Kenya.")
    only = search(client, "haiti", fields="headline")["data"][0]
    assert set(only) == {"id", "headline"}
    with_snippet = search(client, "haiti", fields="headline,snippet")["data"][0]
    assert set(with_snippet) == {"id", "headline", "snippet"}
    assert "<mark>Haiti</mark>" in with_snippet["snippet"]
    response = client.get("/v1/articles", params={"fields": "snippet"})
    assert response.status_code == 422


def test_a_match_deep_in_a_long_body_is_quoted_from_there(client: TestClient) -> None:
    filler = [f"filler{number}" for number in range(300)]
    sentence = "À Abidjan, Côte d'Ivoire's Haiti mission resumed."
    make_article(
        client, headline="Budget news", body=" ".join(filler) + f" {sentence} " + " ".join(filler)
    )
    for q, marked in (("haiti", "<mark>Haiti</mark> mission"), ("cote", "<mark>Côte</mark>")):
        snippet = search(client, q)["data"][0]["snippet"]
        assert marked in snippet
        assert "Budget" not in snippet
        # Cut at whole words: every word shown is one of the text's.
        text = snippet.replace("<mark>", "").replace("</mark>", "").replace("…", " ")
        known = set(filler) | set(sentence.split())
        assert set(text.split()) <= known, text


@pytest.mark.parametrize(
    "q",
    [
        "*",
        "-",
        "- -",
        "--",
        '"',
        '""',
        '-""',
        "()",
        ":",
        "^",
        "or",
        "OR or",
        "-haiti",
        "-haiti -kenya",
        "-haiti or -kenya",
    ],
)
def test_a_query_with_nothing_to_look_for_is_a_422(client: TestClient, q: str) -> None:
    response = client.get("/v1/articles", params={"q": q})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["query", "q"]


@pytest.mark.usefixtures("corpus")
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('"haiti', {"ruto-trump-call", "blinken-sudan"}),
        ('haiti "', {"ruto-trump-call", "blinken-sudan"}),
        ("haiti*", {"ruto-trump-call", "blinken-sudan"}),
        ("NEAR(haiti mission)", set()),  # the phrase "near haiti", and "mission"
        ("NEAR haiti", set()),
        ("haiti AND", {"ruto-trump-call", "blinken-sudan"}),  # "and" is just a word
        ("haiti NOT kenya", set()),
        ("headline:haiti", set()),
        ("{headline}: haiti", set()),
        ("(haiti) -(sudan)", {"ruto-trump-call"}),
        ("haiti^2 + kenya", set()),  # "haiti^2" is the phrase "haiti 2"
        ("haiti + kenya", {"ruto-trump-call", "blinken-sudan"}),
        ("'haiti'", {"ruto-trump-call", "blinken-sudan"}),
        ("haiti\\", {"ruto-trump-call", "blinken-sudan"}),
        ("100%", set()),
        ("_haiti_", {"ruto-trump-call", "blinken-sudan"}),
        ("haiti 😀", {"ruto-trump-call", "blinken-sudan"}),
        ("haiti 🤔", {"ruto-trump-call", "blinken-sudan"}),
        ("Robert'); DROP TABLE article;--", set()),
        ("x" * 400, set()),
        ("haiti \x00 kenya", {"ruto-trump-call", "blinken-sudan"}),
        ("haiti\x00kenya", set()),  # one word with a separator inside: a phrase
        ("\u2028haiti\ufeff", {"ruto-trump-call", "blinken-sudan"}),
    ],
)
def test_hostile_queries_are_plain_words(client: TestClient, q: str, expected: set[str]) -> None:
    assert set(slugs(client, q)) == expected


def test_too_many_terms_or_too_long_is_a_422(client: TestClient) -> None:
    assert client.get("/v1/articles", params={"q": " ".join(["w"] * 33)}).status_code == 422
    assert client.get("/v1/articles", params={"q": "w" * 501}).status_code == 422


def test_empty_q_is_no_search(client: TestClient) -> None:
    make_article(client, slug="any")
    body = search(client, "  ")
    assert [item["slug"] for item in body["data"]] == ["any"]
    assert "snippet" not in body["data"][0]


def test_relevance_sort_needs_q(client: TestClient) -> None:
    for sort in ("relevance", "-relevance", "headline,relevance"):
        response = client.get("/v1/articles", params={"sort": sort})
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["query", "sort"]


def test_cursor_walks_every_hit_once_in_relevance_order(client: TestClient) -> None:
    for number in range(9):
        # Different lengths and places give different scores; some tie.
        if number % 3 == 0:
            make_article(client, headline=f"Haiti report {number}", body="Words. " * number)
        elif number % 3 == 1:
            make_article(client, headline=f"Report {number}", standfirst="On Haiti.")
        else:
            make_article(client, headline=f"Report {number}", body="Haiti. " + "More. " * number)
    make_article(client, headline="Unrelated")
    everything = search(client, "haiti", limit=100)
    expected = [item["id"] for item in everything["data"]]
    assert len(expected) == 9
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": "haiti", "limit": 2, "count": "true"}
        if cursor:
            params["cursor"] = cursor
        response = client.get("/v1/articles", params=params)
        assert response.status_code == 200
        page = response.json()
        assert page["meta"]["total"] == 9
        seen += [item["id"] for item in page["data"]]
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            assert "link" not in response.headers
            break
        assert 'rel="next"' in response.headers["link"]
    assert seen == expected


def test_a_cursor_from_another_sort_is_a_400(client: TestClient) -> None:
    for number in range(3):
        make_article(client, headline=f"Haiti {number}")
    page = search(client, "haiti", limit=1)
    cursor = page["meta"]["next_cursor"]
    response = client.get(
        "/v1/articles", params={"q": "haiti", "cursor": cursor, "sort": "headline"}
    )
    assert response.status_code == 400
    response = client.get("/v1/articles", params={"cursor": cursor})
    assert response.status_code == 400


def test_count_with_q(client: TestClient) -> None:
    for number in range(4):
        make_article(client, headline=f"Kenya story {number}")
    make_article(client, headline="Other story")
    body = search(client, "kenya", count="true", limit=1)
    assert body["meta"]["total"] == 4
    assert len(body["data"]) == 1


def test_a_search_lists_and_counts_at_most_the_bound(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "SEARCH_CANDIDATES", 3)
    for number in range(5):
        make_article(client, headline=f"Nakuru story {number}")
    make_article(client, headline="Nakuru draft", status="draft")  # never a candidate
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": "nakuru", "limit": 2, "count": "true"}
        if cursor:
            params["cursor"] = cursor
        page = search(client, **params)
        assert page["meta"]["total"] == 3
        seen += [item["id"] for item in page["data"]]
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3
    assert search(client, "nakuru", section="none", count="true")["meta"]["total"] == 0


def test_a_large_archive_lists_a_common_word_among_its_newest_matches(
    client: TestClient, db: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A "large" archive of six stories: candidates come from the newest five.
    monkeypatch.setattr(search_module, "SEARCH_CANDIDATES", 3)
    monkeypatch.setattr(search_module, "SEARCH_RECENT_FROM", 0)
    monkeypatch.setattr(search_module, "SEARCH_RECENT_WINDOW", 5)
    now = datetime.now(UTC)
    for days_ago in (6, 5, 4, 3, 2, 1):  # written oldest first, as an archive grows
        headline = f"Nakuru story {days_ago}" + (" from the harbour" if days_ago == 6 else "")
        make_article(
            client,
            slug=f"day-{days_ago}",
            headline=headline,
            published_at=(now - timedelta(days=days_ago)).isoformat(),
        )

    async def analyze(engine: Any) -> None:
        # The archive's size is the planner's estimate, which ANALYZE records.
        if engine.dialect.name == "postgresql":
            async with engine.connect() as connection:
                await connection.execute(text("ANALYZE article"))
                await connection.commit()

    db.run(analyze, db.engine)
    found = search(client, "nakuru", count="true")
    assert found["meta"]["total"] == 3
    if db.name == "postgresql":
        # The first three matches of the newest five, not the first three written.
        assert {item["slug"] for item in found["data"]} == {"day-1", "day-2", "day-3"}
    # A word too rare among the newest is looked up in the whole archive.
    assert slugs(client, "harbour") == ["day-6"]


def test_statement_count_does_not_grow_with_the_page(client: TestClient, db: Backend) -> None:
    author = make_author(client)
    kenya = make_entity(client, name="Kenya", type="place")
    for number in range(6):
        make_article(
            client, headline=f"Kenya story {number}", authors=[author["id"]], entities=[kenya["id"]]
        )
    counts = []
    for limit in (1, 6):
        with db.statements.counting() as statements:
            response = client.get("/v1/articles", params={"q": "kenya", "limit": limit})
        assert response.status_code == 200
        assert len(response.json()["data"]) == limit
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_unpublished_and_trashed_articles_are_never_found_anonymously(client: TestClient) -> None:
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    make_article(client, slug="live", headline="Mombasa port news")
    make_article(client, slug="draft", headline="Mombasa draft", status="draft")
    make_article(client, slug="archived", headline="Mombasa archive", status="archived")
    make_article(client, slug="scheduled", headline="Mombasa later", published_at=future)
    make_article(client, slug="trashed", headline="Mombasa trashed")
    assert client.delete("/v1/articles/trashed", headers=EDITOR).status_code == 204
    assert slugs(client, "mombasa") == ["live"]
    assert search(client, "mombasa", count="true")["meta"]["total"] == 1
    editor = client.get("/v1/articles", params={"q": "mombasa"}, headers=EDITOR).json()
    assert {item["slug"] for item in editor["data"]} == {"live", "draft", "archived", "scheduled"}
    drafts = client.get(
        "/v1/articles", params={"q": "mombasa", "status": "draft"}, headers=EDITOR
    ).json()
    assert [item["slug"] for item in drafts["data"]] == ["draft"]


def test_the_index_follows_edits(client: TestClient) -> None:
    make_article(client, slug="edited", headline="Kisumu floods", body="Rain in Kisumu.")
    assert slugs(client, "kisumu") == ["edited"]
    response = client.patch(
        "/v1/articles/edited",
        json={"headline": "Eldoret floods", "body": "Rain in Eldoret."},
        headers=EDITOR,
    )
    assert response.status_code == 200
    assert slugs(client, "kisumu") == []
    assert slugs(client, "eldoret") == ["edited"]
    response = client.patch(
        "/v1/articles/edited", json={"standfirst": "Garissa too."}, headers=EDITOR
    )
    assert response.status_code == 200
    assert slugs(client, "garissa eldoret") == ["edited"]
    assert client.delete("/v1/articles/edited", headers=EDITOR).status_code == 204
    assert slugs(client, "eldoret") == []


def test_search_within_an_author_and_an_entity(client: TestClient) -> None:
    author = make_author(client, name="Achieng Odhiambo")
    haiti = make_entity(client, name="Haiti", type="place")
    make_article(client, slug="hers", headline="Haiti mission", authors=[author["slug"]])
    make_article(client, slug="tagged", headline="Haiti police", entities=[haiti["slug"]])
    make_article(client, slug="other", headline="Haiti elsewhere")
    got = client.get(f"/v1/authors/{author['slug']}/articles", params={"q": "haiti"}).json()
    assert [item["slug"] for item in got["data"]] == ["hers"]
    assert "<mark>" in got["data"][0]["snippet"]
    got = client.get(f"/v1/entities/{haiti['slug']}/articles", params={"q": "haiti"}).json()
    assert [item["slug"] for item in got["data"]] == ["tagged"]
    assert slugs(client, "haiti", entity="haiti") == ["tagged"]


def test_words_are_stemmed_in_the_article_language_on_postgresql(
    client: TestClient, db: Backend
) -> None:
    """PostgreSQL stems each article in its own language (and folds its accents first);
    SQLite's porter tokenizer stems English only, whatever the article's language."""
    make_article(
        client,
        slug="elections-francaises",
        language="fr",
        headline="Les élections législatives",
        body="Les électeurs votaient dimanche.",
    )
    make_article(client, slug="english-vote", headline="Voters queued", body="Counting went on.")
    assert slugs(client, "elections") == ["elections-francaises"]
    assert slugs(client, "counted") == ["english-vote"]
    if db.name == "postgresql":
        assert slugs(client, "électeur") == ["elections-francaises"]
        assert slugs(client, "election") == ["elections-francaises"]
