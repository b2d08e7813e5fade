"""`newsdesk export` and `newsdesk import`: NDJSON in the POST /v1/articles shape plus
slug; upsert by slug; bad lines reported by number; byte-identical round trips."""

import json
import os
import pty
import re
import select
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, text
from sqlalchemy import select as sql_select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from app.articles.models import ArticleCreate, revisions_table
from app.articles.service import create_article
from app.articles.transfer import EXPORT_FIELDS, IMPORT_VIEWER, export_lines
from app.cli import cli
from app.config import get_settings
from app.db import make_sessionmaker, make_write_sessionmaker
from tests.conftest import EDITOR, Backend
from tests.factories import make_article, make_author, make_entity
from tests.servers import free_port, newsdesk_command


@pytest.fixture
def newsdesk(db: Backend, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The command line, pointed at the test database."""
    monkeypatch.setenv("NEWSDESK_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(cli, list(args), catch_exceptions=False)


def newsroom(client: TestClient) -> dict[str, dict[str, Any]]:
    """Authors, entities and articles in every state an export has to deal with."""
    achieng = make_author(client, name="Achieng Odhiambo")
    brian = make_author(client, name="Brian Mutua")
    for name, kind in (("Kenya", "place"), ("Haiti", "place"), ("William Ruto", "person")):
        make_entity(client, name=name, type=kind)
    made = {
        "call": make_article(
            client,
            headline="Ruto Congratulates Trump in Phone Call",
            standfirst="Kenya's president called the US president-elect.",
            body="President **William Ruto** spoke with Donald Trump.\n\n- trade\n- Haiti\n",
            dateline="NAIROBI, Kenya",
            section="politics",
            source="Capital News",
            canonical_url="https://example.com/2024/11/ruto-trump",
            image={"url": "https://example.com/state-house.jpg", "caption": "State House"},
            published_at="2024-11-08T18:30:00.250000+03:00",
            authors=[brian["slug"], achieng["slug"]],
            entities=["william-ruto", "kenya", "haiti"],
        ),
        "draft": make_article(client, headline="Côte d'Ivoire notebook", status="draft"),
        "scheduled": make_article(
            client, headline="Haiti mission review", published_at="2999-01-01T00:00:00Z"
        ),
        "archived": make_article(
            client, headline="Old Nairobi traffic story", status="archived", language="sw-KE"
        ),
        "trashed": make_article(client, headline="Mistaken story"),
    }
    trashed = client.delete(f"/v1/articles/{made['trashed']['slug']}", headers=EDITOR)
    assert trashed.status_code == 204
    return made


async def _forget_articles(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM article"))
        await connection.execute(text("DELETE FROM slug_redirect WHERE kind = 'article'"))


async def _revision_count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        query = sql_select(func.count()).select_from(revisions_table)
        return int((await connection.execute(query)).scalar_one())


def test_export_writes_every_article_outside_the_trash(
    db: Backend, newsdesk: CliRunner, tmp_path: Path
) -> None:
    made = newsroom(db.client)
    target = tmp_path / "articles.ndjson"
    result = run(newsdesk, "export", str(target))
    assert result.exit_code == 0, result.output
    assert "Exported 4 articles" in result.stderr

    lines = target.read_bytes().splitlines()
    items = [json.loads(line) for line in lines]
    assert [item["slug"] for item in items] == sorted(
        made[name]["slug"] for name in ("call", "draft", "scheduled", "archived")
    )
    for item in items:
        assert tuple(item) == EXPORT_FIELDS
        ArticleCreate.model_validate(item)  # a valid POST /v1/articles body
    call = next(item for item in items if item["slug"] == made["call"]["slug"])
    assert call["authors"] == ["brian-mutua", "achieng-odhiambo"]  # byline order
    assert call["entities"] == ["haiti", "kenya", "william-ruto"]
    assert call["published_at"] == "2024-11-08T15:30:00.250000Z"
    assert call["image"] == {
        "url": "https://example.com/state-house.jpg",
        "caption": "State House",
        "credit": None,
    }
    assert "body_html" not in call
    assert "id" not in call
    assert "version" not in call
    statuses = {item["slug"]: item["status"] for item in items}
    assert statuses[made["scheduled"]["slug"]] == "published"  # the stored status
    assert statuses[made["draft"]["slug"]] == "draft"
    assert statuses[made["archived"]["slug"]] == "archived"

    to_stdout = run(newsdesk, "export")
    assert to_stdout.exit_code == 0
    assert to_stdout.stdout_bytes == target.read_bytes()
    assert "\x1b[" not in to_stdout.stderr  # no progress bar when not on a terminal


async def _export_while_writing(engine: AsyncEngine) -> list[str]:
    """Export one article a batch, and create another article after the first batch."""
    slugs: list[str] = []
    async with make_sessionmaker(engine)() as reader:
        batches = export_lines(reader, batch_size=1)
        slugs += [json.loads(line)["slug"] for line in await anext(batches)]
        async with make_write_sessionmaker(engine)() as writer:
            late = ArticleCreate(headline="Zebra crossing", slug="zzz-written-meanwhile")
            await create_article(writer, late, IMPORT_VIEWER)
        async for batch in batches:
            slugs += [json.loads(line)["slug"] for line in batch]
    return slugs


def test_an_export_is_one_consistent_read(db: Backend) -> None:
    newsroom(db.client)
    slugs = db.run(_export_while_writing, db.engine)
    assert len(slugs) == 4
    assert "zzz-written-meanwhile" not in slugs
    assert db.client.get("/v1/articles/zzz-written-meanwhile", headers=EDITOR).status_code == 200


def test_round_trip_gives_the_same_bytes_and_a_second_import_changes_nothing(
    db: Backend, newsdesk: CliRunner, tmp_path: Path
) -> None:
    newsroom(db.client)
    first = tmp_path / "first.ndjson"
    assert run(newsdesk, "export", str(first)).exit_code == 0

    db.run(_forget_articles, db.engine)
    assert db.client.get("/v1/articles?count=true", headers=EDITOR).json()["meta"]["total"] == 0
    imported = run(newsdesk, "import", str(first))
    assert imported.exit_code == 0, imported.output
    assert "4 created, 0 updated, 0 unchanged, 0 failed" in imported.stdout

    second = tmp_path / "second.ndjson"
    assert run(newsdesk, "export", str(second)).exit_code == 0
    assert second.read_bytes() == first.read_bytes()

    revisions = db.run(_revision_count, db.engine)
    again = run(newsdesk, "import", str(first))
    assert again.exit_code == 0
    assert "0 created, 0 updated, 4 unchanged, 0 failed" in again.stdout
    assert db.run(_revision_count, db.engine) == revisions
    listing = db.client.get("/v1/articles?fields=slug,version", headers=EDITOR).json()["data"]
    assert {item["version"] for item in listing} == {1}


def test_import_renders_and_updates_like_the_api(
    db: Backend, newsdesk: CliRunner, tmp_path: Path
) -> None:
    made = newsroom(db.client)
    target = tmp_path / "articles.ndjson"
    run(newsdesk, "export", str(target))
    items = [json.loads(line) for line in target.read_text().splitlines()]
    for item in items:
        if item["slug"] == made["call"]["slug"]:
            item["headline"] = "Ruto and Trump Discuss Haiti Mission"
            item["body"] = "They spoke about <script>alert(1)</script>*Haiti*."
            item["image"] = None
            item["entities"] = ["kenya"]
    target.write_text("".join(json.dumps(item) + "\n" for item in items))

    result = run(newsdesk, "import", str(target))
    assert result.exit_code == 0, result.output
    assert "0 created, 1 updated, 3 unchanged, 0 failed" in result.stdout
    story = db.client.get(f"/v1/articles/{made['call']['slug']}").json()
    assert story["headline"] == "Ruto and Trump Discuss Haiti Mission"
    assert story["version"] == 2
    assert "<script" not in story["body_html"]
    assert "<em>Haiti</em>" in story["body_html"]
    assert story["body_text"].startswith("They spoke about")
    assert story["image"] is None
    assert [entity["slug"] for entity in story["entities"]] == ["kenya"]
    assert [author["slug"] for author in story["authors"]] == ["brian-mutua", "achieng-odhiambo"]


def test_bad_lines_are_reported_by_number_and_the_rest_imports(
    db: Backend, newsdesk: CliRunner, tmp_path: Path
) -> None:
    made = newsroom(db.client)
    lines = [
        '{"slug": "kenya-trade-talks", "headline": "Kenya trade talks", "status": "published"}',
        "{not json",
        '{"headline": "No slug here"}',
        "",
        '{"slug": "unknown-byline", "headline": "Who wrote this", "authors": ["nobody"]}',
        '{"slug": "extra-field", "headline": "Extra", "likes": 3}',
        json.dumps({"slug": made["trashed"]["slug"], "headline": "Back from the trash"}),
        '{"slug": "Not A Slug", "headline": "Bad slug"}',
        '{"slug": "haiti-vote", "headline": "Haiti vote", "entities": ["haiti"]}',
    ]
    source = tmp_path / "mixed.ndjson"
    source.write_text("\n".join(lines) + "\n")

    result = run(newsdesk, "import", str(source))
    assert result.exit_code == 1
    assert "2 created, 0 updated, 0 unchanged, 6 failed" in result.stdout
    reported = result.stderr.splitlines()
    assert [line.split(":")[0] for line in reported] == [
        "line 2",
        "line 3",
        "line 5",
        "line 6",
        "line 7",
        "line 8",
    ]
    assert "slug" in reported[1]
    assert "'nobody'" in reported[2]
    assert "likes" in reported[3]
    assert "trash" in reported[4]
    assert db.client.get("/v1/articles/kenya-trade-talks").status_code == 200
    haiti = db.client.get("/v1/articles/haiti-vote", headers=EDITOR).json()
    assert [entity["slug"] for entity in haiti["entities"]] == ["haiti"]
    assert db.client.get("/v1/articles/unknown-byline", headers=EDITOR).status_code == 404


def test_import_of_a_missing_file_fails_clearly(newsdesk: CliRunner, tmp_path: Path) -> None:
    result = run(newsdesk, "import", str(tmp_path / "nothing.ndjson"))
    assert result.exit_code == 1
    assert "No file at" in result.stderr


def test_progress_bar_on_a_terminal(db: Backend, tmp_path: Path) -> None:
    newsroom(db.client)
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSDESK_")}
    env |= {"NEWSDESK_DATABASE_URL": db.url, "TERM": "xterm-256color", "COLUMNS": "100"}
    target = tmp_path / "articles.ndjson"
    for args in (["export", str(target)], ["import", str(target)]):
        primary, secondary = pty.openpty()
        process = subprocess.Popen(
            [newsdesk_command(), *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=secondary,
        )
        os.close(secondary)
        shown = b""
        while True:
            ready, _, _ = select.select([primary], [], [], 60)
            assert ready, "no output from the command"
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the command closed its terminal
                break
            if not chunk:
                break
            shown += chunk
        process.communicate(timeout=60)
        os.close(primary)
        assert process.returncode == 0, shown
        screen = shown.decode(errors="replace")
        assert "━" in screen  # the bar
        if args[0] == "export":
            assert re.search(r"Exporting .*4/4", screen), screen
        else:  # the bytes of the file read, up to all of them
            assert re.search(r"Importing .*?(\d+(?:\.\d+)?)/\1 (?:bytes|kB)", screen), screen


def test_what_counts_as_a_change(db: Backend, newsdesk: CliRunner, tmp_path: Path) -> None:
    made = newsroom(db.client)
    target = tmp_path / "articles.ndjson"
    run(newsdesk, "export", str(target))
    call = next(
        json.loads(line)
        for line in target.read_text().splitlines()
        if json.loads(line)["slug"] == made["call"]["slug"]
    )
    brian_id = db.client.get("/v1/authors/brian-mutua").json()["id"]
    same = [
        call | {"entities": list(reversed(call["entities"]))},  # tags have no order
        {key: value for key, value in call.items() if key != "published_at"},
        call | {"authors": [brian_id, "achieng-odhiambo"]},  # a ref by id
        call | {"language": "EN", "published_at": "2024-11-08T18:30:00.25+03:00"},
    ]
    different = [
        call | {"authors": ["achieng-odhiambo", "brian-mutua"]},  # the byline order matters
        call | {"standfirst": None},
        call
        | {
            "image": {
                "url": "https://example.com/state-house.jpg",
                "caption": "State House",
                "credit": "Capital News",
            }
        },
    ]
    for line in same:
        target.write_text(json.dumps(line) + "\n")
        result = run(newsdesk, "import", str(target))
        assert "0 updated, 1 unchanged" in result.stdout, line
    version = db.client.get(f"/v1/articles/{call['slug']}").json()["version"]
    assert version == 1
    for line in different:
        target.write_text(json.dumps(line) + "\n")
        result = run(newsdesk, "import", str(target))
        assert "1 updated, 0 unchanged" in result.stdout, line
        version += 1
        assert db.client.get(f"/v1/articles/{call['slug']}").json()["version"] == version


def test_export_fails_clearly_and_leaves_an_existing_file_alone(
    newsdesk: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nowhere = run(newsdesk, "export", str(tmp_path / "no-such-folder" / "articles.ndjson"))
    assert nowhere.exit_code == 1
    assert "Cannot write" in nowhere.stderr

    earlier = tmp_path / "articles.ndjson"
    earlier.write_bytes(b'{"slug": "kept"}\n')
    monkeypatch.setenv("NEWSDESK_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    get_settings.cache_clear()
    failed = run(newsdesk, "export", str(earlier))
    assert failed.exit_code == 1
    assert "Cannot reach the database" in failed.stderr
    assert earlier.read_bytes() == b'{"slug": "kept"}\n'
    assert sorted(path.name for path in tmp_path.iterdir()) == ["articles.ndjson"]
