"""Article reads: lists, one article, relations and ref resolution.

Reads select plain columns and build the response dicts directly, with no ORM object on
the way. The database builds each article's bylines and tags as JSON arrays in the same
statement (``relation_columns``), so one article, or a page of any size, is one query.
"""

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any, NamedTuple, TypedDict
from typing import cast as cast_to

from sqlalchemy import (
    JSON,
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from app.articles.etags import change_time_columns, load_article_state, validators_of
from app.articles.models import (
    ARTICLE_FIELDS,
    ArticleStatus,
    Moment,
    ShownStatus,
    article_authors_table,
    article_entities_table,
    articles_table,
    corrections_table,
    is_expired,
    publicly_visible,
    shown_status,
)
from app.articles.search import (
    plan_search,
    search_plan_type,
    search_sort_fields,
    search_sorting,
)
from app.articles.site import article_url
from app.auth import ANONYMOUS, Viewer
from app.authors.models import authors_table as authors
from app.conditional import ReadConditions, Validators
from app.db import Reader, first_record, table_of, utcnow
from app.entities.models import entities_table as entities
from app.errors import Moved, NotFound, Unauthorized, ValidationFailed
from app.keys.models import Role
from app.pagination import (
    ListParams,
    SortField,
    SortKey,
    count_rows,
    fetch_page,
    page_query,
    parse_sort,
)
from app.slugs import SlugRedirect, parse_ref

KIND = "article"
articles = articles_table

SUMMARY_COLUMNS = tuple(
    articles.c[name]
    for name in (
        "id",
        "slug",
        "headline",
        "standfirst",
        "dateline",
        "language",
        "section",
        "source",
        "canonical_url",
        "image",
        "status",
        "published_at",
        "expires_at",
        "word_count",
        "reading_time_minutes",
        "version",
        "created_at",
        "updated_at",
        "deleted_at",
    )
)
BODY_COLUMNS = (articles.c.body, articles.c.body_html, articles.c.body_text)
SORT_FIELDS = {
    "published_at": SortField(articles.c.published_at, "datetime", nullable=True),
    "updated_at": SortField(articles.c.updated_at, "datetime"),
    "created_at": SortField(articles.c.created_at, "datetime"),
    "headline": SortField(articles.c.headline, "str"),
}


@dataclass(frozen=True)
class ArticleFilters:
    """The filters of ``GET /v1/articles``. Each inner list of refs means "any of these";
    the outer list means "all of these groups"."""

    authors: Sequence[Sequence[str]] = ()
    entities: Sequence[Sequence[str]] = ()
    entity_type: str | None = None
    section: str | None = None
    language: str | None = None
    published_after: datetime | None = None
    published_before: datetime | None = None
    statuses: Sequence[ShownStatus] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return not any(getattr(self, each.name) for each in dataclass_fields(self))


class Byline(TypedDict):
    """An author as an article shows it, in byline order. Ids are the canonical text
    form, as the database wrote them into JSON."""

    id: str
    slug: str
    name: str


class Tag(TypedDict):
    """An entity as an article shows it, ordered by name."""

    id: str
    slug: str
    name: str
    type: str


class Correction(TypedDict):
    """A correction as an article shows it, oldest first."""

    id: str
    text: str
    created_at: datetime


class ArticleData(TypedDict, total=False):
    """An article as the API shows it. Lists give the keys ``fields=`` asks for (``id``
    always), so every key is optional to the type checker; one article has them all."""

    id: uuid.UUID
    slug: str
    headline: str
    standfirst: str | None
    body: str
    body_html: str
    body_text: str
    dateline: str | None
    language: str
    section: str | None
    source: str | None
    canonical_url: str | None
    url: str | None
    image: dict[str, Any] | None
    status: str
    published_at: datetime | None
    expires_at: datetime | None
    authors: list[Byline]
    entities: list[Tag]
    corrections: list[Correction]
    word_count: int
    reading_time_minutes: int
    version: int
    created_at: datetime
    updated_at: datetime
    snippet: str | None


class ArticlePage(NamedTuple):
    """One page of an article list: its items, the cursor of the next page (None on the
    last) and, when ``count`` was asked, the number of matches."""

    items: list[ArticleData]
    next_cursor: str | None
    total: int | None


def _json_array(dialect: str, fields: dict[str, Any], source: Select[Any], order: Any) -> Any:
    """A correlated scalar subquery: the rows of ``source`` as a JSON array of objects
    with ``fields``, in ``order``; the database builds it, so relations cost no query."""

    def pairs(columns: dict[str, Any]) -> list[Any]:
        # Keys inline: PostgreSQL cannot type a bound parameter passed as "any".
        flat: list[Any] = []
        for key, column in columns.items():
            flat += [literal_column(f"'{key}'"), column]
        return flat

    if dialect == "postgresql":
        aggregated = func.coalesce(
            func.json_agg(aggregate_order_by(func.json_build_object(*pairs(fields)), *order)),
            literal_column("'[]'::json"),
        )
        return type_coerce(source.with_only_columns(aggregated).scalar_subquery(), JSON)
    # SQLite has no ordered aggregate: the rows are ordered in a subquery first. Its ids
    # are 32 hex digits: written with their dashes here, no Python touches them after.
    ordered = source.with_only_columns(
        *(
            (_dashed_uuid(column) if key == "id" else column).label(key)
            for key, column in fields.items()
        )
    )
    inner = ordered.order_by(*order).subquery()
    array = func.json_group_array(func.json_object(*pairs({key: inner.c[key] for key in fields})))
    return type_coerce(select(array).select_from(inner).scalar_subquery(), JSON)


def _dashed_uuid(column: Any) -> Any:
    hex_digits = cast(column, String)
    parts = [func.substr(hex_digits, start, length) for start, length in _UUID_GROUPS]
    text_form: Any = parts[0]
    for part in parts[1:]:
        text_form = text_form.concat("-").concat(part)
    return func.lower(text_form)


_UUID_GROUPS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))


