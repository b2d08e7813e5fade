"""The OpenAPI document: its overview, the tag descriptions, and what FastAPI cannot tell
from the routes alone (who may call each operation, and that every error is a problem
document)."""

from typing import Any

from fastapi import FastAPI

from app.keys.models import Role
from app.problems import PROBLEM_MEDIA_TYPE, Problem, problem_responses

DESCRIPTION = """
Newsdesk stores articles, their authors and the entities they are about (people,
organisations, places, topics and events), and serves them to websites and apps.

**Reading.** Anonymous callers read published articles; their responses carry
`Cache-Control: public, max-age=60` (a setting), so a CDN can hold them. Lists use cursor
pagination: pass `meta.next_cursor` back as `cursor`; the `Link` header has the next page too.

**Writing.** Send an API key as `Authorization: Bearer <key>`. Editors write content and see
drafts; admins also manage keys. Responses to keyed requests are `private, no-store`.

**Caching.** Articles, authors, entities and lists carry a strong `ETag` (single ones also
`Last-Modified`). Send it back in `If-None-Match`: while the answer would be the same, it is
`304 Not Modified` with no body.

**Safe edits.** Send the ETag you read a resource with in `If-Match` on `PATCH` or `DELETE`:
if it changed since, the answer is `412` and nothing is written. Every change of an article
is kept as a revision; deleted articles wait in the trash until restored.

**Refs.** Wherever a path says `{ref}`, the id or the slug works. A slug that changed keeps
answering with `301` and the current URL in `Location` (`308` for writes), and stays
reserved.

**Errors** are `application/problem+json` (RFC 9457) with `type`, `title`, `status` and
`detail`; validation errors add `errors`, one entry per problem. Any request whose body is
over the size limit (1 MiB by default) is answered `413`, on every path. A query parameter
that takes one value and is given twice (`limit=2&limit=3`) is a `422`; `author` and
`entity` are the ones meant to repeat.

**Webhooks and previews.** Admins subscribe a URL to change events; each message is
signed per the Standard Webhooks specification (`webhook-id`, `webhook-timestamp`,
`webhook-signature`) and sent at least once, retried for a day. Editors make preview links
that show a draft to anyone holding them, uncached and unindexed, until they expire.

**Clients.** Operation ids are stable, so code generated from this document keeps its
names from one release to the next. `newsdesk openapi --output openapi.json` writes this
document without a database.
""".strip()

TAGS = [
    {
        "name": "articles",
        "description": "Stories with Markdown bodies rendered to safe HTML and plain text, "
        "ordered bylines and entity tags.",
    },
    {"name": "authors", "description": "The people (or desks) in bylines."},
    {
        "name": "entities",
        "description": "People, organisations, places, topics and events that articles are "
        "tagged with, with the other names they go by.",
    },
    {
        "name": "feeds",
        "description": "Atom 1.0 and RSS 2.0 feeds of the newest published articles.",
    },
    {"name": "keys", "description": "API keys (admins only). Only hashes are stored."},
    {
        "name": "webhooks",
        "description": "Subscriptions that get change-log events POSTed to a URL, signed per "
        "the Standard Webhooks specification, with a delivery log (admins only).",
    },
    {"name": "operations", "description": "Liveness, readiness and metrics."},
]

SCHEMA_REF = "#/components/schemas/{model}"
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and so ``/openapi.json``) return the completed document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete_document(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete_document(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template=SCHEMA_REF)
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            _declare_access(operation)
            _use_problem_for_validation_errors(operation["responses"])
    for name in FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    return document


def _declare_access(operation: dict[str, Any]) -> None:
    """FastAPI lists the key wherever the code looks at it (``app.auth``), with the role an
    operation needs as a scope. Scopes belong to OAuth, so the role moves to
    ``x-required-role``. Where no role is needed the key is optional: anonymous callers may
    call too, and see less. No requirement at all means no key is looked at."""
    requirements: list[dict[str, list[str]]] = operation.get("security", [])
    roles = [
        role for requirement in requirements for scopes in requirement.values() for role in scopes
    ]
    keys_only: list[dict[str, list[str]]] = [
        {scheme: []} for requirement in requirements for scheme in requirement
    ]
    if roles:
        operation["security"] = keys_only
        # An operation that checks for both roles needs the stronger one.
        operation["x-required-role"] = max(roles, key=[role.value for role in Role].index)
    elif keys_only:
        operation["security"] = [{}, *keys_only]
    else:
        operation["security"] = []


def _use_problem_for_validation_errors(responses: dict[str, Any]) -> None:
    """FastAPI declares its own 422 shape on every operation with parameters; this service
    answers validation errors with a problem document (``app.problems``), so say that."""
    declared = responses.get("422", {}).get("content", {})
    if "application/json" in declared and PROBLEM_MEDIA_TYPE not in declared:
        responses["422"] = problem_responses(422)[422]
