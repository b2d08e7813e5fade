"""A deterministic synthetic newsroom, loaded in bulk into a freshly migrated database.

The shape follows the benchmark issue: 10,000 stories by default (``--articles`` up to
1,000,000), 500 authors, 2,000 entities, one or two authors and three to eight entities a
story, Markdown bodies of about 3 KB. The same arguments always give the same data: every
choice comes from one seeded random generator, ids included, and no timestamp depends on
the clock.

Every column is filled as the API would fill it. Bodies are rendered by the app's own
``render_body``; because rendering a 3 KB body costs milliseconds, a body is put together
from a pool of blocks (paragraphs, headings, quotes, lists) that were each rendered once,
and the first bodies, slugs and search texts are checked against the app's functions
before anything is written. Each story gets version 1 and its revision 1, and the content
version counter moves on by one for every item, as one API call per item would have done.

Loading never goes through ORM objects: on PostgreSQL it streams batches with COPY
(asyncpg's ``copy_records_to_table``) from ``--jobs`` forked processes, with the search
vectors built here (``SearchVectors``, checked against the database's own on the first
batch) and the secondary indexes built after the load; on SQLite it runs ``executemany``
of Core inserts, one transaction a batch, and the FTS5 triggers fill themselves.

    python -m bench.corpus --database-url postgresql://postgres@127.0.0.1/newsdesk_bench
"""

import argparse
import asyncio
import bisect
import contextlib
import itertools
import math
import multiprocessing
import os
import queue
import random
import re
import struct
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.engine import make_url

from app.articles.models import (
    article_authors_table,
    article_entities_table,
    articles_table,
    revisions_table,
)
from app.articles.render import count_words, render_body
from app.articles.revisions import WRITABLE_COLUMNS
from app.articles.search_charset import SEPARATOR_CLASS
from app.authors.models import authors_table
from app.changes import content_version_table
from app.entities.models import entities_table
from app.schema import upgrade
from app.search_text import build_search_text
from app.slugs import MAX_SLUG_LENGTH, slug_base
from bench import vocabulary as vocab

DEFAULT_SEED = 20261127
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1/newsdesk_bench"
MAX_ARTICLES = 1_000_000
# The newest story is published at ANCHOR, the oldest SPAN earlier: a fixed past, so the
# data never depends on the day it is made and every published story is already visible.
ANCHOR = datetime(2025, 11, 1, 6, 0, tzinfo=UTC)
SPAN = timedelta(days=5 * 365)
REVISION_KEY_NAME = "bench corpus"
BLOCK_POOL = {"paragraph": 4000, "heading": 300, "quote": 300, "list": 300}
CHECKED_BODIES = 64
CHECKED_SLUGS = 2000
STREAM_LENGTH = 1 << 18


Row = dict[str, Any]


@dataclass(frozen=True)
class CorpusShape:
    articles: int = 10_000
    authors: int = 500
    entities: int = 2_000
    seed: int = DEFAULT_SEED


@dataclass(frozen=True)
class Block:
    """One Markdown block, rendered once by the app's renderer."""

    kind: str
    markdown: str
    html: str
    text: str
    words: int


@dataclass
class Batch:
    articles: list[dict[str, Any]] = field(default_factory=list)
    bylines: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    revisions: list[dict[str, Any]] = field(default_factory=list)
    # Each story's body blocks, for a loader that builds the search vectors itself.
    blocks: list[list[Block]] = field(default_factory=list)


@dataclass
class LoadReport:
    backend: str
    articles: int
    authors: int
    entities: int
    bylines: int = 0
    tags: int = 0
    body_bytes: int = 0
    prepare_seconds: float = 0.0
    load_seconds: float = 0.0
    settle_seconds: float = 0.0
    started: float = 0.0  # perf_counter() when the load began

    @property
    def stories_per_second(self) -> float:
        return self.articles / self.load_seconds if self.load_seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "articles": self.articles,
            "authors": self.authors,
            "entities": self.entities,
            "bylines": self.bylines,
            "tags": self.tags,
            "mean_body_bytes": round(self.body_bytes / max(self.articles, 1)),
            "prepare_seconds": round(self.prepare_seconds, 3),
            "load_seconds": round(self.load_seconds, 3),
            "settle_seconds": round(self.settle_seconds, 3),
            "stories_per_second": round(self.stories_per_second, 1),
        }


def _zipf_weights(count: int, exponent: float, offset: float) -> list[float]:
    return [1.0 / (rank + offset) ** exponent for rank in range(count)]


def _zipf_cumulative(count: int, exponent: float, offset: float) -> list[float]:
    return list(itertools.accumulate(_zipf_weights(count, exponent, offset)))


