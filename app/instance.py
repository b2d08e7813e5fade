"""The instance secret: 32 random bytes made once per database (by migration 0003) and
read by every worker at start-up, so that every worker and machine sharing the database
holds the same one.

Entity tags are keyed with it (``app.conditional.make_etag``): without it nobody can
compute a tag from values they guess (the write counter, the time of an embargo) nor
recover those values from a tag. Anything else that must be signed uses it too, through
``instance_secret()``.
"""

import sqlmodel
from sqlalchemy import Column, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app.db import table_of
from app.errors import ServiceUnavailable


class InstanceSecret(SQLModel, table=True):
    __tablename__ = "instance_secret"

    id: int = sqlmodel.Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    # Hex, so that it reads the same through every driver.
    value: str = sqlmodel.Field(sa_column=Column(String(128), nullable=False))


instance_secret_table = table_of(InstanceSecret)
_secret: bytes | None = None


async def load_instance_secret(session: AsyncSession) -> bytes:
    """Read the secret from the database and keep it for ``instance_secret()``."""
    global _secret
    query = select(instance_secret_table.c.value).where(instance_secret_table.c.id == 1)
    value = (await session.execute(query)).scalar_one()
    _secret = bytes.fromhex(value)
    return _secret


def instance_secret() -> bytes:
    """The secret; a 503 while it is not loaded yet (the database was down at start-up)."""
    if _secret is None:
        raise ServiceUnavailable(
            "The service is still starting (its database was unreachable); try again shortly.",
            headers={"Retry-After": "1"},
        )
    return _secret
