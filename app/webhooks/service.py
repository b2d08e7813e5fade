"""Webhook use cases: subscriptions, the delivery log, retries and test messages. Each ends
in at most one commit; errors are domain errors."""

import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import Reader, utcnow
from app.errors import NotFound, ValidationFailed
from app.pagination import ListParams, SortField, count_rows, fetch_page, parse_sort
from app.responses import dumps
from app.webhooks import sender
from app.webhooks.models import (
    TEST_EVENT,
    DeliveryStatus,
    WebhookCreate,
    WebhookSubscription,
    WebhookUpdate,
    deliveries_table,
    delivery_public,
    subscriptions_table,
)
from app.webhooks.targets import TargetRefused, check_target

subscriptions = subscriptions_table
deliveries = deliveries_table
PUBLIC_COLUMNS = tuple(
    subscriptions.c[name]
    for name in ("id", "url", "events", "description", "active", "created_at", "updated_at")
)
DELIVERY_SORT = {"created_at": SortField(deliveries.c.created_at, "datetime")}


def subscription_public(row: Any) -> dict[str, Any]:
    return {column.name: getattr(row, column.name) for column in PUBLIC_COLUMNS}


def message_body(event: str, at: datetime, data: dict[str, Any]) -> str:
    """The body of a message, as every attempt sends it."""
    return dumps({"type": event, "timestamp": at, "data": data}).decode()


def delivery_row(
    subscription_id: uuid.UUID, event: str, payload: str, now: datetime
) -> dict[str, Any]:
    """A new delivery, due at once."""
    return {
        "id": uuid.uuid4(),
        "subscription_id": subscription_id,
        "message_id": f"msg_{uuid.uuid4().hex}",
        "event": event,
        "payload": payload,
        "status": DeliveryStatus.pending.value,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }


async def _check_url(url: str, settings: Settings) -> str:
    try:
        await check_target(url, allow_private=settings.webhook_allow_private)
    except TargetRefused as exc:
        raise ValidationFailed(str(exc), loc=["body", "url"], error_type="url_refused") from exc
    return url.strip()


async def create_subscription(
    session: AsyncSession, data: WebhookCreate, settings: Settings
) -> dict[str, Any]:
    """Store a subscription and return it with its secret, which is never shown again."""
    url = await _check_url(data.url, settings)
    subscription = WebhookSubscription(
        url=url,
        events=data.events,
        description=data.description,
        active=data.active,
        secret=sender.new_secret(),
    )
    session.add(subscription)
    await session.commit()
    return subscription_public(subscription) | {"secret": subscription.secret}


async def list_subscriptions(
    session: Reader, *, params: ListParams
) -> tuple[list[dict[str, Any]], str | None, int | None]:
    """Oldest first, by creation."""
    keys = parse_sort(
        None, {"created_at": SortField(subscriptions.c.created_at, "datetime")}, "created_at"
    )
    query = select(*PUBLIC_COLUMNS)
    rows, next_cursor = await fetch_page(
        session, query, keys=keys, id_column=subscriptions.c.id, params=params
    )
    total = await count_rows(session, query) if params.count else None
    return [subscription_public(row) for row in rows], next_cursor, total


async def _load(session: Reader, subscription_id: uuid.UUID) -> Any:
    query = select(*PUBLIC_COLUMNS).where(subscriptions.c.id == subscription_id)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"No webhook with id {subscription_id}.")
    return row


async def get_subscription(session: Reader, subscription_id: uuid.UUID) -> dict[str, Any]:
    return subscription_public(await _load(session, subscription_id))


async def update_subscription(
    session: AsyncSession, subscription_id: uuid.UUID, data: WebhookUpdate, settings: Settings
) -> dict[str, Any]:
    changes = data.model_dump(exclude_unset=True)
    if "url" in changes:
        changes["url"] = await _check_url(changes["url"], settings)
    await _load(session, subscription_id)
    if changes:
        await session.execute(
            update(subscriptions)
            .where(subscriptions.c.id == subscription_id)
            .values(**changes, updated_at=utcnow())
        )
    subscription = subscription_public(await _load(session, subscription_id))
    await session.commit()
    return subscription


async def delete_subscription(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    """The subscription and its delivery log; pending deliveries are not sent."""
    await _load(session, subscription_id)
    await session.execute(delete(deliveries).where(deliveries.c.subscription_id == subscription_id))
    await session.execute(delete(subscriptions).where(subscriptions.c.id == subscription_id))
    await session.commit()


async def list_deliveries(
    session: Reader, subscription_id: uuid.UUID, *, params: ListParams
) -> tuple[list[dict[str, Any]], str | None, int | None]:
    """Newest first."""
    await _load(session, subscription_id)
    keys = parse_sort(None, DELIVERY_SORT, default="-created_at")
    query = select(
        deliveries.c.id,
        deliveries.c.message_id,
        deliveries.c.event,
        deliveries.c.status,
        deliveries.c.attempts,
        deliveries.c.response_status,
        deliveries.c.created_at,
        deliveries.c.last_attempt_at,
        deliveries.c.next_attempt_at,
    ).where(deliveries.c.subscription_id == subscription_id)
    rows, next_cursor = await fetch_page(
        session, query, keys=keys, id_column=deliveries.c.id, params=params
    )
    total = await count_rows(session, query) if params.count else None
    return [delivery_public(row) for row in rows], next_cursor, total


async def _load_delivery(session: AsyncSession, delivery_id: uuid.UUID) -> dict[str, Any]:
    row = (await session.execute(select(deliveries).where(deliveries.c.id == delivery_id))).one()
    return delivery_public(row)


async def retry_delivery(
    write_sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    settings: Settings,
    *,
    subscription_id: uuid.UUID,
    delivery_id: uuid.UUID,
) -> dict[str, Any]:
    """Send a delivery again now, whatever its status, and return it with the outcome. If
    this attempt fails too, a pending delivery keeps to its retry schedule; one past its
    retry period is `failed` again."""
    async with write_sessionmaker() as session:
        attempt = await sender.claim_one(
            session, settings, subscription_id=subscription_id, delivery_id=delivery_id
        )
    await sender.deliver(write_sessionmaker, client, attempt, settings)
    async with write_sessionmaker() as session:
        return await _load_delivery(session, delivery_id)


async def send_test(session: AsyncSession, subscription_id: uuid.UUID) -> dict[str, Any]:
    """Queue a ``webhook.test`` message for this subscription, due at once."""
    subscription = await _load(session, subscription_id)
    now = utcnow()
    data = {
        "webhook": {"id": subscription.id, "url": subscription.url},
        "message": "A test message from Newsdesk.",
    }
    row = delivery_row(subscription.id, TEST_EVENT, message_body(TEST_EVENT, now, data), now)
    await session.execute(insert(deliveries).values(row))
    await session.commit()
    return {
        key: row.get(key)
        for key in (
            "id",
            "message_id",
            "event",
            "status",
            "attempts",
            "response_status",
            "created_at",
            "last_attempt_at",
            "next_attempt_at",
        )
    }
