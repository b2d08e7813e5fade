"""Loads the demo data through the same services the API uses; running it again adds
nothing, because every demo item has a fixed slug."""

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.articles import service as articles_service
from app.articles.models import ArticleCreate, articles_table
from app.auth import Viewer
from app.authors import service as authors_service
from app.authors.models import AuthorCreate, authors_table
from app.demo.data import ARTICLES, AUTHORS, ENTITIES
from app.entities import service as entities_service
from app.entities.models import EntityCreate, entities_table
from app.keys.models import Role

SEED_VIEWER = Viewer(key_name="demo data", role=Role.editor)


async def _existing_slugs(session: AsyncSession, table: Any) -> set[str]:
    return set((await session.execute(select(table.c.slug))).scalars())


async def _add_missing(
    sessionmaker: async_sessionmaker[AsyncSession],
    table: Any,
    items: list[dict[str, Any]],
    create: Callable[[AsyncSession, dict[str, Any]], Awaitable[Any]],
) -> int:
    """Create each item whose slug is not there yet, each in its own transaction."""
    async with sessionmaker() as session:
        known = await _existing_slugs(session, table)
    added = 0
    for item in items:
        if item["slug"] not in known:
            async with sessionmaker() as session:
                await create(session, item)
            added += 1
    return added


async def load_demo(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Authors first, then entities, then the articles that refer to both."""
    return {
        "authors": await _add_missing(
            sessionmaker,
            authors_table,
            AUTHORS,
            lambda session, item: authors_service.create_author(
                session, AuthorCreate.model_validate(item), SEED_VIEWER
            ),
        ),
        "entities": await _add_missing(
            sessionmaker,
            entities_table,
            ENTITIES,
            lambda session, item: entities_service.create_entity(
                session, EntityCreate.model_validate(item)
            ),
        ),
        "articles": await _add_missing(
            sessionmaker,
            articles_table,
            ARTICLES,
            lambda session, item: articles_service.create_article(
                session, ArticleCreate.model_validate(item), SEED_VIEWER
            ),
        ),
    }
