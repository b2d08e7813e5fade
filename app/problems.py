"""Problem rendering: one set of handlers answers every error, ours and the framework's,
as an RFC 9457 ``application/problem+json`` document; and the OpenAPI ``responses`` entries
that declare those errors on each route."""

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match, compile_path

from app.db import is_connection_error, is_statement_too_big
from app.errors import Moved, NotModified, ProblemError

logger = logging.getLogger("newsdesk.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "urn:newsdesk:problem:"


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(examples=[["body", "headline"]])
    msg: str = Field(examples=["Field required"])
    type: str = Field(examples=["missing"])


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:newsdesk:problem:not-found",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "No article with ref 'ruto-trump-call'.",
                    "instance": "/v1/articles/ruto-trump-call",
                },
                {
                    "type": "urn:newsdesk:problem:validation-error",
                    "title": "Unprocessable Entity",
                    "status": 422,
                    "detail": "The request is not valid: body.headline.",
                    "instance": "/v1/articles",
                    "errors": [
                        {"loc": ["body", "headline"], "msg": "Field required", "type": "missing"}
                    ],
                },
            ]
        }
    )

    type: str = Field(examples=["urn:newsdesk:problem:not-found"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["No article with ref 'ruto-trump-call'."])
    instance: str | None = Field(None, examples=["/v1/articles/ruto-trump-call"])
    errors: list[ValidationIssue] | None = None


def problem_response(
    status: int,
    detail: str,
    *,
    type_name: str | None = None,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + type_name if type_name else "about:blank",
        "title": phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    response = Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _clean_validation_errors(raw: list[Any]) -> list[dict[str, Any]]:
    # Only loc, msg and type: the offending input can be large or hold a secret.
    return [
        {"loc": list(error.get("loc", [])), "msg": str(error.get("msg", "")), "type": error["type"]}
        for error in raw
    ]


async def handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.status,
        exc.detail,
        type_name=exc.type_name,
        instance=request.url.path,
        errors=exc.errors,
        headers=exc.headers,
    )


async def handle_moved(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Moved)
    segments = request.url.path.split("/")
    old = quote(exc.old_ref, safe="")
    segments = [quote(exc.new_ref, safe="") if segment == old else segment for segment in segments]
    location = "/".join(segments)
    if request.url.query:
        location += "?" + request.url.query
    # 301 for reads; a write keeps its method and body with 308.
    status = 301 if request.method in {"GET", "HEAD"} else 308
    return Response(status_code=status, headers={"Location": location})


async def handle_not_modified(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotModified)
    # No body; the validators and (from the middleware) Cache-Control and Vary stay.
    return Response(status_code=304, headers=exc.headers)


async def handle_request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _clean_validation_errors(list(exc.errors()))
    if any(error["type"] == "json_invalid" for error in errors):
        return problem_response(
            400,
            "The request body is not valid JSON.",
            type_name="malformed-json",
            instance=request.url.path,
        )
    where = ", ".join(".".join(str(part) for part in error["loc"]) for error in errors[:5])
    return problem_response(
        422,
        f"The request is not valid: {where}." if where else "The request is not valid.",
        type_name="validation-error",
        instance=request.url.path,
        errors=errors,
    )


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    if status == 404 and detail == "Not Found":
        detail = f"No route matches {request.url.path}."
    elif status == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
        headers = {"Allow": ", ".join(_allowed_methods(request))}
        return problem_response(status, detail, instance=request.url.path, headers=headers)
    elif status == 413:
        detail = "The request body is larger than this service accepts."
    return problem_response(
        status,
        detail,
        instance=request.url.path,
        headers=dict(exc.headers) if exc.headers else None,
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> list[str]:
    """The methods of the resource at this path, as the OpenAPI document lists them.

    Each method of a path is its own route, and the router's 405 names only the first
    route whose path matched; ``Allow`` must list them all (RFC 9110, section 15.5.6).
    Where templates overlap (``/v1/entities/extract`` and ``/v1/entities/{ref}``) the
    most specific one is the resource. HEAD is served wherever GET is (RequestPlumbing).
    """
    path = request.scope["path"]
    documented = [
        (template.count("{"), template, operations)
        for template, operations in request.app.openapi()["paths"].items()
        if compile_path(template)[0].match(path)
    ]
    if documented:
        operations = min(documented)[2]
        allowed = {method.upper() for method in operations}
    else:  # a route left out of the document, such as /docs
        allowed = {
            method
            for method in _METHODS
            if any(
                route.matches({**request.scope, "method": method})[0] == Match.FULL
                for route in request.app.router.routes
            )
        }
    if "GET" in allowed:
        allowed.add("HEAD")
    return [method for method in _METHODS if method in allowed]


def _request_id_header(request: Request) -> dict[str, str]:
    # The last-resort handler answers from outside the request middleware, so the request
    # id that middleware adds to every other response is added here.
    request_id = getattr(request.state, "request_id", None)
    return {"X-Request-ID": request_id} if request_id else {}


async def handle_database_error(request: Request, exc: Exception) -> Response:
    logger.warning("database unavailable: %s", type(exc).__name__)
    return problem_response(
        503,
        "The database is unavailable; try again shortly.",
        type_name="service-unavailable",
        instance=request.url.path,
        headers={"Retry-After": "1", **_request_id_header(request)},
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    if is_statement_too_big(exc):
        logger.warning("statement over the database's limits: %s", type(exc).__name__)
        detail = "The request asks for more than one query can hold; ask with fewer values."
        return problem_response(
            422,
            detail,
            type_name="validation-error",
            instance=request.url.path,
            errors=[{"loc": ["request"], "msg": detail, "type": "too_complex"}],
            headers=_request_id_header(request),
        )
    if is_connection_error(exc):
        return await handle_database_error(request, exc)
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        "The server failed to answer this request.",
        instance=request.url.path,
        headers=_request_id_header(request),
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, handle_problem)
    app.add_exception_handler(Moved, handle_moved)
    app.add_exception_handler(NotModified, handle_not_modified)
    app.add_exception_handler(RequestValidationError, handle_request_validation)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(DBAPIError, handle_unexpected)
    app.add_exception_handler(OSError, handle_database_error)
    app.add_exception_handler(Exception, handle_unexpected)


_PROBLEM_DESCRIPTIONS = {
    400: "Malformed JSON or a cursor that does not fit this list.",
    401: "No valid API key was sent, and this needs one.",
    403: "The key's role may not do this.",
    404: "Nothing by that ref, or nothing this caller may see.",
    409: "The slug is taken, or the item is still in use.",
    412: "If-Match does not match the current ETag; nothing was changed.",
    413: "The request body is over the size limit.",
    415: "The body is not JSON.",
    422: "A field or query value is not valid; `errors` lists each problem.",
    503: "The database cannot be reached right now.",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries declaring problem+json errors.

    No ``model``: FastAPI would declare it as ``application/json`` too, which errors never
    are. ``app.openapi`` adds the ``Problem`` schema to the document's components."""
    return {
        code: {
            "description": _PROBLEM_DESCRIPTIONS[code],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for code in codes
    }


MOVED: dict[int | str, dict[str, Any]] = {
    301: {"description": "An old slug: `Location` holds the current URL."}
}
MOVED_WRITE: dict[int | str, dict[str, Any]] = {
    308: {
        "description": "An old slug: repeat the request (same method and body) at the "
        "current URL in `Location`."
    }
}
