"""Sending deliveries: Standard Webhooks signatures, one attempt, and the loop that sends
what is due, at least once, with growing delays between attempts.

A delivery is a row written by a committed transaction, so nothing is ever sent for a
change that rolled back. A sender claims due rows in a short transaction of its own
(PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED``; SQLite: its single writer), marking each
locked for longer than an attempt can take; then it sends, and records the answer in another
short transaction. Two senders, on one machine or many, never hold the same row at once; a
sender that dies mid-attempt leaves the row locked until the lock runs out, and then any
sender sends it again. Receivers tell a repeat by its ``webhook-id``.
"""

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import utcnow
from app.errors import Conflict, NotFound
from app.webhooks.models import DeliveryStatus, deliveries_table, subscriptions_table
from app.webhooks.targets import RESOLVE_TIMEOUT, TargetRefused, check_target

logger = logging.getLogger("newsdesk.webhooks")

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
USER_AGENT = "Newsdesk-Webhooks/1.0"
deliveries = deliveries_table
subscriptions = subscriptions_table


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,`` and the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}``, keyed with the
    secret's decoded bytes (Standard Webhooks)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, message_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }


@dataclass(frozen=True)
class Attempt:
    """A claimed delivery: what one attempt sends, and which attempt it is."""

    delivery_id: uuid.UUID
    number: int
    message_id: str
    payload: str
    url: str
    secret: str
    created_at: datetime


def lease_seconds(settings: Settings) -> float:
    """How long a claimed row stays locked: longer than any attempt can take."""
    return settings.webhook_timeout + RESOLVE_TIMEOUT + 5


async def _lock(
    session: AsyncSession, rows: Sequence[Any], settings: Settings, now: datetime
) -> list[Attempt]:
    if not rows:
        return []
    ids = [row.id for row in rows]
    await session.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(ids))
        .values(
            status=DeliveryStatus.pending.value,
            attempts=deliveries.c.attempts + 1,
            last_attempt_at=now,
            locked_until=now + timedelta(seconds=lease_seconds(settings)),
        )
    )
    await session.commit()
    return [
        Attempt(
            delivery_id=row.id,
            number=row.attempts + 1,
            message_id=row.message_id,
            payload=row.payload,
            url=row.url,
            secret=row.secret,
            created_at=row.created_at,
        )
        for row in rows
    ]


def _unlocked(now: datetime) -> ColumnElement[bool]:
    return or_(deliveries.c.locked_until.is_(None), deliveries.c.locked_until <= now)


async def claim_due(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *, limit: int
) -> list[Attempt]:
    """Take up to ``limit`` deliveries that are due, for this sender alone."""
    now = utcnow()
    async with sessionmaker() as session:
        query = (
            select(
                deliveries.c.id,
                deliveries.c.attempts,
                deliveries.c.message_id,
                deliveries.c.payload,
                deliveries.c.created_at,
                subscriptions.c.url,
                subscriptions.c.secret,
            )
            .join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
            .where(
                deliveries.c.status == DeliveryStatus.pending.value,
                deliveries.c.next_attempt_at <= now,
                _unlocked(now),
                subscriptions.c.active.is_(True),
            )
            .order_by(deliveries.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=deliveries)
        )
        rows = list((await session.execute(query)).all())
        return await _lock(session, rows, settings, now)


async def claim_one(
    session: AsyncSession, settings: Settings, *, subscription_id: uuid.UUID, delivery_id: uuid.UUID
) -> Attempt:
    """Take one delivery now, whatever its status (a retry asked for by hand)."""
    now = utcnow()
    query = (
        select(
            deliveries.c.id,
            deliveries.c.attempts,
            deliveries.c.message_id,
            deliveries.c.payload,
            deliveries.c.created_at,
            deliveries.c.locked_until,
            subscriptions.c.url,
            subscriptions.c.secret,
        )
        .join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
        .where(deliveries.c.id == delivery_id, deliveries.c.subscription_id == subscription_id)
        .with_for_update(of=deliveries)
    )
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"No delivery {delivery_id} for webhook {subscription_id}.")
    if row.locked_until is not None and row.locked_until > now:
        raise Conflict(
            "An attempt of this delivery is under way; see its outcome in the delivery log."
        )
    return (await _lock(session, [row], settings, now))[0]


async def send(client: httpx.AsyncClient, attempt: Attempt, settings: Settings) -> int | None:
    """Make one attempt; the HTTP status the receiver answered, or None if it did not
    answer within the time limit (or could not be reached)."""
    body = attempt.payload.encode()
    headers = signed_headers(attempt.secret, attempt.message_id, body, int(utcnow().timestamp()))
    try:
        async with asyncio.timeout(settings.webhook_timeout):
            await check_target(attempt.url, allow_private=settings.webhook_allow_private)
            async with client.stream("POST", attempt.url, content=body, headers=headers) as answer:
                return answer.status_code
    except TargetRefused as exc:
        logger.warning("webhook %s not sent: %s", attempt.message_id, exc)
    except (httpx.HTTPError, TimeoutError, OSError) as exc:
        logger.info("webhook %s got no answer: %s", attempt.message_id, type(exc).__name__)
    return None


