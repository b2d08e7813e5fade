"""API keys: only a SHA-256 hash of each secret is stored."""

import uuid
from datetime import datetime
from enum import StrEnum

import sqlmodel
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Boolean, Column, String, Uuid
from sqlmodel import SQLModel

from app.db import UTCDateTime, table_of, utcnow


class Role(StrEnum):
    editor = "editor"
    admin = "admin"


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: uuid.UUID = sqlmodel.Field(
        default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True)
    )
    name: str = sqlmodel.Field(sa_column=Column(String(200), nullable=False))
    role: str = sqlmodel.Field(sa_column=Column(String(10), nullable=False))
    key_hash: str = sqlmodel.Field(sa_column=Column(String(64), nullable=False, unique=True))
    prefix: str = sqlmodel.Field(sa_column=Column(String(16), nullable=False))
    bootstrap: bool = sqlmodel.Field(default=False, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = sqlmodel.Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    revoked_at: datetime | None = sqlmodel.Field(default=None, sa_column=Column(UTCDateTime))


api_keys_table = table_of(ApiKey)


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Nairobi politics desk"])
    role: Role = Field(examples=["editor"])


class KeyPublic(BaseModel):
    id: uuid.UUID
    name: str = Field(examples=["Nairobi politics desk"])
    role: Role
    prefix: str = Field(description="The first characters of the secret, to tell keys apart.")
    created_at: datetime
    revoked_at: datetime | None = None


class KeyCreated(KeyPublic):
    key: str = Field(description="The secret. It is shown this once and cannot be read again.")
