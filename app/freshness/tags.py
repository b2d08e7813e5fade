"""The cache keys of an anonymous answer, worked out from the route that made it and what
it says: the same keys the change log lists (``app.freshness.keys``)."""

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

import orjson

from app.freshness import keys as k

_ARTICLE_LISTS = frozenset(
    {
        "/v1/articles",
        "/v1/articles/{ref}/related",
        "/v1/authors/{ref}/articles",
        "/v1/entities/{ref}/articles",
    }
)
# Whose list a scoped list is: it turns into a 404 or a redirect with that author or
# entity, whose entries list the collection key.
_SCOPED = {"/v1/authors/{ref}/articles": k.AUTHORS, "/v1/entities/{ref}/articles": k.ENTITIES}


def collection_of(path: str) -> str:
    """The collection key of whatever answers under ``path`` (an unknown ref, an old slug)."""
    if path.startswith("/v1/authors"):
        return k.AUTHORS
    if path.startswith("/v1/entities"):
        return k.ENTITIES
    return k.ARTICLES


# Where an endpoint may leave the keys of what it answers (in the ASGI scope's state), so
# that they need not be read back out of the JSON it wrote (a fifth of a list's work).
SHOWN_KEYS = "newsdesk.shown_keys"


def show_keys(scope: MutableMapping[str, Any], keys: list[str]) -> None:
    scope.setdefault("state", {})[SHOWN_KEYS] = keys


def article_list_keys(route: str, items: Iterable[Mapping[str, Any]]) -> list[str]:
    """The keys of a list of articles under ``route``, from the items it shows."""
    keys = [k.ARTICLES, *_scope(route)]
    for item in items:
        keys += _article_item_keys(item)
    return k.ordered(keys)


def article_keys(item: Mapping[str, Any]) -> list[str]:
    return k.ordered(_article_item_keys(item))


def response_keys(
    route: str | None, path: str, status: int, body: bytes, shown: list[str] | None = None
) -> list[str]:
    """Keys for an anonymous answer: its collection for anything but a plain item or list
    (a 404 turns into an answer when the item appears), else those of what it shows:
    ``shown`` when the endpoint worked them out (``show_keys``), else read from ``body``."""
    if status != 200 or route is None:
        return [collection_of(path)]
    if shown is not None:
        return shown
    if route in _ARTICLE_LISTS:
        return article_list_keys(route, _items(body))
    if route == "/v1/articles/{ref}":
        return article_keys(_document(body))
    if route in ("/v1/authors", "/v1/entities"):
        make = k.author_key if route == "/v1/authors" else k.entity_key
        return k.ordered(
            [collection_of(route), *(make(item["id"]) for item in _items(body) if "id" in item)]
        )
    # An author's or entity's page shows its article_count, which articles coming and
    # going move: their entries list the collection key rather than every author's.
    if route == "/v1/authors/{ref}":
        return [k.AUTHORS, k.author_key(_document(body)["id"])]
    if route == "/v1/entities/{ref}":
        return [k.ENTITIES, k.entity_key(_document(body)["id"])]
    # Feeds and the ninjs and JSON-LD documents show articles with their authors and
    # entities in shapes of their own: any article change reaches them.
    return [collection_of(path)]


def _scope(route: str) -> Iterable[str]:
    scoped = _SCOPED.get(route)
    return [scoped] if scoped else []


def _document(body: bytes) -> dict[str, Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return document if isinstance(document, dict) else {}


def _items(body: bytes) -> list[dict[str, Any]]:
    data = _document(body).get("data")
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _article_item_keys(item: Mapping[str, Any]) -> list[str]:
    keys = [k.article_key(item["id"])] if "id" in item else []
    keys += [k.author_key(a["id"]) for a in item.get("authors") or () if "id" in a]
    keys += [k.entity_key(e["id"]) for e in item.get("entities") or () if "id" in e]
    return keys


def header_values(keys: list[str]) -> list[tuple[bytes, bytes]]:
    """``Surrogate-Key`` (space-separated) and ``Cache-Tag`` (comma-separated)."""
    return [
        (b"surrogate-key", " ".join(keys).encode()),
        (b"cache-tag", ",".join(keys).encode()),
    ]
