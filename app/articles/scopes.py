"""The article lists of one author and of one entity: the article list with one more filter.

The ref is resolved by its own domain first, so an unknown author or entity is a 404 and an
old slug redirects, as for the author or entity itself, rather than an empty list."""

from dataclasses import replace

from app.articles.queries import ArticleFilters
from app.authors import service as authors_service
from app.db import Reader
from app.entities import service as entities_service


async def author_filters(session: Reader, filters: ArticleFilters, ref: str) -> ArticleFilters:
    """``filters`` narrowed to the articles with the author ``ref`` in the byline."""
    author_id = await authors_service.find_author_id(session, ref)
    return replace(filters, authors=[*filters.authors, [str(author_id)]])


async def entity_filters(session: Reader, filters: ArticleFilters, ref: str) -> ArticleFilters:
    """``filters`` narrowed to the articles tagged with the entity ``ref``."""
    entity_id = await entities_service.find_entity_id(session, ref)
    return replace(filters, entities=[*filters.entities, [str(entity_id)]])
