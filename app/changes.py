"""Counters that only out-of-band changes bump, read by every worker with one cheap query.

Row 1 is the content epoch: bumped when content is replaced behind the application's back
(a restored backup, tests emptying tables), it tells every worker's response cache to let
go of everything at once. Ordinary writes never touch it; they go through the change log
(``app.freshness``). Row 2 counts changes to the entity catalogue (bumped by triggers) for
the entity matcher.
"""

import sqlmodel
from sqlalchemy import BigInteger, Column, Integer
from sqlmodel import SQLModel

from app.db import table_of

CONTENT_EPOCH_ROW = 1


class ContentVersion(SQLModel, table=True):
    __tablename__ = "content_version"

    id: int = sqlmodel.Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    value: int = sqlmodel.Field(default=0, sa_column=Column(BigInteger, nullable=False))


content_version_table = table_of(ContentVersion)
