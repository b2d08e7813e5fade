"""Requests share reads of the content clock, but never one that began before they came."""

import asyncio

from app.freshness.tail import ClockReading, SharedReads


class SlowCounter:
    """A clock whose reading is the number of writes so far, taking a while to answer."""

    def __init__(self) -> None:
        self.writes = 0
        self.reads = 0

    async def read(self) -> ClockReading:
        self.reads += 1
        seen = self.writes
        await asyncio.sleep(0.01)
        return ClockReading(seen, str(seen))

    def current(self, kept_at: int, keys: tuple[str, ...]) -> bool:
        return kept_at >= self.writes

    async def close(self) -> None:
        return None


def test_a_request_never_gets_a_reading_older_than_itself() -> None:
    async def scenario() -> tuple[list[tuple[int, int]], int]:
        counter = SlowCounter()
        shared = SharedReads(counter)
        results: list[tuple[int, int]] = []

        async def request() -> None:
            writes_when_asked = counter.writes
            state = (await shared.read()).generation
            results.append((writes_when_asked, state))

        tasks = []
        for _ in range(30):
            tasks.append(asyncio.ensure_future(request()))
            await asyncio.sleep(0.002)
            counter.writes += 1  # a write acknowledged after this request arrived
        await asyncio.gather(*tasks)
        await shared.close()
        return results, counter.reads

    results, reads = asyncio.run(scenario())
    assert len(results) == 30
    assert all(state >= writes_when_asked for writes_when_asked, state in results)
    assert reads < 30  # requests that arrived together shared a read
