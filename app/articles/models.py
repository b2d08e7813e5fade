"""Articles: the tables (article, bylines, tags, revisions) and the API shapes."""

import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import sqlmodel
from pydantic import (
    MISSING,
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)
from sqlalchemy import (
    JSON,
    BindParameter,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import SQLModel

from app.articles.render import LIMITS_DOC as BODY_LIMITS_DOC
from app.articles.render import MAX_BODY_CHARS
from app.authors.models import AuthorRef
from app.db import SortableText, UTCDateTime, table_of, utcnow
from app.entities.models import EntityRef
from app.pagination import only_id_required
from app.slugs import MAX_SLUG_LENGTH, Slug

JSONType = JSON().with_variant(JSONB(), "postgresql")


class ArticleStatus(StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class ShownStatus(StrEnum):
    """Status as shown: ``scheduled`` is a published article whose time has not come."""

    draft = "draft"
    published = "published"
    scheduled = "scheduled"
    archived = "archived"
    deleted = "deleted"


class Article(SQLModel, table=True):
    __tablename__ = "article"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        Index("ix_article_published_at_id", "published_at", "id"),
        Index("ix_article_updated_at_id", "updated_at", "id"),
        Index("ix_article_created_at_id", "created_at", "id"),
        # The next expiry (freshness) and the sitemaps' range scans of live articles.
        Index("ix_article_expires_at", "expires_at"),
        Index("ix_article_status_published_at_id", "status", "published_at", "id"),
        # Sitemaps: each month's live articles and their newest updated_at, counted from
        # the index alone (migration 0008).
        Index(
            "ix_article_listing",
            "published_at",
            "id",
            "status",
            "deleted_at",
            "expires_at",
            "updated_at",
        ),
    )

    id: uuid.UUID = sqlmodel.Field(
        default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True)
    )
    slug: str = sqlmodel.Field(
        sa_column=Column(SortableText(MAX_SLUG_LENGTH), nullable=False, unique=True)
    )
    headline: str = sqlmodel.Field(sa_column=Column(SortableText(300), nullable=False))
    standfirst: str | None = sqlmodel.Field(default=None, sa_column=Column(Text))
    body: str = sqlmodel.Field(default="", sa_column=Column(Text, nullable=False))
    body_html: str = sqlmodel.Field(default="", sa_column=Column(Text, nullable=False))
    body_text: str = sqlmodel.Field(default="", sa_column=Column(Text, nullable=False))
    dateline: str | None = sqlmodel.Field(default=None, sa_column=Column(String(200)))
    language: str = sqlmodel.Field(
        default="en", sa_column=Column(String(35), nullable=False, index=True)
    )
    section: str | None = sqlmodel.Field(default=None, sa_column=Column(String(60), index=True))
    source: str | None = sqlmodel.Field(default=None, sa_column=Column(String(200)))
    canonical_url: str | None = sqlmodel.Field(default=None, sa_column=Column(String(2048)))
    image: dict[str, Any] | None = sqlmodel.Field(default=None, sa_column=Column(JSONType))
    status: str = sqlmodel.Field(default="draft", sa_column=Column(String(10), nullable=False))
    published_at: datetime | None = sqlmodel.Field(default=None, sa_column=Column(UTCDateTime))
    expires_at: datetime | None = sqlmodel.Field(default=None, sa_column=Column(UTCDateTime))
    word_count: int = sqlmodel.Field(default=0, sa_column=Column(Integer, nullable=False))
    reading_time_minutes: int = sqlmodel.Field(default=0, sa_column=Column(Integer, nullable=False))
    version: int = sqlmodel.Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = sqlmodel.Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = sqlmodel.Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    deleted_at: datetime | None = sqlmodel.Field(default=None, sa_column=Column(UTCDateTime))


