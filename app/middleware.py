"""Per-request plumbing as one plain ASGI middleware (cheaper than a stack of them):
the request id, the request body limit and the caching headers of every response."""

import re
import uuid
from collections.abc import MutableMapping
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import problem_response

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_CACHEABLE_STATUS = {200, 203, 301, 304, 308}


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class RequestPlumbing:
    def __init__(self, app: ASGIApp, *, cache_max_age: int, max_body_bytes: int) -> None:
        self.app = app
        self.public_cache = f"public, max-age={cache_max_age}"
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = _header(scope, b"x-request-id")
        incoming = sent.decode("latin-1") if sent else ""
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        authenticated = _header(scope, b"authorization") is not None
        public_read = (
            not authenticated
            and scope["method"] in {"GET", "HEAD"}
            and scope["path"].startswith("/v1/")
        )

        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise HTTPException(413)
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                status = message["status"]
                if authenticated:
                    headers["Cache-Control"] = "private, no-store"
                elif public_read and status in _CACHEABLE_STATUS:
                    headers["Cache-Control"] = self.public_cache
                elif "cache-control" not in headers and not scope["path"].startswith("/static/"):
                    headers["Cache-Control"] = "no-store"
                if scope["path"].startswith("/v1/") and scope["method"] in {"GET", "HEAD"}:
                    headers.add_vary_header("Authorization")
            await send(message)

        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            response = problem_response(
                413, "The request body is larger than this service accepts."
            )
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive_within_limit, send_with_headers)
