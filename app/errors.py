"""Domain errors: each carries the HTTP status and problem type it is answered with.

Plain exceptions, with no framework import, so any service may raise them; ``app.problems``
renders them (and the framework's own errors) as RFC 9457 ``application/problem+json``."""

from typing import Any


class ProblemError(Exception):
    """Base of every error a service may raise; the subclass decides status and type."""

    status: int = 500
    type_name: str = "internal-error"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


class BadRequest(ProblemError):
    status, type_name = 400, "bad-request"


class Unauthorized(ProblemError):
    status, type_name = 401, "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="newsdesk"'})


class Forbidden(ProblemError):
    status, type_name = 403, "forbidden"


class NotFound(ProblemError):
    status, type_name = 404, "not-found"


class Conflict(ProblemError):
    status, type_name = 409, "conflict"


class PreconditionFailed(ProblemError):
    status, type_name = 412, "precondition-failed"


class UnsupportedMediaType(ProblemError):
    status, type_name = 415, "unsupported-media-type"


class ValidationFailed(ProblemError):
    status, type_name = 422, "validation-error"

    def __init__(self, detail: str, *, loc: list[str | int], error_type: str) -> None:
        super().__init__(detail, errors=[{"loc": loc, "msg": detail, "type": error_type}])


class ServiceUnavailable(ProblemError):
    status, type_name = 503, "service-unavailable"


class Moved(Exception):
    """A resource was asked for by a slug it no longer has; answer with a redirect."""

    def __init__(self, old_ref: str, new_ref: str) -> None:
        super().__init__(old_ref)
        self.old_ref = old_ref
        self.new_ref = new_ref


class NotModified(Exception):
    """The client's cached copy is current; answer ``304`` with these headers."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__("not modified")
        self.headers = headers
