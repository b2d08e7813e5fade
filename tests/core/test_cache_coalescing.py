"""Readers that miss the response cache together for the same URL share one answer."""

import asyncio
from types import SimpleNamespace
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from app.freshness.store import ResponseCache
from app.freshness.tail import ClockReading


class FixedClock:
    """A clock at a generation the test moves by hand; any move makes everything stale."""

    def __init__(self) -> None:
        self.generation = 1

    async def read(self) -> ClockReading:
        return ClockReading(self.generation, str(self.generation))

    def current(self, kept_at: int, keys: tuple[str, ...]) -> bool:
        return kept_at >= self.generation

    async def close(self) -> None:
        return None


class SlowApp:
    """Answers after a pause, counting how many times it had to make an answer."""

    def __init__(self, status: int = 200) -> None:
        self.calls = 0
        self.status = status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        number = self.calls
        await asyncio.sleep(0.05)
        body = f"answer {number}".encode()
        headers = [(b"content-type", b"text/plain"), (b"etag", f'"{number}"'.encode())]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _scope(clock: FixedClock, path: str, headers: list[tuple[bytes, bytes]]) -> Scope:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": headers,
        "app": SimpleNamespace(state=SimpleNamespace(content_clock=clock)),
    }


async def _get(
    cache: ResponseCache, clock: FixedClock, path: str, headers: list[tuple[bytes, bytes]]
) -> tuple[int, bytes]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await cache(_scope(clock, path, headers), receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


def _run(cache: ResponseCache, clock: FixedClock, requests: list[Any]) -> list[tuple[int, bytes]]:
    async def all_at_once() -> list[tuple[int, bytes]]:
        return list(await asyncio.gather(*(_get(cache, clock, *r) for r in requests)))

    return asyncio.run(all_at_once())


def test_concurrent_misses_for_one_url_make_one_answer() -> None:
    app, clock = SlowApp(), FixedClock()
    cache = ResponseCache(app, max_bytes=1 << 20)
    answers = _run(cache, clock, [("/v1/articles", [])] * 20)
    assert app.calls == 1
    assert answers == [(200, b"answer 1")] * 20


def test_waiting_readers_keep_their_own_conditions() -> None:
    app, clock = SlowApp(), FixedClock()
    cache = ResponseCache(app, max_bytes=1 << 20)
    plain = ("/v1/articles", [])
    conditional = ("/v1/articles", [(b"if-none-match", b'"1"')])
    answers = _run(cache, clock, [plain, conditional, plain])
    assert app.calls == 1
    assert answers == [(200, b"answer 1"), (304, b""), (200, b"answer 1")]


def test_different_urls_and_new_states_are_answered_afresh() -> None:
    app, clock = SlowApp(), FixedClock()
    cache = ResponseCache(app, max_bytes=1 << 20)
    _run(cache, clock, [("/v1/articles", []), ("/v1/authors", [])])
    assert app.calls == 2
    clock.generation = 2  # a write
    assert _run(cache, clock, [("/v1/articles", [])] * 5) == [(200, b"answer 3")] * 5
    assert app.calls == 3


def test_answers_not_kept_are_not_shared() -> None:
    app, clock = SlowApp(status=503), FixedClock()
    cache = ResponseCache(app, max_bytes=1 << 20)
    answers = _run(cache, clock, [("/v1/articles", [])] * 3)
    assert app.calls == 3
    assert sorted(answers) == [(503, b"answer 1"), (503, b"answer 2"), (503, b"answer 3")]
