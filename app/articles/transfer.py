"""Articles in and out as NDJSON: one article a line, in the ``POST /v1/articles`` shape
plus its ``slug``, authors and entities named by slug.

Export writes every article that is not in the trash (drafts, scheduled and archived ones
included: ``status`` and ``published_at`` say which), ordered by slug, so that the same
content always gives the same bytes. Import upserts by slug through the same models and
service functions as the API, in batches: one transaction per batch, one savepoint per
line, so a bad line is reported and skipped while the rest of its batch still goes in.
"""

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.articles.models import (
    ArticleCreate,
    ArticleUpdate,
    article_authors_table,
    article_entities_table,
    articles_table,
)
from app.articles.service import add_article, patch_article
from app.auth import Viewer
from app.authors.service import authors
from app.changes import begin_write
from app.entities.service import entities
from app.errors import ProblemError, is_connection_error
from app.keys.models import Role

IMPORT_VIEWER = Viewer(key_name="import", role=Role.editor)
BATCH_SIZE = 500
# Keys of an exported line, in the order they are written.
EXPORT_FIELDS = (
    "slug",
    "headline",
    "standfirst",
    "body",
    "dateline",
    "language",
    "section",
    "source",
    "canonical_url",
    "image",
    "status",
    "published_at",
    "authors",
    "entities",
)
_COLUMNS = tuple(
    articles_table.c[name] for name in EXPORT_FIELDS if name not in {"authors", "entities"}
)
# Timestamps as RFC 3339 UTC with a Z, with their microseconds: an export loses nothing.
_LINE_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE


# Export


def _exported() -> Any:
    return articles_table.c.deleted_at.is_(None)


async def count_exported(session: AsyncSession) -> int:
    query = select(func.count()).select_from(articles_table).where(_exported())
    return int((await session.execute(query)).scalar_one())


async def export_lines(
    session: AsyncSession,
    *,
    batch_size: int = BATCH_SIZE,
    on_total: Callable[[int], None] | None = None,
) -> AsyncIterator[list[bytes]]:
    """The export, a batch of NDJSON lines at a time, read in one transaction so that a
    write made meanwhile cannot leave half its effect in the file. ``on_total`` first gets
    the number of articles the export will hold, counted in the same transaction."""
    if session.get_bind().dialect.name == "postgresql":
        # Must come first: the isolation level is fixed when the transaction begins.
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    if on_total is not None:
        on_total(await count_exported(session))
    after: str | None = None
    while True:
        query = select(articles_table.c.id, *_COLUMNS).where(_exported())
        if after is not None:
            query = query.where(articles_table.c.slug > after)
        query = query.order_by(articles_table.c.slug).limit(batch_size)
        rows = (await session.execute(query)).all()
        if not rows:
            return
        bylines, tags = await _relation_slugs(session, [row.id for row in rows])
        yield [
            orjson.dumps(_export_item(row, bylines[row.id], tags[row.id]), option=_LINE_OPTIONS)
            for row in rows
        ]
        after = rows[-1].slug


def _export_item(row: Any, bylines: list[str], tags: list[str]) -> dict[str, Any]:
    item = {name: getattr(row, name) for name in EXPORT_FIELDS[:-2]}
    image = item["image"]
    if image is not None:
        item["image"] = {key: image.get(key) for key in ("url", "caption", "credit")}
    item["authors"] = bylines
    item["entities"] = tags
    return item


async def _relation_slugs(
    session: AsyncSession, article_ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, list[str]], dict[uuid.UUID, list[str]]]:
    """Author slugs in byline order and entity slugs in slug order, for many articles."""
    bylines: dict[uuid.UUID, list[str]] = defaultdict(list)
    tags: dict[uuid.UUID, list[str]] = defaultdict(list)
    links = article_authors_table
    for article_id, slug in await session.execute(
        select(links.c.article_id, authors.c.slug)
        .join(authors, authors.c.id == links.c.author_id)
        .where(links.c.article_id.in_(article_ids))
        .order_by(links.c.article_id, links.c.position)
    ):
        bylines[article_id].append(slug)
    tag_links = article_entities_table
    for article_id, slug in await session.execute(
        select(tag_links.c.article_id, entities.c.slug)
        .join(entities, entities.c.id == tag_links.c.entity_id)
        .where(tag_links.c.article_id.in_(article_ids))
        .order_by(tag_links.c.article_id, entities.c.slug)
    ):
        tags[article_id].append(slug)
    return bylines, tags


# Import


@dataclass(frozen=True)
class LineError:
    line: int
    message: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[LineError] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return self.created + self.updated + self.unchanged + len(self.errors)


Outcome = Literal["created", "updated", "unchanged"]


class LineRejected(Exception):
    """A line that cannot be imported, with the reason a person can act on."""


def parse_line(raw: bytes) -> ArticleCreate:
    """One NDJSON line, validated exactly as a ``POST /v1/articles`` body; a slug is
    required, because import matches articles by slug."""
    try:
        data = ArticleCreate.model_validate_json(raw)
    except ValidationError as exc:
        raise LineRejected(_describe_validation(exc)) from exc
    if data.slug is None:
        raise LineRejected("slug: required to import (articles are matched by slug)")
    return data