# Built once a dialect: constructing these subqueries took longer than running them.
@cache
def relation_columns(dialect: str) -> tuple[Any, Any, Any]:
    """The bylines (in order), tags (by name) and corrections (oldest first) of the
    article in the enclosing query, as three JSON columns labelled ``authors``,
    ``entities`` and ``corrections``: the one relation loader of every article read."""
    links = article_authors_table
    bylines = _json_array(
        dialect,
        {"id": authors.c.id, "slug": authors.c.slug, "name": authors.c.name},
        select(authors.c.id)
        .select_from(links.join(authors, authors.c.id == links.c.author_id))
        .where(links.c.article_id == articles.c.id)
        .correlate(articles),
        (links.c.position,),
    )
    tag_links = article_entities_table
    tags = _json_array(
        dialect,
        {
            "id": entities.c.id,
            "slug": entities.c.slug,
            "name": entities.c.name,
            "type": entities.c.type,
        },
        select(entities.c.id)
        .select_from(tag_links.join(entities, entities.c.id == tag_links.c.entity_id))
        .where(tag_links.c.article_id == articles.c.id)
        .correlate(articles),
        (entities.c.name, entities.c.id),
    )
    notes = corrections_table
    corrections = _json_array(
        dialect,
        {"id": notes.c.id, "text": notes.c.text, "created_at": notes.c.created_at},
        select(notes.c.id).where(notes.c.article_id == articles.c.id).correlate(articles),
        (notes.c.created_at, notes.c.id),
    )
    return bylines.label("authors"), tags.label("entities"), corrections.label("corrections")


def bylines_of(row: Any) -> list[Byline]:
    """The bylines of a row read with ``relation_columns``, as the database built them."""
    return cast_to(list[Byline], row.authors)


