"""Cache keys (API.md §12): ``article-<id>``, ``author-<id>``, ``entity-<id>`` for each
item a response shows or a change touches, and a collection key for every response that
lists items of a kind (``articles``; ``authors`` and ``entities`` for their own lists)."""

import uuid
from collections.abc import Iterable

ARTICLES = "articles"
AUTHORS = "authors"
ENTITIES = "entities"


def article_key(article_id: uuid.UUID | str) -> str:
    return f"article-{article_id}"


def author_key(author_id: uuid.UUID | str) -> str:
    return f"author-{author_id}"


def entity_key(entity_id: uuid.UUID | str) -> str:
    return f"entity-{entity_id}"


def ordered(keys: Iterable[str]) -> list[str]:
    """Keys without repeats, collection keys first, then the rest in the order given."""
    seen: dict[str, None] = {}
    for key in keys:
        seen.setdefault(key, None)
    collections = [key for key in (ARTICLES, AUTHORS, ENTITIES) if key in seen]
    return collections + [key for key in seen if key not in collections]
