"""Webhooks: subscriptions, their deliveries, the dispatcher's place in the change log, and
the shapes the API reads and writes."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import sqlmodel
from pydantic import MISSING, AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import SQLModel

from app.db import UTCDateTime, table_of, utcnow

JSONType = JSON().with_variant(JSONB(), "postgresql")

ALL_EVENTS = "*"
TEST_EVENT = "webhook.test"
# The change log's events (API.md §12) a subscription may ask for.
EVENTS = (
    "article.created",
    "article.updated",
    "article.published",
    "article.unpublished",
    "article.deleted",
    "article.restored",
    "author.created",
    "author.updated",
    "author.deleted",
    "entity.created",
    "entity.updated",
    "entity.deleted",
    "entity.merged",
)
MAX_URL_LENGTH = 2048


class DeliveryStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscription"

    id: uuid.UUID = sqlmodel.Field(
        default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True)
    )
    url: str = sqlmodel.Field(sa_column=Column(String(MAX_URL_LENGTH), nullable=False))
    events: list[str] = sqlmodel.Field(
        default_factory=lambda: [ALL_EVENTS], sa_column=Column(JSONType, nullable=False)
    )
    description: str | None = sqlmodel.Field(default=None, sa_column=Column(String(500)))
    active: bool = sqlmodel.Field(default=True, sa_column=Column(Boolean, nullable=False))
    # Kept as it is: signing needs the secret itself, not a hash of it.
    secret: str = sqlmodel.Field(sa_column=Column(String(100), nullable=False))
    created_at: datetime = sqlmodel.Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = sqlmodel.Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class WebhookDelivery(SQLModel, table=True):
    """One message to one subscription, from its creation until it is delivered or given up.

    ``payload`` is the exact body, so every attempt sends (and signs) the same bytes.
    ``locked_until`` is set while a sender has an attempt in flight: no other sender takes
    the row before then, and if that sender dies the row is due again afterwards."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_log", "subscription_id", "created_at", "id"),
    )

    id: uuid.UUID = sqlmodel.Field(
        default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True)
    )
    subscription_id: uuid.UUID = sqlmodel.Field(
        sa_column=Column(
            Uuid, ForeignKey("webhook_subscription.id", ondelete="CASCADE"), nullable=False
        )
    )
    message_id: str = sqlmodel.Field(sa_column=Column(String(64), nullable=False, unique=True))
    event: str = sqlmodel.Field(sa_column=Column(String(64), nullable=False))
    payload: str = sqlmodel.Field(sa_column=Column(Text, nullable=False))
    status: str = sqlmodel.Field(
        default=DeliveryStatus.pending.value, sa_column=Column(String(10), nullable=False)
    )
    attempts: int = sqlmodel.Field(default=0, sa_column=Column(Integer, nullable=False))
    response_status: int | None = sqlmodel.Field(default=None, sa_column=Column(SmallInteger))
    created_at: datetime = sqlmodel.Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    last_attempt_at: datetime | None = sqlmodel.Field(default=None, sa_column=Column(UTCDateTime))
    next_attempt_at: datetime | None = sqlmodel.Field(default=None, sa_column=Column(UTCDateTime))
    locked_until: datetime | None = sqlmodel.Field(default=None, sa_column=Column(UTCDateTime))


class WebhookDispatch(SQLModel, table=True):
    """How far the dispatcher has read the change log: one row."""

    __tablename__ = "webhook_dispatch"

    id: int = sqlmodel.Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    cursor: str | None = sqlmodel.Field(default=None, sa_column=Column(String(200)))
    updated_at: datetime = sqlmodel.Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


subscriptions_table = table_of(WebhookSubscription)
deliveries_table = table_of(WebhookDelivery)
dispatch_table = table_of(WebhookDispatch)


def _known_events(events: list[str]) -> list[str]:
    unknown = [event for event in events if event != ALL_EVENTS and event not in EVENTS]
    if unknown:
        raise ValueError(f"unknown event {unknown[0]!r}; use {ALL_EVENTS!r} or any of the events")
    # Order kept, repeats dropped; `*` alone stands for everything.
    return [ALL_EVENTS] if ALL_EVENTS in events else list(dict.fromkeys(events))


EventList = Annotated[
    list[str],
    Field(
        min_length=1,
        max_length=len(EVENTS) + 1,
        description="Change-log events to receive (API.md §12), or `*` for all of them: "
        + ", ".join(f"`{event}`" for event in EVENTS)
        + ".",
        examples=[["article.published", "article.updated"]],
    ),
    AfterValidator(_known_events),
]
TargetUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="Where deliveries are POSTed: an http or https URL on a public address.",
        examples=["https://www.example.com/hooks/newsdesk"],
    ),
]
DESCRIPTION_EXAMPLE = "Revalidate the Nairobi site's story pages"


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: TargetUrl
    events: EventList = Field(default_factory=lambda: [ALL_EVENTS])
    description: str | None = Field(None, max_length=500, examples=[DESCRIPTION_EXAMPLE])
    active: bool = True


class WebhookUpdate(BaseModel):
    """A JSON merge patch: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    url: TargetUrl | MISSING = MISSING
    events: EventList | MISSING = MISSING
    description: str | MISSING | None = Field(
        MISSING, max_length=500, examples=[DESCRIPTION_EXAMPLE]
    )
    active: bool | MISSING = MISSING


class WebhookPublic(BaseModel):
    id: uuid.UUID
    url: str = Field(examples=["https://www.example.com/hooks/newsdesk"])
    events: list[str] = Field(examples=[["article.published", "article.updated"]])
    description: str | None = Field(examples=[DESCRIPTION_EXAMPLE])
    active: bool
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str = Field(
        description="The signing secret: `whsec_` and the base64 of 32 random bytes. It is "
        "shown this once; verify deliveries with it.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw2nPCCbz2rEo="],
    )


class DeliveryPublic(BaseModel):
    id: uuid.UUID
    message_id: str = Field(
        description="The message's `webhook-id` header, the same on every attempt.",
        examples=["msg_2f1c9d4b6a8e4f0b9c3d7e5a1b2c4d6e"],
    )
    event: str = Field(examples=["article.published"])
    status: DeliveryStatus
    attempts: int = Field(description="Attempts made so far.", examples=[1])
    response_status: int | None = Field(
        description="The HTTP status the receiver answered the last attempt with; null when "
        "it did not answer (no connection, or no answer within the time limit).",
        examples=[200],
    )
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(
        description="When the next attempt is due; null once succeeded or failed."
    )


def delivery_public(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "message_id": row.message_id,
        "event": row.event,
        "status": row.status,
        "attempts": row.attempts,
        "response_status": row.response_status,
        "created_at": row.created_at,
        "last_attempt_at": row.last_attempt_at,
        "next_attempt_at": row.next_attempt_at,
    }
