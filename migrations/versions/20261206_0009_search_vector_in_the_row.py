"""The search vector kept in the article's row (PostgreSQL).

A search ranks its candidates with ``ts_rank``, which reads each one's whole vector. A
vector of a few kilobytes was moved out of the row into the TOAST table, so every
candidate cost a lookup there first. ``STORAGE MAIN`` keeps it in the row (compressed
when that helps) unless the row could not fit a page otherwise; the article's texts still
move out first. The bodies are not read by a search.

Rows written before this keep their vector where it is until they are written again
(``VACUUM FULL article`` rewrites them all at once, under a lock). SQLite keeps search in
its own FTS5 table: nothing changes there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _set_storage(storage: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE article ALTER COLUMN search_vector SET STORAGE {storage}")


def upgrade() -> None:
    _set_storage("MAIN")


def downgrade() -> None:
    _set_storage("EXTENDED")
