"""The change log's write side: one ``write_transaction()`` that every write goes through.

A write use case runs inside ``async with write_transaction(session) as changes:`` and
tells ``changes`` what it touches (``before_articles`` right after locking, before
changing anything; ``author``/``entity`` events as they happen). Whenever that session
commits, a ``before_commit`` hook compares each touched article's facts before and after,
and writes the entries (event, keys, who may see it) in the same transaction: there is
never a change without its entry, nor an entry for a change that rolled back. The context
commits what is left at its end and rolls back on any error, so a use case cannot forget
either.
"""

import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import delete, event, exists, insert, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.articles.models import (
    article_authors_table,
    article_entities_table,
    articles_table,
    publicly_visible,
)
from app.db import utcnow
from app.freshness import keys as k
from app.freshness.facts import ArticleFacts, chunks, facts_query, parse_facts
from app.freshness.horizon import TAKE_WRITERS_LOCK, hold_writers_lock
from app.freshness.models import changes_table, releases_table

RECORDER = "newsdesk.changes"
# The tables whose rows anonymous callers and the change log see.
CONTENT_TABLES = frozenset(
    {"article", "article_author", "article_entity", "article_revision", "author", "entity"}
)


@dataclass(frozen=True)
class Entry:
    event: str
    resource_type: str
    resource_id: uuid.UUID
    resource_slug: str
    keys: list[str]
    public: bool


@dataclass
class _Named:
    """An author or entity event whose keys are settled at commit."""

    kind: str  # "author" or "entity"
    event: str
    id: uuid.UUID
    slug: str
    also: tuple[str, ...] = ()


class ChangeRecorder:
    """What one write transaction touched."""

    def __init__(self) -> None:
        self.articles_before: dict[uuid.UUID, ArticleFacts | None] = {}
        # Facts after the write that the write itself returned (``after_article``).
        self.articles_after: dict[uuid.UUID, ArticleFacts] = {}
        self.named: list[_Named] = []

    async def before_articles(
        self, session: AsyncSession, ids: Iterable[uuid.UUID], *, lock: bool = False
    ) -> None:
        """Note the articles this write is about to change, as they are now. Call it once
        their rows are locked (or with ``lock``, which locks them in id order, the order
        every multi-article write takes) and before changing them; later calls for the
        same article keep the first reading."""
        wanted = sorted(article_id for article_id in ids if article_id not in self.articles_before)
        for part in chunks(wanted):
            if lock:
                await session.execute(
                    select(articles_table.c.id)
                    .where(articles_table.c.id.in_(part))
                    .order_by(articles_table.c.id)
                    .with_for_update()
                )
            found = parse_facts(await session.execute(facts_query(part)))
            for article_id in part:
                self.articles_before[article_id] = found.get(article_id)

    def before_article(self, facts: ArticleFacts) -> None:
        """``before_articles`` for an article whose facts the caller read itself, under
        its lock and before changing it."""
        self.articles_before.setdefault(facts.id, facts)

    def after_article(self, session: AsyncSession, facts: ArticleFacts) -> None:
        """The article's facts as this write leaves it, which the write's own statement
        returned, so that the commit need not read them again. The caller changes the
        article no further before commit. Inside a savepoint, which may yet roll back,
        the commit reads them as for any other article."""
        if not session.in_nested_transaction():
            self.articles_after[facts.id] = facts

    def created_articles(self, ids: Iterable[uuid.UUID]) -> None:
        for article_id in ids:
            self.articles_before.setdefault(article_id, None)

    def author(self, event_name: str, author_id: uuid.UUID, slug: str) -> None:
        """``author.created|updated|deleted``."""
        self.named.append(_Named("author", event_name, author_id, slug))

    def entity(
        self,
        event_name: str,
        entity_id: uuid.UUID,
        slug: str,
        *,
        also: Sequence[str] = (),
    ) -> None:
        """``entity.created|updated|deleted|merged``; ``also``: more keys it touches (the
        entity a merged one went into)."""
        self.named.append(_Named("entity", event_name, entity_id, slug, tuple(also)))

    def clear(self) -> None:
        self.articles_before.clear()
        self.articles_after.clear()
        self.named.clear()

    def write(self, session: Session) -> None:
        """Write the entries, in the transaction about to commit (``session`` is the sync
        session of the write, inside its greenlet)."""
        now = utcnow()
        entries = [*self._named_entries(session, now), *self._article_entries(session, now)]
        if entries:
            session.execute(
                _entry_insert(session.get_bind().dialect.name),
                [
                    {
                        "at": now,
                        "event": entry.event,
                        "resource_type": entry.resource_type,
                        "resource_id": entry.resource_id,
                        "resource_slug": entry.resource_slug,
                        "keys": entry.keys,
                        "public": entry.public,
                        "stale": bool(entry.keys),
                    }
                    for entry in entries
                ],
            )
        self.clear()

    def _named_entries(self, session: Session, now: datetime) -> list[Entry]:
        entries = []
        for item in self.named:
            keys = [k.AUTHORS if item.kind == "author" else k.ENTITIES]
            keys.append(k.author_key(item.id) if item.kind == "author" else k.entity_key(item.id))
            keys += item.also
            # Public articles show it (bylines, tags; feeds and ninjs show more of it):
            # an edit reaches every article answer.
            if item.event == "updated" and _in_visible_articles(session, item, now):
                keys.append(k.ARTICLES)
            entries.append(
                Entry(
                    f"{item.kind}.{item.event}",
                    item.kind,
                    item.id,
                    item.slug,
                    k.ordered(keys),
                    public=True,
                )
            )
        return entries

    def _article_entries(self, session: Session, now: datetime) -> list[Entry]:
        ids = list(self.articles_before)
        if not ids:
            return []
        after = {i: self.articles_after[i] for i in ids if i in self.articles_after}
        for part in chunks([article_id for article_id in ids if article_id not in after]):
            after.update(parse_facts(session.execute(facts_query(part))))
        entries: list[Entry] = []
        for article_id in ids:
            current = after.get(article_id)
            if current is None:
                continue  # created and rolled back to a savepoint: nothing happened
            entries += article_entries(self.articles_before[article_id], current, now)
        _keep_releases(session, self.articles_before, after, now)
        return entries


