"""Prometheus metrics of the HTTP server.

With one worker the numbers live in the process. With several, ``newsdesk serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder before the workers start; each worker then
writes its numbers to files there, and a scrape, whichever worker answers it, adds up the
files of all workers: one scrape shows the whole server.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The text format every Prometheus server reads.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# The route label of requests that matched no route: the raw path would let any client
# create as many time series as it likes.
UNMATCHED_ROUTE = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ("method", "route", "status"),
)
DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from receiving a request to the end of its response, by method and route template.",
    ("method", "route"),
)

CACHE_BYTES = Gauge(
    "newsdesk_response_cache_bytes",
    "Memory held by the response cache (keys, headers and bodies), summed over live workers.",
    multiprocess_mode="livesum",
)
CACHE_ENTRIES = Gauge(
    "newsdesk_response_cache_entries",
    "Responses kept by the response cache, summed over live workers.",
    multiprocess_mode="livesum",
)

# labels() takes a lock and builds a key on every call; the label sets are few and fixed.
_request_counters: dict[tuple[str, str, int], Counter] = {}
_duration_histograms: dict[tuple[str, str], Histogram] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    if method not in KNOWN_METHODS:
        method = "other"
    counter = _request_counters.get((method, route, status))
    if counter is None:
        counter = REQUESTS.labels(method, route, str(status))
        _request_counters[(method, route, status)] = counter
    counter.inc()
    histogram = _duration_histograms.get((method, route))
    if histogram is None:
        histogram = DURATION.labels(method, route)
        _duration_histograms[(method, route)] = histogram
    histogram.observe(seconds)


def render_metrics() -> bytes:
    """The Prometheus text exposition of every metric, summed over all workers."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)
