"""Preview links: the key they are signed with, and the shapes the API reads and writes."""

from datetime import datetime

import sqlmodel
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Column, Integer, String
from sqlmodel import SQLModel

from app.db import UTCDateTime, table_of, utcnow

MIN_EXPIRES_IN = 60
MAX_EXPIRES_IN = 604_800  # a week


class PreviewKey(SQLModel, table=True):
    """The random key that signs preview links when no NEWSDESK_SECRET_KEY is set: kept in
    the database so that every worker and machine signs and checks with the same one."""

    __tablename__ = "preview_key"

    id: int = sqlmodel.Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    value: str = sqlmodel.Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = sqlmodel.Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


preview_keys_table = table_of(PreviewKey)


class PreviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_in: int = Field(
        3600,
        ge=MIN_EXPIRES_IN,
        le=MAX_EXPIRES_IN,
        description="Seconds the link works for: 60 to 604800 (a week).",
        examples=[3600],
    )


class PreviewPublic(BaseModel):
    token: str = Field(
        description="The signed token; anyone holding it can read the article until `expires_at`.",
        examples=["O-NcVPbMTRmgGvGYpB3fA2dXlnYAAAAAp9XgN6u0mJqCV1WkTZt7h4Hf8bqYkS0ZQvJkzmI0Qg"],
    )
    url: str = Field(
        description="Where the preview is read, relative to this API's base URL.",
        examples=[
            "/v1/preview/O-NcVPbMTRmgGvGYpB3fA2dXlnYAAAAAp9XgN6u0mJqCV1WkTZt7h4Hf8bqYkS0ZQvJkzmI0Qg"
        ],
    )
    expires_at: datetime = Field(examples=["2024-11-08T19:30:00Z"])
