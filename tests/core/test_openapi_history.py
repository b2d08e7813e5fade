"""The OpenAPI document describes the conditional headers and the history operations."""

from typing import Any

from fastapi.testclient import TestClient


def _operations(client: TestClient) -> dict[str, tuple[str, str, dict[str, Any]]]:
    spec = client.get("/openapi.json").json()
    return {
        operation["operationId"]: (method, path, operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    }


def _headers(operation: dict[str, Any]) -> set[str]:
    return {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"}


def test_history_operations_are_described(client: TestClient) -> None:
    operations = _operations(client)
    expected = {
        "listArticleRevisions": ("get", "/v1/articles/{ref}/revisions"),
        "getArticleRevision": ("get", "/v1/articles/{ref}/revisions/{version}"),
        "restoreArticleRevision": ("post", "/v1/articles/{ref}/revisions/{version}/restore"),
        "restoreArticle": ("post", "/v1/articles/{ref}/restore"),
        "mergeEntity": ("post", "/v1/entities/{ref}/merge"),
    }
    for operation_id, (method, path) in expected.items():
        assert operation_id in operations, operation_id
        found_method, found_path, operation = operations[operation_id]
        assert (found_method, found_path) == (method, path)
        assert operation["summary"]
        assert len(operation["description"]) > 40
        for code in ("401", "404"):
            problem = operation["responses"][code]["content"]["application/problem+json"]
            assert problem["schema"]["$ref"] == "#/components/schemas/Problem"
    assert "412" in operations["restoreArticleRevision"][2]["responses"]
    merge_body = operations["mergeEntity"][2]["requestBody"]["content"]["application/json"]
    assert merge_body["schema"]["$ref"].endswith("/MergeRequest")


def test_conditional_headers_are_declared(client: TestClient) -> None:
    operations = _operations(client)
    for operation_id in ("getArticle", "getAuthor", "getEntity", "listArticles", "listEntities"):
        operation = operations[operation_id][2]
        assert "if-none-match" in _headers(operation), operation_id
        assert "304" in operation["responses"], operation_id
        assert "ETag" in operation["responses"]["200"]["headers"], operation_id
    assert "if-modified-since" in _headers(operations["getArticle"][2])
    assert "Last-Modified" in operations["getArticle"][2]["responses"]["200"]["headers"]
    for operation_id in (
        "updateArticle",
        "deleteArticle",
        "updateAuthor",
        "deleteAuthor",
        "updateEntity",
        "deleteEntity",
        "restoreArticleRevision",
    ):
        operation = operations[operation_id][2]
        assert "if-match" in _headers(operation), operation_id
        assert operation["responses"]["412"]["description"], operation_id
    article_schema = operations["getArticle"][2]["responses"]["200"]["content"]["application/json"]
    assert article_schema["schema"]["$ref"].endswith("/ArticlePublic")