@cache
def _entry_insert(dialect: str) -> Any:
    """The INSERT of change-log entries, built once: a statement made afresh at every
    commit was compiled afresh too. Each entry carries its transaction's id."""
    txid = "pg_current_xact_id()::text::bigint" if dialect == "postgresql" else "0"
    return insert(changes_table).values(txid=literal_column(txid))


def article_entries(before: ArticleFacts | None, after: ArticleFacts, now: datetime) -> list[Entry]:
    """The entries one article's change makes: which event, which keys, seen by whom."""
    was = before is not None and before.announced(now)
    seen = after.visible(now)
    events: list[str] = []
    if before is None:
        events = ["article.created"] + (["article.published"] if seen else [])
    elif before.deleted_at is None and after.deleted_at is not None:
        events = ["article.deleted"]
    elif before.deleted_at is not None and after.deleted_at is None:
        events = ["article.restored"]
    elif seen and not was:
        events = ["article.published"]
    elif was and not seen:
        events = ["article.unpublished"]
    elif _differs(before, after):
        events = ["article.updated"]
    keys = _article_keys(before, after, was, seen) if was or seen else []
    return [
        Entry(name, "article", after.id, after.slug, keys, public=was or seen) for name in events
    ]


def _differs(before: ArticleFacts, after: ArticleFacts) -> bool:
    return (
        before.version != after.version
        or before.slug != after.slug
        or before.status != after.status
        or before.published_at != after.published_at
        or before.authors != after.authors
        or before.entities != after.entities
    )


def _article_keys(
    before: ArticleFacts | None, after: ArticleFacts, was: bool, seen: bool
) -> list[str]:
    """The article's own page and every article list; when it came or went, or its
    byline or tags changed while public, the ``article_count`` its authors or entities
    show moved too: their pages and lists carry ``authors`` and ``entities`` for that.
    Other stories' pages, which show an author's or entity's name but no count, keep."""
    old_authors = before.authors if before is not None else set()
    old_entities = before.entities if before is not None else set()
    if was != seen:
        authors, entities = old_authors | after.authors, old_entities | after.entities
    else:
        authors, entities = old_authors ^ after.authors, old_entities ^ after.entities
    keys = [k.ARTICLES, k.article_key(after.id)]
    if authors:
        keys.append(k.AUTHORS)
    if entities:
        keys.append(k.ENTITIES)
    return k.ordered(keys)


