"""A search vector kept by a trigger, and an index that sitemaps read without the table.

PostgreSQL: ``article.search_vector`` stops being a generated column and is kept by the
trigger ``article_search_vector`` instead, from the same expression (now the function
``newsdesk_search_vector()``). A generated column is computed again on every update of
the row, a status change included; the trigger computes it only when the language or a
searched field changed. And a trigger can be disabled for a bulk load that brings vectors
it computed the same way (the benchmark corpus: building a 3 KB body's vector is most of
the cost of loading it). The values already there stay; nothing is rewritten.

Both: ``ix_article_listing``, (published_at, id) with everything the visibility rule reads
(status, deleted_at, expires_at) and ``updated_at``: the sitemap index counts each month's
live articles and finds its newest ``updated_at`` from the index alone, and a month's
sitemap finds its rows in it without reading the articles that are not listed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LISTING_COLUMNS = ["published_at", "id", "status", "deleted_at", "expires_at", "updated_at"]
SEARCHED_FIELDS = ("language", "headline", "standfirst", "body_text")


def _migration_0005() -> ModuleType:
    """Migration 0005, for the vector's expression and to put the generated column back."""
    path = next(Path(__file__).parent.glob("*_0005_stemmed_search.py"))
    spec = importlib.util.spec_from_file_location("newsdesk_migration_0005", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _postgresql_upgrade() -> None:
    expression = _migration_0005()._vector("newsdesk_search_config(language)", "search_separated")
    op.execute(
        "CREATE FUNCTION newsdesk_search_vector("
        "language text, headline text, standfirst text, body_text text) RETURNS tsvector "
        f"LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT {expression} $$"
    )
    unchanged = " AND ".join(
        f"new.{name} IS NOT DISTINCT FROM old.{name}" for name in SEARCHED_FIELDS
    )
    arguments = ", ".join(f"new.{name}" for name in SEARCHED_FIELDS)
    # An update that leaves the searched fields alone keeps the vector (a direct write to
    # it included: the vector is always the one its fields give).
    op.execute(
        "CREATE FUNCTION article_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF tg_op = 'UPDATE' AND {unchanged} THEN new.search_vector := old.search_vector; "
        f"ELSE new.search_vector := newsdesk_search_vector({arguments}); END IF; "
        "RETURN new; END $$"
    )
    op.execute("ALTER TABLE article ALTER COLUMN search_vector DROP EXPRESSION")
    op.execute(
        "CREATE TRIGGER article_search_vector BEFORE INSERT OR UPDATE ON article "
        "FOR EACH ROW EXECUTE FUNCTION article_search_vector()"
    )


def _postgresql_downgrade() -> None:
    old = _migration_0005()
    op.execute("DROP TRIGGER article_search_vector ON article")
    op.execute("DROP FUNCTION article_search_vector()")
    op.execute("DROP FUNCTION newsdesk_search_vector(text, text, text, text)")
    op.execute("DROP INDEX ix_article_search_vector")
    op.execute("ALTER TABLE article DROP COLUMN search_vector")
    old._add_vector(old._vector("newsdesk_search_config(language)", "search_separated"))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
    op.create_index("ix_article_listing", "article", LISTING_COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_article_listing", table_name="article")
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_downgrade()
