"""Loads the demo data through the same services the API uses; running it again adds
nothing, because every demo item has a fixed slug."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.articles import service as articles_service
from app.articles.models import ArticleCreate, articles_table
from app.auth import Viewer
from app.authors import service as authors_service
from app.authors.models import AuthorCreate
from app.demo.data import ARTICLES, AUTHORS, ENTITIES
from app.entities import service as entities_service
from app.entities.models import EntityCreate
from app.keys.models import Role

SEED_VIEWER = Viewer(key_name="demo data", role=Role.editor)


async def _existing_slugs(session: AsyncSession, table: Any) -> set[str]:
    return set((await session.execute(select(table.c.slug))).scalars())


async def load_demo(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    added = {"authors": 0, "entities": 0, "articles": 0}
    async with sessionmaker() as session:
        known = await _existing_slugs(session, authors_service.authors)
    for author in AUTHORS:
        if author["slug"] not in known:
            async with sessionmaker() as session:
                await authors_service.create_author(
                    session, AuthorCreate.model_validate(author), SEED_VIEWER
                )
            added["authors"] += 1
    async with sessionmaker() as session:
        known = await _existing_slugs(session, entities_service.entities)
    for entity in ENTITIES:
        if entity["slug"] not in known:
            async with sessionmaker() as session:
                await entities_service.create_entity(session, EntityCreate.model_validate(entity))
            added["entities"] += 1
    async with sessionmaker() as session:
        known = await _existing_slugs(session, articles_table)
    for article in ARTICLES:
        if article["slug"] not in known:
            async with sessionmaker() as session:
                await articles_service.create_article(
                    session, ArticleCreate.model_validate(article), SEED_VIEWER
                )
            added["articles"] += 1
    return added
