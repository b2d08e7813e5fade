"""Per-request plumbing as one plain ASGI middleware (cheaper than a stack of them): the
request id, the request body limit, the caching headers of every response, the request
metrics and the access log line."""

import logging
import re
import time
import uuid
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import close_request_sessions, is_connection_error
from app.logs import ACCESS_LOGGER, request_id_var
from app.metrics import UNMATCHED_ROUTE, observe_request
from app.problems import problem_response

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_CACHEABLE_STATUS = {200, 203, 301, 304, 308}

access_logger = logging.getLogger(ACCESS_LOGGER)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def route_template(scope: Scope, root_path: str) -> str:
    """The path template of the route that answered (``/v1/articles/{ref}``), which the
    router leaves in the scope once it has matched; a fixed label when nothing matched."""
    template = getattr(scope.get("route"), "path_format", None)
    if isinstance(template, str) and template:
        return template
    # A mounted app leaves no route, but extends the root path.
    mounted = str(scope.get("root_path", ""))[len(root_path) :]
    return f"{mounted}/{{path}}" if mounted else UNMATCHED_ROUTE


def host_name(host: str) -> str:
    """The name in a Host header, without its port (``[::1]:8000`` → ``[::1]``)."""
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.partition(":")[0].lower()


def host_allowed(host: str, allowed: list[str]) -> bool:
    name = host_name(host)
    for pattern in allowed:
        if pattern == "*" or pattern == name:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


def as_public(scope: Scope, public_url: str) -> Scope:
    """The scope as if the request had come to ``public_url``: every URL the app builds
    from the request (feeds, Link, Location, ninjs, JSON-LD) then starts with it."""
    parts = urlsplit(public_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
    headers.append((b"host", parts.netloc.encode("latin-1")))
    return dict(scope, scheme=parts.scheme, server=(parts.hostname, port), headers=headers)


class RequestPlumbing:
    def __init__(
        self,
        app: ASGIApp,
        *,
        cache_max_age: int,
        max_body_bytes: int,
        public_url: str | None = None,
        allowed_hosts: list[str] | None = None,
    ) -> None:
        self.app = app
        self.public_cache = f"public, max-age={cache_max_age}"
        self.max_body_bytes = max_body_bytes
        self.public_url = public_url
        self.allowed_hosts = allowed_hosts if allowed_hosts is not None else ["*"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sent_host = (_header(scope, b"host") or b"").decode("latin-1")
        host_ok = host_allowed(sent_host, self.allowed_hosts)
        if self.public_url:
            scope = as_public(scope, self.public_url)
        head = scope["method"] == "HEAD"
        if head:
            # HEAD is a GET without the body (RFC 9110 §9.3.2): route it as one.
            scope = dict(scope, method="GET")
        root_path: str = scope.get("root_path", "")
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
        status = 0

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
            nonlocal status
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                status = message["status"]
                if authenticated:
                    headers["Cache-Control"] = "private, no-store"
                    # Where the key stands against its budget (``app.auth``).
                    for name, value in state.get("rate_limit_headers", {}).items():
                        headers.setdefault(name, value)
                elif public_read and status in _CACHEABLE_STATUS:
                    # A response that says it is private (a preview link) or not to be kept
                    # at all (the changes feed) keeps its own.
                    own = headers.get("cache-control", "")
                    if "private" not in own and "no-store" not in own:
                        headers["Cache-Control"] = self.public_cache
                elif "cache-control" not in headers and not scope["path"].startswith("/static/"):
                    headers["Cache-Control"] = "no-store"
                if scope["path"].startswith("/v1/") and scope["method"] in {"GET", "HEAD"}:
                    headers.add_vary_header("Authorization")
            elif head and message["type"] == "http.response.body":
                message = dict(message, body=b"")
            await send(message)

        token = request_id_var.set(request_id)
        try:
            refusal = self._refusal(scope, host_ok)
            if refusal is not None:
                await refusal(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive_within_limit, send_with_headers)
        except Exception as exc:
            # The outermost error handler answers for it, with the status chosen here.
            if not status:
                status = 503 if is_connection_error(exc) else 500
            raise
        finally:
            await close_request_sessions(state)
            method = "HEAD" if head else scope["method"]
            self._observe(
                scope, method, root_path, request_id, status, time.perf_counter() - started
            )
            request_id_var.reset(token)

    def _refusal(self, scope: Scope, host_ok: bool) -> Response | None:
        """The answer to a request refused before the app sees it, if it is one."""
        if not host_ok:
            return problem_response(
                400, "The Host header names a host this service does not answer for."
            )
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return problem_response(413, "The request body is larger than this service accepts.")
        return None

    @staticmethod
    def _observe(
        scope: Scope, method: str, root_path: str, request_id: str, status: int, seconds: float
    ) -> None:
        route = route_template(scope, root_path)
        # A client that went away before any answer: nginx's 499 says just that.
        status = status or 499
        observe_request(method, route, status, seconds)
        if access_logger.isEnabledFor(logging.INFO):
            access_logger.info(
                "%s %s %d",
                method,
                scope["path"],
                status,
                extra={
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                },
            )
