"""A short pending list for the search index (PostgreSQL).

A GIN index puts new entries in a pending list, unsorted, and every search reads all of
it until a vacuum (or the list outgrowing ``gin_pending_list_limit``, 4 MB by default)
merges it into the index. Each saved story adds its whole vector there, a few hundred
entries, so after a burst of edits a search read megabytes of them: 1,300 saves by eight
editors took a one-word search from 19 to 51 ms at 10,000 stories. With a 64 kB list the
write that fills it merges it, a few stories at a time, and a search reads little.
SQLite keeps search in its own FTS5 table: nothing changes there.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_LIST_KB = 64


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"ALTER INDEX ix_article_search_vector SET (gin_pending_list_limit = {PENDING_LIST_KB})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER INDEX ix_article_search_vector RESET (gin_pending_list_limit)")
