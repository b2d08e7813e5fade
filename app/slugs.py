"""Slug rules shared by articles, authors and entities: validation, generation with
transliteration, collision suffixes, and the history of old slugs that stay reserved."""

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, TypeVar

import sqlmodel
from pydantic import AfterValidator, StringConstraints
from slugify import slugify
from sqlalchemy import (
    Column,
    String,
    Table,
    Uuid,
    delete,
    func,
    insert,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app.db import Reader, SortableText, UTCDateTime, table_of, utcnow
from app.errors import Conflict, Moved, NotFound

T = TypeVar("T")
MAX_SLUG_LENGTH = 120
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_UUID_SHAPE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class SlugRedirect(SQLModel, table=True):
    """An old slug of an article, author or entity: it answers with a redirect to the
    current one and can never be given to another resource of that kind.

    When an entity is merged into another, its id is kept here as well (in ``slug``; no
    slug can look like an id), so that the old id redirects and old revisions that name
    it can be restored with the entity that absorbed it.
    """

    __tablename__ = "slug_redirect"

    kind: str = sqlmodel.Field(sa_column=Column(String(20), primary_key=True))
    slug: str = sqlmodel.Field(sa_column=Column(SortableText(MAX_SLUG_LENGTH), primary_key=True))
    target_id: uuid.UUID = sqlmodel.Field(sa_column=Column(Uuid, nullable=False, index=True))
    created_at: datetime = sqlmodel.Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, default=utcnow)
    )


redirects_table = table_of(SlugRedirect)


def _not_uuid_shaped(value: str) -> str:
    # A ref is read as an id when it looks like one, so no slug may look like one.
    if _UUID_SHAPE.match(value):
        raise ValueError("a slug may not have the shape of a UUID")
    return value


Slug = Annotated[
    str,
    StringConstraints(pattern=SLUG_PATTERN, max_length=MAX_SLUG_LENGTH),
    AfterValidator(_not_uuid_shaped),
]


def slug_base(text: str, fallback: str) -> str:
    base = slugify(text, max_length=MAX_SLUG_LENGTH, word_boundary=True) or fallback
    return base if not _UUID_SHAPE.match(base) else f"{fallback}-{base}"[:MAX_SLUG_LENGTH]


def parse_ref(ref: str) -> uuid.UUID | None:
    """The id in a ``{ref}`` when it is one, else None (it is then a slug)."""
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None


async def _taken_like(session: AsyncSession, table: Table, kind: str, base: str) -> set[str]:
    pattern = f"{base}-%"
    live = select(table.c.slug.label("slug")).where(
        or_(table.c.slug == base, table.c.slug.like(pattern))
    )
    old = select(redirects_table.c.slug.label("slug")).where(
        redirects_table.c.kind == kind,
        or_(redirects_table.c.slug == base, redirects_table.c.slug.like(pattern)),
    )
    rows = await session.execute(union_all(live, old))
    return {row[0] for row in rows}


