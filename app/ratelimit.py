"""Rate limits: failed authentications per client address, and a request budget per API
key, counted with the `limits` library in fixed windows: in Redis when
``NEWSDESK_REDIS_URL`` is set (one count for every worker and machine), in each worker's
memory otherwise.

A refused request is a ``429`` problem with ``Retry-After``, and responses to keyed
requests (and failed authentications) say where the caller stands in the two fields of
draft-ietf-httpapi-ratelimit-headers-10: ``RateLimit-Policy: "key";q=6000;w=60`` (the
quota and its window in seconds) and ``RateLimit: "key";r=5999;t=42`` (what is left, and
the seconds until the window starts again).
"""

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError

from app.config import Settings
from app.errors import TooManyRequests

logger = logging.getLogger("newsdesk.ratelimit")

AUTH_FAILURES = "failed-auth"
PER_KEY = "key"
# Redis keys start with this, so that other users of the same Redis are left alone.
REDIS_KEY_PREFIX = "newsdesk-limits"


@dataclass(frozen=True)
class Standing:
    """Where one caller stands against one policy."""

    policy: str
    item: RateLimitItem
    remaining: int
    reset_seconds: int
    refused: bool = False

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"{self.policy}";q={self.item.amount};w={self.item.get_expiry()}',
            "RateLimit": f'"{self.policy}";r={self.remaining};t={self.reset_seconds}',
        }

    def refusal_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.reset_seconds), **self.headers()}


class RateLimits:
    def __init__(
        self,
        storage: Storage,
        *,
        auth_failures: RateLimitItem | None,
        per_key: RateLimitItem | None,
    ) -> None:
        self.limiter = FixedWindowRateLimiter(storage)
        self.auth_failures = auth_failures
        self.per_key = per_key

    @classmethod
    def from_settings(cls, settings: Settings) -> "RateLimits":
        storage: Storage
        if settings.redis_url:
            # Short timeouts: a Redis that does not answer must not hold requests up.
            storage = RedisStorage(
                "async+" + settings.redis_url,
                wrap_exceptions=True,
                key_prefix=REDIS_KEY_PREFIX,
                connect_timeout=1,
                stream_timeout=1,
            )
        else:
            storage = MemoryStorage(wrap_exceptions=True)
        return cls(
            storage,
            auth_failures=_limit(settings.auth_failure_limit),
            per_key=_limit(settings.key_rate_limit),
        )

    async def refuse_if_blocked(self, address: str) -> None:
        """Before a key is checked: an address that failed too often waits, whatever it
        sends now (or guessing would go on, with only the successes answered)."""
        if self.auth_failures is None:
            return
        standing = await self._standing(AUTH_FAILURES, self.auth_failures, address, hit=False)
        if standing is not None and standing.remaining <= 0:
            raise TooManyRequests(
                "Too many failed authentications from this address; try again in "
                f"{standing.reset_seconds} s.",
                headers=standing.refusal_headers(),
            )

    async def count_failure(self, address: str) -> dict[str, str]:
        """Count a failed authentication; the headers that tell the caller where it stands."""
        if self.auth_failures is None:
            return {}
        standing = await self._standing(AUTH_FAILURES, self.auth_failures, address, hit=True)
        return standing.headers() if standing is not None else {}

    async def spend(self, key_id: str) -> dict[str, str]:
        """Take one request from the key's budget: refused with a 429 when it is spent,
        otherwise the headers that tell the caller what is left."""
        if self.per_key is None:
            return {}
        standing = await self._standing(PER_KEY, self.per_key, key_id, hit=True)
        if standing is None:
            return {}
        if standing.refused:
            raise TooManyRequests(
                f"This API key's budget of {self.per_key} is spent; try again in "
                f"{standing.reset_seconds} s.",
                headers=standing.refusal_headers(),
            )
        return standing.headers()

    async def _standing(
        self, policy: str, item: RateLimitItem, identifier: str, *, hit: bool
    ) -> Standing | None:
        """Count (``hit``) or look, then read the window; None when the store is away,
        which lets the request through: a Redis outage must not become an API outage."""
        try:
            allowed = await self.limiter.hit(item, policy, identifier) if hit else True
            reset_at, remaining = await self.limiter.get_window_stats(item, policy, identifier)
        except StorageError as exc:
            logger.warning("rate limit store unavailable, not limiting: %s", exc.storage_error)
            return None
        return Standing(
            policy=policy,
            item=item,
            remaining=max(0, remaining),
            reset_seconds=max(1, math.ceil(reset_at - time.time())),
            refused=not allowed,
        )


def _limit(notation: str) -> RateLimitItem | None:
    return parse(notation) if notation else None
