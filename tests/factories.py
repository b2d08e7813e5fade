"""Plain functions that create things through the API, with sensible defaults."""

import itertools
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import EDITOR

_numbers = itertools.count(1)


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def make_author(client: TestClient, **overrides: Any) -> dict[str, Any]:
    payload = {"name": f"Reporter {next(_numbers)}"} | overrides
    return _created(client.post("/v1/authors", json=payload, headers=EDITOR))


def make_entity(client: TestClient, **overrides: Any) -> dict[str, Any]:
    payload = {"name": f"Entity {next(_numbers)}", "type": "topic"} | overrides
    return _created(client.post("/v1/entities", json=payload, headers=EDITOR))


def make_article(client: TestClient, **overrides: Any) -> dict[str, Any]:
    payload = {
        "headline": f"Story number {next(_numbers)}",
        "body": "Some words for the body.",
        "status": "published",
    } | overrides
    return _created(client.post("/v1/articles", json=payload, headers=EDITOR))