class ArticleAuthor(SQLModel, table=True):
    """A byline entry: ``position`` keeps the byline order."""

    __tablename__ = "article_author"

    article_id: uuid.UUID = sqlmodel.Field(
        sa_column=Column(Uuid, ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    author_id: uuid.UUID = sqlmodel.Field(
        sa_column=Column(Uuid, ForeignKey("author.id"), primary_key=True, index=True)
    )
    position: int = sqlmodel.Field(sa_column=Column(Integer, nullable=False))


class ArticleEntity(SQLModel, table=True):
    __tablename__ = "article_entity"

    article_id: uuid.UUID = sqlmodel.Field(
        sa_column=Column(Uuid, ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    entity_id: uuid.UUID = sqlmodel.Field(
        sa_column=Column(Uuid, ForeignKey("entity.id"), primary_key=True, index=True)
    )


class ArticleCorrection(SQLModel, table=True):
    """A correction note: appended, never edited (a correction is corrected by another)."""

    __tablename__ = "article_correction"
    __table_args__ = (
        Index("ix_article_correction_article_id_created_at", "article_id", "created_at"),
    )

    id: uuid.UUID = sqlmodel.Field(
        default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True)
    )
    article_id: uuid.UUID = sqlmodel.Field(
        sa_column=Column(Uuid, ForeignKey("article.id", ondelete="CASCADE"), nullable=False)
    )
    text: str = sqlmodel.Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = sqlmodel.Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class ArticleRevision(SQLModel, table=True):
    """The writable fields of an article as they were at one version."""

    __tablename__ = "article_revision"
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    id: uuid.UUID = sqlmodel.Field(
        default_factory=uuid.uuid4, sa_column=Column(Uuid, primary_key=True)
    )
    article_id: uuid.UUID = sqlmodel.Field(
        sa_column=Column(Uuid, ForeignKey("article.id", ondelete="CASCADE"), nullable=False)
    )
    version: int = sqlmodel.Field(sa_column=Column(Integer, nullable=False))
    key_name: str | None = sqlmodel.Field(default=None, sa_column=Column(String(200)))
    content: dict[str, Any] = sqlmodel.Field(sa_column=Column(JSONType, nullable=False))
    created_at: datetime = sqlmodel.Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$"
_LANGUAGE = re.compile(LANGUAGE_PATTERN)


def canonical_language(tag: str) -> str:
    """BCP 47 case conventions: ``en``, ``en-GB``, ``zh-Hant-TW``."""
    if not _LANGUAGE.match(tag):
        raise ValueError("must be a BCP 47 language tag such as en or en-GB")
    first, *rest = tag.split("-")
    parts = [first.lower()]
    for part in rest:
        if len(part) == 2 and part.isalpha():
            parts.append(part.upper())
        elif len(part) == 4 and part.isalpha():
            parts.append(part.title())
        else:
            parts.append(part.lower())
    return "-".join(parts)


def _as_utc(value: datetime | None) -> datetime | None:
    """The time in UTC; one that falls outside the years 1-9999 there (such as
    9999-12-31T23:59:59-23:59) is a ``ValueError``, which validation reports as a 422."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("must fall between the years 1 and 9999 once moved to UTC") from exc


LanguageTag = Annotated[
    str,
    StringConstraints(max_length=35, pattern=LANGUAGE_PATTERN),
    AfterValidator(canonical_language),
]
SectionName = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$", max_length=60)
]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=200)]


ALT_DOC = (
    "What a screen reader says in place of the picture: what it shows, in a sentence "
    "(the caption tells the story around it)."
)
ImageSide = Annotated[int, Field(ge=1, le=100_000)]
IMAGE_EXAMPLE: dict[str, Any] = {
    "url": "https://example.com/images/state-house-nairobi.jpg",
    "caption": "State House, Nairobi, where the call was made.",
    "credit": "Capital News",
    "alt": "The white façade of State House, Nairobi, behind its gates.",
    "width": 1600,
    "height": 900,
}


class ArticleImage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl = Field(examples=[IMAGE_EXAMPLE["url"]])
    caption: str | None = Field(None, max_length=1000, examples=[IMAGE_EXAMPLE["caption"]])
    credit: str | None = Field(None, max_length=200, examples=[IMAGE_EXAMPLE["credit"]])
    alt: str | None = Field(
        None, max_length=1000, description=ALT_DOC, examples=[IMAGE_EXAMPLE["alt"]]
    )
    width: ImageSide | None = Field(None, description="Pixels.", examples=[1600])
    height: ImageSide | None = Field(None, description="Pixels.", examples=[900])


class ArticleImagePatch(BaseModel):
    """An image in a PATCH: given keys replace, null removes, absent keys stay."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl | MISSING = Field(
        MISSING, examples=["https://example.com/images/state-house-nairobi.jpg"]
    )
    caption: str | None = Field(None, max_length=1000)
    credit: str | None = Field(None, max_length=200)
    alt: str | None = Field(None, max_length=1000, description=ALT_DOC)
    width: ImageSide | None = Field(None, description="Pixels.")
    height: ImageSide | None = Field(None, description="Pixels.")


HEADLINE_EXAMPLE = (
    "Ruto Congratulates Trump in Phone Call, Discusses U.S.-Kenya Ties and Haiti Mission"
)
# The worked example: the request that files the story, and the article it becomes. The
# test of the OpenAPI document checks that the second is what the first renders to. (No
# null values: FastAPI leaves them out of the document, and the example would lose keys.)
EXAMPLE_BODY = (
    "President William Ruto phoned President-elect Donald Trump to congratulate him on his "
    "election as the 47th President of the United States.\n\n"
    "## Haiti\n\n"
    "Ruto briefed Trump on Kenya's leadership of the Multinational Security Support Mission "
    "in Haiti, which the United Nations backs, and invited the US to keep working with it.\n"
)
ARTICLE_CREATE_EXAMPLE: dict[str, Any] = {
    "headline": HEADLINE_EXAMPLE,
    "standfirst": "Kenya's president called the US president-elect to congratulate him and to "
    "talk trade, security and the Haiti mission.",
    "body": EXAMPLE_BODY,
    "dateline": "NAIROBI, Kenya",
    "language": "en",
    "section": "politics",
    "source": "Capital News",
    "status": "published",
    "published_at": "2024-11-08T18:30:00Z",
    "canonical_url": "https://example.com/2024/11/ruto-congratulates-trump",
    "image": IMAGE_EXAMPLE,
    "authors": ["capital-news-reporter"],
    "entities": ["william-ruto", "donald-trump", "kenya", "haiti"],
    "auto_tag": True,
}
_EXAMPLE_ENTITIES = [
    ("9b2f6a51-3c8e-4d1a-a7f0-2e5b8c4d6f10", "william-ruto", "William Ruto", "person"),
    ("1d7c3e92-8a4b-4f6e-b0c5-7a9e2d1f3b24", "donald-trump", "Donald Trump", "person"),
    ("c4e81f03-5b2d-4a97-8e6c-3f1a0b9d7e35", "kenya", "Kenya", "place"),
    ("e6a0d2b7-9c1f-4e83-a5d4-0b7c8f2e6a46", "united-states", "United States", "place"),
    ("5f3b9e18-2d7a-4c60-b1e9-8d4f6a0c2b57", "haiti", "Haiti", "place"),
    ("a8d4c7f2-6e0b-4195-9c3a-5e2b1d8f4c68", "united-nations", "United Nations", "organization"),
    (
        "2c6e0a94-7f3d-4b28-8a1e-9f5c3b7d0e79",
        "multinational-security-support-mission",
        "Multinational Security Support Mission",
        "organization",
    ),
]
ARTICLE_EXAMPLE: dict[str, Any] = {
    "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "slug": "ruto-congratulates-trump-in-phone-call",
    **{key: ARTICLE_CREATE_EXAMPLE[key] for key in ("headline", "standfirst", "body")},
    "body_html": "<p>President William Ruto phoned President-elect Donald Trump to congratulate "
    "him on his election as the 47th President of the United States.</p>\n<h2>Haiti</h2>\n"
    "<p>Ruto briefed Trump on Kenya's leadership of the Multinational Security Support "
    "Mission in Haiti, which the United Nations backs, and invited the US to keep working "
    "with it.</p>\n",
    "body_text": "President William Ruto phoned President-elect Donald Trump to congratulate "
    "him on his election as the 47th President of the United States.\n\nHaiti\n\nRuto "
    "briefed Trump on Kenya's leadership of the Multinational Security Support Mission in "
    "Haiti, which the United Nations backs, and invited the US to keep working with it.",
    **{
        key: ARTICLE_CREATE_EXAMPLE[key]
        for key in (
            "dateline",
            "language",
            "section",
            "source",
            "canonical_url",
            "image",
            "status",
            "published_at",
        )
    },
    # canonical_url set: it is the page's URL (else the template's, else null).
    "url": ARTICLE_CREATE_EXAMPLE["canonical_url"],
    "authors": [
        {
            "id": "7e1d4b8a-0c6f-4a2e-9b3d-5f8a2c7e1d90",
            "slug": "capital-news-reporter",
            "name": "Capital News Reporter",
        }
    ],
    # auto_tag added the entities the text names that the request did not list.
    "entities": [
        {"id": id_, "slug": slug, "name": name, "type": type_}
        for id_, slug, name, type_ in _EXAMPLE_ENTITIES
    ],
    "corrections": [],
    "word_count": 50,
    "reading_time_minutes": 1,
    "version": 1,
    "created_at": "2024-11-08T18:29:12Z",
    "updated_at": "2024-11-08T18:29:12Z",
}
Headline = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Body = Annotated[str, StringConstraints(max_length=MAX_BODY_CHARS)]
Authors = Annotated[list[Ref], Field(max_length=50)]
Entities = Annotated[list[Ref], Field(max_length=500)]


EXPIRES_DOC = (
    "From this instant the article is no longer shown to anonymous callers, as if archived "
    "(lists, search, feeds, sitemaps, counts and related lists leave it out, and getting it "
    "is a 404); editors see it with status `archived`. Checked at every read, so it is never "
    "late. null (the default) keeps it up. Must be later than `published_at`."
)


def expiry_follows_publication(published_at: datetime | None, expires_at: datetime | None) -> bool:
    """An article that would expire before it goes live is a mistake, not a wish."""
    return published_at is None or expires_at is None or expires_at > published_at


class ArticleWrite(BaseModel):
    """Fields that create and update share; both may leave any of them out."""

    model_config = ConfigDict(extra="forbid")

    standfirst: str | None = Field(
        None,
        max_length=1000,
        examples=["Kenya's president called the US president-elect to congratulate him."],
    )
    dateline: str | None = Field(None, max_length=200, examples=["NAIROBI, Kenya"])
    section: SectionName | None = Field(None, examples=["politics"])
    source: str | None = Field(None, max_length=200, examples=["Capital News"])
    canonical_url: HttpUrl | None = Field(
        None, examples=["https://example.com/2024/11/ruto-congratulates-trump"]
    )
    published_at: datetime | None = Field(
        None,
        description="Set to now on first publish when left out; a future time schedules it.",
        examples=["2024-11-08T18:30:00Z"],
    )
    expires_at: datetime | None = Field(
        None,
        description=EXPIRES_DOC,
        examples=["2025-11-08T18:30:00Z"],
    )
    # Strict: 0 or "yes" is not taken for a boolean; bad input is a 422.
    auto_tag: StrictBool = Field(
        False,
        description="Also tag every known entity named in headline, standfirst and body.",
    )

    @field_validator("published_at", "expires_at")
    @classmethod
    def to_utc(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value)

    @field_validator("authors", "entities", check_fields=False)
    @classmethod
    def unique_refs(cls, value: Any) -> Any:
        return list(dict.fromkeys(value)) if isinstance(value, list) else value


class ArticleCreate(ArticleWrite):
    model_config = ConfigDict(json_schema_extra={"examples": [ARTICLE_CREATE_EXAMPLE]})

    headline: Headline = Field(examples=[HEADLINE_EXAMPLE])
    slug: Slug | None = Field(None, examples=["ruto-congratulates-trump-in-phone-call"])
    body: Body = Field("", description="Markdown (CommonMark). " + BODY_LIMITS_DOC)
    language: LanguageTag = Field("en", examples=["en"])
    status: ArticleStatus = Field(ArticleStatus.draft, examples=["published"])
    image: ArticleImage | None = None
    authors: Authors = Field([], description="Author refs (id or slug) in byline order.")
    entities: Entities = Field([], description="Entity refs (id or slug).")

    @model_validator(mode="after")
    def expires_after_publication(self) -> "ArticleCreate":
        if not expiry_follows_publication(self.published_at, self.expires_at):
            raise ValueError("expires_at must be later than published_at")
        return self


class ArticleUpdate(ArticleWrite):
    """A JSON merge patch: only the fields sent change."""

    headline: Headline | MISSING = Field(MISSING, examples=[HEADLINE_EXAMPLE])
    slug: Slug | MISSING = Field(MISSING, examples=["ruto-congratulates-trump-in-phone-call"])
    body: Body | MISSING = Field(MISSING, description="Markdown (CommonMark). " + BODY_LIMITS_DOC)
    language: LanguageTag | MISSING = Field(MISSING, examples=["en"])
    status: ArticleStatus | MISSING = Field(MISSING, examples=["published"])
    image: ArticleImagePatch | MISSING | None = MISSING
    authors: Authors | MISSING = Field(
        MISSING, description="Author refs (id or slug) in byline order; replaces the byline."
    )
    entities: Entities | MISSING = Field(
        MISSING, description="Entity refs (id or slug); replaces the tags."
    )


URL_DOC = (
    "Read-only: the page readers visit. `canonical_url` when set, else "
    "`NEWSDESK_ARTICLE_URL_TEMPLATE` filled in with the article's slug, id, section and the "
    "date of `published_at` (UTC), else null. Feeds, JSON-LD and sitemaps link to it."
)
CORRECTION_TEXT_EXAMPLE = (
    "An earlier version of this story said the call took place on 7 November. "
    "It took place on 8 November."
)


CorrectionText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)
]


