"""How long other requests wait while one request does heavy text work.

A real ``newsdesk serve`` (one worker, SQLite in a temporary folder) answers a steady
stream of ``GET /healthz`` while, one after another, it is sent: the largest body a write
accepts in its most expensive form (emphasis everywhere), the largest text extraction
accepts, and the nested-quote body that once took seconds. The figures are the latency
of the health checks while each heavy request runs (median and worst) and how long the
heavy request itself took with its status. Work done on the event loop shows up as a
worst-case health-check latency about as long as the heavy request; work done in a thread
leaves it near the median.

    python -m bench.event_loop [--rounds 3]
"""

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from app.schema import upgrade
from bench.server import Server, free_port

ADMIN_KEY = "nd_bench_event_loop_admin_key_0123456789abcdef"
HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}


def heavy_requests(client: httpx.Client) -> dict[str, Callable[[], httpx.Response]]:
    body = "*a* **b** " * 50_000  # 500,000 characters, every word emphasised
    text = "Kenya " * 16_666  # about 100,000 characters, a match every 6
    nested = ">" * 20_000 + " x"
    return {
        "write: 500,000-character body": lambda: client.post(
            "/v1/articles", json={"headline": "Heavy", "body": body}, headers=HEADERS
        ),
        "extract: 100,000-character text": lambda: client.post(
            "/v1/entities/extract", json={"text": text}, headers=HEADERS
        ),
        "write: 20,000 nested quotes": lambda: client.post(
            "/v1/articles", json={"headline": "Nested", "body": nested}, headers=HEADERS
        ),
    }


def measure(base_url: str, request: Callable[[], httpx.Response]) -> tuple[list[float], float, int]:
    """Health-check latencies (ms) while ``request`` runs, its own time (ms), its status."""
    latencies: list[float] = []
    done = threading.Event()

    def ping() -> None:
        with httpx.Client(base_url=base_url, timeout=60) as pinger:
            while not done.is_set():
                started = time.perf_counter()
                pinger.get("/healthz")
                latencies.append((time.perf_counter() - started) * 1000)
                time.sleep(0.005)

    pinger = threading.Thread(target=ping)
    pinger.start()
    time.sleep(0.1)
    started = time.perf_counter()
    response = request()
    took = (time.perf_counter() - started) * 1000
    done.set()
    pinger.join()
    return latencies, took, response.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'event-loop.db'}"
        upgrade(url)
        server = Server(
            url,
            workers=1,
            port=free_port(range(18400, 18450)),
            log_path=Path(folder) / "server.log",
            log_level="warning",
        )
        os.environ["NEWSDESK_ADMIN_KEY"] = ADMIN_KEY  # the server's environment is ours
        server.start()
        try:
            with httpx.Client(base_url=server.base_url, timeout=120) as client:
                client.post(
                    "/v1/entities", json={"name": "Kenya", "type": "place"}, headers=HEADERS
                )
                print(
                    f"{'heavy request':34} {'status':>6} {'took ms':>8} {'ping p50':>9} "
                    f"{'ping max':>9}"
                )
                for name, request in heavy_requests(client).items():
                    for _ in range(arguments.rounds):
                        latencies, took, status = measure(server.base_url, request)
                        print(
                            f"{name:34} {status:>6} {took:>8.0f} "
                            f"{statistics.median(latencies):>9.1f} {max(latencies):>9.1f}"
                        )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
