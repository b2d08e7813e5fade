"""The change log, and the published articles whose visibility changes at a set time.

Articles already waiting when this runs are listed too (to go live, or to expire), so the
release task records their ``article.published`` or ``article.unpublished`` when the time
comes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def json_type() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "change",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("resource_type", sa.String(20), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column(
            "resource_slug",
            sa.String(120).with_variant(sa.String(120, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("keys", json_type(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_change_txid_id", "change", ["txid", "id"])
    op.create_index(
        "ix_change_stale_txid_id",
        "change",
        ["txid", "id"],
        postgresql_where=sa.text("stale"),
        sqlite_where=sa.text("stale"),
    )
    op.create_table(
        "scheduled_release",
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["article.id"],
            name=op.f("fk_scheduled_release_article_id_article"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_scheduled_release")),
    )
    op.create_index(op.f("ix_scheduled_release_due_at"), "scheduled_release", ["due_at"])
    now = (
        "now()"
        if op.get_bind().dialect.name == "postgresql"
        else "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    )
    op.execute(
        "INSERT INTO scheduled_release (article_id, due_at) "
        f"SELECT id, CASE WHEN published_at > {now} THEN published_at ELSE expires_at END "
        "FROM article WHERE status = 'published' AND deleted_at IS NULL "
        f"AND (published_at > {now} OR expires_at > {now})"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_scheduled_release_due_at"), table_name="scheduled_release")
    op.drop_table("scheduled_release")
    op.drop_index("ix_change_stale_txid_id", table_name="change")
    op.drop_index("ix_change_txid_id", table_name="change")
    op.drop_table("change")