class CorrectionCreate(BaseModel):
    """A correction to append. Corrections are never edited or removed: a correction is
    corrected by another."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"text": CORRECTION_TEXT_EXAMPLE}]}
    )

    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)
    ] = Field(description="What was wrong and what is right, as readers should read it.")


class CorrectionPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b8e2f4c-6a1d-4e3b-9c7f-2d5a8e1b4c60",
                    "text": CORRECTION_TEXT_EXAMPLE,
                    "created_at": "2024-11-09T07:15:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    text: str = Field(examples=[CORRECTION_TEXT_EXAMPLE])
    created_at: datetime = Field(examples=["2024-11-09T07:15:00Z"])


class ArticlePublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ARTICLE_EXAMPLE]})

    id: uuid.UUID
    slug: str = Field(examples=["ruto-congratulates-trump-in-phone-call"])
    headline: str = Field(
        examples=[
            "Ruto Congratulates Trump in Phone Call, Discusses U.S.-Kenya Ties and Haiti Mission"
        ]
    )
    standfirst: str | None
    body: str | None = Field(None, description="Markdown source; in lists only when asked for.")
    body_html: str | None = Field(None, description="Rendered, sanitised HTML.")
    body_text: str | None = Field(None, description="The rendered body as plain text.")
    dateline: str | None = Field(examples=["NAIROBI, Kenya"])
    language: str = Field(examples=["en"])
    section: str | None = Field(examples=["politics"])
    source: str | None = Field(examples=["Capital News"])
    canonical_url: str | None
    url: str | None = Field(
        description=URL_DOC, examples=["https://example.com/2024/11/ruto-congratulates-trump"]
    )
    image: ArticleImage | None
    status: ShownStatus
    published_at: datetime | None = Field(examples=["2024-11-08T18:30:00Z"])
    expires_at: datetime | None = Field(None, description=EXPIRES_DOC)
    authors: list[AuthorRef]
    entities: list[EntityRef]
    corrections: list[CorrectionPublic] = Field(
        description="Corrections to the story, oldest first (read-only; add one with "
        "`addArticleCorrection`)."
    )
    word_count: int = Field(examples=[412])
    reading_time_minutes: int = Field(examples=[3])
    version: int = Field(examples=[1])
    created_at: datetime
    updated_at: datetime
    snippet: str | None = Field(
        None, description="With `q`: the best matching passage, matches in `<mark>`."
    )


class ArticleItem(ArticlePublic):
    """An article in a list: `fields` may leave out any key but `id`, and lists leave out
    the body unless `fields` names it."""

    model_config = ConfigDict(json_schema_extra=only_id_required)


class ArticleRevisionSummary(BaseModel):
    """One entry of an article's history."""

    version: int = Field(examples=[3])
    created_at: datetime = Field(examples=["2024-11-08T18:42:00Z"])
    key_name: str | None = Field(
        description="Name of the API key that made this version.", examples=["politics desk"]
    )