def tags_of(row: Any) -> list[Tag]:
    """The tags of a row read with ``relation_columns``, as the database built them."""
    return cast_to(list[Tag], row.entities)


def corrections_of(row: Any) -> list[Correction]:
    """The corrections of a row read with ``relation_columns``, their times as UTC
    datetimes (each database writes a timestamp into JSON in its own text form)."""
    return [
        Correction(id=note["id"], text=note["text"], created_at=_json_time(note["created_at"]))
        for note in row.corrections
    ]


def _json_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def dialect_of(session: Reader) -> str:
    return session.get_bind().dialect.name


# The fields an article's row does not hold as they are shown: each computed from it.
_COMPUTED: dict[str, Callable[[Any, datetime], Any]] = {
    "status": shown_status,
    "authors": lambda row, _now: bylines_of(row),
    "entities": lambda row, _now: tags_of(row),
    "corrections": lambda row, _now: corrections_of(row),
    "url": lambda row, _now: article_url(row),
}


@lru_cache(maxsize=256)
def _item_plan(
    fields: frozenset[str] | None, columns: tuple[str, ...]
) -> tuple[tuple[str, int | None], ...]:
    """Each field an item shows, in order, with its column's position in the row (None:
    computed); worked out once a page shape, not once a row."""
    plan: list[tuple[str, int | None]] = []
    for name in ARTICLE_FIELDS:
        if fields is not None and name not in fields:
            continue
        if name in _COMPUTED:
            plan.append((name, None))
        elif name in columns:
            plan.append((name, columns.index(name)))
    return tuple(plan)


def article_public(row: Any, now: datetime, fields: frozenset[str] | None = None) -> ArticleData:
    """The API's article (or the ``fields`` of it) from a row read with the summary
    columns and, where the fields want them, ``relation_columns``."""
    item: dict[str, Any] = {}
    for name, position in _item_plan(fields, row._fields):
        item[name] = _COMPUTED[name](row, now) if position is None else row[position]
    return cast_to(ArticleData, item)


def _ref_condition(table: Any, refs: Sequence[str]) -> ColumnElement[bool]:
    ids = [ref_id for ref in refs if (ref_id := parse_ref(ref)) is not None]
    slugs = [ref for ref in refs if parse_ref(ref) is None]
    conditions = []
    if ids:
        conditions.append(table.c.id.in_(ids))
    if slugs:
        conditions.append(table.c.slug.in_(slugs))
    return or_(*conditions)


def _status_condition(status: ShownStatus, now: Moment) -> ColumnElement[bool]:
    live = articles.c.deleted_at.is_(None)
    if status == ShownStatus.deleted:
        return articles.c.deleted_at.is_not(None)
    if status == ShownStatus.published:
        return and_(live, publicly_visible(now))
    if status == ShownStatus.scheduled:
        return and_(
            live, articles.c.status == ArticleStatus.published, articles.c.published_at > now
        )
    if status == ShownStatus.archived:
        # Expired articles show as archived, so they are listed with them.
        expired = and_(
            articles.c.status == ArticleStatus.published,
            articles.c.published_at <= now,
            articles.c.expires_at <= now,
        )
        return and_(live, or_(articles.c.status == status.value, expired))
    return and_(live, articles.c.status == status.value)


