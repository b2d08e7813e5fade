"""The query parameters of the article routes: their documentation, and parsing them into
the filters the article service takes. Bad values are a 422 problem naming the parameter."""

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Query

from app.articles import queries
from app.articles.models import ShownStatus, canonical_language
from app.articles.search import SEARCH_CANDIDATES
from app.entities.models import EntityType
from app.errors import ValidationFailed
from app.pagination import ListParams, list_params

# What parse_instant reads, as the document can say it: a date, a timestamp, or blank
# (the same as leaving the filter out).
INSTANT_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
        {"type": "string", "pattern": r"^\s*$"},
    ]
}


def parse_instant(value: str | None, name: str) -> datetime | None:
    """A date (midnight UTC) or an RFC 3339 timestamp (any offset, stored as UTC)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        instant = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
        # A time near either end of the calendar may fall outside it once moved to UTC
        # (9999-12-31T23:59:59-23:59): OverflowError, a value out of range like any other.
        return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValidationFailed(
            f"{name} must be a date (2024-11-08) or a timestamp (2024-11-08T18:30:00Z) "
            "between the years 1 and 9999 in UTC.",
            loc=["query", name],
            error_type="datetime_parsing",
        ) from exc


# Author and entity refs one list request may name, all `author` and `entity` values
# together. Each ref adds terms to the query: thousands of them cost seconds of CPU and
# overflow SQLite's expression depth, and no front end needs more than a few.
MAX_FILTER_REFS = 50
REFS_LIMIT_DOC = (
    f" At most {MAX_FILTER_REFS} author and entity refs in all (and at most {MAX_FILTER_REFS} "
    "`author` and `entity` parameters) per request; more is a `422`."
)


def split_refs(values: list[str] | None) -> list[list[str]]:
    groups = [[ref.strip() for ref in value.split(",") if ref.strip()] for value in values or []]
    return [group for group in groups if group]


def filter_ref_groups(
    author: list[str], entity: list[str]
) -> tuple[list[list[str]], list[list[str]]]:
    """The ``author`` and ``entity`` parameter values as groups of refs (``,`` joins refs
    of one group); a 422 when they name more refs, or repeat more often, than
    ``MAX_FILTER_REFS``."""
    authors, tags = split_refs(author), split_refs(entity)
    named = sum(len(group) for group in (*authors, *tags))
    if max(named, len(author) + len(entity)) > MAX_FILTER_REFS:
        raise ValidationFailed(
            f"Name at most {MAX_FILTER_REFS} author and entity refs in one request.",
            loc=["query", "entity" if entity else "author"],
            error_type="too_many_refs",
        )
    return authors, tags


def parse_statuses(value: str | None) -> list[ShownStatus]:
    statuses: list[ShownStatus] = []
    for name in (value or "").split(","):
        if not name.strip():
            continue
        try:
            statuses.append(ShownStatus(name.strip()))
        except ValueError as exc:
            allowed = ", ".join(status.value for status in ShownStatus)
            raise ValidationFailed(
                f"Unknown status {name.strip()!r}; use any of {allowed}.",
                loc=["query", "status"],
                error_type="enum",
            ) from exc
    return statuses


# The list parameters default to [] and not to a default_factory: pydantic inspects a
# factory's signature every time it fills a default (a tenth of a list request's time).
# The default is copied, never shared.
async def article_filters(
    author: Annotated[
        list[str],
        Query(
            description="Author refs joined by `,` (any of them); repeat the parameter to "
            "require all groups." + REFS_LIMIT_DOC,
            examples=[["capital-news-reporter"]],
        ),
    ] = [],  # noqa: B006
    entity: Annotated[
        list[str],
        Query(
            description="Entity refs joined by `,` (any of them); repeat to require all: "
            "`entity=kenya&entity=haiti,sudan` is Kenya and (Haiti or Sudan)." + REFS_LIMIT_DOC,
            examples=[["kenya", "haiti,sudan"]],
        ),
    ] = [],  # noqa: B006
    entity_type: Annotated[
        EntityType | None, Query(description="Tagged with any entity of this type.")
    ] = None,
    section: Annotated[str | None, Query(examples=["politics"])] = None,
    language: Annotated[
        str | None,
        Query(
            description="BCP 47 tag.",
            examples=["en"],
            json_schema_extra={"pattern": r"^\s*(?:[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*)?\s*$"},
        ),
    ] = None,
    published_after: Annotated[
        str | None,
        Query(
            description="Inclusive; a date means midnight UTC.",
            examples=["2024-11-08"],
            json_schema_extra=INSTANT_SCHEMA,
        ),
    ] = None,
    published_before: Annotated[
        str | None,
        Query(
            description="Exclusive; a date means midnight UTC.",
            examples=["2024-11-09"],
            json_schema_extra=INSTANT_SCHEMA,
        ),
    ] = None,
    status: Annotated[
        str | None,
        Query(
            description="Editors only: draft, published, scheduled, archived or deleted, "
            "comma-separated. Anonymous callers may ask only for published.",
        ),
    ] = None,
) -> queries.ArticleFilters:
    if language:
        try:
            language = canonical_language(language.strip())
        except ValueError as exc:
            raise ValidationFailed(
                "language must be a BCP 47 tag such as en or en-GB.",
                loc=["query", "language"],
                error_type="language",
            ) from exc
    authors, entities = filter_ref_groups(author, entity)
    return queries.ArticleFilters(
        authors=authors,
        entities=entities,
        entity_type=entity_type.value if entity_type else None,
        section=section or None,
        language=language or None,
        published_after=parse_instant(published_after, "published_after"),
        published_before=parse_instant(published_before, "published_before"),
        statuses=parse_statuses(status),
    )


FiltersDep = Annotated[queries.ArticleFilters, Depends(article_filters)]
ParamsDep = Annotated[ListParams, Depends(list_params)]
SortQuery = Annotated[
    str | None,
    Query(
        description="published_at (default: -published_at), updated_at, created_at, headline, "
        "and with `q` relevance (then the default: `relevance,-published_at`, best match "
        "first); `-` for descending, comma-separated. `relevance` without `q` is a 422.",
        examples=["-published_at"],
    ),
]
FieldsQuery = Annotated[
    str | None,
    Query(
        description="Comma-separated keys to return per item (`id` always). Lists leave out "
        "body, body_html and body_text unless named here.",
        examples=["slug,headline,published_at"],
    ),
]
SearchQuery = Annotated[
    str | None,
    Query(
        max_length=500,
        description="Full-text search over headline, standfirst and body in web-search "
        'syntax: words are ANDed, `"a phrase"` matches words in a row, `-word` excludes, '
        "`or` separates alternatives (`ruto trump or harris` is (Ruto and Trump) or "
        "Harris). Case and accents are ignored, and words find their other forms "
        "(`elections` finds `election`): on PostgreSQL by the article's `language`, on SQLite "
        "by English rules for every article. Each match gets "
        "`snippet`, its best passage with the matched words in `<mark>` (the rest is "
        "HTML-escaped), and the default sort becomes `relevance,-published_at`. A search "
        f"lists at most {SEARCH_CANDIDATES:,} articles, so that a common word costs what a "
        f"rare one does: when more match, on PostgreSQL the first {SEARCH_CANDIDATES:,} the "
        f"index finds (not necessarily the best) are ranked, on SQLite the "
        f"{SEARCH_CANDIDATES:,} best; `count=true` counts what the list holds, so its "
        f"`total` stops at {SEARCH_CANDIDATES:,} too. More words or a filter narrow "
        "the matches. A query with no word left to look for (only punctuation or only "
        "exclusions) is a 422.",
        examples=['"haiti mission" kenya -sudan'],
    ),
]
# Versions are 32-bit integers in the database: a larger number names no version, and is
# refused before it reaches a query the database could not bind.
MAX_VERSION = 2**31 - 1
VersionPath = Annotated[
    int,
    Path(ge=1, le=MAX_VERSION, description="A version number of the article (1 to 2147483647)."),
]
LimitQuery = Annotated[int, Query(ge=1, le=100, description="How many, 1–100.")]
