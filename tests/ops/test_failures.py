"""A failure nobody planned for still answers as a problem, counted and logged, with the
request id the client can quote."""

import logging

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import Backend
from tests.ops.test_metrics import scrape


def test_an_unexpected_error_is_a_500_problem_with_a_request_id(
    db: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(database_url=db.url))

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        before = scrape(client)
        with caplog.at_level(logging.INFO, logger="newsdesk"):
            response = client.get("/broken", headers={"X-Request-ID": "bug-report-1"})
        after = scrape(client)

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "bug-report-1"
    assert "a bug" not in response.text
    assert "Traceback" not in response.text
    labels = (("method", "GET"), ("route", "/broken"), ("status", "500"))
    assert (
        after[("http_requests_total", labels)] - before.get(("http_requests_total", labels), 0) == 1
    )
    access = [record for record in caplog.records if record.name == "newsdesk.access"]
    assert [(vars(r)["request_id"], vars(r)["status"]) for r in access] == [("bug-report-1", 500)]
    assert any(record.exc_info for record in caplog.records if record.name == "newsdesk.errors")


def test_docs_pages_may_load_nothing_from_elsewhere(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        response = client.get(path)
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert policy.startswith("default-src 'self'; ")
        assert "https:" not in policy
        assert "*" not in policy
        assert "/static/" in response.text
        assert "cdn." not in response.text
    swagger = client.get("/docs")
    assert "'sha256-" in swagger.headers["content-security-policy"]  # its set-up script
    assert '"validatorUrl": null' in swagger.text
