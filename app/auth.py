"""Who is asking: anonymous readers, editors and admins, identified by bearer API keys."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.errors import Forbidden, Unauthorized
from app.keys.models import Role, api_keys_table
from app.ratelimit import RateLimits

KEY_PREFIX = "nd_"


def hash_key(secret: str) -> str:
    # Keys are long random tokens, not passwords: a fast hash is the right tool here.
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Viewer:
    key_id: uuid.UUID | None = None
    key_name: str | None = None
    role: Role | None = None

    @property
    def is_editor(self) -> bool:
        return self.role in (Role.editor, Role.admin)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin


ANONYMOUS = Viewer()


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send the API key as 'Authorization: Bearer <key>'.")
    return token.strip()


async def viewer_for_token(session: AsyncSession, token: str) -> Viewer:
    keys = api_keys_table
    query = select(keys.c.id, keys.c.name, keys.c.role).where(
        keys.c.key_hash == hash_key(token), keys.c.revoked_at.is_(None)
    )
    row = (await session.execute(query)).first()
    if row is None:
        raise Unauthorized("The API key is not valid or has been revoked.")
    return Viewer(key_id=row.id, key_name=row.name, role=Role(row.role))


# Declares the key in the OpenAPI document (``app.openapi`` completes it); ``get_viewer``
# reads the header itself, so that a malformed one is a 401 rather than anonymous.
BEARER_KEY = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="API key",
    description="An API key as `Authorization: Bearer <key>` (`newsdesk keys create`, or "
    "`createKey`). Operations list the role they need: `editor` keys read and write content "
    "and see drafts; `admin` keys can do that too and manage keys.",
    auto_error=False,
)
BearerKey = Annotated[HTTPAuthorizationCredentials | None, Security(BEARER_KEY)]


async def get_viewer(request: Request, _declared: BearerKey) -> Viewer:
    return await viewer_of(request)


_VIEWER = "viewer"


async def viewer_of(request: Request) -> Viewer:
    """Who sent this request; rate-limited (``app.ratelimit``) wherever a key is sent:
    failed attempts per client address, and every request against the key's budget.
    Worked out once a request, however many dependencies ask."""
    state = request.scope.setdefault("state", {})
    known: Viewer | None = state.get(_VIEWER)
    if known is None:
        known = state[_VIEWER] = await _identify(request)
    return known


async def _identify(request: Request) -> Viewer:
    if "authorization" not in request.headers:
        return ANONYMOUS
    limits: RateLimits = request.app.state.rate_limits
    # The peer's address, or the one a trusted proxy reported (README, "Security").
    address = request.client.host if request.client else "unknown"
    await limits.refuse_if_blocked(address)
    try:
        token = bearer_token(request)
        assert token is not None
        sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.read_sessionmaker
        async with sessionmaker() as session:
            viewer = await viewer_for_token(session, token)
    except Unauthorized as exc:
        exc.headers.update(await limits.count_failure(address))
        raise
    # The middleware adds these to the response, whatever the handler returns.
    request.state.rate_limit_headers = await limits.spend(str(viewer.key_id))
    return viewer


async def require_editor(
    viewer: Annotated[Viewer, Security(get_viewer, scopes=[Role.editor.value])],
) -> Viewer:
    if viewer.role is None:
        raise Unauthorized("This needs an editor or admin API key.")
    return viewer


async def require_admin(
    viewer: Annotated[Viewer, Security(get_viewer, scopes=[Role.admin.value])],
) -> Viewer:
    if viewer.role is None:
        raise Unauthorized("This needs an admin API key.")
    if not viewer.is_admin:
        raise Forbidden("Only admin keys may do this.")
    return viewer


ViewerDep = Annotated[Viewer, Depends(get_viewer)]
EditorDep = Annotated[Viewer, Depends(require_editor)]
AdminDep = Annotated[Viewer, Depends(require_admin)]
