"""How fast the service answers while its database is away, and how soon it serves again.

A PostgreSQL server of its own (``tests.servers.ThrowawayPostgres``, the outage drills'
helper) under a ``newsdesk serve`` on the demo data; each round stops the database at once
(``pg_ctl -m immediate``, as in a crash), times one request's ``503``, starts the database,
and times how long after ``pg_ctl start`` returns the first ``200`` comes. Then it times a
``SIGTERM`` of the idle server to its exit. Prints figures, asserts nothing beyond the
statuses (``tests/ops/test_drills.py`` holds the rules).

    python -m bench.outage --rounds 5
"""

import argparse
import signal
import tempfile
import time
from pathlib import Path

import httpx

from tests.servers import ThrowawayPostgres, migrated_and_seeded, postgres_bin, running_server

LIST = "/v1/articles?limit=5"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL server binaries (initdb, pg_ctl) here")
    database = ThrowawayPostgres(bin_dir)
    try:
        url = database.new_database("outage_bench")
        migrated_and_seeded(url)
        env = {"NEWSDESK_LOG_LEVEL": "warning"}
        with running_server(Path(tempfile.mkdtemp()), extra_env=env, database_url=url) as server:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for number in range(1, rounds + 1):
                    assert client.get(LIST).status_code == 200
                    database.stop()
                    started = time.perf_counter()
                    assert client.get(LIST).status_code == 503
                    answered = time.perf_counter() - started
                    database.start()
                    started, refused = time.perf_counter(), 0
                    while client.get(LIST).status_code != 200:
                        refused += 1
                    back = time.perf_counter() - started
                    print(
                        f"round {number}: a 503 in {answered * 1000:.0f} ms while down; "
                        f"serving {back:.2f} s after the database is back "
                        f"({refused} more 503s first)"
                    )
            started = time.perf_counter()
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(60)
            print(f"SIGTERM of the idle server to its exit: {time.perf_counter() - started:.2f} s")
    finally:
        database.close()


if __name__ == "__main__":
    main()
