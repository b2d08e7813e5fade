"""Alembic environment: the models' metadata and the settings' database URL, run through
the same async drivers the service uses."""

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from alembic.runtime.environment import NameFilterParentNames, NameFilterType
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.config import get_settings
from app.db import SortableText, UTCDateTime, async_url
from app.models import metadata

config = context.config


def database_url() -> str:
    return str(
        config.attributes.get("database_url")
        or config.get_main_option("sqlalchemy.url")
        or get_settings().database_url
    )


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write the project's column types as plain SQLAlchemy types into new migrations."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, SortableText):
        length = obj.length
        return f"sa.String({length}).with_variant(sa.String({length}, collation='C'), 'postgresql')"
    return False


# Full-text search lives in objects the models do not describe (migration 0002): the
# PostgreSQL tsvector column and its index, SQLite's FTS5 table, its shadow tables and
# its key table. Autogenerate leaves them alone.
SEARCH_TABLE_PREFIX = "article_search"
SEARCH_COLUMNS = {("article", "search_vector")}
SEARCH_INDEXES = {"ix_article_search_vector"}


def include_name(
    name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames
) -> bool:
    if type_ == "table" and name and name.startswith(SEARCH_TABLE_PREFIX):
        return False
    if type_ == "column" and (parent_names.get("table_name"), name) in SEARCH_COLUMNS:
        return False
    return not (type_ == "index" and name in SEARCH_INDEXES)


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_async_engine(async_url(database_url()), poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(run_with)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=database_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (existing := config.attributes.get("connection")) is not None:
    run_with(existing)
else:
    asyncio.run(run_online())
