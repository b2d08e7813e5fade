"""Every route of the app, called by every kind of caller, answers as the access declared for
it below says. The table is checked against the app's route table both ways: a route added
without a line here fails the test, and so does a line whose route is gone."""

import uuid
from collections.abc import Iterator
from typing import Literal

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from app.config import Settings
from app.main import create_app
from tests.conftest import ADMIN, EDITOR

Access = Literal["public", "reader", "editor", "admin"]
# public: no key is looked at (a bad one is ignored); reader: anyone may call, and a key
# that is sent must be valid (editors see more); editor: an editor or admin key; admin: an
# admin key.
ROUTE_ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/openapi.json"): "public",
    ("GET", "/docs"): "public",
    ("GET", "/redoc"): "public",
    ("GET", "/static/{name}"): "public",
    ("GET", "/healthz"): "public",
    ("GET", "/readyz"): "public",
    ("GET", "/metrics"): "public",
    ("GET", "/v1/articles"): "reader",
    ("POST", "/v1/articles"): "editor",
    ("GET", "/v1/articles/{ref}"): "reader",
    ("PATCH", "/v1/articles/{ref}"): "editor",
    ("DELETE", "/v1/articles/{ref}"): "editor",
    ("POST", "/v1/articles/{ref}/restore"): "editor",
    ("GET", "/v1/articles/{ref}/revisions"): "editor",
    ("GET", "/v1/articles/{ref}/revisions/{version}"): "editor",
    ("POST", "/v1/articles/{ref}/revisions/{version}/restore"): "editor",
    ("GET", "/v1/articles/{ref}/related"): "reader",
    ("GET", "/v1/articles/{ref}/ninjs"): "reader",
    ("GET", "/v1/articles/{ref}/jsonld"): "reader",
    ("GET", "/v1/authors"): "reader",
    ("POST", "/v1/authors"): "editor",
    ("GET", "/v1/authors/{ref}"): "reader",
    ("PATCH", "/v1/authors/{ref}"): "editor",
    ("DELETE", "/v1/authors/{ref}"): "editor",
    ("GET", "/v1/authors/{ref}/articles"): "reader",
    ("GET", "/v1/entities"): "reader",
    ("POST", "/v1/entities"): "editor",
    ("POST", "/v1/entities/extract"): "editor",
    ("GET", "/v1/entities/{ref}"): "reader",
    ("PATCH", "/v1/entities/{ref}"): "editor",
    ("DELETE", "/v1/entities/{ref}"): "editor",
    ("POST", "/v1/entities/{ref}/merge"): "editor",
    ("GET", "/v1/entities/{ref}/articles"): "reader",
    ("GET", "/v1/feeds/articles.atom"): "reader",
    ("GET", "/v1/feeds/articles.rss"): "reader",
    ("POST", "/v1/keys"): "admin",
    ("GET", "/v1/keys"): "admin",
    ("GET", "/v1/keys/{key_id}"): "admin",
    ("DELETE", "/v1/keys/{key_id}"): "admin",
    ("POST", "/v1/articles/{ref}/corrections"): "editor",
    ("GET", "/v1/sitemaps/articles.xml"): "reader",
    ("GET", "/v1/sitemaps/news.xml"): "reader",
    ("GET", "/v1/sitemaps/articles-{period}.xml"): "reader",
    ("GET", "/v1/changes"): "reader",
    ("POST", "/v1/articles/{ref}/preview"): "editor",
    # The signed token in the path is the credential; no key is looked at.
    ("GET", "/v1/preview/{token}"): "public",
    ("POST", "/v1/webhooks"): "admin",
    ("GET", "/v1/webhooks"): "admin",
    ("GET", "/v1/webhooks/{webhook_id}"): "admin",
    ("PATCH", "/v1/webhooks/{webhook_id}"): "admin",
    ("DELETE", "/v1/webhooks/{webhook_id}"): "admin",
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): "admin",
    ("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): "admin",
    ("POST", "/v1/webhooks/{webhook_id}/test"): "admin",
}
CALLERS = ("anonymous", "editor", "admin", "revoked", "malformed")
# Values for path parameters: nothing by these names exists, so no call changes anything.
PATH_VALUES = {
    "ref": "no-such-thing",
    "version": "1",
    "key_id": str(uuid.UUID(int=7)),
    "webhook_id": str(uuid.UUID(int=8)),
    "delivery_id": str(uuid.UUID(int=9)),
    "token": "no-such-token",
    "period": "1999-01",
    "name": "no-such-file.css",
    "path": "no-such-file.css",
}


def route_table(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path template) of every route the app serves; HEAD goes with GET."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, Mount):
            yield "GET", f"{context.path}/{{path}}"
            continue
        assert context.path is not None
        for method in sorted(context.methods or ()):
            if method != "HEAD":
                yield method, context.path


def test_every_route_declares_its_access() -> None:
    routes = set(route_table(create_app(Settings())))
    undeclared = sorted(routes - ROUTE_ACCESS.keys())
    assert not undeclared, f"declare who may call these in ROUTE_ACCESS: {undeclared}"
    gone = sorted(ROUTE_ACCESS.keys() - routes)
    assert not gone, f"ROUTE_ACCESS names routes the app no longer has: {gone}"


def test_the_openapi_document_says_the_same() -> None:
    document = create_app(Settings()).openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            access = ROUTE_ACCESS[(method.upper(), path)]
            described: Access
            if "x-required-role" in operation:
                described = operation["x-required-role"]
            elif operation["security"]:
                described = "reader"
            else:
                described = "public"
            assert described == access, (method, path)
            if access != "public":
                assert "401" in operation["responses"], (method, path)
            if access == "admin":
                assert "403" in operation["responses"], (method, path)


def revoked_key(client: TestClient) -> dict[str, str]:
    created = client.post("/v1/keys", json={"name": "gone", "role": "admin"}, headers=ADMIN)
    assert created.status_code == 201
    assert client.delete(f"/v1/keys/{created.json()['id']}", headers=ADMIN).status_code == 204
    return {"Authorization": f"Bearer {created.json()['key']}"}


def expected(access: Access, caller: str) -> str:
    """What the caller must get: "allowed" (any answer but 401, 403 and 5xx), "401" or "403"."""
    if access == "public":
        return "allowed"
    if caller in ("revoked", "malformed"):
        return "401"
    if caller == "anonymous":
        return "allowed" if access == "reader" else "401"
    if caller == "editor" and access == "admin":
        return "403"
    return "allowed"


@pytest.mark.parametrize("caller", CALLERS)
def test_every_route_answers_every_caller_as_declared(client: TestClient, caller: str) -> None:
    headers = {
        "anonymous": {},
        "editor": EDITOR,
        "admin": ADMIN,
        "revoked": revoked_key(client),
        "malformed": {"Authorization": "Basic dXNlcjpwYXNz"},
    }[caller]
    wrong = []
    for (method, template), access in sorted(ROUTE_ACCESS.items()):
        path = template.format(**PATH_VALUES)
        body = {} if method in ("POST", "PATCH") else None
        response = client.request(method, path, headers=headers, json=body)
        want = expected(access, caller)
        got = response.status_code
        if want == "allowed":
            ok = got not in (401, 403) and got < 500
        else:
            ok = got == int(want) and response.headers["content-type"] == (
                "application/problem+json"
            )
            if got == 401:
                ok = ok and response.headers["www-authenticate"].startswith("Bearer")
        if not ok:
            wrong.append(f"{method} {template} as {caller}: {got}, expected {want}")
    assert not wrong, "\n".join(wrong)
