"""Schemathesis against a real `newsdesk serve` on the demo data: every check, every
phase, as an editor (so writes run too), on SQLite and on PostgreSQL.

The run is reproducible (a fixed seed, a bounded number of cases per operation); its
settings, and why each is what it is, are in schemathesis.toml beside this file.
"""

import os
import subprocess
import sys
from pathlib import Path

from tests.servers import migrated_and_seeded, newsdesk_command, running_server

CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = 20241108
MAX_EXAMPLES = 10


def schemathesis_command() -> str:
    beside = Path(sys.executable).with_name("st")
    assert beside.exists(), "schemathesis is not installed (pip install -e '.[dev]')"
    return str(beside)


def create_editor_key(database_url: str) -> str:
    env = os.environ | {"NEWSDESK_DATABASE_URL": database_url}
    created = subprocess.run(
        [newsdesk_command(), "keys", "create", "--role", "editor", "--name", "schemathesis"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return created.stdout.strip().splitlines()[-1].strip()


def test_schemathesis_finds_nothing(scratch_url: str, tmp_path: Path) -> None:
    migrated_and_seeded(scratch_url)
    key = create_editor_key(scratch_url)
    env = {"NEWSDESK_LOG_LEVEL": "warning"}
    with running_server(tmp_path, extra_env=env, database_url=scratch_url) as server:
        run = subprocess.run(
            [
                schemathesis_command(),
                "--no-color",
                "--config-file",
                str(CONFIG),
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                "all",
                "--seed",
                str(SEED),
                "--max-examples",
                str(MAX_EXAMPLES),
                "--generation-database",
                "none",
                "--report-dir",
                str(tmp_path / "report"),
                "--header",
                f"Authorization: Bearer {key}",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    assert "failures" not in report.split("SUMMARY")[-1], report
