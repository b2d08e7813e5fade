"""The search index's pending list: kept short by the API's writers, long for an import
(PostgreSQL).

Migration 0010 set a 64 kB limit on the index itself, which holds for every writer: an
import then merged its pending list every few stories, a quarter of its time. The limit
now comes from ``gin_pending_list_limit`` of the writing session: the API's connections
set 64 kB when they open (``app.db``), so that a search never reads a long list after a
burst of edits, and an import sets 4 MB for its transactions and merges the list once at
the end. SQLite keeps search in its own FTS5 table: nothing changes there.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER INDEX ix_article_search_vector RESET (gin_pending_list_limit)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER INDEX ix_article_search_vector SET (gin_pending_list_limit = 64)")
