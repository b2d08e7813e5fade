"""Preview tokens: the article id and an expiry time, signed with HMAC-SHA256.

A token is the URL-safe base64 (unpadded) of 16 bytes of article id, 8 bytes of expiry
(Unix seconds, big-endian) and the 32-byte HMAC of those 24 bytes. Nothing is stored per
token: any worker holding the key can check one, and changing the key voids them all.
"""

import base64
import binascii
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from app.instance import instance_secret

_PAYLOAD = 16 + 8
_SIGNATURE = 32
# Keeps the instance secret from signing the same bytes for another purpose.
_PURPOSE = b"newsdesk preview link\x00"


@dataclass(frozen=True)
class PreviewGrant:
    article_id: uuid.UUID
    expires_at: datetime


def signing_key() -> bytes:
    """The key preview links are signed with, derived from the instance secret (the same
    on every worker and machine sharing the database)."""
    return hmac.new(instance_secret(), _PURPOSE, hashlib.sha256).digest()


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
