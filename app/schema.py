"""The database schema's version: the revision this code needs, the database's current
revision, and upgrading one to the other.

Alembic is imported only to migrate: a server checks the database against
``SCHEMA_REVISION`` and never loads it (a tenth of a worker's memory)."""

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.runtime.environment import NameFilterParentNames, NameFilterType

# The head of migrations/, which this code needs (a test checks that they agree).
SCHEMA_REVISION = "0011"

# Full-text search lives in objects the models do not describe (migration 0002): the
# PostgreSQL tsvector column and its index, SQLite's FTS5 table, its shadow tables and
# its key table. Comparing models with the database leaves them out.
SEARCH_TABLE_PREFIX = "article_search"
SEARCH_COLUMNS = {("article", "search_vector")}
SEARCH_INDEXES = {"ix_article_search_vector"}
# PostgreSQL only (migration 0005): newest first with undated drafts last, the order of
# every article list, read straight from the index. (A backward scan of the ascending
# index gives NULLs first there; SQLite's gives them last, so it needs no second index.)
POSTGRESQL_ONLY_INDEXES = {"ix_article_published_at_desc_id"}


def described_by_models(
    name: str | None, type_: "NameFilterType", parent_names: "NameFilterParentNames"
) -> bool:
    """Alembic's ``include_name``: False for the database objects that search keeps."""
    if type_ == "table" and name and name.startswith(SEARCH_TABLE_PREFIX):
        return False
    if type_ == "column" and (parent_names.get("table_name"), name) in SEARCH_COLUMNS:
        return False
    return not (type_ == "index" and name in SEARCH_INDEXES | POSTGRESQL_ONLY_INDEXES)


def migrations_path() -> Path:
    import migrations

    return Path(migrations.__file__).resolve().parent


def alembic_config(database_url: str | None = None) -> "Config":
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_path()))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


@lru_cache
def head_revision() -> str:
    """The head of migrations/, as Alembic reads it."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None when it has never been migrated."""
    async with engine.connect() as connection:
        try:
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
        except DBAPIError as exc:
            if "alembic_version" in str(exc.orig):
                return None
            raise
        return result.scalar_one_or_none()


class NotMigrated(RuntimeError):
    def __init__(self, current: str | None) -> None:
        found = f"at revision {current}" if current else "not migrated"
        super().__init__(
            f"The database is {found}, but this version of Newsdesk needs revision "
            f"{SCHEMA_REVISION}. Run `newsdesk migrate` first."
        )


async def ensure_migrated(engine: AsyncEngine) -> str:
    current = await current_revision(engine)
    if current != SCHEMA_REVISION:
        raise NotMigrated(current)
    return current


def upgrade(database_url: str) -> None:
    """Alembic ``upgrade head``; safe to run again."""
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")
