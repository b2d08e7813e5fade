"""Articles in and out as NDJSON: one article a line, in the ``POST /v1/articles`` shape
plus its ``slug``, authors and entities named by slug.

Export writes every article that is not in the trash (drafts, scheduled and archived ones
included: ``status`` and ``published_at`` say which), ordered by slug, so that the same
content always gives the same bytes.

Import upserts by slug, in batches of one transaction each, validating every line with the
API's own models. Each batch is parsed and its bodies rendered before its transaction
begins and while the previous batch is being written, so the write lock is never held for
CPU work. Rendering is most of that work: the first batch's bodies are rendered in a
thread (an import of one batch starts no process), every later batch's in a pool of
worker processes, one per CPU. Articles a batch does not have yet (the common case:
loading an archive) are checked together and written a table at a time (PostgreSQL:
``COPY``, its search vector computed by the database as the rows go in; SQLite: one
``executemany``), each with the same columns and first revision that ``POST /v1/articles``
would give it. Lines for articles that exist go one by one through the API's update, each
in a savepoint. Either way a bad line (whatever is wrong with it) is reported with its
number and skipped while the rest of its batch still goes in; should the database refuse
a row of the bulk writes, the batch is rolled back and written again line by line, so that
only the line at fault is left out.

On PostgreSQL two batches are written at once, each on its own connection, so that the
database computes two batches' search vectors on two processors; batches that share a
slug are written one after the other, and batches are reported in the order of the file.
Every batch is one write through the change log (``write_transaction``): its articles and
their entries commit together or not at all. An import stopped half-way (``kill -9``
included) keeps the batches it committed, and running it again completes it: what is in
already compares unchanged, the rest is created.
"""

import asyncio
import logging
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.articles.models import (
    ArticleCreate,
    ArticleUpdate,
    article_authors_table,
    article_entities_table,
    articles_table,
    corrections_table,
    revisions_table,
)
from app.articles.queries import (
    KIND,
    Correction,
    bylines_of,
    corrections_of,
    dialect_of,
    find_refs,
    relation_columns,
    tags_of,
)
from app.articles.render import RenderedBody, RenderWorkers, render_bodies
from app.articles.revisions import (
    WRITABLE_COLUMNS,
    record_revisions,
    revision_content,
    revision_rows,
)
from app.articles.service import (
    add_article,
    append_corrections,
    new_article_columns,
    patch_article,
)
from app.auth import Viewer
from app.authors.models import authors_table as authors
from app.db import is_connection_error, utcnow
from app.entities.models import entities_table as entities
from app.errors import ProblemError
from app.freshness.log import changes_of, write_transaction
from app.keys.models import Role
from app.slugs import redirects_table

logger = logging.getLogger("newsdesk.transfer")
IMPORT_VIEWER = Viewer(key_name="import", role=Role.editor)
BATCH_SIZE = 500
# Bodies a worker process renders at a time: small enough that the workers share a batch
# evenly, large enough that handing them over costs little.
RENDER_CHUNK = 50
# Keys of an exported line, in the order they are written: what a revision keeps, and the
# corrections (which no revision holds: they are appended, never restored away).
EXPORT_FIELDS = (*WRITABLE_COLUMNS, "authors", "entities", "corrections")
IMAGE_KEYS = ("url", "caption", "credit", "alt", "width", "height")
_COLUMNS = tuple(articles_table.c[name] for name in WRITABLE_COLUMNS)
# An import's transactions let the search index's pending list grow this long before
# merging it (the API's connections merge it past 64 kB: ``app.db``), and the import
# merges what is left once at the end. Merged a few stories at a time, the list cost a
# fifth of an import on PostgreSQL.
IMPORT_PENDING_LIST = text("SET LOCAL gin_pending_list_limit = '4MB'")
MERGE_PENDING_LIST = text("SELECT gin_clean_pending_list('ix_article_search_vector'::regclass)")
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
        relations = await _relations(session, [row.id for row in rows])
        yield [orjson.dumps(_export_item(row, relations), option=_LINE_OPTIONS) for row in rows]
        after = rows[-1].slug


