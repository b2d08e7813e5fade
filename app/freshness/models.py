"""The change log and the articles whose visibility changes at a set time."""

import uuid
from datetime import datetime
from typing import Any

import sqlmodel
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import SQLModel

from app.db import SortableText, UTCDateTime, table_of

JSONType = JSON().with_variant(JSONB(), "postgresql")


class Change(SQLModel, table=True):
    """One change to an article, author or entity, written in the change's own transaction.

    ``txid`` is the writing transaction's id on PostgreSQL (0 on SQLite, whose single
    writer commits in ``id`` order). Readers order by ``(txid, id)`` and read only what
    every older transaction has finished with, so that no entry committed late with a
    lower number is ever skipped (see ``app.freshness.horizon``).
    """

    __tablename__ = "change"
    __table_args__ = (
        Index("ix_change_txid_id", "txid", "id"),
        # The entries that make some anonymous answer stale: what public list tags follow.
        Index(
            "ix_change_stale_txid_id",
            "txid",
            "id",
            postgresql_where="stale",
            sqlite_where="stale",
        ),
        {"sqlite_autoincrement": True},
    )

    id: int | None = sqlmodel.Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    txid: int = sqlmodel.Field(sa_column=Column(BigInteger, nullable=False))
    at: datetime = sqlmodel.Field(sa_column=Column(UTCDateTime, nullable=False))
    event: str = sqlmodel.Field(sa_column=Column(String(40), nullable=False))
    resource_type: str = sqlmodel.Field(sa_column=Column(String(20), nullable=False))
    resource_id: uuid.UUID = sqlmodel.Field(sa_column=Column(Uuid, nullable=False))
    resource_slug: str = sqlmodel.Field(sa_column=Column(SortableText(120), nullable=False))
    keys: list[str] = sqlmodel.Field(sa_column=Column(JSONType, nullable=False))
    # Anonymous callers may see it: author and entity events, and article events of
    # articles visible before or after the change.
    public: bool = sqlmodel.Field(sa_column=Column(Boolean, nullable=False))
    # It lists at least one key, so some anonymous answer is stale because of it.
    stale: bool = sqlmodel.Field(sa_column=Column(Boolean, nullable=False))


class ScheduledRelease(SQLModel, table=True):
    """A published article whose visibility to anonymous callers changes at ``due_at`` (it
    goes live, or it expires) and whose change the log has not recorded yet: the release
    task writes its ``article.published`` or ``article.unpublished`` entry when the time
    comes, then lists the article's next such moment, if any."""

    __tablename__ = "scheduled_release"

    article_id: uuid.UUID = sqlmodel.Field(
        sa_column=Column(Uuid, ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    due_at: datetime = sqlmodel.Field(sa_column=Column(UTCDateTime, nullable=False, index=True))


changes_table = table_of(Change)
releases_table = table_of(ScheduledRelease)

__all__: list[Any] = ["Change", "ScheduledRelease", "changes_table", "releases_table"]
