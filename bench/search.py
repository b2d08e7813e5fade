"""Search latency (p50, p99) of ``GET /v1/articles?q=...`` on a synthetic corpus.

Builds a corpus of made-up stories with bulk inserts (the triggers or the generated
column index them as they would any article), grows it to each size in turn, and times
anonymous search requests through the whole application in-process (routing, SQL,
snippets, JSON), with no network in between. It prints figures and asserts nothing.

    .venv/bin/python bench/search.py                                   # SQLite, 10k and 100k
    .venv/bin/python bench/search.py --database-url postgresql://postgres@127.0.0.1/nd_bench

The database named by --database-url is emptied first (PostgreSQL: its public schema is
dropped and made again), so point it at a scratch database.
"""

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.articles.models import articles_table
from app.config import Settings
from app.db import async_url, create_engine
from app.main import create_app
from app.schema import upgrade

VOCABULARY_SIZE = 30_000
BATCH = 2_000


def make_vocabulary(rng: random.Random) -> list[str]:
    consonants, vowels = "bdfghklmnprstvwz", "aeiou"
    words: set[str] = set()
    while len(words) < VOCABULARY_SIZE:
        syllables = rng.randint(1, 4)
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables)))
    return sorted(words, key=lambda word: (len(word), word))


class Corpus:
    """Words drawn with Zipf-like frequencies, like the words of real text."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = make_vocabulary(self.rng)
        weights = [1 / (rank + 1) ** 1.05 for rank in range(len(self.words))]
        total = sum(weights)
        self.cumulative = []
        running = 0.0
        for weight in weights:
            running += weight / total
            self.cumulative.append(running)

    def text(self, count: int) -> str:
        return " ".join(self.rng.choices(self.words, cum_weights=self.cumulative, k=count))

    def sentence_case(self, count: int) -> str:
        words = self.text(count)
        return words[:1].upper() + words[1:] + "."


def article_rows(corpus: Corpus, start: int, count: int, body_words: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    rows = []
    for number in range(start, start + count):
        body = " ".join(corpus.sentence_case(15) for _ in range(max(1, body_words // 15)))
        headline = corpus.sentence_case(8).rstrip(".").title()
        moment = now - timedelta(minutes=number)
        rows.append(
            {
                "id": uuid.uuid4(),
                "slug": f"story-{number}",
                "headline": headline,
                "standfirst": corpus.sentence_case(25),
                "body": body,
                "body_html": f"<p>{body}</p>",
                "body_text": body,
                "language": "en",
                "section": "world",
                "status": "published",
                "published_at": moment,
                "word_count": body_words,
                "reading_time_minutes": 1 + body_words // 200,
                "version": 1,
                "created_at": moment,
                "updated_at": moment,
            }
        )
    return rows


async def empty_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    engine = create_async_engine(async_url(url), poolclass=NullPool)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def grow(engine: AsyncEngine, corpus: Corpus, have: int, want: int, body_words: int) -> float:
    started = time.perf_counter()
    for start in range(have, want, BATCH):
        rows = article_rows(corpus, start, min(BATCH, want - start), body_words)
        async with engine.begin() as connection:
            await connection.execute(insert(articles_table), rows)
        print(f"\r  corpus: {start + len(rows):>7,} stories", end="", flush=True)
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text("ANALYZE article"))
        else:
            await connection.execute(text("ANALYZE"))
    print()
    return time.perf_counter() - started


def query_mix(corpus: Corpus, count: int) -> list[tuple[str, str]]:
    """Queries of each shape, words taken from the head, the middle and the tail of the
    frequency list (common words match a large share of the corpus)."""
    rng = random.Random(7)
    words = corpus.words
    common, middle, rare = words[5:60], words[200:3000], words[8000:25000]
    shapes = {
        "common word": lambda: rng.choice(common),
        "middling word": lambda: rng.choice(middle),
        "rare word": lambda: rng.choice(rare),
        "two words": lambda: f"{rng.choice(middle)} {rng.choice(middle)}",
        "phrase": lambda: f'"{rng.choice(common)} {rng.choice(common)}"',
        "or": lambda: f"{rng.choice(rare)} or {rng.choice(rare)}",
        "exclusion": lambda: f"{rng.choice(middle)} -{rng.choice(common)}",
    }
    names = list(shapes)
    return [(names[i % len(names)], shapes[names[i % len(names)]]()) for i in range(count)]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def time_queries(url: str, queries: list[tuple[str, str]]) -> dict[str, list[float]]:
    app = create_app(Settings(database_url=url))
    timings: dict[str, list[float]] = defaultdict(list)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for _kind, q in queries[:10]:  # warm caches and connections
                await client.get("/v1/articles", params={"q": q})
            for kind, q in queries:
                started = time.perf_counter()
                response = await client.get("/v1/articles", params={"q": q, "limit": 20})
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise SystemExit(f"{q!r}: {response.status_code} {response.text}")
                timings[kind].append(elapsed)
                timings["all"].append(elapsed)
    return timings


def report(size: int, timings: dict[str, list[float]]) -> None:
    print(f"  {'query':<14} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for kind in [*(name for name in timings if name != "all"), "all"]:
        values = timings[kind]
        print(
            f"  {kind:<14} {len(values):>4} {percentile(values, 0.5) * 1000:>8.1f} "
            f"{percentile(values, 0.99) * 1000:>8.1f} {statistics.fmean(values) * 1000:>8.1f}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp folder")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=350, help="timed requests per size")
    parser.add_argument("--body-words", type=int, default=150, help="words per story body")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="newsdesk-bench-")
    url = args.database_url or f"sqlite:///{folder}/bench.db"
    await empty_database(url)
    await asyncio.to_thread(upgrade, url)
    corpus = Corpus(args.seed)
    engine = create_engine(url, pool_size=2)
    backend = engine.dialect.name
    have = 0
    queries = query_mix(corpus, args.queries)
    print(f"search benchmark on {backend}; {args.body_words}-word bodies; ", end="")
    print(f"{args.queries} timed requests of {len({kind for kind, _ in queries})} shapes")
    for size in sorted(args.sizes):
        seconds = await grow(engine, corpus, have, size, args.body_words)
        print(f"  added {size - have:,} stories in {seconds:.1f}s")
        have = size
        print(f"{backend}, {size:,} stories:")
        report(size, await time_queries(url, queries))
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
