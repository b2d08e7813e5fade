"""JSON in and out: the content-type check for bodies, responses encoded once with orjson,
and the list envelope."""

import uuid
from collections.abc import Callable, Mapping, Sequence
from types import UnionType
from typing import Any, Union, get_args, get_origin

import orjson
from fastapi import APIRouter, Depends
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse

from app.errors import UnsupportedMediaType, ValidationFailed
from app.pagination import ListParams, next_link

# Timestamps leave as RFC 3339 UTC with a Z, to the second.
JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS | orjson.OPT_NON_STR_KEYS


def is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    main, _, sub = media_type.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


async def check_request(request: Request) -> None:
    """What every route asks of a request before reading its own parameters: no NUL in
    the URL, no repeated single-valued parameter, and any body sent as JSON. One
    dependency rather than three: each one FastAPI solves costs a request time."""
    refuse_nul_in_url(request)
    refuse_repeated_parameters(request)
    await require_json_body(request)


class CheckedRoute(APIRoute):
    """An operation of a domain router. It works out once which of its query parameters
    take a single value (``refuse_repeated_parameters``), rather than walking its
    dependencies for them on every request (2 to 3 % of a list read under cProfile)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.single_value_parameters = _single_value_parameters(self.dependant)


def api_router(prefix: str = "", *, tags: list[str]) -> APIRouter:
    """A domain's router: each operation checks its request first (``check_request``) and
    answers with ``JSONBytesResponse`` unless it says otherwise. Both are set on the routes
    themselves, so that the app can serve them as its own (``app.main.add_routes``)."""
    return APIRouter(
        prefix=prefix,
        tags=list(tags),
        dependencies=[Depends(check_request)],
        default_response_class=JSONBytesResponse,
        route_class=CheckedRoute,
    )


async def require_json_body(request: Request) -> None:
    """A request that carries a body must say it is JSON (415 otherwise)."""
    has_body = request.headers.get("content-length", "0") not in {"0", ""} or (
        "transfer-encoding" in request.headers
    )
    if not has_body:
        return
    if not is_json_media_type(request.headers.get("content-type", "")):
        raise UnsupportedMediaType(
            "Send the body as application/json (PATCH also takes application/merge-patch+json)."
        )
    await refuse_nul_characters(request)


async def refuse_nul_characters(request: Request) -> None:
    """A string holding U+0000 is a 422 on every database: PostgreSQL cannot store the
    character at all, and SQLite would keep what PostgreSQL refuses."""
    raw = await request.body()
    if b"\\u0000" not in raw:  # JSON can carry NUL only as this escape
        return
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return  # malformed JSON gets its own 400 from the body parser
    where = _nul_location(document, ["body"])
    if where is not None:
        raise ValidationFailed(
            "Text may not contain the NUL character (U+0000).",
            loc=where,
            error_type="string_nul",
        )


def refuse_nul_in_url(request: Request) -> None:
    """The same for the path and the query: no ref, filter or search can hold U+0000,
    and PostgreSQL refuses to compare text with it."""
    scope = request.scope
    query = scope["query_string"]
    if "\x00" not in scope["path"] and b"%00" not in query and b"\x00" not in query:
        return  # the common case, told from the raw request alone
    if "\x00" in request.url.path:
        raise ValidationFailed(
            "The path may not contain the NUL character (U+0000).",
            loc=["path"],
            error_type="string_nul",
        )
    for name, value in request.query_params.multi_items():
        # Searches read NUL as a word separator, and a cursor never reaches the database
        # as text (one that does not decode is a 400): both have their own rules.
        if name not in {"q", "cursor"} and "\x00" in name + value:
            raise ValidationFailed(
                "A query parameter may not contain the NUL character (U+0000).",
                loc=["query", name],
                error_type="string_nul",
            )


def refuse_repeated_parameters(request: Request) -> None:
    """A query parameter that takes one value, given several times, is a 422: answering
    for one of them would be a guess. (Filters that take a list, such as `entity`, repeat.)"""
    route = request.scope.get("route")
    if not request.scope["query_string"] or not isinstance(route, APIRoute):
        return
    names = (
        route.single_value_parameters
        if isinstance(route, CheckedRoute)
        else _single_value_parameters(route.dependant)
    )
    for name in names:
        if len(request.query_params.getlist(name)) > 1:
            raise ValidationFailed(
                f"{name} may be given once.", loc=["query", name], error_type="repeated"
            )


def _single_value_parameters(dependant: Dependant) -> tuple[str, ...]:
    names: list[str] = []
    pending = [dependant]
    while pending:
        dependant = pending.pop()
        pending.extend(dependant.dependencies)
        names += [
            field.alias
            for field in dependant.query_params
            if not _takes_several(field.field_info.annotation)
        ]
    return tuple(dict.fromkeys(names))


def _takes_several(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in {list, tuple, set, frozenset}:
        return True
    if origin in {Union, UnionType}:
        return any(_takes_several(argument) for argument in get_args(annotation))
    return False


def _nul_location(value: Any, loc: list[str | int]) -> list[str | int] | None:
    if isinstance(value, str):
        return loc if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return [*loc, key]
            found = _nul_location(item, [*loc, key])
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_location(item, [*loc, index])
            if found is not None:
                return found
    return None


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
    request: Request, content: Mapping[str, Any], path: str, headers: dict[str, str] | None = None
) -> JSONBytesResponse:
    location = str(request.url.replace(path=path, query=""))
    return json_response(content, status_code=201, headers={"Location": location} | (headers or {}))


def page_response(
    request: Request,
    items: Sequence[Mapping[str, Any]],
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