def outcome(
    attempt: Attempt, response_status: int | None, settings: Settings, now: datetime
) -> tuple[DeliveryStatus, datetime | None]:
    """The delivery's status after this attempt, and when the next one is due."""
    if response_status is not None and 200 <= response_status < 300:
        return DeliveryStatus.succeeded, None
    delays = settings.webhook_retry_delays
    delay = delays[min(attempt.number, len(delays)) - 1]
    give_up_at = attempt.created_at + timedelta(seconds=settings.webhook_retry_for)
    if now >= give_up_at:
        return DeliveryStatus.failed, None
    # The last try comes at the end of the retry period, not some hours after it.
    return DeliveryStatus.pending, min(now + timedelta(seconds=delay), give_up_at)


async def record(
    sessionmaker: async_sessionmaker[AsyncSession],
    attempt: Attempt,
    response_status: int | None,
    settings: Settings,
) -> None:
    """Store the attempt's outcome, unless another sender has taken the row since (this
    attempt outlived its lock): that sender's outcome is the one that counts."""
    now = utcnow()
    status, next_attempt_at = outcome(attempt, response_status, settings, now)
    async with sessionmaker() as session:
        await session.execute(
            update(deliveries)
            .where(deliveries.c.id == attempt.delivery_id, deliveries.c.attempts == attempt.number)
            .values(
                status=status.value,
                response_status=response_status,
                next_attempt_at=next_attempt_at,
                locked_until=None,
            )
        )
        await session.commit()


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    attempt: Attempt,
    settings: Settings,
) -> None:
    response_status = await send(client, attempt, settings)
    await record(sessionmaker, attempt, response_status, settings)
    logger.info(
        "webhook %s attempt %d: %s",
        attempt.message_id,
        attempt.number,
        response_status or "no answer",
        extra={
            "message_id": attempt.message_id,
            "attempt": attempt.number,
            "response_status": response_status,
        },
    )


async def next_due_in(sessionmaker: async_sessionmaker[AsyncSession], ceiling: float) -> float:
    """Seconds until the earliest pending delivery is due, at most ``ceiling``."""
    now = utcnow()
    async with sessionmaker() as session:
        earliest: datetime | None = (
            await session.execute(
                select(func.min(deliveries.c.next_attempt_at)).where(
                    deliveries.c.status == DeliveryStatus.pending.value, _unlocked(now)
                )
            )
        ).scalar_one_or_none()
    if earliest is None:
        return ceiling
    return min(ceiling, max(0.0, (earliest - now).total_seconds()))


def new_client() -> httpx.AsyncClient:
    # Redirects are not followed: a delivery goes to the URL that was checked, and a
    # redirect is an answer other than 2xx, so the attempt counts as failed.
    return httpx.AsyncClient(follow_redirects=False, trust_env=False)


class Sender:
    """Sends every due delivery, several at once, until cancelled."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        write_sessionmaker: async_sessionmaker[AsyncSession],
        client: Callable[[], httpx.AsyncClient],
        settings: Settings,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.write_sessionmaker = write_sessionmaker
        # The client is asked for when the first delivery goes out (``WebhookRunner``).
        self.client = client
        self.settings = settings
        self.woken = asyncio.Event()
        self.in_flight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Look for due deliveries now (new ones were just committed)."""
        self.woken.set()

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.step()
                except Exception as exc:
                    # The database may be away for a while: keep trying, quietly.
                    logger.warning("webhook sender: %s; trying again", type(exc).__name__)
                    await asyncio.sleep(self.settings.webhook_poll_interval)
        finally:
            for task in self.in_flight:
                task.cancel()

    async def step(self) -> None:
        """Send what is due, or wait until something is (or the next look, or a wake-up).
        A read comes first, so an idle sender never takes the write lock."""
        self.woken.clear()
        wait = self.settings.webhook_poll_interval
        free = self.settings.webhook_concurrency - len(self.in_flight)
        if free:
            wait = await next_due_in(self.sessionmaker, wait)
        if free and wait <= 0:
            claimed = await claim_due(self.write_sessionmaker, self.settings, limit=free)
            for attempt in claimed:
                task = asyncio.create_task(
                    deliver(self.write_sessionmaker, self.client(), attempt, self.settings)
                )
                self.in_flight.add(task)
                task.add_done_callback(self._finished)
            if claimed:
                return  # more may be due already
            # Due, but taken by another sender or waiting for an inactive subscription.
            wait = self.settings.webhook_poll_interval
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.woken.wait(), wait)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.in_flight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("webhook attempt failed to record: %r", task.exception())
        self.wake()