class ArticleRevisionPublic(ArticleRevisionSummary):
    """The writable fields of an article as they were at one version. ``authors`` and
    ``entities`` are ids, refs that ``PATCH`` accepts and that survive slug changes."""

    slug: str = Field(examples=["ruto-congratulates-trump-in-phone-call"])
    headline: str = Field(examples=[HEADLINE_EXAMPLE])
    standfirst: str | None
    body: str = Field(description="Markdown source.")
    dateline: str | None = Field(examples=["NAIROBI, Kenya"])
    language: str = Field(examples=["en"])
    section: str | None = Field(examples=["politics"])
    source: str | None = Field(examples=["Capital News"])
    canonical_url: str | None
    image: ArticleImage | None
    status: ArticleStatus = Field(examples=["published"])
    published_at: datetime | None = Field(examples=["2024-11-08T18:30:00Z"])
    expires_at: datetime | None = None
    authors: list[str] = Field(description="Author ids in byline order.")
    entities: list[str] = Field(description="Entity ids.")


class RelatedArticle(ArticlePublic):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {key: value for key, value in ARTICLE_EXAMPLE.items() if not key.startswith("body")}
                | {"shared_entities": 3}
            ]
        }
    )

    shared_entities: int = Field(
        description="How many of the article's entities this one is tagged with too.",
        examples=[3],
    )


