"""The newsdesk command: migrate, seed, serve's refusal, keys create, openapi."""

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings, get_settings
from app.main import create_app
from tests.servers import running_server

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def newsdesk(monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """The command in this process (starting Python again for each call is slow)."""
    runner = CliRunner()

    def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
        monkeypatch.setenv("NEWSDESK_DATABASE_URL", url)
        monkeypatch.setenv("NEWSDESK_ADMIN_KEY", "")
        get_settings.cache_clear()
        result = runner.invoke(cli, list(args))
        return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)

    yield run
    get_settings.cache_clear()


def test_migrate_and_seed_in_processes_of_their_own(scratch_url: str) -> None:
    """As a user runs them: nothing another test loaded into this process (such as the
    instance secret that keys ETags) can hide what the command itself must do."""
    env = os.environ | {"NEWSDESK_DATABASE_URL": scratch_url, "NEWSDESK_ADMIN_KEY": ""}
    for command in ("migrate", "seed"):
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    assert "Demo data loaded" in result.stdout


def test_migrate_seed_and_keys(scratch_url: str, newsdesk: Run) -> None:
    assert newsdesk(scratch_url, "migrate").returncode == 0
    assert newsdesk(scratch_url, "migrate").returncode == 0
    first = newsdesk(scratch_url, "seed")
    assert first.returncode == 0, first.stderr
    second = newsdesk(scratch_url, "seed")
    assert "0 authors, 0 entities, 0 articles" in second.stdout
    created = newsdesk(scratch_url, "keys", "create", "--role", "editor", "--name", "desk")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("nd_")
    assert newsdesk(scratch_url, "keys", "create", "--role", "owner", "--name", "x").returncode

    with TestClient(create_app(Settings(database_url=scratch_url))) as client:
        story = client.get("/v1/articles/ruto-congratulates-trump-in-phone-call").json()
        assert story["dateline"] == "NAIROBI, Kenya"
        assert story["source"] == "Capital News"
        assert story["published_at"] == "2024-11-08T18:30:00Z"
        assert [author["name"] for author in story["authors"]] == ["Capital News Reporter"]
        tagged = {entity["slug"] for entity in story["entities"]}
        assert {"william-ruto", "donald-trump", "kenya", "south-sudan", "sudan"} <= tagged
        ruto = client.get("/v1/entities/william-ruto").json()
        assert "President William Ruto" in ruto["aliases"]
        published = client.get("/v1/articles?count=true").json()["meta"]["total"]
        assert published >= 5
        headers = {"Authorization": f"Bearer {secret}"}
        assert client.get("/v1/articles?status=draft", headers=headers).json()["data"]


def test_cli_reports_an_unreachable_database(newsdesk: Run) -> None:
    result = newsdesk("postgresql://nobody@127.0.0.1:1/none", "seed")
    assert result.returncode != 0
    assert "Cannot reach the database" in result.stderr


def test_openapi_writes_the_document_without_a_database(tmp_path: Path, newsdesk: Run) -> None:
    unreachable = "postgresql://nobody@127.0.0.1:1/none"
    printed = newsdesk(unreachable, "openapi")
    assert printed.returncode == 0, printed.stderr
    document = json.loads(printed.stdout)
    expected = create_app(Settings(database_url=unreachable)).openapi()
    assert document == json.loads(json.dumps(expected))
    assert document["paths"]["/v1/articles"]["get"]["operationId"] == "listArticles"

    target = tmp_path / "openapi.json"
    written = newsdesk(unreachable, "openapi", "--output", str(target))
    assert written.returncode == 0, written.stderr
    assert written.stdout == ""
    assert json.loads(target.read_text(encoding="utf-8")) == document
    assert str(target) in written.stderr

    missing_folder = tmp_path / "no-such-folder" / "openapi.json"
    failed = newsdesk(unreachable, "openapi", "--output", str(missing_folder))
    assert failed.returncode == 1
    assert "Cannot write" in failed.stderr


def test_a_short_admin_key_is_warned_about_without_being_shown(tmp_path: Path) -> None:
    short = "letmein-admin-2024"
    env = {"NEWSDESK_ADMIN_KEY": short, "NEWSDESK_LOG_LEVEL": "info"}
    with running_server(tmp_path, extra_env=env) as server:
        # It still works: refusing it would lock an upgraded deployment out.
        keys = httpx.get(f"{server.url}/v1/keys", headers={"Authorization": f"Bearer {short}"})
        assert keys.status_code == 200
        log = "\n".join(server.log_lines())
    assert "NEWSDESK_ADMIN_KEY is shorter than 32 characters" in log
    assert short not in log
    assert Settings(admin_key="").admin_key is None  # empty, as in .env.example: no key
    assert Settings(admin_key=short).admin_key_is_short
    assert not Settings(admin_key="k" * 32).admin_key_is_short


UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"


@pytest.mark.parametrize(
    "args",
    [
        ("seed",),
        ("export",),
        ("import", "-"),
        ("keys", "create", "--role", "editor", "--name", "x"),
    ],
    ids=["seed", "export", "import", "keys-create"],
)
def test_every_database_command_refuses_an_unmigrated_database(
    scratch_url: str, newsdesk: Run, args: tuple[str, ...]
) -> None:
    result = newsdesk(scratch_url, *args)
    assert result.returncode == 1
    assert "newsdesk migrate" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [("export",), ("import", "-"), ("keys", "create", "--role", "editor", "--name", "x")],
    ids=["export", "import", "keys-create"],
)
def test_every_database_command_reports_an_unreachable_database(
    newsdesk: Run, args: tuple[str, ...]
) -> None:
    result = newsdesk(UNREACHABLE, *args)
    assert result.returncode == 1
    assert "Cannot reach the database at postgresql://nobody@127.0.0.1:1/none" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
