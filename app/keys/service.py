"""Creating, listing and revoking API keys, and the bootstrap admin key."""

import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import hash_key, new_secret
from app.db import Reader, utcnow
from app.errors import BadRequest, NotFound
from app.keys.models import ApiKey, Role
from app.keys.models import api_keys_table as keys
from app.pagination import ListParams

BOOTSTRAP_NAME = "bootstrap admin"


def visible_prefix(secret: str) -> str:
    """Enough of the secret to tell keys apart, never enough to matter."""
    return secret[: min(10, len(secret) // 4)]


def key_public(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "prefix": row.prefix,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
    }


async def create_key(session: AsyncSession, *, name: str, role: Role) -> dict[str, Any]:
    """Store a new key and return it with its secret, which is never shown again."""
    secret = new_secret()
    key = ApiKey(
        name=name, role=role.value, key_hash=hash_key(secret), prefix=visible_prefix(secret)
    )
    session.add(key)
    await session.commit()
    return key_public(key) | {"key": secret}


async def list_keys(
    session: Reader, *, params: ListParams, include_revoked: bool
) -> tuple[list[dict[str, Any]], str | None, int | None]:
    query = select(keys)
    if not include_revoked:
        query = query.where(keys.c.revoked_at.is_(None))
    if params.cursor:
        query = query.where(keys.c.id > _decode_key_cursor(params.cursor))
    rows = (await session.execute(query.order_by(keys.c.id).limit(params.limit + 1))).all()
    next_cursor = rows[params.limit - 1].id.hex if len(rows) > params.limit else None
    total = None
    if params.count:
        count_query = select(func.count()).select_from(keys)
        if not include_revoked:
            count_query = count_query.where(keys.c.revoked_at.is_(None))
        total = (await session.execute(count_query)).scalar_one()
    return [key_public(row) for row in rows[: params.limit]], next_cursor, total


def _decode_key_cursor(cursor: str) -> uuid.UUID:
    try:
        return uuid.UUID(hex=cursor)
    except ValueError as exc:
        raise BadRequest("The cursor is not valid for this list; start again without one.") from exc


async def get_key(session: Reader, key_id: uuid.UUID) -> dict[str, Any]:
    row = (await session.execute(select(keys).where(keys.c.id == key_id))).first()
    if row is None:
        raise NotFound(f"No key with id {key_id}.")
    return key_public(row)


async def revoke_key(session: AsyncSession, key_id: uuid.UUID) -> None:
    result = await session.execute(
        update(keys)
        .where(keys.c.id == key_id, keys.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"No active key with id {key_id}.")
    await session.commit()


async def ensure_bootstrap_key(session: AsyncSession, secret: str | None) -> None:
    """Make the configured admin secret a working key, and retire any earlier one."""
    wanted = hash_key(secret) if secret else None
    await session.execute(
        update(keys)
        .where(keys.c.bootstrap.is_(True), keys.c.revoked_at.is_(None))
        .where(keys.c.key_hash != wanted if wanted else keys.c.bootstrap.is_(True))
        .values(revoked_at=utcnow())
    )
    if wanted and secret:
        existing = (
            await session.execute(select(keys.c.id).where(keys.c.key_hash == wanted))
        ).first()
        if existing is None:
            session.add(
                ApiKey(
                    name=BOOTSTRAP_NAME,
                    role=Role.admin.value,
                    key_hash=wanted,
                    prefix=visible_prefix(secret),
                    bootstrap=True,
                )
            )
        else:
            await session.execute(
                update(keys)
                .where(keys.c.id == existing.id)
                .values(revoked_at=None, role=Role.admin.value)
            )
    try:
        await session.commit()
    except IntegrityError:
        # Another worker starting at the same moment stored it first.
        await session.rollback()
