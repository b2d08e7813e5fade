"""Which known entities a text names: one Aho-Corasick automaton over every entity's
name and aliases, built once per process and rebuilt when the catalogue changes.

Rules (contract §7): names match case-sensitively, only where the characters just
before and just after are not letters or digits (so ``U.S.`` matches in ``U.S.-Kenya``
and ``Kenya`` in ``Kenya's``), and where matches overlap the longest wins (``South
Sudan`` is one match, not also ``Sudan``). Offsets are Python string indices.

Workers share nothing but the database. Triggers bump row 2 of ``content_version``
whenever an entity is added, removed, renamed, re-aliased, re-slugged or re-typed
(migration 0002); a worker reads that number, one primary-key lookup, before each use
and rebuilds its automaton when the number moved.
"""

import asyncio
import uuid
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import ahocorasick
from sqlalchemy import select

from app.changes import content_version_table
from app.db import Reader
from app.entities.models import entities_table as entities

ENTITY_CATALOGUE_ROW = 2


@dataclass(frozen=True)
class EntityTag:
    id: uuid.UUID
    slug: str
    name: str
    type: str

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "slug": self.slug, "name": self.name, "type": self.type}


@dataclass(frozen=True)
class Match:
    entity: EntityTag
    text: str
    start: int
    end: int


def _is_word_char(char: str) -> bool:
    return char.isalnum()


class EntityMatcher:
    """An automaton over names and aliases; each name maps to exactly one entity."""

    def __init__(self, catalogue: Iterable[tuple[EntityTag, Sequence[str]]]) -> None:
        owners: dict[str, tuple[int, str, EntityTag]] = {}
        for entity, aliases in catalogue:
            for rank, name in ((0, entity.name), *((1, alias) for alias in aliases)):
                if not name:
                    continue
                # When two entities claim one string, an entity's own name beats another's
                # alias, then the smaller slug wins: the same answer in every worker.
                claim = (rank, entity.slug, entity)
                if name not in owners or claim[:2] < owners[name][:2]:
                    owners[name] = claim
        self.size = len(owners)
        self._automaton: Any = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        for name, (_rank, _slug, entity) in owners.items():
            self._automaton.add_word(name, (len(name), entity))
        if owners:
            self._automaton.make_automaton()

    def find(self, text: str) -> list[Match]:
        """Every match in ``text``, left to right, after the boundary and overlap rules."""
        if not self.size or not text:
            return []
        candidates: list[tuple[int, int, EntityTag]] = []
        last = len(text)
        for end_index, (length, entity) in self._automaton.iter(text):
            start, end = end_index - length + 1, end_index + 1
            if start > 0 and _is_word_char(text[start - 1]):
                continue
            if end < last and _is_word_char(text[end]):
                continue
            candidates.append((start, end, entity))
        # Longest first (then leftmost): a shorter match inside or across a longer one loses.
        candidates.sort(key=lambda item: (item[0] - item[1], item[0]))
        taken: list[tuple[int, int, EntityTag]] = []
        occupied: set[int] = set()
        for start, end, entity in candidates:
            span = range(start, end)
            if any(position in occupied for position in span):
                continue
            occupied.update(span)
            taken.append((start, end, entity))
        taken.sort(key=lambda item: item[0])
        return [Match(entity, text[start:end], start, end) for start, end, entity in taken]


@dataclass
class _Cached:
    version: int
    matcher: EntityMatcher


_cache: dict[str, _Cached] = {}
# One build at a time per database and event loop (a lock belongs to one loop).
_locks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]]" = (
    weakref.WeakKeyDictionary()
)


async def catalogue_version(session: Reader) -> int:
    query = select(content_version_table.c.value).where(
        content_version_table.c.id == ENTITY_CATALOGUE_ROW
    )
    return int((await session.execute(query)).scalar_one_or_none() or 0)


async def _load_catalogue(session: Reader) -> list[tuple[EntityTag, list[str]]]:
    rows = await session.execute(
        select(entities.c.id, entities.c.slug, entities.c.name, entities.c.type, entities.c.aliases)
    )
    return [
        (EntityTag(row.id, row.slug, row.name, row.type), list(row.aliases or [])) for row in rows
    ]


async def current_matcher(session: Reader) -> EntityMatcher:
    """This process's matcher for the session's database, rebuilt if entities changed."""
    key = str(session.get_bind().engine.url)
    version = await catalogue_version(session)
    cached = _cache.get(key)
    if cached is not None and cached.version == version:
        return cached.matcher
    loop_locks = _locks.setdefault(asyncio.get_running_loop(), {})
    async with loop_locks.setdefault(key, asyncio.Lock()):
        cached = _cache.get(key)
        if cached is not None and cached.version == version:
            return cached.matcher
        # Read the version first: the catalogue loaded after it is at least that new, so
        # the cached matcher is never older than the number it is filed under.
        catalogue = await _load_catalogue(session)
        matcher = await asyncio.to_thread(EntityMatcher, catalogue)
        _cache[key] = _Cached(version, matcher)
        return matcher


async def extract_entities(session: Reader, text: str) -> dict[str, Any]:
    """The matches in ``text`` and the entities named, most often named first. Matching
    is CPU work that grows with the text: it runs in a thread, off the event loop."""
    matcher = await current_matcher(session)
    return await asyncio.to_thread(_extraction, matcher, text)


def _extraction(matcher: EntityMatcher, text: str) -> dict[str, Any]:
    matches = matcher.find(text)
    counts = Counter(match.entity for match in matches)
    first_seen: dict[EntityTag, int] = {}
    for position, match in enumerate(matches):
        first_seen.setdefault(match.entity, position)
    named = sorted(counts, key=lambda entity: (-counts[entity], first_seen[entity]))
    return {
        "matches": [
            {
                "entity": match.entity.public(),
                "text": match.text,
                "start": match.start,
                "end": match.end,
            }
            for match in matches
        ],
        "entities": [entity.public() | {"count": counts[entity]} for entity in named],
    }


async def entities_named_in(session: Reader, texts: Sequence[str | None]) -> list[EntityTag]:
    """The distinct entities named in any of ``texts``, in order of first mention
    (matched in a thread, off the event loop)."""
    matcher = await current_matcher(session)
    return await asyncio.to_thread(_named_in, matcher, texts)


def _named_in(matcher: EntityMatcher, texts: Sequence[str | None]) -> list[EntityTag]:
    found: dict[uuid.UUID, EntityTag] = {}
    for text in texts:
        for match in matcher.find(text or ""):
            found.setdefault(match.entity.id, match.entity)
    return list(found.values())
