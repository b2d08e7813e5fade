"""A single counter that every write bumps in its own transaction.

Readers use it to tell, with one cheap query, whether anything changed since they last
looked; it is the same for every worker and machine because it lives in the database.
"""

import sqlmodel
from sqlalchemy import BigInteger, Column, Integer, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app.db import table_of


class ContentVersion(SQLModel, table=True):
    __tablename__ = "content_version"

    id: int = sqlmodel.Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    value: int = sqlmodel.Field(default=0, sa_column=Column(BigInteger, nullable=False))


content_version_table = table_of(ContentVersion)


async def begin_write(session: AsyncSession) -> None:
    """Start a write: bump the counter as the transaction's first statement.

    The row lock this takes is held until commit, so writes run one after another and
    every check a write makes (slug free, version current) still holds when it commits.
    """
    await session.execute(
        update(content_version_table)
        .where(content_version_table.c.id == 1)
        .values(value=content_version_table.c.value + 1)
    )


async def read_content_version(session: AsyncSession) -> int:
    query = select(content_version_table.c.value).where(content_version_table.c.id == 1)
    return int((await session.execute(query)).scalar_one_or_none() or 0)