def _export_item(row: Any, relations: "_Relations") -> dict[str, Any]:
    item = {name: getattr(row, name) for name in WRITABLE_COLUMNS}
    image = item["image"]
    if image is not None:
        item["image"] = {key: image.get(key) for key in IMAGE_KEYS}
    item["authors"] = relations.bylines[row.id]
    item["entities"] = relations.tags[row.id]
    item["corrections"] = relations.corrections[row.id]
    return item


@dataclass
class _Relations:
    """Of many articles: author slugs in byline order, entity slugs in slug order, and
    corrections oldest first as ``{"text", "created_at"}``."""

    bylines: dict[uuid.UUID, list[str]] = field(default_factory=dict)
    tags: dict[uuid.UUID, list[str]] = field(default_factory=dict)
    corrections: dict[uuid.UUID, list[dict[str, Any]]] = field(default_factory=dict)


async def _relations(session: AsyncSession, article_ids: Sequence[uuid.UUID]) -> _Relations:
    """The relations of many articles, read with the relation loader of every article
    read."""
    found = _Relations()
    if not article_ids:
        return found
    query = select(articles_table.c.id, *relation_columns(dialect_of(session))).where(
        articles_table.c.id.in_(article_ids)
    )
    for row in await session.execute(query):
        found.bylines[row.id] = [author["slug"] for author in bylines_of(row)]
        found.tags[row.id] = sorted(tag["slug"] for tag in tags_of(row))
        found.corrections[row.id] = [
            {"text": note["text"], "created_at": note["created_at"]} for note in corrections_of(row)
        ]
    return found


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