ARTICLE_FIELDS = (
    "id",
    "slug",
    "headline",
    "standfirst",
    "body",
    "body_html",
    "body_text",
    "dateline",
    "language",
    "section",
    "source",
    "canonical_url",
    "url",
    "image",
    "status",
    "published_at",
    "expires_at",
    "authors",
    "entities",
    "corrections",
    "word_count",
    "reading_time_minutes",
    "version",
    "created_at",
    "updated_at",
)
BODY_FIELDS = frozenset({"body", "body_html", "body_text"})


articles_table = table_of(Article)
article_authors_table = table_of(ArticleAuthor)
article_entities_table = table_of(ArticleEntity)
revisions_table = table_of(ArticleRevision)
corrections_table = table_of(ArticleCorrection)


# A time to compare with: a value, or a bound parameter (``queries.NOW``) filled in later.
Moment = datetime | BindParameter[Any]


def not_expired(now: Moment) -> Any:
    """No expiry, or one still to come."""
    return articles_table.c.expires_at.is_(None) | (articles_table.c.expires_at > now)


def publicly_visible(now: Moment) -> Any:
    """Published, its time come, not expired, not in the trash: what anonymous callers may
    see (in SQL; ``is_publicly_visible`` is the same rule for a loaded row). Time is
    compared at every read, so neither going live nor expiring waits for a job."""
    return (
        (articles_table.c.status == ArticleStatus.published.value)
        & (articles_table.c.published_at <= now)
        & not_expired(now)
        & articles_table.c.deleted_at.is_(None)
    )


def is_expired(row: Any, now: datetime) -> bool:
    expires_at = getattr(row, "expires_at", None)
    return expires_at is not None and expires_at <= now


def is_publicly_visible(row: Any, now: datetime) -> bool:
    """``publicly_visible`` for a row with ``status``, ``published_at``, ``expires_at`` and
    ``deleted_at``."""
    return bool(
        row.deleted_at is None
        and row.status == ArticleStatus.published
        and row.published_at is not None
        and row.published_at <= now
        and not is_expired(row, now)
    )


def shown_status(row: Any, now: datetime) -> str:
    """The status as shown: deleted, scheduled, archived once expired, or the stored one."""
    if row.deleted_at is not None:
        return ShownStatus.deleted.value
    if row.status == ArticleStatus.published and row.published_at and row.published_at > now:
        return ShownStatus.scheduled.value
    if row.status == ArticleStatus.published and is_expired(row, now):
        return ShownStatus.archived.value
    return str(row.status)
