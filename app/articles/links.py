"""The seam between articles and the domains they point at: the only article module that
authors and entities may import (the import-linter contracts in pyproject.toml keep it so).

Bylines and tags belong to articles. An author or entity counts the published articles that
name it, lets go of them when it is deleted with force, and (an entity) hands them over
when it is merged into another; every article whose byline or tags change that way gets a
new version and a revision, as if an editor had made the change.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    ScalarSelect,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.articles.models import (
    article_authors_table,
    article_entities_table,
    articles_table,
    publicly_visible,
)
from app.articles.revisions import record_revisions
from app.db import utcnow
from app.errors import Conflict
from app.freshness.log import changes_of


@dataclass(frozen=True)
class Link:
    """How articles point at the rows of one other domain."""

    table: Table
    # The link table's column holding the other domain's id.
    column: Column[uuid.UUID]
    # The 409 detail when such a row is deleted without force; {count} is filled in.
    in_use: str


BYLINES = Link(
    article_authors_table,
    article_authors_table.c.author_id,
    "{count} article(s) still carry this author; "
    "remove the byline first or delete with force=true.",
)
TAGS = Link(
    article_entities_table,
    article_entities_table.c.entity_id,
    "{count} article(s) are still tagged with this entity; "
    "untag them first or delete with force=true.",
)


def published_count(link: Link, owner: Table) -> ScalarSelect[int]:
    """Published articles linked to each row of ``owner``, as a correlated subquery."""
    return (
        select(func.count())
        .select_from(
            link.table.join(articles_table, articles_table.c.id == link.table.c.article_id)
        )
        .where(link.column == owner.c.id, publicly_visible(utcnow()))
        .correlate(owner)
        .scalar_subquery()
    )


async def _linked_article_ids(
    session: AsyncSession, link: Link, owner_id: uuid.UUID
) -> list[uuid.UUID]:
    query = select(link.table.c.article_id).where(link.column == owner_id)
    return list((await session.execute(query)).scalars().all())


async def release_articles(
    session: AsyncSession, link: Link, owner_id: uuid.UUID, *, force: bool, key_name: str | None
) -> None:
    """Before a row that articles point at is deleted: without ``force`` any such article
    is a ``Conflict``; with it, every article lets go of the row, with a revision each."""
    article_ids = await _linked_article_ids(session, link, owner_id)
    if article_ids and not force:
        raise Conflict(link.in_use.format(count=len(article_ids)))
    if article_ids:
        await changes_of(session).before_articles(session, article_ids, lock=True)
        await session.execute(delete(link.table).where(link.column == owner_id))
        await record_revisions(session, article_ids, key_name=key_name)


async def retag(
    session: AsyncSession, source_id: uuid.UUID, target_id: uuid.UUID, *, key_name: str | None
) -> None:
    """Every article tagged with entity ``source_id`` is tagged with ``target_id`` instead
    (once, if it had both), with a revision each."""
    links = TAGS.table
    article_ids = await _linked_article_ids(session, TAGS, source_id)
    if not article_ids:
        return
    await changes_of(session).before_articles(session, article_ids, lock=True)
    already = links.alias("already")
    await session.execute(
        insert(links).from_select(
            ["article_id", "entity_id"],
            select(links.c.article_id, literal(target_id, type_=links.c.entity_id.type)).where(
                links.c.entity_id == source_id,
                ~exists().where(
                    and_(
                        already.c.article_id == links.c.article_id,
                        already.c.entity_id == target_id,
                    )
                ),
            ),
        )
    )
    await session.execute(delete(links).where(links.c.entity_id == source_id))
    await record_revisions(session, article_ids, key_name=key_name)
