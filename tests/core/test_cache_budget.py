"""The response cache keeps within its byte budget (NEWSDESK_RESPONSE_CACHE_BYTES): the
least recently used answers go first, and an answer too big to be worth keeping is never
kept, so a read of it always reaches the database."""

import gc
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.freshness.store import ResponseCache
from app.main import create_app
from tests.conftest import Backend, StatementLog, record_statements
from tests.factories import make_article

BUDGET = 64 * 1024
# About 5 KiB an answer (the body comes back as Markdown, HTML and text): sixteen of
# them do not fit in the budget, and one is well under the 1/8 a single entry may take.
BODY = "Kenya's president spoke with the president-elect about trade and Haiti. " * 22


class Counted:
    def __init__(self, client: TestClient, log: StatementLog, cache: ResponseCache) -> None:
        self.client = client
        self.log = log
        self.cache = cache

    def statements_of_get(self, url: str) -> int:
        with self.log.counting() as statements:
            response = self.client.get(url)
        assert response.status_code == 200, response.text
        assert self.cache.store.used <= BUDGET
        return len(statements)


def _response_cache(app: Any) -> ResponseCache:
    layer = app.middleware_stack
    while not isinstance(layer, ResponseCache):
        layer = layer.app
    return layer


@pytest.fixture
def small_cache(db: Backend) -> Iterator[Counted]:
    # No webhook sender: its statements would count as the requests'.
    settings = Settings(database_url=db.url, response_cache_bytes=BUDGET, webhook_sender=False)
    app = create_app(settings)
    log = StatementLog()
    with TestClient(app) as client:
        record_statements(app, log)
        yield Counted(client, log, _response_cache(app))


def test_the_least_recently_used_answers_leave_first(db: Backend, small_cache: Counted) -> None:
    urls = [
        f"/v1/articles/{make_article(db.client, headline=f'Story {n}', body=BODY)['slug']}"
        for n in range(16)
    ]
    for url in urls:
        assert small_cache.statements_of_get(url) > 1  # made by the app, then kept
    # The newest answer is still kept: one statement, the cache's own check.
    assert small_cache.statements_of_get(urls[-1]) == 1
    # The oldest went to make room: the app makes it again.
    assert small_cache.statements_of_get(urls[0]) > 1
    assert small_cache.statements_of_get(urls[0]) == 1
    assert 0 < small_cache.cache.store.used <= BUDGET
    assert len(small_cache.cache.store.items) < len(urls)


def test_reading_an_answer_keeps_it_longer(db: Backend, small_cache: Counted) -> None:
    urls = [
        f"/v1/articles/{make_article(db.client, headline=f'Story {n}', body=BODY)['slug']}"
        for n in range(16)
    ]
    for url in urls[:8]:
        small_cache.statements_of_get(url)
    assert small_cache.statements_of_get(urls[0]) == 1  # read again: now the most recent
    for url in urls[8:]:
        small_cache.statements_of_get(url)
    assert small_cache.statements_of_get(urls[0]) == 1
    assert small_cache.statements_of_get(urls[1]) > 1


def test_an_answer_bigger_than_an_eighth_of_the_budget_is_never_kept(
    db: Backend, small_cache: Counted
) -> None:
    big = make_article(db.client, headline="Long read", body=BODY * 3)
    url = f"/v1/articles/{big['slug']}"
    assert small_cache.statements_of_get(url) > 1
    assert small_cache.statements_of_get(url) > 1
    assert small_cache.cache.store.used == 0


def test_the_budget_is_the_memory_the_answers_hold(db: Backend) -> None:
    """What the store counts against its budget is what the kept answers hold in memory
    (within a margin for the entries' bookkeeping), so the setting bounds a worker."""
    settings = Settings(
        database_url=db.url, response_cache_bytes=4 * 1024 * 1024, webhook_sender=False
    )
    urls = [
        f"/v1/articles/{make_article(db.client, headline=f'Kept {n}', body=BODY)['slug']}"
        for n in range(100)
    ]
    with TestClient(create_app(settings)) as client:
        store = _response_cache(client.app).store
        for url in urls[:20]:  # warms what every first request fills (pools, statements)
            assert client.get(url).status_code == 200
        gc.collect()
        tracemalloc.start()
        try:
            used_before = store.used
            for url in urls[20:]:
                assert client.get(url).status_code == 200
            gc.collect()
            held, _peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        counted = store.used - used_before
        assert len(store.items) == len(urls)
        # Twice the count leaves room for what else the requests keep (statement caches,
        # the driver's buffers); with orjson's grown buffers kept, this held almost three times.
        assert held < 2 * counted, (held, counted)
