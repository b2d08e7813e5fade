"""The search, extraction, related, format and feed operations are documented."""

from fastapi.testclient import TestClient


def test_new_operations_are_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operations = {
        operation["operationId"]: (path, operation)
        for path, methods in spec["paths"].items()
        for operation in methods.values()
    }
    expected = {
        "extractEntities": "/v1/entities/extract",
        "listRelatedArticles": "/v1/articles/{ref}/related",
        "getArticleNinjs": "/v1/articles/{ref}/ninjs",
        "getArticleJsonLd": "/v1/articles/{ref}/jsonld",
        "getAtomFeed": "/v1/feeds/articles.atom",
        "getRssFeed": "/v1/feeds/articles.rss",
    }
    for operation_id, path in expected.items():
        found_path, operation = operations[operation_id]
        assert found_path == path
        assert operation["summary"]
        assert operation["description"]
        assert "503" in operation["responses"]
    content = operations["getArticleJsonLd"][1]["responses"]["200"]["content"]
    assert "application/ld+json" in content
    assert "application/atom+xml" in operations["getAtomFeed"][1]["responses"]["200"]["content"]
    for operation_id in ("listArticles", "listAuthorArticles", "listEntityArticles"):
        names = {parameter["name"] for parameter in operations[operation_id][1]["parameters"]}
        assert "q" in names
