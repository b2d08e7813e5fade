"""What a client generator relies on in the OpenAPI document: stable, unique operation ids,
text on every operation and tag, errors as problem documents, who may call what, and
examples that are true to the API."""

import re
from typing import Any

import pytest

from app.articles.models import ArticleCreate, ArticlePublic, RelatedArticle
from app.articles.render import render_body
from app.config import Settings
from app.main import create_app
from app.problems import Problem

PROBLEM_REF = "#/components/schemas/Problem"
PROBES = {"/healthz", "/readyz", "/metrics"}

Operation = tuple[str, str, dict[str, Any]]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    # The document needs no database: the app is built, never started.
    return create_app(Settings(database_url="sqlite:///never-opened.db")).openapi()


def _operations(document: dict[str, Any]) -> list[Operation]:
    return [
        (method, path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def _by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {operation["operationId"]: operation for _, _, operation in _operations(document)}


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_every_operation_has_a_unique_stable_id_summary_and_description(
    document: dict[str, Any],
) -> None:
    operations = _operations(document)
    assert len(operations) >= 35
    ids = [operation.get("operationId") for _, _, operation in operations]
    assert all(ids), "an operation has no operationId"
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for method, path, operation in operations:
        where = f"{method.upper()} {path}"
        # lowerCamelCase ids name the generated methods: listArticles, getArticle, …
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)+", operation["operationId"]), where
        assert operation.get("summary", "").strip(), where
        assert len(operation.get("description", "").strip()) >= 20, where
    by_id = _by_id(document)
    for operation_id, (method, path) in {
        "listArticles": ("get", "/v1/articles"),
        "createArticle": ("post", "/v1/articles"),
        "getArticle": ("get", "/v1/articles/{ref}"),
        "updateArticle": ("patch", "/v1/articles/{ref}"),
        "deleteArticle": ("delete", "/v1/articles/{ref}"),
        "listAuthors": ("get", "/v1/authors"),
        "getEntity": ("get", "/v1/entities/{ref}"),
        "createKey": ("post", "/v1/keys"),
        "getHealth": ("get", "/healthz"),
    }.items():
        assert document["paths"][path][method] is by_id[operation_id]


def test_every_error_response_is_a_problem_document(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        where = f"{method.upper()} {path}"
        errors = {code: response for code, response in operation["responses"].items()}
        errors = {code: response for code, response in errors.items() if code[0] in "45"}
        if path not in PROBES:
            assert any(code.startswith("4") for code in errors), f"{where} declares no 4XX"
        for code, response in errors.items():
            assert response["description"].strip(), f"{where} {code}"
            assert response["content"] == {
                "application/problem+json": {"schema": {"$ref": PROBLEM_REF}}
            }, f"{where} {code}"
    schemas = document["components"]["schemas"]
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail"}
    assert "HTTPValidationError" not in schemas
    for example in schemas["Problem"]["examples"]:
        Problem.model_validate(example)


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    refs = set(_refs(document["paths"])) | set(_refs(document["components"]))
    assert PROBLEM_REF in refs
    for ref in refs:
        _resolve(document, ref)


def test_tags_are_declared_and_described(document: dict[str, Any]) -> None:
    declared = {tag["name"]: tag.get("description", "") for tag in document["tags"]}
    assert all(description.strip() for description in declared.values())
    used = set()
    for method, path, operation in _operations(document):
        assert operation.get("tags"), f"{method.upper()} {path} has no tag"
        used.update(operation["tags"])
    assert used == set(declared)


def test_access_is_declared_per_operation(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == schemes["bearerAuth"] | {"type": "http", "scheme": "bearer"}
    key_required = [{"bearerAuth": []}]
    key_optional = [{}, {"bearerAuth": []}]
    by_id = _by_id(document)
    for operation_id in ("listArticles", "getArticle", "listEntities", "getArticleNinjs"):
        assert by_id[operation_id]["security"] == key_optional, operation_id
        assert "x-required-role" not in by_id[operation_id]
    for operation_id in ("createArticle", "updateArticle", "mergeEntity", "listArticleRevisions"):
        assert by_id[operation_id]["security"] == key_required, operation_id
        assert by_id[operation_id]["x-required-role"] == "editor", operation_id
        assert "401" in by_id[operation_id]["responses"], operation_id
    for operation_id in ("createKey", "listKeys", "revokeKey"):
        assert by_id[operation_id]["security"] == key_required, operation_id
        assert by_id[operation_id]["x-required-role"] == "admin", operation_id
        assert "403" in by_id[operation_id]["responses"], operation_id
    assert by_id["getHealth"]["security"] == []
    for _, _, operation in _operations(document):
        assert "security" in operation


def test_article_examples_come_from_the_worked_example(document: dict[str, Any]) -> None:
    create = _by_id(document)["createArticle"]
    body_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    [request] = _resolve(document, body_ref)["examples"]
    created_ref = create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    [article] = _resolve(document, created_ref)["examples"]
    get_ref = _by_id(document)["getArticle"]["responses"]["200"]["content"]["application/json"]
    assert _resolve(document, get_ref["schema"]["$ref"])["examples"] == [article]

    assert request["headline"].startswith("Ruto Congratulates Trump in Phone Call")
    assert request["dateline"] == "NAIROBI, Kenya"
    assert request["source"] == "Capital News"
    # Both are what the API accepts and answers, and the answer is what the request becomes.
    ArticleCreate.model_validate(request)
    ArticlePublic.model_validate(article)
    rendered = render_body(request["body"])
    assert article["body_html"] == rendered.html
    assert article["body_text"] == rendered.text
    assert article["word_count"] == rendered.word_count
    assert article["reading_time_minutes"] == rendered.reading_time_minutes
    for key in ("headline", "standfirst", "body", "dateline", "section", "status", "image"):
        assert article[key] == request[key], key
    assert [author["slug"] for author in article["authors"]] == request["authors"]
    assert set(request["entities"]) <= {entity["slug"] for entity in article["entities"]}

    [related] = document["components"]["schemas"]["RelatedArticle"]["examples"]
    RelatedArticle.model_validate(related)
    assert "body" not in related
