"""Every error is an RFC 9457 problem document, including the framework's own."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.config import Settings
from app.db import SessionDep
from app.main import create_app
from tests.conftest import EDITOR, Backend

PROBLEM = "application/problem+json"


def assert_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == PROBLEM  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    assert "Traceback" not in str(body)
    return body


def test_unknown_route_is_a_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/v1/nothing-here"), 404)
    assert "/v1/nothing-here" in str(body["detail"])


def test_wrong_method_is_a_problem_with_allow(client: TestClient) -> None:
    response = client.put("/v1/articles", json={})
    assert_problem(response, 405)
    assert "GET" in response.headers["allow"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/v1/articles", "GET, HEAD, POST"),
        ("PUT", "/v1/articles/some-story", "GET, HEAD, PATCH, DELETE"),
        ("POST", "/v1/authors/someone", "GET, HEAD, PATCH, DELETE"),
        ("DELETE", "/v1/entities", "GET, HEAD, POST"),
        ("PATCH", "/v1/keys", "GET, HEAD, POST"),
        # /v1/entities/{ref} matches this path too, but the resource here is the extractor.
        ("OPTIONS", "/v1/entities/extract", "POST"),
    ],
)
def test_allow_lists_every_method_of_the_path(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path, headers=EDITOR)
    assert_problem(response, 405)
    assert response.headers["allow"] == allow


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/articles", {"headline": "Ruto\u0000 calls Trump"}),
        ("/v1/articles", {"headline": "Ruto calls Trump",
                          "image": {"url": "https://example.com/a.jpg", "caption": "\u0000"}}),
        ("/v1/authors", {"name": "Achieng", "bio": "Nairobi\u0000"}),
        ("/v1/entities", {"name": "Kenya", "type": "place", "aliases": ["Kenyan\u0000"]}),
        ("/v1/entities", {"name": "Kenya", "type": "place",
                          "external_ids": {"wikidata": "Q114\u0000"}}),
    ],
)  # fmt: skip
def test_a_nul_character_in_a_body_is_422_and_stores_nothing(
    client: TestClient, path: str, body: dict[str, object]
) -> None:
    body = assert_problem(client.post(path, json=body, headers=EDITOR), 422)
    assert body["errors"][0]["type"] == "string_nul"  # type: ignore[index]
    assert client.get(path, headers=EDITOR).json()["data"] == []


@pytest.mark.parametrize(
    "url",
    [
        "/v1/articles/ruto%00",
        "/v1/authors/achieng%00",
        "/v1/entities/kenya%00/articles",
        "/v1/articles?section=politics%00",
        "/v1/articles?entity=kenya%00",
        "/v1/feeds/articles.atom?author=achieng%00",
    ],
)
def test_a_nul_character_in_the_url_is_422(client: TestClient, url: str) -> None:
    body = assert_problem(client.get(url, headers=EDITOR), 422)
    assert body["errors"][0]["type"] == "string_nul"  # type: ignore[index]


def test_a_single_value_parameter_given_twice_is_422(client: TestClient) -> None:
    body = assert_problem(client.get("/v1/articles?limit=2&limit=3"), 422)
    assert body["errors"][0]["loc"] == ["query", "limit"]  # type: ignore[index]
    assert_problem(client.get("/v1/feeds/articles.rss?section=politics&section=world"), 422)
    # List filters repeat by design: each repetition is one more condition.
    assert client.get("/v1/articles?entity=kenya&entity=haiti").status_code == 200


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/v1/articles",
        content=b'{"headline": "unterminated',
        headers=EDITOR | {"Content-Type": "application/json"},
    )
    assert_problem(response, 400)


def test_unknown_body_field_is_422_naming_it(client: TestClient) -> None:
    response = client.post("/v1/articles", json={"headline": "A", "colour": "red"}, headers=EDITOR)
    body = assert_problem(response, 422)
    errors = body["errors"]
    assert isinstance(errors, list)
    assert any(error["loc"][-1] == "colour" for error in errors)
    assert client.get("/v1/articles", headers=EDITOR).json()["data"] == []


def test_validation_errors_list_loc_msg_type(client: TestClient) -> None:
    body = assert_problem(client.post("/v1/articles", json={}, headers=EDITOR), 422)
    assert body["errors"] == [
        {"loc": ["body", "headline"], "msg": "Field required", "type": "missing"}
    ]


def test_body_that_is_not_json_is_415(client: TestClient) -> None:
    response = client.post(
        "/v1/articles",
        content=b"headline=A",
        headers=EDITOR | {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415)


def test_body_over_the_limit_is_413(client: TestClient) -> None:
    huge = "x" * (1_048_576 + 10)
    response = client.post("/v1/articles", json={"headline": "Big", "body": huge}, headers=EDITOR)
    assert_problem(response, 413)
    assert client.get("/v1/articles", headers=EDITOR).json()["data"] == []


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "limit=ten", "sort=colour", "fields=colour", "count=maybe"],
)
def test_bad_query_values_are_422(client: TestClient, query: str) -> None:
    assert_problem(client.get(f"/v1/articles?{query}"), 422)


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4IjogMX0", "W10", "%00%ff"])
def test_bad_cursor_is_400(client: TestClient, cursor: str) -> None:
    assert_problem(client.get(f"/v1/articles?cursor={cursor}"), 400)


def test_unknown_query_parameters_are_ignored(client: TestClient) -> None:
    assert client.get("/v1/articles?colour=red").status_code == 200


def test_bad_dates_in_filters_are_422(client: TestClient) -> None:
    body = assert_problem(client.get("/v1/articles?published_after=yesterday"), 422)
    assert body["errors"][0]["loc"] == ["query", "published_after"]  # type: ignore[index]


def test_a_statement_over_the_databases_limits_is_a_422_not_an_outage(db: Backend) -> None:
    """SQLite reports an expression too deep as OperationalError, the class of its
    outages; PostgreSQL runs out of stack. Either is the request's doing: a 422 problem,
    and the service stays ready."""
    app = create_app(Settings(database_url=db.url))
    terms = 1_100 if db.name == "sqlite" else 200_000

    @app.get("/too-deep")
    async def too_deep(session: SessionDep) -> None:
        await session.execute(text("SELECT " + "+".join(["1"] * terms)))

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/too-deep")
        body = assert_problem(response, 422)
        assert body["errors"] == [
            {"loc": ["request"], "msg": body["detail"], "type": "too_complex"}
        ]
        assert "SELECT" not in response.text
        assert "retry-after" not in response.headers
        assert client.get("/readyz").status_code == 200
