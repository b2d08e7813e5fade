"""The OpenAPI document is a contract: any change to it, even one field, must be made on
purpose. The committed snapshot (tests/data/openapi.json) is what clients were generated
from; refresh it with `make openapi-snapshot` (or NEWSDESK_UPDATE_SNAPSHOTS=1) and commit
the reviewed diff together with the change."""

import difflib
import json
import os
from pathlib import Path

from app.config import Settings
from app.main import create_app

SNAPSHOT = Path(__file__).resolve().parents[1] / "data" / "openapi.json"
UPDATE_ENV = "NEWSDESK_UPDATE_SNAPSHOTS"
MAX_DIFF_LINES = 120


def current_document() -> str:
    # The document needs no database: the app is built, never started.
    document = create_app(Settings(database_url="sqlite:///never-opened.db")).openapi()
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def readable_diff(expected: str, actual: str) -> str:
    lines = list(
        difflib.unified_diff(
            expected.splitlines(),
            actual.splitlines(),
            fromfile="tests/data/openapi.json (committed)",
            tofile="the document the app serves now",
            lineterm="",
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... {len(lines) - MAX_DIFF_LINES} more diff lines"]
    return "\n".join(lines)


def test_the_openapi_document_matches_the_committed_snapshot() -> None:
    actual = current_document()
    if os.environ.get(UPDATE_ENV) == "1":
        SNAPSHOT.write_text(actual, encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8")
    assert actual == expected, (
        "The OpenAPI document changed. If the change is meant, refresh the snapshot with "
        f"`make openapi-snapshot` (or {UPDATE_ENV}=1) and commit it:\n"
        + readable_diff(expected, actual)
    )


def test_a_changed_document_fails_with_a_readable_diff() -> None:
    """The failure names the field that went, so a reviewer sees what a client loses."""
    document = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    del document["components"]["schemas"]["ArticlePublic"]["properties"]["headline"]
    changed = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    diff = readable_diff(SNAPSHOT.read_text(encoding="utf-8"), changed)
    removed = [line for line in diff.splitlines() if line.startswith("-") and "---" not in line]
    assert any('"headline": {' in line for line in removed), diff
    assert not any(line.startswith("+") and "+++" not in line for line in diff.splitlines())
