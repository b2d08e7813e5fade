"""`newsdesk serve` as it runs in production: JSON logs on standard output, workers from
NEWSDESK_WORKERS, and metrics that count the requests of every worker in one scrape."""

import json
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import Server, running_server


def healthz_count(metrics_text: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "http_requests_total" and sample.labels == {
                "method": "GET",
                "route": "/healthz",
                "status": "200",
            }:
                return sample.value
    return 0.0


def json_lines(server: Server) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.log_lines() if line.strip()]


def wait_for_workers(server: Server, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        started = [
            line
            for line in json_lines(server)
            if line["message"].startswith("Application startup complete")
        ]
        if len(started) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"{count} workers did not start:\n" + "\n".join(server.log_lines()))


def test_several_workers_share_their_metrics(tmp_path: Path) -> None:
    with running_server(tmp_path, extra_env={"NEWSDESK_WORKERS": "2"}) as server:
        wait_for_workers(server, 2)
        started = {
            line["message"]
            for line in json_lines(server)
            if line["message"].startswith("Started server process")
        }
        assert len(started) == 2
        baseline = healthz_count(httpx.get(f"{server.url}/metrics").text)
        for _ in range(40):  # a new connection each time, so both workers answer some
            assert httpx.get(f"{server.url}/healthz").status_code == 200
        for _ in range(4):
            scraped = healthz_count(httpx.get(f"{server.url}/metrics").text)
            assert scraped - baseline == 40


def test_logs_are_json_lines_with_one_line_per_request(tmp_path: Path) -> None:
    with running_server(tmp_path, args=("--workers", "1")) as server:
        answer = httpx.get(
            f"{server.url}/v1/articles/ruto-congratulates-trump-in-phone-call",
            headers={"X-Request-ID": "trace-77"},
        )
        assert answer.status_code == 200
        assert answer.headers["x-request-id"] == "trace-77"
        httpx.get(f"{server.url}/no/such/page")
    lines = json_lines(server)  # every line parses as JSON
    access = [line for line in lines if line["logger"] == "newsdesk.access"]
    story = next(line for line in access if line.get("request_id") == "trace-77")
    assert story["method"] == "GET"
    assert story["route"] == "/v1/articles/{ref}"
    assert story["status"] == 200
    assert story["duration_ms"] >= 0
    missing = next(line for line in access if line["path"] == "/no/such/page")
    assert (missing["route"], missing["status"]) == ("unmatched", 404)
    assert not any(line["logger"] == "uvicorn.access" for line in lines)
    assert not any("\x1b[" in json.dumps(line) for line in lines)


def test_log_level_warning_leaves_out_request_lines(tmp_path: Path) -> None:
    with running_server(tmp_path, extra_env={"NEWSDESK_LOG_LEVEL": "warning"}) as server:
        httpx.get(f"{server.url}/v1/articles")
    assert not any(line["logger"] == "newsdesk.access" for line in json_lines(server))
