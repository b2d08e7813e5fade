"""From the change log to deliveries: ``fan_out`` turns changes into one delivery per
matching subscription, and the dispatcher feeds it every change after its stored cursor.

The dispatcher reads the change log through a reader function, ``read_changes(session,
after, limit)``, given to it by whoever starts it; it takes a stored cursor, fans out what
came after it and stores the new cursor, all in one transaction. So each change is fanned
out once: a dispatcher that dies before its commit leaves cursor and deliveries as they
were, and the next one does the same work again. On PostgreSQL the cursor row is taken
with ``FOR UPDATE SKIP LOCKED``, so of several dispatchers (workers, machines) one works
at a time and the others find nothing to do; on SQLite the write lock does the same.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.articles import queries as article_queries
from app.auth import Viewer
from app.authors import service as authors_service
from app.db import utcnow
from app.entities import service as entities_service
from app.errors import Moved, NotFound
from app.keys.models import Role
from app.webhooks.models import ALL_EVENTS, dispatch_table, subscriptions_table
from app.webhooks.service import deliveries, delivery_row, message_body

logger = logging.getLogger("newsdesk.webhooks")

DISPATCH_ROW = 1
BATCH = 100
# Whose eyes a delivery's resource is seen through (API.md §13): an editor's.
EDITOR_VIEW = Viewer(key_name="webhooks", role=Role.editor)


@dataclass(frozen=True)
class ChangedResource:
    type: str
    id: uuid.UUID
    slug: str | None


@dataclass(frozen=True)
class Change:
    """One change-log entry (API.md §12)."""

    cursor: str
    event: str
    at: datetime
    resource: ChangedResource
    keys: tuple[str, ...]

    @classmethod
    def from_entry(cls, entry: Any) -> "Change":
        """A change from a change-log entry: its §12 JSON shape, a row mapping with the same
        keys, or an object with the same attributes."""
        resource = _field(entry, "resource")
        at = _field(entry, "at")
        return cls(
            cursor=str(_field(entry, "cursor")),
            event=str(_field(entry, "event")),
            at=at if isinstance(at, datetime) else datetime.fromisoformat(str(at)),
            resource=ChangedResource(
                type=str(_field(resource, "type")),
                id=uuid.UUID(str(_field(resource, "id"))),
                slug=_field(resource, "slug", None),
            ),
            keys=tuple(_field(entry, "keys", ())),
        )


_REQUIRED = object()


def _field(item: Any, name: str, default: Any = _REQUIRED) -> Any:
    if isinstance(item, Mapping):
        return item[name] if default is _REQUIRED else item.get(name, default)
    return getattr(item, name) if default is _REQUIRED else getattr(item, name, default)


ChangeReader = Callable[[AsyncSession, str | None, int], Awaitable[Sequence[Change]]]
EntryReader = Callable[[AsyncSession, str | None, int], Awaitable[Sequence[Any]]]


def reading_entries(read_entries: EntryReader) -> ChangeReader:
    """A ``ChangeReader`` over a change log's own reader, whose entries have the §12 shape
    (mappings or objects): ``reading_entries(changes.read_changes)``."""

    async def read_changes(session: AsyncSession, after: str | None, limit: int) -> list[Change]:
        return [Change.from_entry(entry) for entry in await read_entries(session, after, limit)]

    return read_changes


async def editor_view(session: AsyncSession, resource: ChangedResource) -> dict[str, Any]:
    """The resource as an editor sees it now, with its ``type``; only the reference when
    it can no longer be read (deleted, or in the trash)."""
    reference = {"type": resource.type, "id": resource.id, "slug": resource.slug}
    ref = str(resource.id)
    found: Mapping[str, Any]
    try:
        if resource.type == "article":
            found = await article_queries.get_article(session, ref, EDITOR_VIEW)
        elif resource.type == "author":
            found = await authors_service.get_author(session, ref, EDITOR_VIEW)
        elif resource.type == "entity":
            found = await entities_service.get_entity(session, ref)
        else:
            return reference
    except (NotFound, Moved):
        return reference
    return {"type": resource.type, **found}


def _wants(events: Sequence[str], event: str) -> bool:
    return ALL_EVENTS in events or event in events


async def fan_out(session: AsyncSession, changes: Sequence[Change]) -> int:
    """Add one delivery per change and active subscription that asked for its event and
    existed when it happened; return how many. The caller commits."""
    subscribers = (
        await session.execute(
            select(
                subscriptions_table.c.id,
                subscriptions_table.c.events,
                subscriptions_table.c.created_at,
            ).where(subscriptions_table.c.active.is_(True))
        )
    ).all()
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for change in changes:
        wanting = [
            subscriber.id
            for subscriber in subscribers
            if _wants(subscriber.events, change.event) and subscriber.created_at <= change.at
        ]
        if not wanting:
            continue
        data = {
            "cursor": change.cursor,
            "at": change.at,
            "event": change.event,
            "resource": await editor_view(session, change.resource),
            "keys": list(change.keys),
        }
        body = message_body(change.event, change.at, data)
        rows += [delivery_row(subscriber_id, change.event, body, now) for subscriber_id in wanting]
    if rows:
        await session.execute(insert(deliveries), rows)
    return len(rows)


async def nothing_new(
    sessionmaker: async_sessionmaker[AsyncSession], read_changes: ChangeReader
) -> bool:
    """Whether the log holds nothing after the stored cursor, read without taking any lock
    (on SQLite a write transaction would hold up every writer once a second)."""
    async with sessionmaker() as session:
        query = select(dispatch_table.c.cursor).where(dispatch_table.c.id == DISPATCH_ROW)
        cursor = (await session.execute(query)).scalar_one_or_none()
        return not await read_changes(session, cursor, 1)


async def dispatch_once(
    write_sessionmaker: async_sessionmaker[AsyncSession],
    read_changes: ChangeReader,
    *,
    limit: int = BATCH,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
) -> int:
    """Fan out the changes after the stored cursor (up to ``limit``) and move the cursor
    past them, in one transaction; the number of changes read (0: nothing new, or another
    dispatcher is at work). With ``sessionmaker``, an idle log is noticed without a write."""
    if sessionmaker is not None and await nothing_new(sessionmaker, read_changes):
        return 0
    async with write_sessionmaker() as session:
        cursor_row = await _take_cursor(session)
        if cursor_row is None and await _made_cursor_row(session):
            cursor_row = await _take_cursor(session)
        if cursor_row is None:
            return 0  # another dispatcher holds it
        changes = await read_changes(session, cursor_row.cursor, limit)
        if not changes:
            await session.rollback()
            return 0
        await fan_out(session, changes)
        await session.execute(
            update(dispatch_table)
            .where(dispatch_table.c.id == DISPATCH_ROW)
            .values(cursor=changes[-1].cursor, updated_at=utcnow())
        )
        await session.commit()
        return len(changes)


async def _take_cursor(session: AsyncSession) -> Any:
    query = (
        select(dispatch_table.c.cursor)
        .where(dispatch_table.c.id == DISPATCH_ROW)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(query)).first()


async def _made_cursor_row(session: AsyncSession) -> bool:
    """Start at the beginning of the log when there is no cursor yet (a subscription gets
    only changes made after it was created, so old ones send nothing). A missing row and
    a row another dispatcher has locked look alike from here; inserting tells them apart."""
    try:
        await session.execute(
            insert(dispatch_table).values(id=DISPATCH_ROW, cursor=None, updated_at=utcnow())
        )
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return False
    return True


class Dispatcher:
    """Keeps fanning out new changes until cancelled; wakes the sender when it made some."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        write_sessionmaker: async_sessionmaker[AsyncSession],
        read_changes: ChangeReader,
        poll_interval: float,
        on_dispatched: Callable[[], None],
    ) -> None:
        self.sessionmaker = sessionmaker
        self.write_sessionmaker = write_sessionmaker
        self.read_changes = read_changes
        self.poll_interval = poll_interval
        self.on_dispatched = on_dispatched
        self.woken = asyncio.Event()

    def wake(self) -> None:
        """Look at the change log now (a change was just committed)."""
        self.woken.set()

    async def run(self) -> None:
        while True:
            self.woken.clear()
            try:
                read = await dispatch_once(
                    self.write_sessionmaker, self.read_changes, sessionmaker=self.sessionmaker
                )
            except Exception as exc:
                logger.warning("webhook dispatcher: %s; trying again", type(exc).__name__)
                read = 0
            if read:
                self.on_dispatched()
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.woken.wait(), self.poll_interval)