class ImportedCorrection(BaseModel):
    """A correction as export writes it."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5000)
    created_at: AwareDatetime

    @field_validator("created_at")
    @classmethod
    def to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)


class ImportLine(ArticleCreate):
    """An exported line: a ``POST /v1/articles`` body plus the article's corrections,
    which import appends where the article does not have them yet (same text and time)."""

    corrections: list[ImportedCorrection] = Field([], max_length=1000)


class LineRejected(Exception):
    """A line that cannot be imported, with the reason a person can act on."""


def parse_line(raw: bytes) -> ImportLine:
    """One NDJSON line, validated exactly as a ``POST /v1/articles`` body; a slug is
    required, because import matches articles by slug."""
    try:
        data = ImportLine.model_validate_json(raw)
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


def _as_patch(data: ImportLine) -> ArticleUpdate:
    """The line as a merge patch that sets every writable field, so that the stored
    article ends up as the line says. A line without ``published_at`` keeps the time the
    article was first published, as the API does; ``auto_tag`` tags as an update does.
    Corrections are appended apart, never replaced."""
    values = data.model_dump(mode="json", exclude={"corrections"})
    if values["published_at"] is None:
        del values["published_at"]
    return ArticleUpdate.model_validate(values)


@dataclass
class _Prepared:
    """A batch read and rendered, ready to write: its valid lines with their rendered
    bodies, and the lines refused so far."""

    lines: list[tuple[int, ImportLine]] = field(default_factory=list)
    bodies: dict[int, RenderedBody] = field(default_factory=dict)
    errors: list[LineError] = field(default_factory=list)


class _Renderer:
    """Renders the bodies of an import's batches: the first batch in a thread, so that a
    small import starts no process; every later one split among worker processes, one
    per CPU, so that rendering keeps up with the database."""

    def __init__(self) -> None:
        self.batches = 0
        self.workers: RenderWorkers | None = None

    async def render(self, markdowns: list[str]) -> list[RenderedBody | str]:
        self.batches += 1
        count = _cpus()
        if self.batches == 1 or count < 2:
            return await asyncio.to_thread(render_bodies, markdowns)
        if self.workers is None:
            self.workers = RenderWorkers(count, RENDER_CHUNK)
        return await self.workers.render(markdowns)

    async def close(self) -> None:
        if self.workers is not None:
            await self.workers.close()
            self.workers = None


def _cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


async def _prepare_batch(batch: list[tuple[int, bytes]], renderer: _Renderer) -> _Prepared:
    """Parse the lines of a batch and render their bodies; a line that cannot be read or
    rendered becomes a ``LineError``."""
    prepared = _Prepared()
    parsed: list[tuple[int, ImportLine]] = []
    for number, raw in batch:
        try:
            parsed.append((number, parse_line(raw)))
        except LineRejected as exc:
            prepared.errors.append(LineError(number, str(exc)))
    bodies = await renderer.render([data.body for _, data in parsed])
    for (number, data), body in zip(parsed, bodies, strict=True):
        if isinstance(body, str):  # refused: why
            prepared.errors.append(LineError(number, body))
        else:
            prepared.lines.append((number, data))
            prepared.bodies[number] = body
    return prepared


def _batches(
    lines: Iterable[tuple[int, bytes]], batch_size: int
) -> Iterable[list[tuple[int, bytes]]]:
    batch: list[tuple[int, bytes]] = []
    for number, raw in lines:
        if raw.strip():
            batch.append((number, raw))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


async def import_lines(
    sessionmaker: async_sessionmaker[AsyncSession],
    lines: Iterable[tuple[int, bytes]],
    *,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[ImportReport, list[LineError]], None] | None = None,
) -> ImportReport:
    """Upsert the articles of numbered NDJSON lines (blank lines are skipped). After each
    batch, in the order of the file, ``on_batch`` gets the running report and that batch's
    errors. A batch is prepared while the ones before it are written."""
    report = ImportReport()
    renderer = _Renderer()
    writes = _Writes(sessionmaker, report, on_batch)
    pending: asyncio.Task[_Prepared] | None = None
    try:
        for batch in _batches(lines, batch_size):
            previous = pending
            pending = asyncio.create_task(_prepare_batch(batch, renderer))
            if previous is not None:
                await writes.start(await previous)
        if pending is not None:
            last, pending = pending, None
            await writes.start(await last)
        await writes.finish_all()
        await _merge_pending_list(sessionmaker)
    finally:
        # A failed write leaves the next batch's preparation, and the writes under way, to
        # finish before the error goes on; a thread cannot be stopped half-way.
        if pending is not None:
            await asyncio.wait([pending])
        await writes.settle()
        await renderer.close()
    return report


async def _merge_pending_list(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Merge what the import left in the search index's pending list, so that the searches
    after it read a short one (PostgreSQL)."""
    async with sessionmaker() as session:
        if dialect_of(session) == "postgresql":
            await session.execute(MERGE_PENDING_LIST)
            await session.commit()


