"""Entities (people, organisations, places, topics, events): table and API shapes."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import sqlmodel
from pydantic import MISSING, BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import JSON, CheckConstraint, Column, String, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import SQLModel

from app.db import SortableText, UTCDateTime, table_of, utcnow
from app.pagination import only_id_required
from app.slugs import MAX_SLUG_LENGTH, Slug

JSONType = JSON().with_variant(JSONB(), "postgresql")


class EntityType(StrEnum):
    person = "person"
    organization = "organization"
    place = "place"
    topic = "topic"
    event = "event"


class Entity(SQLModel, table=True):
    __tablename__ = "entity"
    __table_args__ = (
        CheckConstraint(
            "type IN ('person', 'organization', 'place', 'topic', 'event')", name="type"
        ),
    )

    id: uuid.UUID = sqlmodel.Field(
        default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True)
    )
    slug: str = sqlmodel.Field(
        sa_column=Column(SortableText(MAX_SLUG_LENGTH), nullable=False, unique=True)
    )
    name: str = sqlmodel.Field(sa_column=Column(SortableText(200), nullable=False))
    type: str = sqlmodel.Field(sa_column=Column(String(20), nullable=False, index=True))
    aliases: list[str] = sqlmodel.Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    description: str | None = sqlmodel.Field(default=None, sa_column=Column(Text))
    external_ids: dict[str, str] = sqlmodel.Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    # Lower-cased words of the name and aliases, for `q` prefix matching on both databases.
    search_text: str = sqlmodel.Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = sqlmodel.Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = sqlmodel.Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


# The Core table, for explicit select() queries here and in the domains that use entities.
entities_table = table_of(Entity)


Alias = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SchemeId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Aliases = Annotated[list[Alias], Field(max_length=100)]
ExternalIds = Annotated[dict[SchemeId, SchemeId], Field(max_length=20)]


class EntityWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(None, max_length=5000, examples=["President of Kenya."])

    @field_validator("aliases", check_fields=False)
    @classmethod
    def unique_aliases(cls, value: Any) -> Any:
        return list(dict.fromkeys(value)) if isinstance(value, list) else value


class EntityCreate(EntityWrite):
    name: Name = Field(examples=["William Ruto"])
    type: EntityType = Field(examples=["person"])
    slug: Slug | None = Field(None, examples=["william-ruto"])
    aliases: Aliases = Field([], examples=[["Ruto", "President William Ruto"]])
    external_ids: ExternalIds = Field({}, examples=[{"wikidata": "Q114"}])


class EntityUpdate(EntityWrite):
    """A JSON merge patch: only the fields sent change; lists and objects are replaced."""

    name: Name | MISSING = Field(MISSING, examples=["William Ruto"])
    type: EntityType | MISSING = Field(MISSING, examples=["person"])
    slug: Slug | MISSING = Field(MISSING, examples=["william-ruto"])
    aliases: Aliases | MISSING = Field(MISSING, examples=[["Ruto", "President William Ruto"]])
    external_ids: ExternalIds | MISSING = Field(MISSING, examples=[{"wikidata": "Q114"}])


class EntityRef(BaseModel):
    """An entity as a tag on an article."""

    id: uuid.UUID
    slug: str = Field(examples=["william-ruto"])
    name: str = Field(examples=["William Ruto"])
    type: EntityType = Field(examples=["person"])


class EntityPublic(EntityRef):
    aliases: list[str] = Field(examples=[["Ruto", "President William Ruto"]])
    description: str | None
    external_ids: dict[str, str] = Field(examples=[{"wikidata": "Q114"}])
    article_count: int = Field(description="Published articles tagged with it.", examples=[4])
    created_at: datetime
    updated_at: datetime


class EntityItem(EntityPublic):
    """An entity in a list: `fields` may leave out any key but `id`."""

    model_config = ConfigDict(json_schema_extra=only_id_required)


ENTITY_FIELDS = tuple(EntityPublic.model_fields)


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: str = Field(
        min_length=1,
        description="Ref (id or slug) of the entity that absorbs this one.",
        examples=["united-states"],
    )


# Matching costs time in proportion to the text and to the matches in it (a text of
# one-letter aliases matches every other character): the limit keeps one request under a
# fraction of a second, in a thread. Longer texts go in several requests.
MAX_EXTRACT_CHARS = 100_000


class ExtractRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        max_length=MAX_EXTRACT_CHARS,
        description=f"Plain text to look for known entities in, at most "
        f"{MAX_EXTRACT_CHARS:,} characters (longer is a `422`).",
        examples=[
            "Kenya's President William Ruto phoned Donald Trump to discuss U.S.-Kenya ties, "
            "the Haiti mission and peace in South Sudan."
        ],
    )


class EntityMatch(BaseModel):
    entity: EntityRef
    text: str = Field(description="The name or alias as written.", examples=["Ruto"])
    start: int = Field(description="Offset of the first character, in code points.", examples=[25])
    end: int = Field(description="Offset just past the last character.", examples=[29])


class NamedEntity(EntityRef):
    count: int = Field(description="How many times the text names it.", examples=[1])


class ExtractResult(BaseModel):
    matches: list[EntityMatch] = Field(description="Every match, in text order.")
    entities: list[NamedEntity] = Field(
        description="Each entity named, most often named first (ties: first named first)."
    )
