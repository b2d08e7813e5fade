"""The site's own URLs, sitemaps, corrections and scheduled unpublishing.

``article.expires_at`` (nullable) and its index, which finds the next expiry for the
freshness check at a glance; an index on (status, published_at, id) for the sitemaps' range
scans of live articles by month and of the last 48 hours; and the append-only table
``article_correction`` with its index by article and time (the order articles show them in).
Image ``alt``, ``width`` and ``height`` live in the existing JSON column: nothing to migrate.

A nullable column is added in place on both databases (SQLite's ADD COLUMN needs no copy
of the table, which would lose the search triggers).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("article", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_article_expires_at", "article", ["expires_at"])
    op.create_index(
        "ix_article_status_published_at_id", "article", ["status", "published_at", "id"]
    )
    op.create_table(
        "article_correction",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["article.id"],
            name=op.f("fk_article_correction_article_id_article"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_correction")),
    )
    op.create_index(
        "ix_article_correction_article_id_created_at",
        "article_correction",
        ["article_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_article_correction_article_id_created_at", "article_correction")
    op.drop_table("article_correction")
    op.drop_index("ix_article_status_published_at_id", "article")
    op.drop_index("ix_article_expires_at", "article")
    op.drop_column("article", "expires_at")