async def generate_slug(session: AsyncSession, table: Table, kind: str, text: str) -> str:
    """A free slug made from ``text``: the plain form, or the first free ``-2``, ``-3``…

    On PostgreSQL, writers making a slug from the same words take turns (a transaction
    lock on those words alone), so that each sees the slugs the others took: two
    "Breaking news" both get one of their own instead of one of them a 409. Nothing else
    waits: SQLite's single writer already takes turns."""
    base = slug_base(text, fallback=kind)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(f"{kind}:{base}", 0)))
        )
    taken = await _taken_like(session, table, kind, base)
    if base not in taken:
        return base
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = base[: MAX_SLUG_LENGTH - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            if len(base) + len(suffix) <= MAX_SLUG_LENGTH:
                return candidate
            if candidate not in await _taken_like(session, table, kind, candidate):
                return candidate
        number += 1


async def ensure_slug_free(
    session: AsyncSession, table: Table, kind: str, slug: str, owner_id: uuid.UUID | None = None
) -> None:
    """Raise 409 when ``slug`` is used by another resource of this kind, now or before."""
    redirects = redirects_table
    live = select(table.c.id).where(table.c.slug == slug)
    old = select(redirects.c.target_id).where(redirects.c.kind == kind, redirects.c.slug == slug)
    owners = {row[0] for row in await session.execute(union_all(live, old))}
    if owners - {owner_id}:
        raise Conflict(f"The slug {slug!r} is already taken.")


async def record_slug_change(
    session: AsyncSession, kind: str, owner_id: uuid.UUID, old_slug: str, new_slug: str
) -> None:
    """Keep the old slug pointing at its owner; taking a slug back clears its redirect."""
    redirects = redirects_table
    await session.execute(
        delete(redirects).where(redirects.c.kind == kind, redirects.c.slug == new_slug)
    )
    await session.execute(insert(redirects).values(kind=kind, slug=old_slug, target_id=owner_id))


async def resolve_ref(session: Reader, table: Table, kind: str, ref: str, *, label: str) -> Any:
    """The row id for ``ref`` (id or slug). An old slug raises ``Moved``; else 404."""
    ref_id = parse_ref(ref)
    query = select(table.c.id, table.c.slug).where(
        table.c.id == ref_id if ref_id else table.c.slug == ref
    )
    row = (await session.execute(query)).first()
    if row is not None:
        return row.id
    # An old slug, or the id of an entity merged into another, answers with a redirect.
    current = await current_slug_for_old(session, table, kind, str(ref_id) if ref_id else ref)
    if current is not None:
        raise Moved(ref, current)
    raise NotFound(f"No {label} with ref {ref!r}.")


async def find_current_id(session: AsyncSession, table: Table, kind: str, ref: str) -> Any:
    """The id of the resource ``ref`` names now, following old slugs (and merged ids);
    None when there is none. For refs inside a request body, where a redirect cannot help."""
    ref_id = parse_ref(ref)
    redirects = redirects_table
    live = select(table.c.id).where(table.c.id == ref_id if ref_id else table.c.slug == ref)
    old = (
        select(table.c.id)
        .join(redirects, redirects.c.target_id == table.c.id)
        .where(redirects.c.kind == kind, redirects.c.slug == (str(ref_id) if ref_id else ref))
    )
    return (await session.execute(union_all(live, old))).scalars().first()


async def forget_redirects(session: AsyncSession, kind: str, target_id: uuid.UUID) -> None:
    """Drop the old slugs of a resource that is deleted for good: nothing is left for them
    to point at, so they are free again."""
    redirects = redirects_table
    await session.execute(
        delete(redirects).where(redirects.c.kind == kind, redirects.c.target_id == target_id)
    )


async def merge_redirects(
    session: AsyncSession,
    kind: str,
    *,
    source_id: uuid.UUID,
    source_slug: str,
    target_id: uuid.UUID,
) -> None:
    """A resource merged into another: its old slugs, its slug and its id all redirect to
    the one that absorbed it."""
    redirects = redirects_table
    await session.execute(
        update(redirects)
        .where(redirects.c.kind == kind, redirects.c.target_id == source_id)
        .values(target_id=target_id)
    )
    await session.execute(
        insert(redirects),
        [
            {"kind": kind, "slug": source_slug, "target_id": target_id},
            {"kind": kind, "slug": str(source_id), "target_id": target_id},
        ],
    )


async def current_slug_for_old(
    session: Reader, table: Table, kind: str, old_slug: str
) -> str | None:
    redirects = redirects_table
    query = (
        select(table.c.slug)
        .join(redirects, redirects.c.target_id == table.c.id)
        .where(redirects.c.kind == kind, redirects.c.slug == old_slug)
    )
    return (await session.execute(query)).scalar_one_or_none()


@asynccontextmanager
async def slug_conflicts(session: AsyncSession, slug: str | None) -> AsyncIterator[None]:
    """Roll back and answer 409 when a statement or the commit inside loses a
    unique-constraint race to a concurrent writer (the slug checks ran before it)."""
    try:
        yield
    except IntegrityError as exc:
        await session.rollback()
        taken = f"The slug {slug!r} is" if slug else "The slug is"
        raise Conflict(f"{taken} already taken.") from exc


async def commit_with_result(
    session: AsyncSession, slug: str | None, read: Callable[[], Awaitable[T]]
) -> T:
    """Flush, ``read`` the result inside the transaction, then commit.

    Reading before the commit, while the write lock is still held, answers with exactly
    the state this write made, not with a later writer's. A unique-constraint race lost to
    a concurrent writer becomes a 409, whether it shows at a flush (``read`` may write
    too) or at the commit.
    """
    async with slug_conflicts(session, slug):
        await session.flush()
        result = await read()
        await session.commit()
    return result


async def commit_or_slug_conflict(session: AsyncSession, slug: str) -> None:
    """Commit; a unique-constraint race lost to a concurrent writer becomes a 409."""
    async with slug_conflicts(session, slug):
        await session.commit()
