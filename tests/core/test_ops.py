"""Health, readiness and the OpenAPI document."""

from fastapi.testclient import TestClient

from app.schema import head_revision


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_the_revision(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "revision": head_revision()}


def test_openapi_has_stable_operation_ids_and_summaries(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operations = {
        operation["operationId"]: operation
        for path in document["paths"].values()
        for operation in path.values()
    }
    for expected in ["listArticles", "getArticle", "createArticle", "updateArticle",
                     "deleteArticle", "listAuthors", "getAuthor", "listEntities",
                     "getEntity", "createKey", "listKeys", "revokeKey"]:  # fmt: skip
        assert expected in operations
    assert all(operation.get("summary") for operation in operations.values())
    assert "Problem" in document["components"]["schemas"]
