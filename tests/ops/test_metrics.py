"""GET /metrics: Prometheus text, labelled by route template, with a fixed label for
paths that match no route."""

import uuid

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import make_article


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def requests_total(samples: dict, method: str, route: str, status: str) -> float:
    labels = (("method", method), ("route", route), ("status", status))
    return samples.get(("http_requests_total", labels), 0.0)


def counted(before: dict, after: dict, method: str, route: str, status: str) -> float:
    """Requests counted between two scrapes."""
    return requests_total(after, method, route, status) - requests_total(
        before, method, route, status
    )


def test_requests_are_counted_by_route_template(client: TestClient) -> None:
    article = make_article(client, headline="Ruto calls Trump")
    before = scrape(client)
    assert client.get(f"/v1/articles/{article['slug']}").status_code == 200
    assert client.get(f"/v1/articles/{article['id']}").status_code == 200
    assert client.get("/v1/articles/no-such-story").status_code == 404
    after = scrape(client)

    route = "/v1/articles/{ref}"
    assert counted(before, after, "GET", route, "200") == 2
    assert counted(before, after, "GET", route, "404") == 1
    # No series carries the slug or id that was asked for.
    assert not any(
        article["slug"] in value or article["id"] in value
        for _, labels in after
        for _, value in labels
    )


def test_request_durations_are_a_histogram(client: TestClient) -> None:
    labels = (("method", "GET"), ("route", "/healthz"))
    before = scrape(client).get(("http_request_duration_seconds_count", labels), 0.0)
    for _ in range(3):
        client.get("/healthz")
    after = scrape(client)
    assert after[("http_request_duration_seconds_count", labels)] - before == 3
    bucket = ("http_request_duration_seconds_bucket", (("le", "+Inf"), *labels))
    assert after[bucket] == after[("http_request_duration_seconds_count", labels)]
    assert after[("http_request_duration_seconds_sum", labels)] > 0


def test_unknown_paths_share_one_label(client: TestClient) -> None:
    before = scrape(client)
    paths = [f"/no-such-page-{uuid.uuid4().hex}" for _ in range(3)]
    for path in paths:
        assert client.get(path).status_code == 404
    after = scrape(client)
    assert counted(before, after, "GET", "unmatched", "404") == 3
    label_values = {value for _, labels in after for _, value in labels}
    assert not label_values & set(paths)
    assert routes(after) - routes(before) <= {"unmatched"}


def routes(samples: dict) -> set[str]:
    return {value for _, labels in samples for name, value in labels if name == "route"}


def test_unusual_methods_share_one_label(client: TestClient) -> None:
    client.request("BREW", "/healthz")
    after = scrape(client)
    assert requests_total(after, "other", "/healthz", "405") >= 1
    assert not any(value == "BREW" for _, labels in after for _, value in labels)