class Corpus:
    """The generator. Construction makes the vocabulary, the authors, the entities and the
    pool of rendered blocks; ``batches`` then yields the stories in publication order."""

    def __init__(self, shape: CorpusShape) -> None:
        if not 0 <= shape.articles <= MAX_ARTICLES:
            # No stories at all is allowed: the authors and entities that an import needs.
            raise ValueError(f"articles must be between 0 and {MAX_ARTICLES:,}")
        self.shape = shape
        self.rng = random.Random(shape.seed)
        self.function_words = list(dict.fromkeys(vocab.FUNCTION_WORDS))
        news = list(dict.fromkeys(vocab.NEWS_WORDS))
        self.rng.shuffle(news)
        made_up = vocab.pseudo_words(self.rng, 6000, set(news) | set(self.function_words))
        # Rank order of the content words: ordinary news words are the common ones.
        self.content_words = news + made_up
        # Words are drawn once into two long streams (running text, and content words
        # only); a sentence is then a slice at a random offset, which is far cheaper than
        # a weighted draw per word and has the same word frequencies.
        content_weights = _zipf_weights(len(self.content_words), 1.0, 2.0)
        function_weight = 0.35 / 0.65 * sum(content_weights) / len(self.function_words)
        self._text_stream = self.rng.choices(
            self.function_words + self.content_words,
            weights=[function_weight] * len(self.function_words) + content_weights,
            k=STREAM_LENGTH,
        )
        self._content_stream = self.rng.choices(
            self.content_words, weights=content_weights, k=STREAM_LENGTH // 4
        )
        self.authors = self._make_authors()
        self.entities = self._make_entities()
        self._author_cumulative = _zipf_cumulative(len(self.authors), 0.8, 10.0)
        self._entity_cumulative = _zipf_cumulative(len(self.entities), 0.9, 5.0)
        self.places = [entity for entity in self.entities if entity["type"] == "place"]
        self._pooled: list[Block] = []
        self.blocks = {kind: self._make_blocks(kind, size) for kind, size in BLOCK_POOL.items()}
        self._taken_slugs: set[str] = set()

    # Words and sentences ----------------------------------------------------------------

    def _content_words(self, count: int) -> list[str]:
        start = self.rng.randrange(len(self._content_stream) - count)
        return self._content_stream[start : start + count]

    def _words(self, count: int) -> list[str]:
        start = self.rng.randrange(len(self._text_stream) - count)
        return self._text_stream[start : start + count]

    def _sentence(self, low: int = 8, high: int = 22, *, mentions: bool = True) -> str:
        words = self._words(self.rng.randint(low, high))
        if mentions and self.rng.random() < 0.15:
            entity = self.entities[self.rng.randrange(len(self.entities))]
            words.insert(self.rng.randrange(len(words)), entity["name"])
        words[0] = words[0][:1].upper() + words[0][1:]
        return " ".join(words) + "."

    def _decorated_sentence(self) -> str:
        """A sentence with, now and then, strong or emphasised words or a link."""
        rng = self.rng
        words = self._sentence().split(" ")
        if len(words) > 6:
            roll = rng.random()
            start = rng.randrange(1, len(words) - 3)
            span = rng.randint(1, 3)
            inner = " ".join(words[start : start + span])
            if roll < 0.12:
                words[start : start + span] = [f"**{inner}**"]
            elif roll < 0.20:
                words[start : start + span] = [f"*{inner}*"]
            elif roll < 0.30:
                target = "/".join(self._content_words(2))
                words[start : start + span] = [f"[{inner}](https://example.org/{target})"]
        return " ".join(words)

    def _title(self, low: int, high: int) -> str:
        words = self._content_words(self.rng.randint(low, high))
        return " ".join(word[:1].upper() + word[1:] for word in words)

    # Authors and entities ---------------------------------------------------------------

    def _unique_names(self, count: int, make: Callable[[], str], taken: set[str]) -> list[str]:
        names: list[str] = []
        while len(names) < count:
            name = make()
            if name not in taken:
                taken.add(name)
                names.append(name)
        return names

    def _person_name(self) -> str:
        return f"{self.rng.choice(vocab.FIRST_NAMES)} {self.rng.choice(vocab.LAST_NAMES)}"

    def _make_authors(self) -> list[dict[str, Any]]:
        rng = self.rng
        self._person_names: set[str] = set()
        names = self._unique_names(self.shape.authors, self._person_name, self._person_names)
        slugs: set[str] = set()
        start = ANCHOR - SPAN - timedelta(days=30)
        authors = []
        for index, name in enumerate(names):
            slug = _free_slug(slug_base(name, "author"), slugs)
            created = start + timedelta(minutes=index)
            sections = rng.sample(vocab.SECTIONS, 2)
            authors.append(
                {
                    "id": _uuid4(rng),
                    "slug": slug,
                    "name": name,
                    "title": rng.choice(vocab.AUTHOR_TITLES),
                    "bio": f"Writes about {sections[0]} and {sections[1]}.",
                    "avatar_url": (
                        f"https://images.example.com/authors/{slug}.jpg"
                        if rng.random() < 0.5
                        else None
                    ),
                    "url": f"https://news.example.com/authors/{slug}",
                    "email": f"{slug}@news.example.com" if rng.random() < 0.7 else None,
                    "search_text": build_search_text(name),
                    "created_at": created,
                    "updated_at": created,
                }
            )
        return authors

    def _make_entities(self) -> list[dict[str, Any]]:
        rng = self.rng
        total = self.shape.entities
        counts = {
            "person": total * 40 // 100,
            "organization": total * 20 // 100,
            "place": total * 20 // 100,
            "topic": total * 15 // 100,
        }
        counts["event"] = total - sum(counts.values())
        taken: set[str] = set()

        def proper() -> str:
            word = self.content_words[len(self.content_words) // 4 + rng.randrange(4000)]
            return word[:1].upper() + word[1:]

        people = self._unique_names(counts["person"], self._person_name, self._person_names)
        places = self._unique_names(
            counts["place"], lambda: rng.choice(vocab.PLACE_PREFIXES) + proper(), taken
        )
        organizations = self._unique_names(
            counts["organization"],
            lambda: f"{proper()} {rng.choice(vocab.ORGANIZATION_KINDS)}",
            taken,
        )
        news = [word[:1].upper() + word[1:] for word in dict.fromkeys(vocab.NEWS_WORDS)]
        topics = self._unique_names(
            counts["topic"], lambda: f"{rng.choice(news)} {rng.choice(news)}", taken
        )
        events = self._unique_names(
            counts["event"],
            lambda: (
                f"{rng.choice(places)} {rng.choice(vocab.EVENT_KINDS)} {rng.randint(2019, 2025)}"
            ),
            taken,
        )
        specs: list[tuple[str, str, list[str]]] = []
        for name in people:
            first, last = name.split(" ")
            aliases = [last]
            if rng.random() < 0.3:
                role = rng.choice(["President", "Minister", "Governor", "Senator", "Dr"])
                aliases.append(f"{role} {first} {last}")
            specs.append(("person", name, aliases))
        for name in places:
            bare = name.split(" ")[-1]
            specs.append(("place", name, [f"{bare}ian"] if rng.random() < 0.5 else []))
        for name in organizations:
            acronym = "".join(part[0] for part in name.split(" ")).upper()
            specs.append(("organization", name, [acronym] if rng.random() < 0.6 else []))
        specs += [("topic", name, []) for name in topics]
        specs += [("event", name, [name.rsplit(" ", 1)[0]]) for name in events]
        rng.shuffle(specs)

        slugs: set[str] = set()
        start = ANCHOR - SPAN - timedelta(days=20)
        entities = []
        for index, (kind, name, aliases) in enumerate(specs):
            created = start + timedelta(minutes=index)
            entities.append(
                {
                    "id": _uuid4(rng),
                    "slug": _free_slug(slug_base(name, "entity"), slugs),
                    "name": name,
                    "type": kind,
                    "aliases": aliases,
                    "description": (
                        self._sentence(6, 14, mentions=False) if rng.random() < 0.6 else None
                    ),
                    "external_ids": (
                        {"wikidata": f"Q{rng.randint(1000, 9_999_999)}"}
                        if rng.random() < 0.5
                        else {}
                    ),
                    "search_text": build_search_text(name, *aliases),
                    "created_at": created,
                    "updated_at": created,
                }
            )
        return entities

    # Bodies -----------------------------------------------------------------------------

    def _block_markdown(self, kind: str) -> str:
        rng = self.rng
        if kind == "heading":
            return "## " + self._title(3, 6)
        if kind == "quote":
            return "> " + " ".join(self._sentence() for _ in range(rng.randint(1, 2)))
        if kind == "list":
            return "\n".join(
                "- " + " ".join(self._words(rng.randint(5, 10))) for _ in range(rng.randint(3, 5))
            )
        return " ".join(self._decorated_sentence() for _ in range(rng.randint(2, 5)))

    def _make_blocks(self, kind: str, count: int) -> list[Block]:
        """``count`` blocks of one kind, each rendered by the app's ``render_body``.

        Paragraphs, headings and quotes are rendered many to a document (one call per
        block costs more than the rendering itself) and split apart again; lists are
        rendered one by one because adjacent lists would merge into one.
        """
        sources = [self._block_markdown(kind) for _ in range(count)]
        if kind != "list":
            for start in range(0, count, 200):
                chunk = sources[start : start + 200]
                rendered = render_body("\n\n".join(chunk))
                closing = "</blockquote>\n" if kind == "quote" else "\n"
                htmls = [part + closing for part in rendered.html.split(closing)[:-1]]
                texts = rendered.text.split("\n\n")
                if len(htmls) != len(chunk) or len(texts) != len(chunk):
                    break
                for markdown, html, text in zip(chunk, htmls, texts, strict=True):
                    self._pooled.append(Block(kind, markdown, html, text, count_words(text)))
            else:
                blocks, self._pooled = self._pooled, []
                return blocks
            self._pooled = []
        blocks = []
        for markdown in sources:
            rendered = render_body(markdown)
            blocks.append(Block(kind, markdown, rendered.html, rendered.text, rendered.word_count))
        return blocks

    def _body_blocks(self) -> list[Block]:
        """Five to twelve blocks, starting with a paragraph; two lists are never adjacent
        (Markdown would merge them) and a heading is never last."""
        rng = self.rng
        count = rng.randint(5, 12)
        paragraphs = self.blocks["paragraph"]
        chosen = [paragraphs[rng.randrange(len(paragraphs))]]
        while len(chosen) < count:
            roll = rng.random()
            kind = "paragraph"
            last = chosen[-1].kind
            if roll < 0.07 and last != "heading" and len(chosen) < count - 1:
                kind = "heading"
            elif roll < 0.13 and last not in {"quote", "heading"}:
                kind = "quote"
            elif roll < 0.19 and last != "list":
                kind = "list"
            pool = self.blocks[kind]
            chosen.append(pool[rng.randrange(len(pool))])
        return chosen

    # Stories ----------------------------------------------------------------------------

    def _pick(
        self, items: Sequence[dict[str, Any]], cumulative: list[float], count: int
    ) -> list[dict[str, Any]]:
        rng = self.rng
        total = cumulative[-1]
        picked: dict[int, None] = {}
        while len(picked) < count:
            picked[bisect.bisect(cumulative, rng.random() * total)] = None
        return [items[index] for index in picked]

    def _headline(self, lead: dict[str, Any] | None) -> str:
        words = self._content_words(self.rng.randint(5, 10))
        if self.rng.random() < 0.3:
            words.insert(self.rng.randrange(1, len(words)), self.rng.choice(("in", "as", "for")))
        headline = " ".join(
            word if word in {"in", "as", "for"} else word[:1].upper() + word[1:] for word in words
        )
        if lead is not None:
            headline = f"{lead['name']} {headline}"
        return headline[:200].rsplit(" ", 1)[0] if len(headline) > 200 else headline

    def _slug(self, headline: str) -> str:
        # Headlines hold ASCII letters and spaces only, so the slug is the lower-cased
        # words joined by hyphens, cut at a word boundary; the first ones are checked
        # against the app's slug_base.
        base = "-".join(headline.lower().split())
        if len(base) > MAX_SLUG_LENGTH:
            base = base[: MAX_SLUG_LENGTH + 1].rsplit("-", 1)[0]
        return _free_slug(base, self._taken_slugs)

    def story(self, index: int) -> tuple[Row, list[Row], list[Row], Row, list[Block]]:
        """Story ``index`` (0 is the oldest): its row, bylines, tags, revision 1 and the
        blocks of its body."""
        rng = self.rng
        total = self.shape.articles
        step = SPAN.total_seconds() / total
        offset = step * (total - 1 - index + rng.random())
        nominal = datetime.fromtimestamp(int(ANCHOR.timestamp() - offset), UTC)
        roll = rng.random()
        status = "draft" if roll < 0.02 else "archived" if roll < 0.03 else "published"
        created_at = nominal - timedelta(minutes=rng.randint(5, 720))
        byline = self._pick(self.authors, self._author_cumulative, 1 if rng.random() < 0.7 else 2)
        tagged = self._pick(self.entities, self._entity_cumulative, rng.randint(3, 8))
        headline = self._headline(tagged[0] if rng.random() < 0.5 else None)
        slug = self._slug(headline)
        section = rng.choice(vocab.SECTIONS)
        places = [entity for entity in tagged if entity["type"] == "place"]
        dateline = None
        if rng.random() < 0.7:
            dateline = (places[0] if places else rng.choice(self.places))["name"].upper()
        image = None
        if rng.random() < 0.4:
            image = {
                "url": f"https://images.example.com/{nominal:%Y/%m}/{slug}.jpg",
                "caption": self._sentence(6, 12) if rng.random() < 0.8 else None,
                "credit": rng.choice(("Staff photographer", "Agency", None)),
            }
        blocks = self._body_blocks()
        article_id = _uuid4(rng)
        article = {
            "id": article_id,
            "slug": slug,
            "headline": headline,
            "standfirst": self._sentence(15, 30) if rng.random() < 0.9 else None,
            "body": "\n\n".join(block.markdown for block in blocks),
            "body_html": "".join(block.html for block in blocks),
            "body_text": "\n\n".join(block.text for block in blocks),
            "dateline": dateline,
            "language": "en",
            "section": section,
            "source": rng.choice(vocab.SOURCES),
            "canonical_url": (
                f"https://news.example.com/{section}/{slug}" if rng.random() < 0.5 else None
            ),
            "image": image,
            "status": status,
            "published_at": None if status == "draft" else nominal,
            "expires_at": None,
            "word_count": (words := sum(block.words for block in blocks)),
            "reading_time_minutes": math.ceil(words / 200),
            "version": 1,
            "created_at": created_at,
            "updated_at": created_at,
            "deleted_at": None,
        }
        bylines = [
            {"article_id": article_id, "author_id": author["id"], "position": position}
            for position, author in enumerate(byline)
        ]
        tags = [{"article_id": article_id, "entity_id": entity["id"]} for entity in tagged]
        content = {name: article[name] for name in WRITABLE_COLUMNS}
        content["published_at"] = nominal.isoformat() if status != "draft" else None
        content["authors"] = [str(author["id"]) for author in byline]
        content["entities"] = sorted(str(entity["id"]) for entity in tagged)
        revision = {
            "id": _uuid4(rng),
            "article_id": article_id,
            "version": 1,
            "key_name": REVISION_KEY_NAME,
            "content": content,
            "created_at": created_at,
        }
        return article, bylines, tags, revision, blocks

    def batches(self, size: int) -> Iterator[Batch]:
        batch = Batch()
        for index in range(self.shape.articles):
            article, bylines, tags, revision, blocks = self.story(index)
            if index < CHECKED_SLUGS:
                self.check_story(index, article)
            batch.articles.append(article)
            batch.bylines += bylines
            batch.tags += tags
            batch.revisions.append(revision)
            batch.blocks.append(blocks)
            if len(batch.articles) >= size:
                yield batch
                batch = Batch()
        if batch.articles:
            yield batch

    # Self-check -------------------------------------------------------------------------

    def check_story(self, index: int, article: dict[str, Any]) -> None:
        """Compare the shortcuts with the app's own functions (run on the first stories)."""
        if index < CHECKED_BODIES:
            rendered = render_body(article["body"])
            got = (
                article["body_html"],
                article["body_text"],
                article["word_count"],
                article["reading_time_minutes"],
            )
            want = (
                rendered.html,
                rendered.text,
                rendered.word_count,
                rendered.reading_time_minutes,
            )
            if got != want:
                raise RuntimeError(f"story {index}: pooled rendering differs from render_body")
        expected = slug_base(article["headline"], "article")
        if not (article["slug"] == expected or article["slug"].startswith(expected + "-")):
            raise RuntimeError(f"story {index}: slug {article['slug']!r} != {expected!r}")


def _uuid4(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _free_slug(base: str, taken: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``… as the API does when a slug is taken."""
    slug = base
    number = 2
    while slug in taken:
        suffix = f"-{number}"
        slug = base[: MAX_SLUG_LENGTH - len(suffix)].rstrip("-") + suffix
        number += 1
    taken.add(slug)
    return slug


# Search vectors -----------------------------------------------------------------------

_SEARCH_SEPARATORS = re.compile(SEPARATOR_CLASS)
# WordEntryPos: the weight in the two high bits (A 3, B 2, D 0), the position below.
_WEIGHT_A, _WEIGHT_B = 3 << 14, 2 << 14
_MAX_POSITION = (1 << 14) - 1
_MAX_POSITIONS = 255
# The binary form: the number of lexemes; then each lexeme's positions, counted.
_COUNT = struct.Struct("!i")
_POSITIONS = [struct.Struct(f"!{count + 1}H") for count in range(_MAX_POSITIONS + 1)]


_ASCII_WORDS = re.compile(r"[a-z0-9]+")


def search_tokens(value: str | None) -> list[str]:
    """The words PostgreSQL's parser sees in ``value`` once ``search_separated()`` has made
    every separator a space: in ASCII text (all of the corpus's), runs of letters and
    digits, found without the slower full class."""
    if not value:
        return []
    if value.isascii():
        return _ASCII_WORDS.findall(value.lower())
    return _SEARCH_SEPARATORS.sub(" ", value).lower().split()


class SearchVectors:
    """``article.search_vector`` built in Python, as migration 0008's trigger would build it:
    the weighted vectors of headline, standfirst and body joined by ``||`` (each part's
    positions moved on by the largest position before it), in PostgreSQL's binary form.

    Every word's lexeme comes from the database once (``lexemes``) and is numbered in
    PostgreSQL's order of lexemes (their bytes), so a vector is a grouping of numbers: a
    pooled block's numbers are found once, and a lexeme's bytes are encoded once. The
    loader compares the first batch with the database's own ``newsdesk_search_vector()``.
    """

    def __init__(self, lexemes: dict[str, str]) -> None:
        # '_' is the lexeme of the '_:1' that migration 0005 puts between the fields (no
        # word's lexeme: '_' separates words).
        ordered = sorted({*lexemes.values(), "_"}, key=str.encode)
        rank = {lexeme: number for number, lexeme in enumerate(ordered)}
        self._ranks = {token: rank[lexeme] for token, lexeme in lexemes.items()}
        self._break = rank["_"]
        # Each lexeme as the binary form writes it: its bytes, then a NUL.
        self._names = [lexeme.encode() + b"\0" for lexeme in ordered]
        self._blocks: dict[int, list[int]] = {}

    def _of(self, value: str | None) -> list[int]:
        ranks = self._ranks
        return [ranks[token] for token in search_tokens(value)]

    def _body(self, blocks: list[Block]) -> list[int]:
        body: list[int] = []
        for block in blocks:
            found = self._blocks.get(id(block))
            if found is None:
                found = self._blocks[id(block)] = self._of(block.text)
            body += found
        return body

    def vector(self, article: Row, blocks: list[Block]) -> bytes:
        groups: defaultdict[int, list[int]] = defaultdict(list)
        position = 0
        # Headline (A), break, standfirst (B), break: the weight in the two high bits.
        for ranks, bits in (
            (self._of(article["headline"]), _WEIGHT_A),
            ([self._break], 0),
            (self._of(article["standfirst"]), _WEIGHT_B),
            ([self._break], 0),
        ):
            for rank in ranks:
                position += 1
                groups[rank].append(bits | position)
        body = self._body(blocks)
        if position + len(body) > _MAX_POSITION:
            raise ValueError("story too long to build its search vector outside the database")
        for number, rank in enumerate(body, start=position + 1):
            groups[rank].append(number)
        names = self._names
        out = [_COUNT.pack(len(groups))]
        for rank in sorted(groups):
            entries = groups[rank]
            if len(entries) > _MAX_POSITIONS:
                raise ValueError("a word too frequent to build its search vector here")
            out.append(names[rank])
            out.append(_POSITIONS[len(entries)].pack(len(entries), *entries))
        return b"".join(out)


def corpus_tokens(corpus: Corpus) -> set[str]:
    """Every word a story's headline, standfirst or body can hold."""
    tokens: set[str] = {"in", "as", "for"}
    for words in (corpus.function_words, corpus.content_words):
        tokens.update(search_tokens(" ".join(words)))
    tokens.update(search_tokens(" ".join(entity["name"] for entity in corpus.entities)))
    for pool in corpus.blocks.values():
        for block in pool:
            tokens.update(search_tokens(block.text))
    return tokens


# Producing batches on a thread lets Python build the next batch while the database is
# still busy with the last one.


def _produce(
    corpus: Corpus,
    size: int,
    transform: Callable[[Batch], Any],
    out: "queue.Queue[tuple[Batch, Any] | BaseException | None]",
) -> None:
    try:
        for batch in corpus.batches(size):
            out.put((batch, transform(batch)))
        out.put(None)
    except BaseException as exc:  # handed to the consumer, which re-raises it
        out.put(exc)


def _batches_in_background(
    corpus: Corpus, size: int, transform: Callable[[Batch], Any] = lambda batch: batch
) -> Iterator[tuple[Batch, Any]]:
    """The batches, each with ``transform(batch)``, made on a thread a few batches ahead."""
    pending: queue.Queue[tuple[Batch, Any] | BaseException | None] = queue.Queue(maxsize=4)
    worker = threading.Thread(target=_produce, args=(corpus, size, transform, pending), daemon=True)
    worker.start()
    while True:
        item = pending.get()
        if item is None:
            break
        if isinstance(item, BaseException):
            raise item
        yield item
    worker.join()


# Databases --------------------------------------------------------------------------


def backend_of(url: str) -> str:
    backend = make_url(url).get_backend_name()
    return "postgresql" if backend in {"postgresql", "postgres"} else backend


def _check_bench_name(name: str, allow_any: bool) -> None:
    if not allow_any and "bench" not in name:
        raise SystemExit(
            f"Refusing to drop {name!r}: the benchmark only recreates databases whose name "
            "contains 'bench' (pass --allow-any-database to override)."
        )


async def _recreate_postgresql(url: str, allow_any: bool) -> None:
    import asyncpg  # type: ignore[import-untyped]

    target = make_url(url)
    name = target.database or ""
    _check_bench_name(name, allow_any)
    try:
        admin = await asyncpg.connect(_asyncpg_dsn(target.set(database="postgres")), timeout=10)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise SystemExit(
            f"Cannot reach PostgreSQL at {target.render_as_string(hide_password=True)} "
            f"({type(exc).__name__}: {exc}). Start it, or benchmark SQLite with "
            "--database-url sqlite:///bench/results/newsdesk_bench.db"
        ) from exc
    try:
        quoted = '"' + name.replace('"', '""') + '"'
        await admin.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {quoted}")
    finally:
        await admin.close()


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise SystemExit("The SQLite benchmark needs a file: sqlite:///path/to/file.db")
    return Path(database)


def recreate_database(url: str, *, allow_any: bool = False) -> None:
    """Drop and recreate the database, then run the app's migrations."""
    if backend_of(url) == "postgresql":
        asyncio.run(_recreate_postgresql(url, allow_any))
    else:
        path = _sqlite_path(url)
        _check_bench_name(path.name, allow_any)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    upgrade(url)


def _asyncpg_dsn(url: Any) -> str:
    return str(url.set(drivername="postgresql").render_as_string(hide_password=False))


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


# Column values that PostgreSQL's COPY takes as JSON text (jsonb columns).
_PG_JSON_COLUMNS = {"image", "aliases", "external_ids", "content"}


async def _insertable_columns(connection: Any, table: str) -> list[str]:
    rows = await connection.fetch(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = $1 "
        "AND is_generated = 'NEVER' ORDER BY ordinal_position",
        table,
    )
    return [row["column_name"] for row in rows]


Records = list[tuple[str, list[str], list[list[Any]]]]


def _records(table: str, columns: list[str], rows: list[dict[str, Any]]) -> Records:
    """COPY input for ``rows``: the columns both sides know, jsonb values as JSON text."""
    if not rows:
        return []
    names = [name for name in columns if name in rows[0]]
    json_at = [index for index, name in enumerate(names) if name in _PG_JSON_COLUMNS]
    records = []
    for row in rows:
        record = [row[name] for name in names]
        for index in json_at:
            record[index] = _json(record[index])
        records.append(record)
    return [(table, names, records)]


async def _copy(connection: Any, records: Records) -> None:
    for table, names, rows in records:
        await connection.copy_records_to_table(table, records=rows, columns=names)


STORY_TABLES = ("article", "article_author", "article_entity", "article_revision")


async def _drop_secondary_indexes(connection: Any) -> list[str]:
    """Drop the story tables' indexes that back no constraint (whatever the migrations made
    them), returning their definitions: building an index once after a load is much
    cheaper than keeping it up to date row by row, and the result is the same."""
    rows = await connection.fetch(
        "SELECT indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = current_schema() AND tablename = ANY($1::text[]) "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname",
        list(STORY_TABLES),
    )
    for row in rows:
        await connection.execute(f'DROP INDEX "{row["indexname"]}"')
    return [row["indexdef"] for row in rows]


async def _create_indexes(connections: list[Any], definitions: list[str]) -> None:
    """Build the indexes over the connections at once. The GIN index of the search vectors
    costs more than all the B-trees together: it gets a connection of its own where there
    are two or more, and the memory to sort its entries in fewer passes."""

    async def build(connection: Any, mine: list[str]) -> None:
        await connection.execute("SET maintenance_work_mem = '1GB'")
        for definition in mine:
            await connection.execute(definition)

    count = len(connections)
    gin = [definition for definition in definitions if " USING gin " in definition]
    rest = [definition for definition in definitions if definition not in gin]
    shares: list[list[str]] = [gin[n::count] for n in range(count)]
    others = [share for share in shares if not share] or shares
    for n, definition in enumerate(rest):
        others[n % len(others)].append(definition)
    await asyncio.gather(*(build(c, share) for c, share in zip(connections, shares, strict=True)))


VECTOR_TRIGGER = "article_search_vector"
# Each word alone, through the same functions as the vector of a story in English.
_LEXEMES = (
    "SELECT token, entry.lexeme, entry.positions FROM unnest($1::text[]) AS token "
    "LEFT JOIN LATERAL unnest(to_tsvector(newsdesk_search_config('en'), "
    "search_separated(token))) AS entry ON true"
)
_WRONG_VECTORS = (
    "SELECT count(*) FROM article WHERE id = ANY($1::uuid[]) AND search_vector IS DISTINCT "
    "FROM newsdesk_search_vector(language, headline, standfirst, body_text)"
)


async def _loading_session(connection: Any, vectors: bool) -> None:
    """Settings of a loading connection. No wait for the WAL flush at each commit (a load
    that fails is redone from the start anyway). Long values compressed with LZ4 where the
    server has it: pglz costs several times as much CPU for the three 3 KB texts and the
    revision of every story (a setting of this session: the tables are unchanged). With
    ``vectors``, triggers and foreign-key checks off (``_prepare_search_vectors``) and
    tsvectors written in their binary form."""
    import asyncpg

    await connection.execute("SET synchronous_commit = off")
    with contextlib.suppress(asyncpg.PostgresError):  # built without LZ4: pglz, as before
        await connection.execute("SET default_toast_compression = lz4")
    if vectors:
        await connection.execute("SET session_replication_role = replica")
        await connection.set_type_codec(
            "tsvector", schema="pg_catalog", encoder=bytes, decoder=bytes, format="binary"
        )


async def _prepare_search_vectors(first: Any, corpus: Corpus) -> SearchVectors | None:
    """When the search vector is a trigger's (migration 0008), have the generator build it
    and load with triggers off: the vector of a 3 KB body costs PostgreSQL about twice
    what everything else a story needs costs, while built from words whose lexemes are
    known it is cheap. The session's replication role "replica" turns off, for the loading
    connections only, that trigger and the foreign-key checks (the generator's rows refer
    only to rows it wrote: pg_restore's --disable-triggers does the same). None (the
    database builds the vectors and checks the keys) on an older schema, or without the
    superuser that the role needs."""
    import asyncpg

    trigger = await first.fetchval(
        "SELECT count(*) FROM pg_trigger WHERE tgname = $1 AND tgrelid = 'article'::regclass",
        VECTOR_TRIGGER,
    )
    if not trigger:
        return None
    try:
        await first.execute("SET session_replication_role = replica")
    except asyncpg.InsufficientPrivilegeError:
        return None
    await first.execute("RESET session_replication_role")
    tokens = sorted(corpus_tokens(corpus))
    found: dict[str, list[tuple[str, list[int]]]] = {token: [] for token in tokens}
    for row in await first.fetch(_LEXEMES, tokens):
        if row["lexeme"] is not None:
            found[row["token"]].append((row["lexeme"], list(row["positions"])))
    lexemes = {}
    for token, entries in found.items():
        if len(entries) != 1 or entries[0][1] != [1]:
            raise RuntimeError(f"{token!r} is not one word to PostgreSQL's parser: {entries}")
        lexemes[token] = entries[0][0]
    return SearchVectors(lexemes)


async def _check_search_vectors(connection: Any, batch: Batch) -> None:
    ids = [article["id"] for article in batch.articles]
    wrong = await connection.fetchval(_WRONG_VECTORS, ids)
    if wrong:
        raise RuntimeError(f"{wrong} of the first {len(ids)} search vectors differ")


@dataclass
class LoadPlan:
    """What each loading process needs; made before they fork."""

    dsn: str
    columns: dict[str, list[str]]
    vectors: SearchVectors | None
    batch_size: int
    jobs: int
    progress: bool

    def records(self, batch: Batch) -> Records:
        if self.vectors is not None:
            for article, blocks in zip(batch.articles, batch.blocks, strict=True):
                article["search_vector"] = self.vectors.vector(article, blocks)
        return [
            *_records("article", self.columns["article"], batch.articles),
            *_records("article_author", self.columns["article_author"], batch.bylines),
            *_records("article_entity", self.columns["article_entity"], batch.tags),
            *_records("article_revision", self.columns["article_revision"], batch.revisions),
        ]


async def _prepare_load(corpus: Corpus, plan: LoadPlan, defer_indexes: bool) -> list[str]:
    """Authors and entities, the search vectors' lexemes, and the dropped indexes'
    definitions (to build after the load)."""
    import asyncpg

    first = await asyncpg.connect(plan.dsn)
    try:
        await _loading_session(first, vectors=False)
        for table in (*STORY_TABLES, "author", "entity"):
            plan.columns[table] = await _insertable_columns(first, table)
        async with first.transaction():
            await _copy(first, _records("author", plan.columns["author"], corpus.authors))
            await _copy(first, _records("entity", plan.columns["entity"], corpus.entities))
        if "search_vector" in plan.columns["article"]:
            plan.vectors = await _prepare_search_vectors(first, corpus)
        return await _drop_secondary_indexes(first) if defer_indexes else []
    finally:
        await first.close()


# The corpus and plan of the loading processes, which inherit them when they fork.
_FORKED: tuple[Corpus, LoadPlan] | None = None


def _load_share(share: int) -> LoadReport:
    """Run in loading process ``share``: COPY every ``jobs``-th batch."""
    assert _FORKED is not None
    corpus, plan = _FORKED
    return asyncio.run(_copy_share(corpus, plan, share))


async def _copy_share(corpus: Corpus, plan: LoadPlan, share: int) -> LoadReport:
    """Every process makes every story (the generator is one sequence of random draws,
    and the cheaper part of the work), and builds the vectors and COPY input of its own
    batches only: the Python work of a load is shared among the processes."""
    import asyncpg

    report = LoadReport("postgresql", 0, 0, 0)
    numbers = itertools.count()

    def mine(batch: Batch) -> Records | None:
        return plan.records(batch) if next(numbers) % plan.jobs == share else None

    connection = await asyncpg.connect(plan.dsn)
    try:
        await _loading_session(connection, vectors=plan.vectors is not None)
        started = time.perf_counter()
        first = True
        for batch, records in _batches_in_background(corpus, plan.batch_size, mine):
            if records is None:
                continue
            async with connection.transaction():
                await _copy(connection, records)
                if first and share == 0 and plan.vectors is not None:
                    # The first batch's vectors compared with the database's own.
                    await _check_search_vectors(connection, batch)
            first = False
            _count(report, batch, plan.progress and share == 0, started, plan.jobs)
    finally:
        await connection.close()
    return report


async def _finish_load(dsn: str, deferred: list[str], jobs: int) -> None:
    import asyncpg

    connections = [await asyncpg.connect(dsn) for _ in range(max(jobs, 1))]
    try:
        await _create_indexes(connections, deferred)
    finally:
        for connection in connections:
            await connection.close()


async def _settle(dsn: str, items: int, report: LoadReport) -> None:
    """One bump of the content version for every item, as one API call per item would
    have made; then what autovacuum would do soon after a load anyway: statistics for
    the planner and a visibility map for index-only scans, so the first minute is not
    special."""
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "UPDATE content_version SET value = value + $1 WHERE id = 1", items
        )
        report.load_seconds = time.perf_counter() - report.started
        started = time.perf_counter()
        for table in ("author", "entity", *STORY_TABLES):
            await connection.execute(f"VACUUM (ANALYZE) {table}")
        report.settle_seconds = time.perf_counter() - started
    finally:
        await connection.close()


def _load_postgresql(
    url: str,
    corpus: Corpus,
    batch_size: int,
    jobs: int,
    report: LoadReport,
    progress: bool,
    defer_indexes: bool,
) -> None:
    """COPY the batches from ``jobs`` processes at once (forked, each with its own
    connection, one transaction a batch), then build the indexes."""
    global _FORKED
    report.started = time.perf_counter()
    plan = LoadPlan(_asyncpg_dsn(make_url(url)), {}, None, batch_size, jobs, progress)
    deferred = asyncio.run(_prepare_load(corpus, plan, defer_indexes))
    _FORKED = (corpus, plan)
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for share in pool.map(_load_share, range(jobs)):
                report.articles += share.articles
                report.bylines += share.bylines
                report.tags += share.tags
                report.body_bytes += share.body_bytes
    finally:
        _FORKED = None
        asyncio.run(_finish_load(plan.dsn, deferred, jobs))
    items = len(corpus.authors) + len(corpus.entities) + report.articles
    asyncio.run(_settle(plan.dsn, items, report))


def _load_sqlite(
    url: str,
    corpus: Corpus,
    batch_size: int,
    report: LoadReport,
    progress: bool,
    defer_indexes: bool,
) -> None:
    from sqlalchemy import create_engine, event, insert, update

    engine = create_engine(make_url(url).set(drivername="sqlite"))

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL as the app runs it; no fsync while loading (a failed load is redone anyway).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-262144")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    bump = update(content_version_table).where(content_version_table.c.id == 1)
    try:
        with engine.begin() as connection:
            connection.execute(insert(authors_table), corpus.authors)
            connection.execute(insert(entities_table), corpus.entities)
            items = len(corpus.authors) + len(corpus.entities)
            connection.execute(bump.values(value=content_version_table.c.value + items))
        started = time.perf_counter()
        deferred: list[str] = []
        if defer_indexes:
            # As on PostgreSQL: the explicit indexes of the story tables are built once at
            # the end from their own definitions (constraint indexes have no SQL and stay).
            with engine.begin() as connection:
                tables = ", ".join(f"'{name}'" for name in STORY_TABLES)
                found = connection.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                    f"AND sql IS NOT NULL AND tbl_name IN ({tables}) ORDER BY name"
                ).all()
                for name, _sql in found:
                    connection.exec_driver_sql(f'DROP INDEX "{name}"')
                deferred = [sql for _name, sql in found]
        try:
            for batch, _same in _batches_in_background(corpus, batch_size):
                with engine.begin() as connection:
                    connection.execute(insert(articles_table), batch.articles)
                    connection.execute(insert(article_authors_table), batch.bylines)
                    connection.execute(insert(article_entities_table), batch.tags)
                    connection.execute(insert(revisions_table), batch.revisions)
                    connection.execute(
                        bump.values(value=content_version_table.c.value + len(batch.articles))
                    )
                _count(report, batch, progress, started)
        finally:
            with engine.begin() as connection:
                for sql in deferred:
                    connection.exec_driver_sql(sql)
        report.load_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        report.settle_seconds = time.perf_counter() - started
    finally:
        engine.dispose()


def _count(
    report: LoadReport, batch: Batch, progress: bool, started: float, shares: int = 1
) -> None:
    """Add ``batch`` to ``report``; with ``progress``, a line every 100,000 stories (of
    ``shares`` processes that load alike: this one's count times theirs)."""
    before = report.articles
    report.articles += len(batch.articles)
    report.bylines += len(batch.bylines)
    report.tags += len(batch.tags)
    report.body_bytes += sum(len(article["body"]) for article in batch.articles)
    step = 100_000 // shares
    if progress and report.articles // step != before // step:
        total = report.articles * shares
        rate = total / (time.perf_counter() - started)
        print(f"  ~{total:>9,} stories  {rate:,.0f}/s", file=sys.stderr, flush=True)


def build(
    url: str,
    shape: CorpusShape,
    *,
    batch_size: int = 1000,
    jobs: int = 2,
    defer_indexes: bool = True,
    allow_any_database: bool = False,
    progress: bool = True,
) -> tuple[Corpus, LoadReport]:
    """Recreate and migrate the database, then generate and load the corpus."""
    recreate_database(url, allow_any=allow_any_database)
    started = time.perf_counter()
    corpus = Corpus(shape)
    backend = backend_of(url)
    report = LoadReport(backend, 0, len(corpus.authors), len(corpus.entities))
    report.prepare_seconds = time.perf_counter() - started
    if backend == "postgresql":
        _load_postgresql(url, corpus, batch_size, jobs, report, progress, defer_indexes)
    else:
        _load_sqlite(url, corpus, batch_size, report, progress, defer_indexes)
    return corpus, report


def describe(report: LoadReport) -> str:
    return (
        f"Loaded {report.articles:,} stories ({report.authors} authors, {report.entities:,} "
        f"entities, {report.bylines:,} bylines, {report.tags:,} tags; bodies "
        f"{report.body_bytes / max(report.articles, 1) / 1024:.1f} KB on average) into "
        f"{report.backend} in {report.load_seconds:.1f} s: "
        f"{report.stories_per_second:,.0f} stories/s "
        f"(generator set-up {report.prepare_seconds:.1f} s, "
        f"{'VACUUM ANALYZE' if report.backend == 'postgresql' else 'WAL checkpoint'} "
        f"{report.settle_seconds:.1f} s, neither counted)."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.corpus",
        description="Recreate a benchmark database and fill it with a synthetic newsroom.",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("NEWSDESK_BENCH_DATABASE_URL", DEFAULT_PG_URL),
        help="postgresql://… or sqlite:///file.db; its name must contain 'bench' "
        "(default: %(default)s)",
    )
    parser.add_argument("--articles", type=int, default=CorpusShape.articles)
    parser.add_argument("--authors", type=int, default=CorpusShape.authors)
    parser.add_argument("--entities", type=int, default=CorpusShape.entities)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--batch-size", type=int, default=1000, help="stories a transaction")
    parser.add_argument(
        "--keep-indexes",
        action="store_true",
        help="keep secondary indexes up to date while loading instead of building them after",
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="PostgreSQL connections loading at once (default 2)"
    )
    parser.add_argument("--allow-any-database", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    shape = CorpusShape(args.articles, args.authors, args.entities, args.seed)
    _corpus, report = build(
        args.database_url,
        shape,
        batch_size=args.batch_size,
        jobs=args.jobs,
        defer_indexes=not args.keep_indexes,
        allow_any_database=args.allow_any_database,
    )
    print(describe(report))


if __name__ == "__main__":
    main()
