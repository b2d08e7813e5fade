"""The change log's read side: the changes feed (``GET /v1/changes``), and the reader a
webhook dispatcher or any other consumer uses to catch up without ever skipping an entry.

``read_changes(session, after=cursor, limit=n)`` gives the entries after ``cursor``,
oldest first, and the cursor to pass next time; an entry becomes readable once every
writer of this database older than it has finished (``app.freshness.horizon``), so that a
reader that has moved past a cursor never meets an entry before it later.
"""

import asyncio
import base64
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import BigInteger, Integer, cast, literal, null, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.errors import BadRequest
from app.freshness.horizon import writers_horizon
from app.freshness.models import changes_table

_CURSOR = re.compile(r"^(\d{1,19})\.(\d{1,19})$")
POLL_SECONDS = 0.25
# The largest number a cursor can hold: a database BIGINT.
_LARGEST = 2**63 - 1


@dataclass(frozen=True, order=True)
class Cursor:
    """A place in the change log: after the entry of transaction ``txid`` numbered ``id``."""

    txid: int = 0
    id: int = 0

    def encode(self) -> str:
        raw = f"{self.txid}.{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "Cursor":
        """The cursor a token stands for; anything else is a 400."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest("The cursor is not valid; start again without one.") from exc
        match = _CURSOR.match(raw)
        if match is None or max(int(match.group(1)), int(match.group(2))) > _LARGEST:
            raise BadRequest("The cursor is not valid; start again without one.")
        return cls(int(match.group(1)), int(match.group(2)))


class ChangeResource(TypedDict):
    type: str
    id: uuid.UUID
    slug: str


class ChangeItem(TypedDict):
    cursor: str
    at: datetime
    event: str
    resource: ChangeResource
    keys: list[str]


async def read_changes(
    session: AsyncSession,
    *,
    after: Cursor | None = None,
    limit: int = 100,
    public_only: bool = False,
) -> tuple[list[ChangeItem], Cursor]:
    """Up to ``limit`` entries after ``after`` (from the beginning without it), oldest
    first, and the cursor to read on from; ``public_only`` keeps what anonymous callers
    may see. One statement: the page, and the newest readable entry, so that a reader of
    public entries moves past the editors' ones without reading them again."""
    start = after or Cursor()
    changes = changes_table
    # Read first, in a statement of its own: entries below it are final by the time the
    # next statement looks.
    edge = select(literal(await writers_horizon(session), BigInteger).label("w")).subquery()
    position = tuple_(changes.c.txid, changes.c.id)
    wanted = [changes.c.public] if public_only else []
    page = (
        select(
            literal(0, Integer).label("part"),
            changes.c.txid,
            changes.c.id,
            changes.c.at,
            changes.c.event,
            changes.c.resource_type,
            changes.c.resource_id,
            changes.c.resource_slug,
            changes.c["keys"],
        )
        .select_from(changes.join(edge, changes.c.txid < edge.c.w))
        .where(position > tuple_(literal(start.txid), literal(start.id)), *wanted)
        .order_by(changes.c.txid, changes.c.id)
        .limit(limit)
        .subquery()
    )
    newest = (
        select(
            literal(1, Integer).label("part"),
            changes.c.txid,
            changes.c.id,
            *(
                cast(null(), column.type).label(column.name)
                for column in (
                    changes.c.at,
                    changes.c.event,
                    changes.c.resource_type,
                    changes.c.resource_id,
                    changes.c.resource_slug,
                    changes.c["keys"],
                )
            ),
        )
        .select_from(changes.join(edge, changes.c.txid < edge.c.w))
        .order_by(changes.c.txid.desc(), changes.c.id.desc())
        .limit(1)
        .subquery()
    )
    rows = (await session.execute(union_all(select(page), select(newest)))).all()
    items = [_item(row) for row in rows if row.part == 0]
    items.sort(key=lambda item: Cursor.decode(item["cursor"]))
    if len(items) == limit:
        return items, Cursor.decode(items[-1]["cursor"])
    # The page holds everything readable after ``start``: skip to the newest entry.
    marks = [Cursor(row.txid, row.id) for row in rows if row.part == 1]
    return items, max([start, *marks])


def _item(row: Any) -> ChangeItem:
    return {
        "cursor": Cursor(row.txid, row.id).encode(),
        "at": row.at,
        "event": row.event,
        "resource": {"type": row.resource_type, "id": row.resource_id, "slug": row.resource_slug},
        "keys": list(row.keys),
    }


async def wait_for_changes(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    after: Cursor | None,
    limit: int,
    public_only: bool,
    wait: float,
) -> tuple[list[ChangeItem], Cursor]:
    """``read_changes``, holding on for up to ``wait`` seconds while there is nothing."""
    deadline = time.monotonic() + wait
    while True:
        async with sessionmaker() as session:
            items, cursor = await read_changes(
                session, after=after, limit=limit, public_only=public_only
            )
        if items or time.monotonic() >= deadline:
            return items, cursor
        await asyncio.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


async def read_change_entries(
    session: AsyncSession, after: str | None, limit: int
) -> list[ChangeItem]:
    """``read_changes`` in the shape the webhook dispatcher takes
    (``app.webhooks.dispatcher.reading_entries(read_change_entries)``): every entry after
    the cursor ``after`` (from the beginning when None), oldest first, as editors see them;
    store the last entry's ``cursor`` and pass it next time."""
    start = Cursor.decode(after) if after is not None else None
    items, _ = await read_changes(session, after=start, limit=limit)
    return items