def _describe_validation(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return "; ".join(problems)


def _as_patch(data: ArticleCreate) -> ArticleUpdate:
    """The line as a merge patch that sets every writable field, so that the stored
    article ends up as the line says. A line without ``published_at`` keeps the time the
    article was first published, as the API does."""
    values = data.model_dump(mode="json", exclude={"auto_tag"})
    if values["published_at"] is None:
        del values["published_at"]
    return ArticleUpdate.model_validate(values)


async def import_lines(
    sessionmaker: async_sessionmaker[AsyncSession],
    lines: Iterable[tuple[int, bytes]],
    *,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[ImportReport, list[LineError]], None] | None = None,
) -> ImportReport:
    """Upsert the articles of numbered NDJSON lines (blank lines are skipped). After each
    batch, ``on_batch`` gets the running report and that batch's errors."""
    report = ImportReport()
    batch: list[tuple[int, bytes]] = []
    for number, raw in lines:
        if raw.strip():
            batch.append((number, raw))
        if len(batch) >= batch_size:
            await _import_batch(sessionmaker, batch, report, on_batch)
            batch = []
    if batch:
        await _import_batch(sessionmaker, batch, report, on_batch)
    return report


async def _import_batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    batch: list[tuple[int, bytes]],
    report: ImportReport,
    on_batch: Callable[[ImportReport, list[LineError]], None] | None,
) -> None:
    errors: list[LineError] = []
    parsed: list[tuple[int, ArticleCreate]] = []
    for number, raw in batch:
        try:
            parsed.append((number, parse_line(raw)))
        except LineRejected as exc:
            errors.append(LineError(number, str(exc)))
    changed = 0
    if parsed:
        async with sessionmaker() as session:
            await begin_write(session)
            existing = await _articles_by_slug(session, [data.slug or "" for _, data in parsed])
            for number, data in parsed:
                try:
                    outcome = await _upsert(session, existing, data)
                except LineRejected as exc:
                    errors.append(LineError(number, str(exc)))
                    continue
                if outcome == "created":
                    report.created += 1
                elif outcome == "updated":
                    report.updated += 1
                else:
                    report.unchanged += 1
                changed += outcome != "unchanged"
            # A batch that changed nothing leaves no trace, not even a new content version.
            if changed:
                await session.commit()
            else:
                await session.rollback()
    errors.sort(key=lambda error: error.line)
    report.errors.extend(errors)
    if on_batch is not None:
        on_batch(report, errors)


@dataclass
class _Stored:
    """An article a batch found by slug, and its content in export form (None once the
    batch has changed it)."""

    id: uuid.UUID
    trashed: bool
    item: dict[str, Any] | None


async def _articles_by_slug(session: AsyncSession, slugs: Sequence[str]) -> dict[str, _Stored]:
    """The stored articles of a batch's slugs, in three queries whatever the batch size."""
    query = select(articles_table.c.id, articles_table.c.deleted_at, *_COLUMNS).where(
        articles_table.c.slug.in_(set(slugs))
    )
    rows = (await session.execute(query)).all()
    bylines, tags = await _relation_slugs(session, [row.id for row in rows])
    return {
        row.slug: _Stored(
            row.id, row.deleted_at is not None, _export_item(row, bylines[row.id], tags[row.id])
        )
        for row in rows
    }


def _same_as_stored(data: ArticleCreate, stored: dict[str, Any]) -> bool:
    """Whether the line says what is stored already, compared as export writes it. A line
    naming authors or entities by id, or asking for auto-tagging, never compares equal
    here: the update path then finds out, at the cost of the writes it rolls back."""
    if data.auto_tag:
        return False
    line = data.model_dump(exclude={"auto_tag"})
    line["canonical_url"] = str(data.canonical_url) if data.canonical_url else None
    line["image"] = data.image.model_dump(mode="json") if data.image else None
    line["status"] = data.status.value
    line["entities"] = sorted(data.entities)
    if line["published_at"] is None:  # keeps the stored time, as an update would
        line["published_at"] = stored["published_at"]
    return line == stored


async def _upsert(
    session: AsyncSession, existing: dict[str, _Stored], data: ArticleCreate
) -> Outcome:
    """Create or update one article inside a savepoint; "created", "updated" or
    "unchanged". Anything wrong with the line rolls back only the line."""
    slug = data.slug or ""
    found = existing.get(slug)
    if found is not None and found.trashed:
        raise LineRejected(
            f"the article {slug!r} is in the trash; restore it before importing over it"
        )
    if found is not None and found.item is not None and _same_as_stored(data, found.item):
        return "unchanged"
    savepoint = await session.begin_nested()
    try:
        if found is None:
            article = await add_article(session, data, IMPORT_VIEWER)
            await savepoint.commit()
            existing[slug] = _Stored(article.id, trashed=False, item=None)
            return "created"
        if await patch_article(session, found.id, _as_patch(data), IMPORT_VIEWER) is None:
            await savepoint.rollback()
            return "unchanged"
        await savepoint.commit()
        found.item = None
        return "updated"
    except ProblemError as exc:
        await savepoint.rollback()
        raise LineRejected(exc.detail) from exc
    except LineRejected:
        await savepoint.rollback()
        raise
    except DBAPIError as exc:
        if is_connection_error(exc):
            raise
        await savepoint.rollback()
        raise LineRejected(f"the database refused it: {type(exc.orig).__name__}") from exc