def filter_conditions(
    filters: ArticleFilters, viewer: Viewer, now: Moment
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if not viewer.is_editor:
        if any(status != ShownStatus.published for status in filters.statuses):
            raise Unauthorized("Only editors may list articles that are not published.")
        conditions.append(publicly_visible(now))
    elif filters.statuses:
        conditions.append(or_(*(_status_condition(s, now) for s in filters.statuses)))
    else:
        conditions.append(articles.c.deleted_at.is_(None))
    for group in filters.authors:
        links = article_authors_table
        conditions.append(
            articles.c.id.in_(
                select(links.c.article_id)
                .join(authors, authors.c.id == links.c.author_id)
                .where(_ref_condition(authors, group))
            )
        )
    # Author and entity filters are uncorrelated IN lists: the database starts from the
    # link table's index on the few articles tagged, instead of probing every article
    # (SQLite took 130 ms for a rarely used entity that way, against 30 ms for a common one).
    tag_links = article_entities_table
    for group in filters.entities:
        conditions.append(
            articles.c.id.in_(
                select(tag_links.c.article_id)
                .join(entities, entities.c.id == tag_links.c.entity_id)
                .where(_ref_condition(entities, group))
            )
        )
    if filters.entity_type:
        conditions.append(
            exists(
                select(tag_links.c.article_id)
                .join(entities, entities.c.id == tag_links.c.entity_id)
                .where(
                    tag_links.c.article_id == articles.c.id,
                    entities.c.type == filters.entity_type,
                )
            )
        )
    if filters.section:
        conditions.append(articles.c.section == filters.section)
    if filters.language:
        conditions.append(articles.c.language == filters.language)
    if filters.published_after:
        conditions.append(articles.c.published_at >= filters.published_after)
    if filters.published_before:
        conditions.append(articles.c.published_at < filters.published_before)
    return conditions


# "Now" as a bound parameter: a statement built with it serves every request.
NOW = bindparam("now", type_=articles.c.published_at.type)
NO_FILTERS = ArticleFilters()
_RELATION_FIELDS = frozenset({"authors", "entities", "corrections"})


def _list_query(
    filters: ArticleFilters, viewer: Viewer, fields: frozenset[str] | None, dialect: str
) -> Select[Any]:
    """The articles ``filters`` select for this viewer, with the columns ``fields`` need
    (relations built by the database, ``relation_columns``); unordered, at ``NOW``."""
    columns = list(SUMMARY_COLUMNS)
    if fields is not None:
        columns += [column for column in BODY_COLUMNS if column.key in fields]
    query = select(*columns).where(*filter_conditions(filters, viewer, NOW))
    if fields is None or fields & _RELATION_FIELDS:
        query = query.add_columns(*relation_columns(dialect))
    return query


@lru_cache(maxsize=256)
def _first_page_query(
    dialect: str,
    editor: bool,
    fields: frozenset[str] | None,
    order: tuple[tuple[str, bool], ...],
    searching: bool,
    quoting: bool,
) -> Select[Any]:
    """The first page of an unfiltered list (the front page, the newest stories, a search
    box's answer), built once a shape: building it took longer than running it. The time
    and a search's query are bound values."""
    plan_type = search_plan_type(dialect) if searching else None
    sort_fields = search_sort_fields(SORT_FIELDS, plan_type)
    keys = [SortKey(name, sort_fields[name], descending) for name, descending in order]
    # filter_conditions reads only whether the viewer is an editor.
    viewer = Viewer(role=Role.editor) if editor else ANONYMOUS
    query = _list_query(NO_FILTERS, viewer, fields, dialect)
    if plan_type is None:
        return page_query(query, keys, articles.c.id)
    query = plan_type.apply(query, broad=not editor)
    if quoting:
        query = plan_type.quote(query)
    return page_query(query, keys, plan_type.id_column)


async def list_articles(
    session: Reader,
    *,
    filters: ArticleFilters,
    params: ListParams,
    sort: str | None,
    fields: frozenset[str] | None,
    viewer: Viewer,
    q: str | None = None,
) -> ArticlePage:
    now = utcnow()
    dialect = dialect_of(session)
    search = plan_search(q, dialect) if q else None
    sort_fields, default_sort = search_sorting(sort, SORT_FIELDS, search, "-published_at")
    keys = parse_sort(sort, sort_fields, default=default_sort)
    values: dict[str, Any] = {"now": now}
    id_column: ColumnElement[Any] = articles.c.id
    if search is not None:
        values |= search.values
        id_column = search.id_column
    quoting = search is not None and (fields is None or "snippet" in fields)
    # The public list, unfiltered, keeps nearly every article (SearchPlan.apply).
    broad = filters.empty and not viewer.is_editor
    if params.cursor is None and filters.empty:
        order = tuple((key.name, key.descending) for key in keys)
        page = _first_page_query(
            dialect, viewer.is_editor, fields, order, search is not None, quoting
        )
        rows, next_cursor = await fetch_page(
            session,
            page,
            keys=keys,
            id_column=id_column,
            params=params,
            values=values,
            ordered=True,
        )
    else:
        query = _list_query(filters, viewer, fields, dialect)
        if search is not None:
            query = search.apply(query, broad=broad)
            if quoting:
                query = search.quote(query)
        rows, next_cursor = await fetch_page(
            session, query, keys=keys, id_column=id_column, params=params, values=values
        )
    items = [article_public(row, now, fields) for row in rows]
    if search is not None and quoting:
        snippets = await search.snippets(session, rows)
        for item, row in zip(items, rows, strict=True):
            item["snippet"] = snippets.get(row.id)
    total = None
    if params.count:
        counted = select(*SUMMARY_COLUMNS).where(*filter_conditions(filters, viewer, now))
        if search is not None:
            counted = search.apply(counted, broad=broad)
        total = await count_rows(session, counted, values)
    return ArticlePage(items, next_cursor, total)


@cache
def _article_row_query(by_id: bool, relations: bool, dialect: str) -> Select[Any]:
    """``find_article_row``'s statement, built once: building it (and the cache key
    SQLAlchemy computes for a new statement) cost as much as running it."""
    column = articles.c.id if by_id else articles.c.slug
    columns = [*SUMMARY_COLUMNS, *BODY_COLUMNS, *change_time_columns()]
    if relations:
        columns += relation_columns(dialect)
    return select(*columns).where(column == bindparam("ref", type_=column.type))


async def find_article_row(session: Reader, ref: str, *, relations: bool = False) -> Any:
    """The article row for an id or slug (bodies included), trash included, or None; with
    ``relations``, its bylines and tags too (``relation_columns``), in the same query."""
    ref_id = parse_ref(ref)
    query = _article_row_query(ref_id is not None, relations, dialect_of(session))
    return first_record(await session.execute(query, {"ref": ref_id or ref}))


def visible_to(row: Any, viewer: Viewer, now: datetime) -> bool:
    if row.deleted_at is not None:
        return False
    if viewer.is_editor:
        return True
    return bool(
        row.status == ArticleStatus.published
        and row.published_at
        and row.published_at <= now
        and not is_expired(row, now)
    )


async def get_existing_row(
    session: Reader, ref: str, viewer: Viewer, *, relations: bool = False
) -> Any:
    """The article ``ref`` names, trash included; an old slug raises ``Moved`` for editors
    and, for anyone else, only when the article is published: the redirect would tell
    a caller who may not see a draft its new slug. Else 404."""
    row = await find_article_row(session, ref, relations=relations)
    if row is None and parse_ref(ref) is None:
        current = await _moved_article(session, ref)
        if current is not None and (viewer.is_editor or visible_to(current, viewer, utcnow())):
            raise Moved(ref, current.slug)
    if row is None:
        raise NotFound(f"No article with ref {ref!r}.")
    return row


async def _moved_article(session: Reader, old_slug: str) -> Any:
    """The current slug and visibility columns of the article that had ``old_slug``."""
    redirects = table_of(SlugRedirect)
    query = (
        select(articles.c.slug, articles.c.status, articles.c.published_at, articles.c.deleted_at)
        .join(redirects, redirects.c.target_id == articles.c.id)
        .where(redirects.c.kind == KIND, redirects.c.slug == old_slug)
    )
    return (await session.execute(query)).first()


async def get_visible_row(
    session: Reader, ref: str, viewer: Viewer, *, relations: bool = False
) -> Any:
    """The article ``ref`` names, if this viewer may see it; old slugs raise ``Moved``."""
    row = await get_existing_row(session, ref, viewer, relations=relations)
    if not visible_to(row, viewer, utcnow()):
        raise NotFound(f"No article with ref {ref!r}.")
    return row


async def get_article(session: Reader, ref: str, viewer: Viewer) -> ArticleData:
    """The article as this viewer sees it (a write's answer makes its own ETag from it)."""
    article, _validators = await read_article(session, ref, viewer)
    return article


async def read_article(
    session: Reader, ref: str, viewer: Viewer, conditions: ReadConditions | None = None
) -> tuple[ArticleData, Validators]:
    """The article and its validators. With ``If-None-Match`` (or ``If-Modified-Since``)
    one query reading no body decides first, and a current copy raises ``NotModified``."""
    now = utcnow()
    if conditions is not None and conditions.present:
        state = await load_article_state(session, ref, now)
        if state is not None and visible_to(state.row, viewer, now):
            conditions.check(state.validators)
    row = await get_visible_row(session, ref, viewer, relations=True)
    article = article_public(row, now)
    return article, validators_of(row, article, now)


async def current_etag(session: AsyncSession, article_id: uuid.UUID) -> str:
    state = await load_article_state(session, str(article_id), utcnow())
    if state is None:
        raise NotFound(f"No article with id {article_id}.")
    return state.validators.etag


_SINGULAR = {"authors": "author", "entities": "entity"}
# Refs looked up in one query: well under SQLite's limit of bound parameters.
REFS_PER_QUERY = 5_000


async def find_refs(
    session: AsyncSession, table: Any, refs: Iterable[str], columns: Sequence[str] = ("id", "slug")
) -> dict[str, Any]:
    """The row of ``table`` (with ``columns``) that each ref (an id or a slug) names, keyed
    by the ref; unknown refs are left out. A query per 5,000 refs: the one resolver of an
    article's authors and entities, for one article as for an import batch."""
    wanted = sorted(set(refs))
    selected = [table.c[name] for name in dict.fromkeys(("id", "slug", *columns))]
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), REFS_PER_QUERY):
        chunk = wanted[start : start + REFS_PER_QUERY]
        rows = (await session.execute(select(*selected).where(_ref_condition(table, chunk)))).all()
        by_id = {row.id: row for row in rows}
        by_slug = {row.slug: row for row in rows}
        for ref in chunk:
            ref_id = parse_ref(ref)
            row = by_id.get(ref_id) if ref_id else by_slug.get(ref)
            if row is not None:
                found[ref] = row
    return found


async def _resolve_refs(
    session: AsyncSession, table: Any, refs: Sequence[str], field_name: str, columns: Sequence[str]
) -> list[dict[str, Any]]:
    """Rows for each ref in input order, once each; an unknown ref is a 422 that names it."""
    if not refs:
        return []
    found = await find_refs(session, table, refs, columns)
    resolved: list[dict[str, Any]] = []
    kind = _SINGULAR[field_name]
    for index, ref in enumerate(refs):
        row = found.get(ref)
        if row is None:
            raise ValidationFailed(
                f"Unknown {kind} {ref!r}.",
                loc=["body", field_name, index],
                error_type=f"unknown_{kind}",
            )
        if all(existing["id"] != row.id for existing in resolved):
            resolved.append({name: getattr(row, name) for name in columns})
    return resolved


async def resolve_authors(session: AsyncSession, refs: Sequence[str]) -> list[dict[str, Any]]:
    return await _resolve_refs(session, authors, refs, "authors", ("id", "slug", "name"))


async def resolve_entities(session: AsyncSession, refs: Sequence[str]) -> list[dict[str, Any]]:
    return await _resolve_refs(session, entities, refs, "entities", ("id", "slug", "name", "type"))
