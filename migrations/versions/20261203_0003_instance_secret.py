"""The instance secret: one row of 32 random bytes (hex), made here, once per database, so
that every worker and machine sharing the database keys its entity tags (and anything
else it signs) with the same secret. Downgrading drops it; upgrading again makes a new
one, which only changes every ETag once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "instance_secret",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance_secret")),
    )
    op.bulk_insert(table, [{"id": 1, "value": secrets.token_hex(32)}])


def downgrade() -> None:
    op.drop_table("instance_secret")