def _writers(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """How many batches are written at once: PostgreSQL computes each article's search
    vector as its row goes in, most of the cost of a batch, so two batches on two
    connections keep two processors busy; SQLite has one writer at a time."""
    bind = sessionmaker.kw.get("bind")
    return 2 if bind is not None and bind.dialect.name == "postgresql" else 1


class _Writes:
    """The batches being written, each in its own transaction, at most ``_writers`` at
    once. Batches that share a slug are never written at the same time: the later one
    starts once the earlier has committed, so that the last line of a slug wins. Each
    batch is reported, and its errors told, in the order of the file."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        report: ImportReport,
        on_batch: Callable[[ImportReport, list[LineError]], None] | None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.report = report
        self.on_batch = on_batch
        self.limit = _writers(sessionmaker)
        self.under_way: list[tuple[asyncio.Task[_Written], set[str]]] = []

    async def start(self, prepared: _Prepared) -> None:
        slugs = {data.slug or "" for _, data in prepared.lines}
        while self.under_way and (
            len(self.under_way) >= self.limit
            or any(slugs & writing for _, writing in self.under_way)
        ):
            await self._finish_oldest()
        write = asyncio.create_task(_write_prepared(self.sessionmaker, prepared))
        self.under_way.append((write, slugs))

    async def finish_all(self) -> None:
        while self.under_way:
            await self._finish_oldest()

    async def _finish_oldest(self) -> None:
        write, _slugs = self.under_way[0]
        written = await write
        self.under_way.pop(0)
        self.report.created += written.outcomes["created"]
        self.report.updated += written.outcomes["updated"]
        self.report.unchanged += written.outcomes["unchanged"]
        self.report.errors.extend(written.errors)
        if self.on_batch is not None:
            self.on_batch(self.report, written.errors)

    async def settle(self) -> None:
        """After a failure: let the writes still under way end (each commits or rolls
        back whole), and leave their errors unraised: the first failure is the one told."""
        tasks = [write for write, _slugs in self.under_way]
        self.under_way.clear()
        if tasks:
            await asyncio.wait(tasks)
            for task in tasks:
                if not task.cancelled():
                    task.exception()


@dataclass
class _Written:
    """What writing one batch did: how many lines of each outcome, and the lines refused
    (with the ones its preparation refused), in line order."""

    outcomes: Counter[Outcome]
    errors: list[LineError]


async def _write_prepared(
    sessionmaker: async_sessionmaker[AsyncSession], prepared: _Prepared
) -> _Written:
    """Write one prepared batch, in rounds."""
    written = _Written(Counter(), list(prepared.errors))
    for round_lines in _rounds(prepared.lines):
        await _write_round(sessionmaker, round_lines, prepared.bodies, written)
    written.errors.sort(key=lambda error: error.line)
    return written


def _rounds(
    parsed: list[tuple[int, ImportLine]],
) -> list[list[tuple[int, ImportLine]]]:
    """Split a batch so that no slug appears twice in a round. Rounds are written in turn,
    so a later line with the same slug updates what the earlier one wrote, just as it
    would have if the two lines had fallen into different batches: the last line wins."""
    rounds: list[list[tuple[int, ImportLine]]] = []
    seen: list[set[str]] = []
    for number, data in parsed:
        slug = data.slug or ""
        depth = next((i for i in range(len(seen) - 1, -1, -1) if slug in seen[i]), -1) + 1
        if depth == len(rounds):
            rounds.append([])
            seen.append(set())
        rounds[depth].append((number, data))
        seen[depth].add(slug)
    return rounds


async def _write_round(
    sessionmaker: async_sessionmaker[AsyncSession],
    parsed: list[tuple[int, ImportLine]],
    bodies: dict[int, RenderedBody],
    written: _Written,
) -> None:
    try:
        outcomes, refused = await _write_batch(sessionmaker, parsed, bodies, bulk=True)
    except Exception as exc:
        if is_connection_error(exc):
            raise
        # Nothing of the round is in: write it again, each line in its own savepoint, so
        # that only the line at fault is left out.
        outcomes, refused = await _write_batch(sessionmaker, parsed, bodies, bulk=False)
    written.outcomes.update(outcomes)
    written.errors.extend(refused)


async def _write_batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    parsed: list[tuple[int, ImportLine]],
    bodies: dict[int, RenderedBody],
    *,
    bulk: bool,
) -> tuple[Counter[Outcome], list[LineError]]:
    """Write the valid lines of a batch in one transaction: new articles together (when
    ``bulk``), the others one by one. The outcomes, and the lines refused."""
    outcomes: Counter[Outcome] = Counter()
    errors: list[LineError] = []
    async with sessionmaker() as session, write_transaction(session):
        if dialect_of(session) == "postgresql":
            await session.execute(IMPORT_PENDING_LIST)
        existing = await _articles_by_slug(session, [data.slug or "" for _, data in parsed])
        one_by_one = parsed
        if bulk:
            fresh = await _fresh_lines(session, parsed, existing)
            if fresh:
                outcomes["created"] += await _add_articles(session, fresh, bodies, errors)
                added = {number for number, _ in fresh}
                one_by_one = [line for line in parsed if line[0] not in added]
        for number, data in one_by_one:
            try:
                outcomes[await _upsert(session, existing, data, bodies[number])] += 1
            except LineRejected as exc:
                errors.append(LineError(number, str(exc)))
        # A batch that changed nothing leaves no trace.
        if not (outcomes["created"] or outcomes["updated"]):
            await session.rollback()
    return outcomes, errors


async def _fresh_lines(
    session: AsyncSession,
    parsed: list[tuple[int, ImportLine]],
    existing: dict[str, "_Stored"],
) -> list[tuple[int, ImportLine]]:
    """The lines the bulk path can create: a slug no article has now or had before (an
    old slug is refused by the one-by-one path, with the API's words), and no auto-tagging
    (which reads each article's text against the entity catalogue)."""
    fresh = [
        (number, data)
        for number, data in parsed
        if (data.slug or "") not in existing and not data.auto_tag
    ]
    if not fresh:
        return []
    redirects = redirects_table
    old_slugs = set(
        (
            await session.execute(
                select(redirects.c.slug).where(
                    redirects.c.kind == KIND,
                    redirects.c.slug.in_([data.slug for _, data in fresh]),
                )
            )
        ).scalars()
    )
    return [(number, data) for number, data in fresh if data.slug not in old_slugs]


async def _ref_ids(session: AsyncSession, table: Any, refs: Iterable[str]) -> dict[str, uuid.UUID]:
    """The id of each ref (an id or a slug) that names a row of ``table``."""
    return {ref: row.id for ref, row in (await find_refs(session, table, refs)).items()}


def _resolved(refs: Sequence[str], ids: dict[str, uuid.UUID], name: str) -> list[uuid.UUID]:
    """The ids ``refs`` name, in order and once each; an unknown ref refuses the line, in
    the words the API answers with."""
    resolved: list[uuid.UUID] = []
    for ref in refs:
        ref_id = ids.get(ref)
        if ref_id is None:
            raise LineRejected(f"Unknown {name} {ref!r}.")
        if ref_id not in resolved:
            resolved.append(ref_id)
    return resolved


@dataclass
class _NewRows:
    """The rows that create some articles, and the lines refused on the way."""

    articles: list[dict[str, Any]] = field(default_factory=list)
    bylines: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    revisions: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    corrections: list[dict[str, Any]] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)


def _new_rows(
    lines: Sequence[tuple[int, ImportLine]],
    bodies: dict[int, RenderedBody],
    author_ids: dict[str, uuid.UUID],
    entity_ids: dict[str, uuid.UUID],
    now: datetime,
) -> _NewRows:
    """Each line's article, bylines, tags and first revision, exactly as
    ``POST /v1/articles`` makes them: the same columns from the rendered body, the
    revision made by the same function. A line naming an unknown author or entity is
    refused."""
    rows = _NewRows()
    for number, data in lines:
        try:
            byline = _resolved(data.authors, author_ids, "author")
            tagged = _resolved(data.entities, entity_ids, "entity")
        except LineRejected as exc:
            rows.errors.append(LineError(number, str(exc)))
            continue
        columns = new_article_columns(data, slug=data.slug or "", now=now, rendered=bodies[number])
        article_id = columns["id"]
        rows.articles.append(columns)
        rows.bylines += [
            {"article_id": article_id, "author_id": author_id, "position": position}
            for position, author_id in enumerate(byline)
        ]
        rows.tags += [{"article_id": article_id, "entity_id": entity_id} for entity_id in tagged]
        rows.corrections += [
            {"id": uuid.uuid4(), "article_id": article_id} | note.model_dump()
            for note in data.corrections
        ]
        rows.revisions[article_id] = {
            "version": columns["version"],
            "content": revision_content(columns, byline, tagged),
        }
    return rows


async def _insert_rows(session: AsyncSession, rows: _NewRows) -> None:
    changes_of(session).created_articles(row["id"] for row in rows.articles)
    await _insert_many(session, articles_table, rows.articles)
    await _insert_many(session, article_authors_table, rows.bylines)
    await _insert_many(session, article_entities_table, rows.tags)
    await _insert_many(session, corrections_table, rows.corrections)
    revisions = revision_rows(rows.revisions, IMPORT_VIEWER.key_name)
    await _insert_many(session, revisions_table, revisions)


async def _insert_many(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys, in the session's transaction. PostgreSQL
    takes them with ``COPY``, the quickest way in, each value made by the column's own
    bind processing (so a row holds just what an ``INSERT`` would have put there); other
    databases with one ``executemany``."""
    if not rows:
        return
    if dialect_of(session) != "postgresql":
        await session.execute(insert(table), rows)
        return
    connection = await session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    records = [
        tuple(
            value if process is None else process(value)
            for process, value in zip(processors, (row[name] for name in names), strict=True)
        )
        for row in rows
    ]
    driver = (await connection.get_raw_connection()).driver_connection
    # The session began its transaction on this connection (the batch has read already):
    # the rows go in with the rest of the batch, or not at all.
    if driver is None or not driver.is_in_transaction():
        raise RuntimeError("COPY must run inside the batch's transaction")
    await driver.copy_records_to_table(table.name, records=records, columns=names)


async def _add_articles(
    session: AsyncSession,
    lines: list[tuple[int, ImportLine]],
    bodies: dict[int, RenderedBody],
    errors: list[LineError],
) -> int:
    """Create the articles of new lines with a few multi-row statements; lines naming an
    unknown author or entity go to ``errors``. The number created."""
    author_ids = await _ref_ids(
        session, authors, (ref for _, data in lines for ref in data.authors)
    )
    entity_ids = await _ref_ids(
        session, entities, (ref for _, data in lines for ref in data.entities)
    )
    rows = _new_rows(lines, bodies, author_ids, entity_ids, utcnow())
    await _insert_rows(session, rows)
    errors += rows.errors
    return len(rows.articles)


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
    relations = await _relations(session, [row.id for row in rows])
    return {
        row.slug: _Stored(row.id, row.deleted_at is not None, _export_item(row, relations))
        for row in rows
    }


def _missing_corrections(data: ImportLine, stored: list[dict[str, Any]]) -> list[Correction]:
    """The line's corrections that the article does not have (same text and time), to
    append: corrections are never removed, so a line with fewer leaves the others."""
    have = {(note["text"], note["created_at"]) for note in stored}
    return [
        Correction(id=str(uuid.uuid4()), text=note.text, created_at=note.created_at)
        for note in data.corrections
        if (note.text, note.created_at) not in have
    ]


def _same_as_stored(data: ImportLine, stored: dict[str, Any]) -> bool:
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
    line["corrections"] = [note.model_dump() for note in data.corrections]
    if line["published_at"] is None:  # keeps the stored time, as an update would
        line["published_at"] = stored["published_at"]
    return line == stored


async def _upsert(
    session: AsyncSession, existing: dict[str, _Stored], data: ImportLine, body: RenderedBody
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
            article = await add_article(session, data, IMPORT_VIEWER, rendered=body)
            await append_corrections(session, article.id, _missing_corrections(data, []))
            await savepoint.commit()
            existing[slug] = _Stored(article.id, trashed=False, item=None)
            return "created"
        stored = found.item["corrections"] if found.item is not None else []
        missing = _missing_corrections(data, stored)
        patch = _as_patch(data)
        patched = await patch_article(session, found.id, patch, IMPORT_VIEWER, rendered=body)
        if patched is None and not missing:
            await savepoint.rollback()
            return "unchanged"
        await append_corrections(session, found.id, missing)
        if patched is None:
            # Only corrections are new: they make the next version, as through the API.
            await record_revisions(session, [found.id], IMPORT_VIEWER.key_name)
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
    except Exception as exc:
        if is_connection_error(exc):
            raise
        # Whatever else goes wrong with one line is that line's failure, reported with
        # its number; the lines around it still go in.
        logger.warning("import line failed", exc_info=True)
        await savepoint.rollback()
        raise LineRejected(f"it could not be imported ({type(exc).__name__})") from exc
