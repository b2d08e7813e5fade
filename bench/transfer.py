"""Import and export speed: N generated stories into an empty database, then out again.

    .venv/bin/python bench/transfer.py [--count 5000] [--database-url postgresql://...]

Without --database-url it uses a new SQLite file. The database named by the URL must be
empty or hold only earlier runs of this script (their slugs are reused, so a second run
measures the "unchanged" path). Prints figures; asserts nothing.
"""

import argparse
import asyncio
import io
import tempfile
import time
from pathlib import Path

import orjson

from app.articles.transfer import export_lines, import_lines
from app.db import create_engine, make_sessionmaker, make_write_sessionmaker
from app.demo.load import load_demo
from app.instance import load_instance_secret
from app.schema import upgrade

AUTHORS = ["capital-news-reporter", "achieng-odhiambo", "brian-mutua"]
ENTITIES = ["kenya", "haiti", "united-states", "william-ruto", "donald-trump", "sudan"]
PARAGRAPH = (
    "Kenya's president spoke with the president-elect about trade, security and the "
    "Haiti mission, officials said on **Friday**, adding that talks would continue.\n\n"
)


def story(number: int) -> bytes:
    return orjson.dumps(
        {
            "slug": f"bench-story-{number:07d}",
            "headline": f"Bench story {number}: Kenya and the US discuss trade",
            "standfirst": "A generated story for measuring import speed.",
            "body": PARAGRAPH * (3 + number % 5),
            "dateline": "NAIROBI, Kenya",
            "section": "politics",
            "status": "published",
            "published_at": f"2024-11-{1 + number % 28:02d}T{number % 24:02d}:00:00Z",
            "authors": [AUTHORS[number % 3]],
            "entities": [ENTITIES[number % 6], ENTITIES[(number + 1) % 6]],
        },
        option=orjson.OPT_APPEND_NEWLINE,
    )


async def main(count: int, url: str) -> None:
    engine = create_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            await load_instance_secret(session)  # as the app and the CLI do on start-up
        await load_demo(make_write_sessionmaker(engine))  # the authors and entities
        lines = [(number, story(number)) for number in range(1, count + 1)]

        started = time.perf_counter()
        report = await import_lines(make_write_sessionmaker(engine), lines)
        seconds = time.perf_counter() - started
        print(
            f"import: {count} lines in {seconds:.2f} s = {count / seconds:,.0f} lines/s "
            f"({report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {len(report.errors)} failed)"
        )

        out = io.BytesIO()
        started = time.perf_counter()
        async with make_sessionmaker(engine)() as session:
            async for batch in export_lines(session):
                out.writelines(batch)
        seconds = time.perf_counter() - started
        exported = out.getvalue().count(b"\n")
        print(f"export: {exported} articles in {seconds:.2f} s = {exported / seconds:,.0f}/s")
    finally:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--database-url")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = arguments.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        asyncio.run(main(arguments.count, url))