def _in_visible_articles(session: Session, item: _Named, now: datetime) -> bool:
    links = article_authors_table if item.kind == "author" else article_entities_table
    link_column = links.c.author_id if item.kind == "author" else links.c.entity_id
    query = select(
        exists()
        .select_from(links.join(articles_table, articles_table.c.id == links.c.article_id))
        .where(link_column == item.id, publicly_visible(now))
    )
    return bool(session.execute(query).scalar())


def _keep_releases(
    session: Session,
    before: dict[uuid.UUID, ArticleFacts | None],
    after: dict[uuid.UUID, ArticleFacts],
    now: datetime,
) -> None:
    """Keep the release task's list right: an article whose visibility changes at a set
    time (it goes live, or expires) waits for that time; any other is off the list (its
    visibility, if any, was just recorded)."""
    waiting = [(facts.id, due) for facts in after.values() if (due := facts.next_change(now))]
    stale = [
        article_id
        for article_id, facts in before.items()
        if facts is not None and facts.pending_due_at is not None
    ]
    dropped = stale + [article_id for article_id, _ in waiting]
    for part in chunks(dropped):
        session.execute(delete(releases_table).where(releases_table.c.article_id.in_(part)))
    if waiting:
        session.execute(
            insert(releases_table),
            [{"article_id": article_id, "due_at": due} for article_id, due in waiting],
        )


def changes_of(session: AsyncSession) -> ChangeRecorder:
    """The recorder of the write under way; a write outside ``write_transaction`` is a bug."""
    recorder = session.info.get(RECORDER)
    if not isinstance(recorder, ChangeRecorder):
        raise RuntimeError("content writes must run inside write_transaction(session)")
    return recorder


@asynccontextmanager
async def write_transaction(session: AsyncSession) -> AsyncIterator[ChangeRecorder]:
    """The one way content is written: record the changes made through ``session`` and
    commit them with their change-log entries, or roll everything back on an error."""
    if RECORDER in session.info:
        raise RuntimeError("write_transaction does not nest")
    recorder = ChangeRecorder()
    session.info[RECORDER] = recorder
    try:
        # Transactions begun from here on announce themselves (``_announce_writer``).
        if session.in_transaction():
            await hold_writers_lock(session)
        yield recorder
        if session.in_transaction():
            await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        session.info.pop(RECORDER, None)


@event.listens_for(Session, "before_commit")
def _record_before_commit(session: Session) -> None:
    recorder = session.info.get(RECORDER)
    if isinstance(recorder, ChangeRecorder) and not session.in_nested_transaction():
        recorder.write(session)


@event.listens_for(Session, "after_begin")
def _announce_writer(session: Session, _transaction: Any, connection: Any) -> None:
    """A write transaction holds the writers' lock before it writes anything, so that
    readers of the change log wait for its entries (``app.freshness.horizon``)."""
    writing = isinstance(session.info.get(RECORDER), ChangeRecorder)
    if writing and connection.dialect.name == "postgresql":
        connection.execute(TAKE_WRITERS_LOCK)


@event.listens_for(Session, "before_flush")
def _refuse_unrecorded_flush(session: Session, _context: Any, _instances: Any) -> None:
    """A content row written outside ``write_transaction`` would change what readers see
    with no entry to tell them: fail loudly instead."""
    if isinstance(session.info.get(RECORDER), ChangeRecorder):
        return
    for row in (*session.new, *session.dirty, *session.deleted):
        if getattr(type(row), "__tablename__", None) in CONTENT_TABLES:
            raise RuntimeError("content writes must run inside write_transaction(session)")


@event.listens_for(Session, "do_orm_execute")
def _refuse_unrecorded_statement(state: Any) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    if isinstance(state.session.info.get(RECORDER), ChangeRecorder):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table in CONTENT_TABLES:
        raise RuntimeError("content writes must run inside write_transaction(session)")


@event.listens_for(Session, "after_transaction_end")
def _forget_after_rollback(session: Session, transaction: Any) -> None:
    """A transaction rolled back leaves nothing to record. Only the whole transaction
    counts: what a savepoint rolled back shows as no change when the rest commits."""
    recorder = session.info.get(RECORDER)
    if isinstance(recorder, ChangeRecorder) and transaction.parent is None:
        recorder.clear()
