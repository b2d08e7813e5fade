"""Authors: the table and the shapes the API reads and writes."""

import uuid
from datetime import datetime
from typing import Annotated

import sqlmodel
from pydantic import MISSING, BaseModel, ConfigDict, EmailStr, Field, HttpUrl, StringConstraints
from sqlalchemy import Column, String, Text, Uuid
from sqlmodel import SQLModel

from app.db import SortableText, UTCDateTime, table_of, utcnow
from app.pagination import only_id_required
from app.slugs import MAX_SLUG_LENGTH, Slug


class Author(SQLModel, table=True):
    __tablename__ = "author"

    id: uuid.UUID = sqlmodel.Field(
        default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True)
    )
    slug: str = sqlmodel.Field(
        sa_column=Column(SortableText(MAX_SLUG_LENGTH), nullable=False, unique=True)
    )
    name: str = sqlmodel.Field(sa_column=Column(SortableText(200), nullable=False))
    title: str | None = sqlmodel.Field(default=None, sa_column=Column(String(200)))
    bio: str | None = sqlmodel.Field(default=None, sa_column=Column(Text))
    avatar_url: str | None = sqlmodel.Field(default=None, sa_column=Column(String(2048)))
    url: str | None = sqlmodel.Field(default=None, sa_column=Column(String(2048)))
    email: str | None = sqlmodel.Field(default=None, sa_column=Column(String(320)))
    # Lower-cased words of the name, for `q` prefix matching on both databases.
    search_text: str = sqlmodel.Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = sqlmodel.Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = sqlmodel.Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


# The Core table, for explicit select() queries here and in the domains that use authors.
authors_table = table_of(Author)


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class AuthorWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=200, examples=["Senior Reporter"])
    bio: str | None = Field(
        None,
        max_length=5000,
        examples=["Covers State House, Parliament and regional diplomacy from Nairobi."],
    )
    avatar_url: HttpUrl | None = Field(None, examples=["https://example.com/avatars/desk.png"])
    url: HttpUrl | None = Field(None, examples=["https://example.com/authors/politics-desk"])
    email: EmailStr | None = Field(None, examples=["politics@example.com"])


class AuthorCreate(AuthorWrite):
    name: Name = Field(examples=["Capital News Reporter"])
    slug: Slug | None = Field(None, examples=["capital-news-reporter"])


class AuthorUpdate(AuthorWrite):
    """A JSON merge patch: only the fields sent change."""

    name: Name | MISSING = Field(MISSING, examples=["Capital News Reporter"])
    slug: Slug | MISSING = Field(MISSING, examples=["capital-news-reporter"])


class AuthorRef(BaseModel):
    """An author as a byline entry of an article."""

    id: uuid.UUID
    slug: str = Field(examples=["capital-news-reporter"])
    name: str = Field(examples=["Capital News Reporter"])


class AuthorPublic(AuthorRef):
    title: str | None = Field(examples=["Senior Reporter"])
    bio: str | None
    avatar_url: str | None
    url: str | None
    email: str | None = Field(
        None, description="Only shown to editors and admins; never to anonymous callers."
    )
    article_count: int = Field(description="Published articles with this author.", examples=[12])
    created_at: datetime
    updated_at: datetime


class AuthorItem(AuthorPublic):
    """An author in a list: `fields` may leave out any key but `id`."""

    model_config = ConfigDict(json_schema_extra=only_id_required)


AUTHOR_FIELDS = tuple(AuthorPublic.model_fields)
