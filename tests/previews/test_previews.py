"""Preview links: an editor mints one; anyone holding it reads the article as an editor
sees it now, never cached, never indexed; anything else about the token is a 404."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.previews.tokens import PreviewGrant, make_token, signing_key
from tests.conftest import EDITOR, Backend
from tests.factories import make_article


def mint(client: TestClient, ref: str, **body: Any) -> dict[str, Any]:
    answer = client.post(f"/v1/articles/{ref}/preview", json=body or None, headers=EDITOR)
    assert answer.status_code == 201, answer.text
    preview: dict[str, Any] = answer.json()
    return preview


def test_a_preview_shows_the_current_draft_to_anyone(client: TestClient) -> None:
    draft = make_article(client, headline="Ruto congratulates Trump", status="draft")
    before = datetime.now(UTC)
    preview = mint(client, draft["slug"])
    assert preview["url"] == f"/v1/preview/{preview['token']}"
    expires_at = datetime.fromisoformat(preview["expires_at"])
    assert timedelta(seconds=3590) < expires_at - before < timedelta(seconds=3610)

    assert client.get(f"/v1/articles/{draft['slug']}").status_code == 404
    for _ in range(2):  # a second read is not answered from any cache either
        shown = client.get(preview["url"])
        assert shown.status_code == 200, shown.text
        assert shown.headers["cache-control"] == "private, no-store"
        assert shown.headers["x-robots-tag"] == "noindex"
        assert shown.json()["headline"] == "Ruto congratulates Trump"
        assert shown.json()["status"] == "draft"

    edited = client.patch(
        f"/v1/articles/{draft['id']}",
        json={"headline": "Ruto and Trump discuss Haiti"},
        headers=EDITOR,
    )
    assert edited.status_code == 200
    assert client.get(preview["url"]).json()["headline"] == "Ruto and Trump discuss Haiti"


def test_expiry_is_chosen_within_bounds(client: TestClient) -> None:
    article = make_article(client)
    preview = mint(client, article["id"], expires_in=60)
    expires_at = datetime.fromisoformat(preview["expires_at"])
    assert expires_at - datetime.now(UTC) <= timedelta(seconds=61)
    for bad in (59, 604_801, "soon"):
        answer = client.post(
            f"/v1/articles/{article['id']}/preview", json={"expires_in": bad}, headers=EDITOR
        )
        assert answer.status_code == 422, bad
    week = mint(client, article["id"], expires_in=604_800)
    assert datetime.fromisoformat(week["expires_at"]) - datetime.now(UTC) > timedelta(days=6)


def test_only_editors_mint_previews(client: TestClient) -> None:
    article = make_article(client)
    assert client.post(f"/v1/articles/{article['id']}/preview").status_code == 401
    missing = client.post("/v1/articles/no-such-story/preview", headers=EDITOR)
    assert missing.status_code == 404


def _flip(token: str, position: int) -> str:
    replacement = "A" if token[position] != "A" else "B"
    return token[:position] + replacement + token[position + 1 :]


@pytest.mark.parametrize("position", [0, 10, 20, 40, -2])
def test_an_altered_token_is_a_404(client: TestClient, position: int) -> None:
    article = make_article(client, status="draft")
    token = mint(client, article["id"])["token"]
    answer = client.get(f"/v1/preview/{_flip(token, position)}")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("token", ["nonsense", "A" * 75, "%%%", "x" * 200])
def test_an_unknown_token_is_a_404(client: TestClient, token: str) -> None:
    assert client.get(f"/v1/preview/{token}").status_code == 404


def test_an_expired_token_is_a_404(db: Backend) -> None:
    article = make_article(db.client, status="draft")
    article_id = uuid.UUID(article["id"])
    expired = datetime.now(UTC) - timedelta(seconds=1)
    token = make_token(signing_key(), PreviewGrant(article_id, expired))
    assert db.client.get(f"/v1/preview/{token}").status_code == 404

    # The same key with a future expiry works: it is the expiry that decides.
    later = datetime.now(UTC) + timedelta(minutes=5)
    token = make_token(signing_key(), PreviewGrant(article_id, later))
    assert db.client.get(f"/v1/preview/{token}").status_code == 200


def test_an_article_in_the_trash_is_a_404(client: TestClient) -> None:
    article = make_article(client, status="draft")
    preview = mint(client, article["id"])
    assert client.delete(f"/v1/articles/{article['id']}", headers=EDITOR).status_code == 204
    assert client.get(preview["url"]).status_code == 404
    restored = client.post(f"/v1/articles/{article['id']}/restore", headers=EDITOR)
    assert restored.status_code == 200
    assert client.get(preview["url"]).status_code == 200
