"""Preview tokens: the article id and an expiry time, signed with HMAC-SHA256.

A token is the URL-safe base64 (unpadded) of 16 bytes of article id, 8 bytes of expiry
(Unix seconds, big-endian) and the 32-byte HMAC of those 24 bytes. Nothing is stored per
token: any worker holding the key can check one, and changing the key voids them all.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import utcnow
from app.previews.models import preview_keys_table

KEY_ROW = 1
_PAYLOAD = 16 + 8
_SIGNATURE = 32
# Keeps a key given in NEWSDESK_SECRET_KEY from signing the same bytes for another purpose.
_PURPOSE = b"newsdesk preview link\x00"


@dataclass(frozen=True)
class PreviewGrant:
    article_id: uuid.UUID
    expires_at: datetime


async def signing_key(session: AsyncSession, settings: Settings) -> bytes:
    """The key preview links are signed with: from NEWSDESK_SECRET_KEY when set, otherwise
    a random one made on first use and kept in the database (so the same everywhere)."""
    if settings.secret_key is not None:
        return hashlib.sha256(_PURPOSE + settings.secret_key.get_secret_value().encode()).digest()
    query = select(preview_keys_table.c.value).where(preview_keys_table.c.id == KEY_ROW)
    stored = (await session.execute(query)).scalar_one_or_none()
    if stored is None:
        try:
            await session.execute(
                insert(preview_keys_table).values(
                    id=KEY_ROW, value=secrets.token_hex(32), created_at=utcnow()
                )
            )
            await session.commit()
        except IntegrityError:
            await session.rollback()  # another worker made it first: use that one
        stored = (await session.execute(query)).scalar_one()
    return bytes.fromhex(stored)


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, _PURPOSE + payload, hashlib.sha256).digest()


def make_token(key: bytes, grant: PreviewGrant) -> str:
    payload = grant.article_id.bytes + int(grant.expires_at.timestamp()).to_bytes(8, "big")
    return base64.urlsafe_b64encode(payload + _mac(key, payload)).rstrip(b"=").decode()


def read_token(key: bytes, token: str, now: datetime) -> PreviewGrant | None:
    """The grant a token carries; None if it is malformed, altered or expired."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _PAYLOAD + _SIGNATURE:
        return None
    payload, signature = raw[:_PAYLOAD], raw[_PAYLOAD:]
    if not hmac.compare_digest(signature, _mac(key, payload)):
        return None
    expires_at = datetime.fromtimestamp(int.from_bytes(payload[16:], "big"), UTC)
    if expires_at <= now:
        return None
    return PreviewGrant(uuid.UUID(bytes=payload[:16]), expires_at)
