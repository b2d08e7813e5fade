"""/healthz and /readyz: live while the process runs; ready only when the database answers
and is at the newest migration, a 503 problem otherwise."""

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.main import create_app
from app.schema import head_revision
from tests.conftest import Backend
from tests.servers import free_port


def assert_unready(response: httpx.Response, detail_part: str) -> None:
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 503
    assert problem["title"] == "Service Unavailable"
    assert problem["type"].endswith("service-unavailable")
    assert detail_part in problem["detail"]
    assert "Traceback" not in response.text


def test_ready_with_the_current_revision(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "revision": head_revision()}
    assert client.get("/healthz").json() == {"status": "ok"}


async def _set_revision(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision}
        )


def test_not_ready_when_the_database_is_not_migrated(db: Backend) -> None:
    db.run(_set_revision, db.engine, "0000_older")
    try:
        response = db.client.get("/readyz")
        assert_unready(response, "newsdesk migrate")
        assert "0000_older" in response.json()["detail"]
        assert db.client.get("/healthz").status_code == 200
    finally:
        db.run(_set_revision, db.engine, head_revision())
    assert db.client.get("/readyz").status_code == 200


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_not_ready_when_the_database_is_unreachable(kind: str, tmp_path: Path) -> None:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'no-such-folder' / 'newsdesk.db'}"
    else:
        url = f"postgresql://postgres@127.0.0.1:{free_port()}/newsdesk"  # nothing listens
    with TestClient(create_app(Settings(database_url=url))) as client:
        assert client.get("/healthz").status_code == 200
        assert_unready(client.get("/readyz"), "does not answer")
        listing = client.get("/v1/articles")
        assert listing.status_code == 503
        assert listing.headers["content-type"] == "application/problem+json"
        assert listing.headers["x-request-id"]
