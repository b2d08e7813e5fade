"""`newsdesk export` and `newsdesk import`: NDJSON in the POST /v1/articles shape plus
slug; upsert by slug; bad lines reported by number; byte-identical round trips."""

import json
import os
import pty
import re
import select
import signal
import subprocess
import time
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
from app.articles.render import MAX_NESTING_DEPTH, render_bodies, render_body
from app.articles.service import create_article
from app.articles.transfer import BATCH_SIZE, IMPORT_VIEWER, export_lines, import_lines
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


# Written out, not taken from the module: a column dropped from the export must fail here.
EXPORTED_KEYS = (
    "slug",
    "headline",
    "standfirst",
    "body",
    "dateline",
    "language",
    "section",
    "source",
    "canonical_url",
    "image",
    "status",
    "published_at",
    "expires_at",
    "authors",
    "entities",
    "corrections",
)


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


def client_view(client: TestClient, slug: str) -> dict[str, Any]:
    """An article as the API shows it to an editor, in the export's keys."""
    response = client.get(f"/v1/articles/{slug}", headers=EDITOR)
    assert response.status_code == 200, response.text
    article = response.json()
    shown = {key: article[key] for key in EXPORTED_KEYS if key not in ("authors", "entities")}
    shown["authors"] = [author["slug"] for author in article["authors"]]
    shown["entities"] = [entity["slug"] for entity in article["entities"]]
    return shown


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
        assert tuple(item) == EXPORTED_KEYS
        # A valid POST /v1/articles body, plus the corrections (no POST takes them).
        assert item["corrections"] == []
        ArticleCreate.model_validate({k: v for k, v in item.items() if k != "corrections"})
    call = next(item for item in items if item["slug"] == made["call"]["slug"])
    assert call["authors"] == ["brian-mutua", "achieng-odhiambo"]  # byline order
    assert call["entities"] == ["haiti", "kenya", "william-ruto"]
    assert call["published_at"] == "2024-11-08T15:30:00.250000Z"
    assert call["image"] == {
        "url": "https://example.com/state-house.jpg",
        "caption": "State House",
        "credit": None,
        "alt": None,
        "width": None,
        "height": None,
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
    # The same bytes could be the same loss on both sides: what came back is what went in.
    call = client_view(db.client, "ruto-congratulates-trump-in-phone-call")
    assert call == {
        "slug": "ruto-congratulates-trump-in-phone-call",
        "headline": "Ruto Congratulates Trump in Phone Call",
        "standfirst": "Kenya's president called the US president-elect.",
        "body": "President **William Ruto** spoke with Donald Trump.\n\n- trade\n- Haiti\n",
        "dateline": "NAIROBI, Kenya",
        "language": "en",
        "section": "politics",
        "source": "Capital News",
        "canonical_url": "https://example.com/2024/11/ruto-trump",
        "image": {
            "url": "https://example.com/state-house.jpg",
            "caption": "State House",
            "credit": None,
            "alt": None,
            "width": None,
            "height": None,
        },
        "status": "published",
        "published_at": "2024-11-08T15:30:00Z",  # the API shows whole seconds
        "expires_at": None,
        "authors": ["brian-mutua", "achieng-odhiambo"],
        "entities": ["haiti", "kenya", "william-ruto"],
        "corrections": [],
    }
    archived = client_view(db.client, "old-nairobi-traffic-story")
    assert (archived["status"], archived["language"]) == ("archived", "sw-KE")
    scheduled = client_view(db.client, "haiti-mission-review")
    assert (scheduled["status"], scheduled["published_at"]) == (
        "scheduled",
        "2999-01-01T00:00:00Z",
    )
    assert client_view(db.client, "cote-d-ivoire-notebook")["status"] == "draft"

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


def _import_text(newsdesk: CliRunner, path: Path, lines: list[str]) -> Any:
    path.write_text("\n".join(lines) + "\n")
    return run(newsdesk, "import", str(path))


def test_new_and_existing_articles_in_one_batch(
    db: Backend, newsdesk: CliRunner, tmp_path: Path
) -> None:
    made = newsroom(db.client)
    target = tmp_path / "articles.ndjson"
    run(newsdesk, "export", str(target))
    items = [json.loads(line) for line in target.read_text().splitlines()]
    for item in items:
        if item["slug"] == made["draft"]["slug"]:
            item["status"] = "published"
            item["published_at"] = "2024-11-09T08:00:00Z"
    news = [
        {"slug": "nairobi-rains", "headline": "Nairobi rains", "authors": ["brian-mutua"]},
        {"slug": "haiti-update", "headline": "Haiti update", "entities": ["haiti", "kenya"]},
    ]
    lines = [json.dumps(news[0]), *(json.dumps(item) for item in items), json.dumps(news[1])]

    result = _import_text(newsdesk, target, lines)
    assert result.exit_code == 0, result.output
    assert "2 created, 1 updated, 3 unchanged, 0 failed" in result.stdout
    draft = db.client.get(f"/v1/articles/{made['draft']['slug']}").json()
    assert (draft["status"], draft["version"]) == ("published", 2)
    rains = db.client.get("/v1/articles/nairobi-rains", headers=EDITOR).json()
    assert [author["slug"] for author in rains["authors"]] == ["brian-mutua"]
    assert (rains["status"], rains["version"]) == ("draft", 1)
    haiti = db.client.get("/v1/articles/haiti-update", headers=EDITOR).json()
    assert [entity["slug"] for entity in haiti["entities"]] == ["haiti", "kenya"]

    again = _import_text(newsdesk, target, lines)
    assert "0 created, 0 updated, 6 unchanged, 0 failed" in again.stdout


def test_bad_lines_in_the_middle_of_a_batch_of_new_articles(
    db: Backend, newsdesk: CliRunner, tmp_path: Path
) -> None:
    newsroom(db.client)
    renamed = make_article(db.client, headline="Budget day")
    moved = db.client.patch(
        f"/v1/articles/{renamed['slug']}", json={"slug": "budget-day-2025"}, headers=EDITOR
    )
    assert moved.status_code == 200
    lines = [
        '{"slug": "first-story", "headline": "First", "authors": ["achieng-odhiambo"]}',
        '{"slug": "second-story", "headline": "Second", "entities": ["kenya", "atlantis"]}',
        '{"slug": "third-story", "headline": "Third", "authors": ["nobody", "brian-mutua"]}',
        '{"slug": "fourth-story", "headline": "Fourth", "status": "published"}',
        '{"slug": "first-story", "headline": "First, again"}',
        json.dumps({"slug": renamed["slug"], "headline": "On an old slug"}),
        '{"slug": "fifth-story", "headline": "Fifth", "body": "*Words*, more words."}',
    ]
    result = _import_text(newsdesk, tmp_path / "new.ndjson", lines)
    assert result.exit_code == 1
    assert "3 created, 1 updated, 0 unchanged, 3 failed" in result.stdout
    assert result.stderr.splitlines() == [
        "line 2: Unknown entity 'atlantis'.",
        "line 3: Unknown author 'nobody'.",
        f"line 6: The slug {renamed['slug']!r} is already taken.",
    ]
    # The repeated slug is an upsert: the later line updates what the first one created.
    first = db.client.get("/v1/articles/first-story", headers=EDITOR).json()
    assert (first["headline"], first["version"]) == ("First, again", 2)
    assert first["authors"] == []
    assert db.client.get("/v1/articles/fourth-story").status_code == 200
    fifth = db.client.get("/v1/articles/fifth-story", headers=EDITOR).json()
    assert (fifth["body_html"], fifth["word_count"]) == ("<p><em>Words</em>, more words.</p>\n", 3)
    for missing in ("second-story", "third-story"):
        assert db.client.get(f"/v1/articles/{missing}", headers=EDITOR).status_code == 404


@pytest.mark.parametrize("batch_size", [2, 500])
def test_the_last_line_of_a_repeated_slug_wins_wherever_batches_split(
    db: Backend, batch_size: int
) -> None:
    lines = [
        (1, b'{"slug": "once", "headline": "Once"}'),
        (2, b'{"slug": "other", "headline": "Other"}'),
        (3, b'{"slug": "once", "headline": "Twice"}'),
        (4, b'{"slug": "once", "headline": "Thrice"}'),
    ]
    report = db.run(_import, db.engine, lines, batch_size)
    assert (report.created, report.updated, report.errors) == (2, 2, [])
    once = db.client.get("/v1/articles/once", headers=EDITOR).json()
    assert (once["headline"], once["version"]) == ("Thrice", 3)
    revisions = db.client.get("/v1/articles/once/revisions", headers=EDITOR).json()["data"]
    assert len(revisions) == 3


async def _import(engine: AsyncEngine, lines: list[tuple[int, bytes]], batch_size: int) -> Any:
    return await import_lines(make_write_sessionmaker(engine), lines, batch_size=batch_size)


# SQLite takes a NUL in text; a trigger makes it refuse that row as PostgreSQL does, so
# that the bulk path's fallback runs on both databases.
_SQLITE_REFUSES_NUL = (
    "CREATE TRIGGER refuse_nul BEFORE INSERT ON article WHEN instr(NEW.headline, char(0)) > 0"
    " BEGIN SELECT RAISE(ABORT, 'NUL in text'); END"
)


async def _sqlite_trigger(engine: AsyncEngine, statement: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(statement))


@pytest.fixture
def refuses_nul(db: Backend) -> Iterator[None]:
    if db.name == "sqlite":
        db.run(_sqlite_trigger, db.engine, _SQLITE_REFUSES_NUL)
    yield
    if db.name == "sqlite":
        db.run(_sqlite_trigger, db.engine, "DROP TRIGGER refuse_nul")


@pytest.mark.usefixtures("refuses_nul")
def test_a_row_the_database_refuses_leaves_out_only_its_line(
    db: Backend, newsdesk: CliRunner, tmp_path: Path
) -> None:
    """PostgreSQL refuses a NUL character in text, which JSON and the models allow: the
    bulk statements fail, and the batch goes in again line by line."""
    lines = [
        '{"slug": "before-it", "headline": "Before it"}',
        '{"slug": "with-a-nul", "headline": "Nul \\u0000 inside"}',
        '{"slug": "after-it", "headline": "After it"}',
    ]
    result = _import_text(newsdesk, tmp_path / "nul.ndjson", lines)
    assert "2 created, 0 updated, 0 unchanged, 1 failed" in result.stdout
    assert result.stderr.startswith("line 2: the database refused it")
    for slug in ("before-it", "after-it"):
        article = db.client.get(f"/v1/articles/{slug}", headers=EDITOR).json()
        assert article["version"] == 1
    # The change log has an entry for each article written, and none for the one refused.
    created = db.client.get("/v1/changes", headers=EDITOR).json()["data"]
    assert sorted(entry["resource"]["slug"] for entry in created) == ["after-it", "before-it"]
    assert db.client.get("/v1/articles/with-a-nul", headers=EDITOR).status_code == 404


def test_an_imported_article_is_the_one_the_api_creates(
    db: Backend, newsdesk: CliRunner, tmp_path: Path
) -> None:
    newsroom(db.client)
    brian_id = db.client.get("/v1/authors/brian-mutua").json()["id"]
    fields = {
        "headline": "Kenyan police arrive in Port-au-Prince",
        "standfirst": "The first 400 officers landed on Tuesday.",
        "body": (
            "## Arrival\n\nThe *first* officers of the [mission](https://example.com/m) "
            "landed.<script>alert(1)</script>\n\n| unit | officers |\n|---|---|\n| A | 200 |\n\n"
            "> We are ready, said the commander.\n\n```\ncode stays\n```\n"
        ),
        "dateline": "PORT-AU-PRINCE, Haiti",
        "language": "en-gb",
        "section": "world",
        "source": "Capital News",
        "canonical_url": "https://example.com/2024/06/kenyan-police-haiti",
        "image": {"url": "https://example.com/airport.jpg", "credit": "Capital News"},
        "status": "published",
        "published_at": "2024-06-25T19:00:00.5+03:00",
        "authors": ["achieng-odhiambo", brian_id, "achieng-odhiambo"],
        "entities": ["kenya", "haiti", "william-ruto", "kenya"],
    }
    posted = make_article(db.client, slug="police-arrive-posted", **fields)
    line = json.dumps(fields | {"slug": "police-arrive-imported"})
    result = _import_text(newsdesk, tmp_path / "one.ndjson", [line])
    assert "1 created, 0 updated, 0 unchanged, 0 failed" in result.stdout, result.output
    imported = db.client.get("/v1/articles/police-arrive-imported").json()

    def comparable(article: dict[str, Any]) -> dict[str, Any]:
        return {
            key: value
            for key, value in article.items()
            if key not in {"id", "slug", "created_at", "updated_at"}
        }

    assert comparable(imported) == comparable(posted)
    assert imported["word_count"] > 10
    assert imported["created_at"] == imported["updated_at"]

    def revision(slug: str) -> dict[str, Any]:
        listing = db.client.get(f"/v1/articles/{slug}/revisions", headers=EDITOR).json()
        assert [entry["version"] for entry in listing["data"]] == [1]
        first = db.client.get(f"/v1/articles/{slug}/revisions/1", headers=EDITOR).json()
        assert first["slug"] == slug
        return {
            key: value
            for key, value in first.items()
            if key not in {"slug", "created_at", "key_name"}
        }

    assert revision("police-arrive-imported") == revision("police-arrive-posted")
    for query in ("port au prince", '"first 400 officers"', "commander -nobody"):
        hits = db.client.get("/v1/articles", params={"q": query}).json()["data"]
        by_slug = {hit["slug"]: hit["snippet"] for hit in hits}
        assert set(by_slug) == {"police-arrive-posted", "police-arrive-imported"}, query
        assert by_slug["police-arrive-posted"] == by_slug["police-arrive-imported"]
    tagged = db.client.get("/v1/articles", params={"entity": "william-ruto"}).json()["data"]
    assert {"police-arrive-posted", "police-arrive-imported"} <= {a["slug"] for a in tagged}


@pytest.mark.usefixtures("refuses_nul")
def test_a_batch_larger_than_a_rendering_chunk(db: Backend) -> None:
    make_author(db.client, name="Achieng Odhiambo")
    lines = []
    for number in range(1, 231):
        item: dict[str, Any] = {
            "slug": f"story-{number}",
            "headline": f"Story {number}",
            "body": f"Paragraph *{number}*.",
            "authors": ["achieng-odhiambo"],
        }
        if number == 120:
            item["authors"] = ["nobody"]
        if number == 205:
            item["headline"] = "A \x00 in it"
        lines.append((number, json.dumps(item).encode()))
    report = db.run(_import, db.engine, lines, 500)
    assert report.created == 228
    assert [error.line for error in report.errors] == [120, 205]
    listing = db.client.get(
        "/v1/articles", params={"count": "true", "author": "achieng-odhiambo"}, headers=EDITOR
    ).json()
    assert listing["meta"]["total"] == 228
    story = db.client.get("/v1/articles/story-230", headers=EDITOR).json()
    assert story["body_html"] == "<p>Paragraph <em>230</em>.</p>\n"


def test_import_reads_standard_input(db: Backend, newsdesk: CliRunner) -> None:
    make_author(db.client, name="Achieng Odhiambo")
    lines = [
        {"slug": "kenya-trade-talks", "headline": "Kenya trade talks", "status": "published"},
        {"slug": "haiti-vote", "headline": "Haiti vote", "authors": ["achieng-odhiambo"]},
        {"headline": "No slug here"},
    ]
    stdin = "".join(json.dumps(line) + "\n" for line in lines).encode()
    result = newsdesk.invoke(cli, ["import", "-"], input=stdin, catch_exceptions=False)
    assert result.exit_code == 1
    assert "2 created, 0 updated, 0 unchanged, 1 failed" in result.stdout
    assert result.stderr.splitlines()[0].startswith("line 3:")
    story = db.client.get("/v1/articles/haiti-vote", headers=EDITOR)
    assert story.status_code == 200
    assert story.json()["status"] == "draft"
    assert [author["slug"] for author in story.json()["authors"]] == ["achieng-odhiambo"]
    assert db.client.get("/v1/articles/kenya-trade-talks").status_code == 200

    again = newsdesk.invoke(cli, ["import", "-"], input=stdin[: stdin.index(b"\n") + 1])
    assert again.exit_code == 0
    assert "0 created, 0 updated, 1 unchanged, 0 failed" in again.stdout


def test_auto_tag_on_import_lines_tags_what_the_text_names(
    db: Backend, newsdesk: CliRunner, tmp_path: Path
) -> None:
    make_entity(db.client, name="Kenya", type="place")
    make_entity(db.client, name="Haiti", type="place")
    make_entity(db.client, name="William Ruto", type="person", aliases=["President Ruto"])
    lines = [
        {
            "slug": "ruto-on-haiti",
            "headline": "President Ruto speaks on Haiti",
            "body": "Kenya leads the mission.",
            "auto_tag": True,
        },
        {"slug": "untagged", "headline": "Kenya and Haiti, untagged", "auto_tag": False},
        {"slug": "later-tagged", "headline": "Haiti police mission", "entities": []},
    ]
    source = tmp_path / "tagged.ndjson"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = run(newsdesk, "import", str(source))
    assert result.exit_code == 0, result.output
    assert "3 created, 0 updated, 0 unchanged, 0 failed" in result.stdout

    def tags(slug: str) -> list[str]:
        response = db.client.get(f"/v1/articles/{slug}", headers=EDITOR)
        assert response.status_code == 200, response.text
        return sorted(entity["slug"] for entity in response.json()["entities"])

    assert tags("ruto-on-haiti") == ["haiti", "kenya", "william-ruto"]
    assert tags("untagged") == []
    assert tags("later-tagged") == []

    # On an update, too: the line's own entities plus what the text names.
    update = {"slug": "later-tagged", "headline": "Haiti police mission", "auto_tag": True}
    source.write_text(json.dumps(update) + "\n")
    updated = run(newsdesk, "import", str(source))
    assert updated.exit_code == 0, updated.output
    assert "0 created, 1 updated, 0 unchanged, 0 failed" in updated.stdout
    assert tags("later-tagged") == ["haiti"]


def test_a_line_out_of_range_is_reported_and_the_lines_around_it_import(
    db: Backend, newsdesk: CliRunner, tmp_path: Path
) -> None:
    """A time that falls off the calendar in UTC raised OverflowError, which ended the
    whole import: now it is one bad line, like a body nested too deep to render."""
    make_article(db.client, headline="Existing", slug="existing-story")
    lines = [
        '{"slug": "good-before", "headline": "Good before", "status": "published"}',
        '{"slug": "far-future", "headline": "Far", "published_at": "9999-12-31T23:59:59-23:59"}',
        '{"slug": "far-past", "headline": "Past", "published_at": "0001-01-01T00:00:00+00:01"}',
        json.dumps({"slug": "too-deep", "headline": "Deep", "body": ">" * 5_000}),
        json.dumps({"slug": "existing-story", "headline": "Existing", "body": "- " * 100 + "x"}),
        '{"slug": "good-after", "headline": "Good after", "status": "published"}',
        '{"slug": "existing-story", "headline": "Existing, updated"}',
    ]
    result = _import_text(newsdesk, tmp_path / "ranges.ndjson", lines)
    assert result.exit_code == 1
    assert "2 created, 1 updated, 0 unchanged, 4 failed" in result.stdout, result.output
    reported = result.stderr.splitlines()
    assert [line.split(":")[0] for line in reported] == ["line 2", "line 3", "line 4", "line 5"]
    assert "published_at" in reported[0]
    assert "9999" in reported[0]
    assert "published_at" in reported[1]
    assert "nests more than" in reported[2]
    assert "nests more than" in reported[3]
    for slug in ("good-before", "good-after"):
        assert db.client.get(f"/v1/articles/{slug}").status_code == 200
    for slug in ("far-future", "far-past", "too-deep"):
        assert db.client.get(f"/v1/articles/{slug}", headers=EDITOR).status_code == 404
    existing = db.client.get("/v1/articles/existing-story", headers=EDITOR).json()
    assert (existing["headline"], existing["version"]) == ("Existing, updated", 2)


def test_an_unforeseen_failure_of_one_line_leaves_out_only_that_line(
    db: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever goes wrong with one line (here a failure planted in the update of one
    article) is reported with its number; the lines around it still go in."""
    from app.articles import transfer

    make_article(db.client, headline="Broken", slug="breaks-on-update")
    real_patch = transfer.patch_article

    async def failing_patch(session: Any, article_id: Any, data: Any, *args: Any, **kw: Any) -> Any:
        if data.headline == "Trigger":
            raise OverflowError("planted")
        return await real_patch(session, article_id, data, *args, **kw)

    monkeypatch.setattr(transfer, "patch_article", failing_patch)
    lines = [
        (1, b'{"slug": "first-good", "headline": "First"}'),
        (2, b'{"slug": "breaks-on-update", "headline": "Trigger"}'),
        (3, b'{"slug": "second-good", "headline": "Second"}'),
    ]
    report = db.run(_import, db.engine, lines, 500)
    assert (report.created, report.updated) == (2, 0)
    assert [(error.line, error.message) for error in report.errors] == [
        (2, "it could not be imported (OverflowError)")
    ]
    assert db.client.get("/v1/articles/first-good", headers=EDITOR).status_code == 200
    assert db.client.get("/v1/articles/breaks-on-update", headers=EDITOR).json()["version"] == 1


# A kill -9 in the middle of an import: enough lines for several batches, each with
# authors, entities and a correction, so that a batch half-written would show.
KILLED_LINES = 3000


def _story_line(number: int) -> str:
    return json.dumps(
        {
            "slug": f"wire-story-{number:05d}",
            "headline": f"Wire story {number}",
            "body": f"Paragraph *{number}* of the wire.\n\n" * (1 + number % 4),
            "authors": ["achieng-odhiambo", "brian-mutua"][: 1 + number % 2],
            "entities": ["kenya"] if number % 3 else ["kenya", "haiti"],
            "corrections": [{"text": f"Fixed {number}.", "created_at": "2024-11-09T10:00:00Z"}],
        }
    )


async def _stored_counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows of every table an imported article writes, and the distinct articles named."""
    tables = {
        "articles": "article",
        "bylines": "article_author",
        "tags": "article_entity",
        "corrections": "article_correction",
        "revisions": "article_revision",
    }
    counts = {}
    async with engine.connect() as connection:
        for name, table in tables.items():
            query = text(f"SELECT count(*) FROM {table}")
            counts[name] = int((await connection.execute(query)).scalar_one())
        slugs = text("SELECT count(DISTINCT slug) FROM article")
        counts["slugs"] = int((await connection.execute(slugs)).scalar_one())
        created = text("SELECT count(*) FROM change WHERE event = 'article.created'")
        counts["created_entries"] = int((await connection.execute(created)).scalar_one())
    return counts


def _children(pid: int) -> set[int]:
    """The processes ``pid`` started (its rendering workers), from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_a_killed_import_keeps_its_batches_and_a_rerun_completes_it(
    db: Backend, tmp_path: Path
) -> None:
    make_author(db.client, name="Achieng Odhiambo")
    make_author(db.client, name="Brian Mutua")
    make_entity(db.client, name="Kenya", type="place")
    make_entity(db.client, name="Haiti", type="place")
    source = tmp_path / "wire.ndjson"
    source.write_text("".join(_story_line(n) + "\n" for n in range(1, KILLED_LINES + 1)))
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSDESK_")}
    env["NEWSDESK_DATABASE_URL"] = db.url
    command = [newsdesk_command(), "import", str(source)]

    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    workers: set[int] = set()
    try:
        for _ in range(6000):  # at most about 10 minutes, on a very slow machine
            workers |= _children(process.pid)
            # Once a batch is in, the next ones are being rendered by the workers.
            kept = db.run(_stored_counts, db.engine)["articles"]
            if kept >= BATCH_SIZE or process.poll() is not None:
                break
            time.sleep(0.01)
        workers |= _children(process.pid)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the import ended before it was killed"

    kept = db.run(_stored_counts, db.engine)
    # Whole batches only: every article kept has all its rows, and nothing else is in.
    assert 0 < kept["articles"] < KILLED_LINES
    assert kept["slugs"] == kept["revisions"] == kept["corrections"] == kept["articles"]
    assert kept["created_entries"] == kept["articles"]
    # The rendering workers end with the import they served.
    for _ in range(600):
        if not any(_running(pid) for pid in workers):
            break
        time.sleep(0.1)
    assert not any(_running(pid) for pid in workers)

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    created = KILLED_LINES - kept["articles"]
    assert f"{created} created, 0 updated, {kept['articles']} unchanged, 0 failed" in rerun.stdout
    done = db.run(_stored_counts, db.engine)
    assert done == {
        "articles": KILLED_LINES,
        "slugs": KILLED_LINES,
        "bylines": sum(1 + n % 2 for n in range(1, KILLED_LINES + 1)),
        "tags": sum(1 if n % 3 else 2 for n in range(1, KILLED_LINES + 1)),
        "corrections": KILLED_LINES,
        "revisions": KILLED_LINES,
        "created_entries": KILLED_LINES,
    }
    story = db.client.get("/v1/articles/wire-story-02999", headers=EDITOR).json()
    assert story["body_html"] == "<p>Paragraph <em>2999</em> of the wire.</p>\n" * 4
    assert [author["slug"] for author in story["authors"]] == ["achieng-odhiambo", "brian-mutua"]


def test_bodies_rendered_by_worker_processes_are_the_ones_the_api_renders(db: Backend) -> None:
    """Batches after the first are rendered by worker processes (where the machine has
    more than one CPU): the same HTML, and the same refusal of a body over the limits."""
    too_deep = "> " * (MAX_NESTING_DEPTH + 1) + "deep"
    bodies = ["*one*", "two\n\n- a\n- b", "<script>x</script>three", too_deep, "**five**"]
    lines = [
        (number, json.dumps({"slug": f"s-{number}", "headline": "H", "body": body}).encode())
        for number, body in enumerate(bodies, start=1)
    ]
    report = db.run(_import, db.engine, lines, 2)
    assert report.created == 4
    assert [(error.line, error.message) for error in report.errors] == [
        (4, render_bodies([too_deep])[0])
    ]
    assert "levels deep" in report.errors[0].message
    for number, body in enumerate(bodies, start=1):
        if number == 4:
            continue
        stored = db.client.get(f"/v1/articles/s-{number}", headers=EDITOR).json()
        rendered = render_body(body)
        assert (stored["body_html"], stored["word_count"]) == (rendered.html, rendered.word_count)


def _pending_pages(engine: AsyncEngine) -> Any:
    async def read() -> Any:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE EXTENSION IF NOT EXISTS pgstattuple"))
            pages = "SELECT pending_pages FROM pgstatginindex('ix_article_search_vector')"
            limit = await connection.execute(text("SHOW gin_pending_list_limit"))
            return (await connection.execute(text(pages))).scalar_one(), limit.scalar_one()

    return read


def test_an_import_is_searchable_at_once_from_a_merged_index(
    db: Backend, newsdesk: CliRunner, tmp_path: Path
) -> None:
    """On PostgreSQL an import lets the search index's pending list (which every search
    reads whole) grow while it writes, and merges it before it ends; the API's own
    connections merge it past 64 kB."""
    words = " ".join(f"word{n}" for n in range(150))
    lines = [
        json.dumps(
            {
                "slug": f"dispatch-{n}",
                "headline": f"Dispatch {n}",
                "body": words,
                "status": "published",
                "published_at": "2024-11-08T10:00:00Z",
            }
        )
        for n in range(60)
    ]
    result = _import_text(newsdesk, tmp_path / "dispatches.ndjson", lines)
    assert "60 created" in result.stdout
    found = db.client.get("/v1/articles", params={"q": "word7", "limit": 100}).json()
    assert len(found["data"]) == 60
    if db.name == "postgresql":
        assert db.run(_pending_pages(db.engine)) == (0, "64kB")
