"""JSON in and out: the content-type check for bodies, responses encoded once with orjson,
and the list envelope."""

import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from app.errors import UnsupportedMediaType
from app.pagination import ListParams, next_link

# Timestamps leave as RFC 3339 UTC with a Z, to the second.
JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS | orjson.OPT_NON_STR_KEYS


def is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    main, _, sub = media_type.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


async def require_json_body(request: Request) -> None:
    """A request that carries a body must say it is JSON (415 otherwise)."""
    has_body = request.headers.get("content-length", "0") not in {"0", ""} or (
        "transfer-encoding" in request.headers
    )
    if has_body and not is_json_media_type(request.headers.get("content-type", "")):
        raise UnsupportedMediaType(
            "Send the body as application/json (PATCH also takes application/merge-patch+json)."
        )


def _fallback(value: Any) -> Any:
    # asyncpg hands back its own UUID subclass, which orjson does not know by type.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, default=_fallback, option=JSON_OPTIONS)


class JSONBytesResponse(JSONResponse):
    # A JSONResponse, so that OpenAPI documents each operation's response model.
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else dumps(content)


def json_response(
    content: Any, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> JSONBytesResponse:
    return JSONBytesResponse(content, status_code=status_code, headers=headers)


def created_response(
    request: Request, content: dict[str, Any], path: str, headers: dict[str, str] | None = None
) -> JSONBytesResponse:
    location = str(request.url.replace(path=path, query=""))
    return json_response(content, status_code=201, headers={"Location": location} | (headers or {}))


def page_response(
    request: Request,
    items: list[dict[str, Any]],
    *,
    params: ListParams,
    next_cursor: str | None,
    total: int | None,
    headers: dict[str, str] | None = None,
) -> JSONBytesResponse:
    meta: dict[str, Any] = {"limit": params.limit, "next_cursor": next_cursor}
    if total is not None:
        meta["total"] = total
    headers = dict(headers or {})
    if next_cursor:
        headers["Link"] = next_link(request.url, next_cursor)
    return json_response({"data": items, "meta": meta}, headers=headers)
