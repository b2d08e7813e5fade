"""The migrations build exactly the schema the models describe, and go down and up again."""

import asyncio
import subprocess
import sys
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.db import async_url
from app.models import metadata
from app.schema import SCHEMA_REVISION, alembic_config, described_by_models, head_revision


def run_sync(url: str, fn: Any) -> Any:
    async def main() -> Any:
        engine = create_async_engine(async_url(url), poolclass=NullPool)
        async with engine.connect() as connection:
            result = await connection.run_sync(fn)
        await engine.dispose()
        return result

    return asyncio.run(main())


def differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": described_by_models}
    )
    return list(compare_metadata(context, metadata))


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def test_models_and_migrations_agree(scratch_url: str) -> None:
    command.upgrade(alembic_config(scratch_url), "head")
    assert run_sync(scratch_url, differences) == []


def test_upgrade_downgrade_upgrade(scratch_url: str) -> None:
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")
    assert {"article", "author", "entity"} <= run_sync(scratch_url, table_names)
    command.downgrade(config, "base")
    assert run_sync(scratch_url, table_names) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert run_sync(scratch_url, differences) == []

    def version(connection: Connection) -> str:
        return str(connection.execute(text("SELECT version_num FROM alembic_version")).scalar())

    assert run_sync(scratch_url, version) == head_revision()


def test_the_code_needs_the_newest_migration() -> None:
    """A server checks the database against SCHEMA_REVISION without reading migrations/:
    it must name the head, or a migrated database would be refused (or an old one let in)."""
    assert head_revision() == SCHEMA_REVISION


def test_a_server_does_not_load_the_migration_tool() -> None:
    """Alembic is a tenth of a worker's memory and only `newsdesk migrate` needs it."""
    code = "import sys, app.main, app.cli; print('alembic' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "False"
