"""Migration 0002 (search and the entity catalogue version): up, down and up again on both
databases, existing articles indexed on the way up, and no drift between models and
migrations."""

import asyncio
import importlib.util
import uuid
from typing import Any

from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.articles import search, search_charset
from app.db import async_url
from app.schema import alembic_config, migrations_path


def run_sql(url: str, *statements: str) -> list[Any]:
    async def go() -> list[Any]:
        engine = create_async_engine(async_url(url), poolclass=NullPool)
        results = []
        async with engine.begin() as connection:
            for statement in statements:
                result = await connection.execute(text(statement))
                results.append(result.scalar() if result.returns_rows else None)
        await engine.dispose()
        return results

    return asyncio.run(go())


def hits(url: str, word: str) -> int:
    if url.startswith("sqlite"):
        query = f"SELECT count(*) FROM article_search WHERE article_search MATCH '\"{word}\"'"
    else:
        query = (
            "SELECT count(*) FROM article "
            f"WHERE search_vector @@ websearch_to_tsquery('simple', '\"{word}\"')"
        )
    return int(run_sql(url, query)[0])


def test_upgrade_downgrade_upgrade_indexes_existing_articles(scratch_url: str) -> None:
    url = scratch_url
    config = alembic_config(url)
    command.upgrade(config, "0001")
    article_id = uuid.uuid4().hex if url.startswith("sqlite") else str(uuid.uuid4())
    run_sql(
        url,
        "INSERT INTO article (id, slug, headline, standfirst, body, body_html, body_text, "
        "language, status, word_count, reading_time_minutes, version, created_at, updated_at) "
        f"VALUES ('{article_id}', 'old-story', 'Côte d''Ivoire votes', 'Kenya watches', '', '', "
        "'Abidjan queues.', 'en', 'published', 2, 1, 1, '2024-11-08 10:00:00', "
        "'2024-11-08 10:00:00')",
    )
    command.upgrade(config, "head")
    assert hits(url, "cote") == 1
    assert hits(url, "abidjan") == 1
    command.check(config)
    command.downgrade(config, "0001")
    names = run_sql(
        url,
        "SELECT count(*) FROM content_version",
        "SELECT count(*) FROM article",
    )
    assert names == [1, 1]
    command.upgrade(config, "head")
    assert hits(url, "kenya") == 1
    command.check(config)
    if url.startswith("postgresql"):
        # Migration 0011: the pending list's limit is the writing session's, not the index's.
        options = "SELECT reloptions::text FROM pg_class WHERE relname = 'ix_article_search_vector'"
        assert run_sql(url, options) == [None]
    version = run_sql(url, "SELECT value FROM content_version WHERE id = 2")[0]
    run_sql(
        url,
        "INSERT INTO entity (id, slug, name, type, aliases, external_ids, search_text, "
        f"created_at, updated_at) VALUES ('{uuid.uuid4().hex}', 'kenya', 'Kenya', 'place', "
        "'[]', '{}', ' kenya ', '2024-11-08 10:00:00', '2024-11-08 10:00:00')",
    )
    assert run_sql(url, "SELECT value FROM content_version WHERE id = 2")[0] == version + 1


def test_the_migration_keeps_a_frozen_copy_of_the_separators() -> None:
    path = next(migrations_path().glob("versions/*_0002_full_text_search.py"))
    spec = importlib.util.spec_from_file_location("migration_0002", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.SEPARATOR_CLASS == search_charset.SEPARATOR_CLASS


def test_the_search_configurations_are_the_ones_migration_0005_made() -> None:
    path = next(migrations_path().glob("versions/*_0005_stemmed_search.py"))
    spec = importlib.util.spec_from_file_location("migration_0005", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert set(search.SNOWBALL_STEMMERS) == set(migration.SNOWBALL_LANGUAGES.values())
