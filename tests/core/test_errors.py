"""Every error is an RFC 9457 problem document, including the framework's own."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EDITOR

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
