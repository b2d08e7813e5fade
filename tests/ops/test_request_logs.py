"""One JSON access line per request, with the request id every response carries."""

import json
import logging
import sys

import pytest
from fastapi.testclient import TestClient

from app.logs import JSONFormatter, logging_config, request_id_var


def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "newsdesk.access"]


def test_every_response_has_a_request_id(client: TestClient) -> None:
    generated = client.get("/v1/articles")
    assert len(generated.headers["x-request-id"]) == 32
    other = client.get("/v1/articles")
    assert other.headers["x-request-id"] != generated.headers["x-request-id"]
    echoed = client.get("/v1/articles/nope", headers={"X-Request-ID": "edge-4f2a.17"})
    assert echoed.status_code == 404
    assert echoed.headers["x-request-id"] == "edge-4f2a.17"
    # Something that could forge log lines or headers is replaced, not echoed.
    forged = client.get("/healthz", headers={"X-Request-ID": "a b\tc" + "x" * 200})
    assert forged.headers["x-request-id"] not in {"a b\tc" + "x" * 200}
    assert len(forged.headers["x-request-id"]) == 32


def test_one_access_line_per_request(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="newsdesk.access"):
        client.get("/v1/articles/ruto-calls-trump", headers={"X-Request-ID": "req-1"})
        client.get("/v1/articles", headers={"X-Request-ID": "req-2"})
    records = access_records(caplog)
    assert [vars(record)["request_id"] for record in records] == ["req-1", "req-2"]
    first = records[0]
    fields = vars(first)
    assert fields["method"] == "GET"
    assert fields["route"] == "/v1/articles/{ref}"
    assert fields["path"] == "/v1/articles/ruto-calls-trump"
    assert fields["status"] == 404
    assert fields["duration_ms"] >= 0

    line = json.loads(JSONFormatter().format(first))
    assert line["level"] == "info"
    assert line["logger"] == "newsdesk.access"
    assert line["request_id"] == "req-1"
    assert line["route"] == "/v1/articles/{ref}"
    assert line["status"] == 404
    assert isinstance(line["duration_ms"], float)
    assert line["time"].endswith("+00:00")


def test_no_access_lines_above_info(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="newsdesk.access"):
        client.get("/healthz")
    assert access_records(caplog) == []


def test_json_lines_carry_the_request_id_and_the_traceback() -> None:
    formatter = JSONFormatter()
    token = request_id_var.set("req-9")
    try:
        try:
            raise ValueError("broken")
        except ValueError:
            record = logging.getLogger("newsdesk.errors").makeRecord(
                "newsdesk.errors",
                logging.ERROR,
                __file__,
                1,
                "unhandled error on %s",
                ("GET /v1/articles",),
                sys.exc_info(),
            )
        line = formatter.format(record)
    finally:
        request_id_var.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "unhandled error on GET /v1/articles"
    assert entry["level"] == "error"
    assert entry["request_id"] == "req-9"
    assert "ValueError: broken" in entry["exception"]


def test_logging_config_sets_the_level_everywhere() -> None:
    config = logging_config("warning")
    assert config["root"]["level"] == "WARNING"
    assert config["loggers"]["newsdesk"]["level"] == "WARNING"
    assert config["loggers"]["uvicorn"]["level"] == "WARNING"
