"""Full-text search for ``q``: web-search syntax, parsed once, run on either database.

The query is parsed here, in Python, into alternatives of terms that must all match or
must not match (``ruto trump or harris -biden`` is (ruto AND trump) OR (harris AND NOT
biden), the way PostgreSQL's ``websearch_to_tsquery`` reads it). Each database then gets
the same parsed query in its own syntax, built from clean words only, so no user input
can reach either engine's query language and both find the same articles:

- PostgreSQL: ``article.search_vector``, a generated ``tsvector`` (headline weighted A,
  standfirst B, body D) under a GIN index, stemmed in the configuration of the article's
  ``language`` (migration 0005: ``unaccent``, then that language's Snowball stemmer, stop
  words kept; a trigger keeps it, migration 0008). The index is asked for the query
  stemmed in the configuration of every language in use at once; the first
  ``SEARCH_CANDIDATES`` hits that match in their own language are the list, each ranked
  once with ``ts_rank``; snippets come from ``ts_headline`` over a window of the text
  around the first match, for the page returned only.
- SQLite: the FTS5 table ``article_search`` (``porter unicode61 remove_diacritics 2``:
  English stemming for every article), kept in step with ``article`` by triggers, ranked
  by ``bm25`` with column weights 10/4/1, the best ``SEARCH_CANDIDATES`` the list;
  snippets come from ``snippet()``.

On both, a count covers the list, so it stops at ``SEARCH_CANDIDATES`` too: nothing a
search reads grows with the number of matches (bar the index's own list of hits).

Both split words alike: PostgreSQL indexes text whose separators were first turned into
spaces where SQLite's tokenizer splits (``search_charset``). Where the stemmers differ
(a language other than English; English words the two stemmers cut differently), so may
the hits.
"""

import html
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Float,
    Integer,
    Select,
    Uuid,
    bindparam,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.sql.elements import ColumnClause

from app.articles.models import articles_table
from app.articles.search_charset import SEPARATOR_CLASS
from app.db import Reader
from app.errors import ValidationFailed
from app.pagination import SortField

MAX_QUERY_LENGTH = 500
MAX_TERMS = 32
RELEVANCE = "relevance"
DEFAULT_SEARCH_SORT = "relevance,-published_at"

_SEPARATORS = re.compile(SEPARATOR_CLASS)
# Private-use characters mark matches inside snippets until the text is HTML-escaped.
_MARK_START, _MARK_STOP = "\ue000", "\ue001"
_SNIPPET_WORDS = 24
_ELLIPSIS = "…"


def words_of(value: str) -> list[str]:
    """The words of ``value`` split where both search engines split them. Case and accents
    are left to the engines (``unaccent`` on PostgreSQL, ``remove_diacritics`` on SQLite);
    composing the text first lets them fold an accent typed as a separate mark too."""
    # NUL is no separator to SQLite, but PostgreSQL refuses it in any text.
    composed = unicodedata.normalize("NFC", value.replace("\x00", " "))
    return _SEPARATORS.sub(" ", composed).split()


@dataclass(frozen=True)
class Term:
    """One word, or a phrase of several words that must follow each other."""

    words: tuple[str, ...]


@dataclass(frozen=True)
class Alternative:
    """Terms that must all be there, and terms that must not be."""

    required: tuple[Term, ...]
    excluded: tuple[Term, ...]


@dataclass(frozen=True)
class ParsedQuery:
    """Alternatives of which any one may match."""

    alternatives: tuple[Alternative, ...]


@dataclass
class _Token:
    raw: str
    quoted: bool
    negated: bool


def _lex(q: str) -> list[_Token]:
    tokens: list[_Token] = []
    position, length = 0, len(q)
    while position < length:
        char = q[position]
        if char.isspace():
            position += 1
            continue
        negated = False
        if char == "-" and position + 1 < length and not q[position + 1].isspace():
            negated = True
            position += 1
            char = q[position]
        if char == '"':
            end = q.find('"', position + 1)
            end = length if end < 0 else end  # an unclosed quote runs to the end
            tokens.append(_Token(q[position + 1 : end], quoted=True, negated=negated))
            position = end + 1
            continue
        end = position
        while end < length and not q[end].isspace() and q[end] != '"':
            end += 1
        tokens.append(_Token(q[position:end], quoted=False, negated=negated))
        position = end
    return tokens


def parse_query(q: str) -> ParsedQuery:
    """Parse web-search syntax; a query with nothing left to look for is a 422."""
    alternatives: list[Alternative] = []
    required: list[Term] = []
    excluded: list[Term] = []
    count = 0

    def close_alternative() -> None:
        # An alternative made only of exclusions would match almost everything; FTS5
        # cannot say it and nobody means it, so it is left out on both databases.
        if required:
            alternatives.append(Alternative(tuple(required), tuple(excluded)))
        required.clear()
        excluded.clear()

    for token in _lex(q):
        if not token.quoted and not token.negated and token.raw.lower() == "or":
            if required or excluded:
                close_alternative()
            continue
        words = tuple(words_of(token.raw))
        if not words:
            continue  # punctuation only: "*", "-", "()", ":" …
        count += 1
        if count > MAX_TERMS:
            raise ValidationFailed(
                f"q may hold at most {MAX_TERMS} words or phrases.",
                loc=["query", "q"],
                error_type="search_too_long",
            )
        (excluded if token.negated else required).append(Term(words))
    close_alternative()
    if not alternatives:
        raise ValidationFailed(
            "q has no word to look for: give at least one word or phrase that is not "
            "excluded with '-'.",
            loc=["query", "q"],
            error_type="search_empty",
        )
    return ParsedQuery(tuple(alternatives))


def _quoted(term: Term) -> str:
    # Words hold letters and digits only, so a double quote can never appear in them.
    return '"' + " ".join(term.words) + '"'


def fts5_query(parsed: ParsedQuery) -> str:
    """The query in FTS5 syntax: every word quoted, so FTS5 operators stay inert."""
    parts = []
    for alternative in parsed.alternatives:
        expression = "(" + " AND ".join(_quoted(term) for term in alternative.required) + ")"
        if alternative.excluded:
            excluded = " OR ".join(_quoted(term) for term in alternative.excluded)
            expression = f"({expression} NOT ({excluded}))"
        parts.append(expression)
    return " OR ".join(parts)


def websearch_query(parsed: ParsedQuery) -> str:
    """The query in ``websearch_to_tsquery`` syntax, rebuilt from clean words."""
    return " or ".join(
        " ".join(
            [_quoted(term) for term in alternative.required]
            + ["-" + _quoted(term) for term in alternative.excluded]
        )
        for alternative in parsed.alternatives
    )


def _snippet_html(raw: str | None) -> str | None:
    if raw is None:
        return None
    # Paragraph breaks and the joins between fields mean nothing inside one passage.
    escaped = html.escape(" ".join(raw.split()), quote=False)
    return escaped.replace(_MARK_START, "<mark>").replace(_MARK_STOP, "</mark>")


class SearchPlan(ABC):
    """How a parsed query filters, ranks and quotes articles on one database. The
    statements are the same for every query, so a list statement is built once a shape:
    the query goes in as bound ``values``."""

    # The relevance sort key: lower is better, so ascending order is best first.
    rank: ClassVar[SortField]
    # Sort fields read from what ``apply`` joins instead of from the article row.
    sort_fields: ClassVar[dict[str, SortField]] = {}
    # The article id the list's order ends with.
    id_column: ClassVar[ColumnElement[Any]] = articles_table.c.id

    def __init__(self, parsed: ParsedQuery) -> None:
        self.parsed = parsed

    @property
    @abstractmethod
    def values(self) -> dict[str, Any]:
        """The bound values of the statements ``apply`` and ``snippets`` run."""

    @classmethod
    @abstractmethod
    def apply(cls, query: Select[Any], *, broad: bool = False) -> Select[Any]:
        """``query`` narrowed to the articles the search lists: the ones that match, at most
        ``SEARCH_CANDIDATES`` of them (a count covers what the list holds, so it never
        counts past the bound either). ``broad`` says that ``query``'s conditions keep
        nearly every article (the public list, unfiltered)."""

    @classmethod
    def quote(cls, query: Select[Any]) -> Select[Any]:
        """``query`` (narrowed by ``apply``) with each row's snippet, where the database
        can quote the rows of a page in the statement that reads them."""
        return query

    @abstractmethod
    async def snippets(self, session: Reader, rows: Sequence[Any]) -> dict[Any, str]:
        """The best passage of each row of a page, by id: from the rows ``quote`` made, or
        one statement."""


SEARCH_VECTOR: ColumnClause[Any] = literal_column("article.search_vector")
# The planner's estimate of the articles' number: a catalog row, not a count.
_ARCHIVE_SIZE: ColumnClause[Any] = literal_column(
    "(SELECT reltuples FROM pg_class WHERE oid = 'article'::regclass)", type_=Float()
)
# The configurations migration 0005 made: one per Snowball stemmer, and one for every
# other language (a test checks that they agree).
SNOWBALL_STEMMERS = (
    "arabic",
    "armenian",
    "basque",
    "catalan",
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "greek",
    "hindi",
    "hungarian",
    "indonesian",
    "irish",
    "italian",
    "lithuanian",
    "nepali",
    "norwegian",
    "portuguese",
    "romanian",
    "russian",
    "serbian",
    "spanish",
    "swedish",
    "tamil",
    "turkish",
    "yiddish",
)
SEARCH_CONFIGS = (*(f"newsdesk_{name}" for name in SNOWBALL_STEMMERS), "newsdesk_simple")
# Headline A, standfirst B, body D: weights {D, C, B, A}.
RANK_WEIGHTS: ColumnClause[Any] = literal_column("'{0.1, 0.2, 0.4, 1.0}'::float4[]")
# 1: divide by 1 + log(length), so long bodies do not win by length alone.
RANK_NORMALISATION = 1
# Matches listed at most: a word found in more stories than this is ranked among the first
# this many the index gives (PostgreSQL), so that a common word costs what a rare one does.
SEARCH_CANDIDATES = 1000
# The bound goes in as a parameter, like the query: the statements are built once.
_CANDIDATE_LIMIT = bindparam("search_candidates", type_=Integer)
# In a large archive the index's list of hits of a common word is itself long (0.1 s to
# read 400,000 of a million): there the public, unfiltered search first looks through the
# newest stories, this many at most, and takes their matches when there are enough.
SEARCH_RECENT_FROM = 100_000
SEARCH_RECENT_WINDOW = 4_000
_RECENT_FROM = bindparam("search_recent_from", type_=Integer)
_RECENT_WINDOW = bindparam("search_recent_window", type_=Integer)
# A snippet is looked for in this much of an article's text at most, and ts_headline, whose
# cost grows with the text it parses, reads only a window of it: from a little before the
# first place where a sought word's stem starts a word (found by a regular expression,
# much cheaper than parsing), or from the start when there is none.
SNIPPET_SOURCE_CHARS = 10_000
SNIPPET_LEAD_CHARS = 150
SNIPPET_WINDOW_CHARS = 400
HEADLINE_OPTIONS = (
    f"StartSel={_MARK_START}, StopSel={_MARK_STOP}, MaxWords={_SNIPPET_WORDS + 11}, "
    f'MinWords={_SNIPPET_WORDS - 9}, MaxFragments=2, FragmentDelimiter=" {_ELLIPSIS} "'
)


# Every statement below is built from the constant configuration names only; the query
# text is a bound parameter.
_CONFIGS = "ARRAY[" + ", ".join(f"'{name}'::regconfig" for name in SEARCH_CONFIGS) + "]"
_CANDIDATES_NAME = "search_candidates"
# The query stemmed in the configurations of the languages in use (found by skipping
# through ``ix_article_language``: one index probe a language), once a statement. ``own``
# holds its form in each configuration, by SEARCH_CONFIGS position (NULL where no article
# uses it); ``any_language`` each distinct non-empty form OR-ed, which is what the GIN
# index is asked for (a superset of the matches); ``single`` says that one configuration
# is in use, so that a hit of ``any_language`` needs no second check in its own.
# ``patterns`` holds, by the same positions, a regular expression of the stems of the
# sought words (as in the index: lower-cased and unaccented; anything not a letter or
# digit escaped) starting a word: where a snippet's window starts.
_SEARCH_QUERY = rf"""
WITH RECURSIVE languages(language) AS (
    (SELECT article.language FROM article ORDER BY article.language LIMIT 1)
    UNION ALL
    SELECT (
        SELECT article.language FROM article WHERE article.language > languages.language
        ORDER BY article.language LIMIT 1
    )
    FROM languages WHERE languages.language IS NOT NULL
), in_use AS (
    SELECT array_agg(DISTINCT array_position({_CONFIGS}, newsdesk_search_config(language)))
        AS positions
    FROM languages WHERE language IS NOT NULL
), stemmed AS (
    SELECT array_agg(
        CASE WHEN number = ANY(in_use.positions)
            THEN websearch_to_tsquery(config, :search_text) END
        ORDER BY number
    ) AS own, array_agg(
        CASE WHEN number = ANY(in_use.positions) THEN (
            SELECT '\m(?:' || string_agg(regexp_replace(stem, '\W', '\\\&', 'g'), '|') || ')'
            FROM unnest(tsvector_to_array(to_tsvector(config, :sought_words))) AS stem
        ) END
        ORDER BY number
    ) AS patterns
    FROM in_use, unnest({_CONFIGS}) WITH ORDINALITY AS stemmer(config, number)
)
SELECT stemmed.own, stemmed.patterns, (
    SELECT string_agg(DISTINCT '(' || form::text || ')', ' | ')::tsquery
    FROM unnest(stemmed.own) AS form WHERE form::text <> ''
) AS any_language, cardinality(in_use.positions) = 1 AS single
FROM stemmed, in_use
"""  # noqa: S608 (the configuration names are constants; the query is a bound parameter)
# The query in a candidate's own language: picked from ``own`` by its configuration.
_OWN_LANGUAGE = (
    f"search_query.own[array_position({_CONFIGS}, newsdesk_search_config(article.language))]"
)
# The candidates' columns the list sorts by, so that the default order (relevance, then
# newest, then id) is the order the candidates come in and PostgreSQL reads only a page of
# them, not sort every candidate after fetching its article.
_RELEVANCE: ColumnClause[Any] = literal_column(
    f"{_CANDIDATES_NAME}.sort_relevance", type_=Float(precision=53)
)
_PUBLISHED_AT: ColumnClause[Any] = literal_column(
    f"{_CANDIDATES_NAME}.published_at", type_=DateTime(timezone=True)
)
_CANDIDATE_ID: ColumnClause[Any] = literal_column(f"{_CANDIDATES_NAME}.id", type_=Uuid())


# A listed article's snippet, a column of the page (PostgreSQL computes it for the rows
# the page returns only, after the sort and the limit): its text (bounded), the place
# where a sought stem first starts a word (in the text as it is first, which is cheap and
# is what most text needs, then folded by unaccent), and a window there cut at whole
# words, quoted by ts_headline. The window's place is a guess when folding changed the
# text's length before it ("ß" -> "ss"): the lead absorbs that. OFFSET 0 keeps each
# step computed once, not inlined into every use of its result.
_POSTGRES_SNIPPET = rf"""(
SELECT ts_headline(source.config, passage.text, search_query.own[source.number], :snippet_options)
FROM search_query
CROSS JOIN LATERAL (
    SELECT newsdesk_search_config(article.language) AS config,
        array_position({_CONFIGS}, newsdesk_search_config(article.language)) AS number,
        left(concat_ws(E'\n', article.headline, article.standfirst, article.body_text),
             :snippet_source_chars) AS document
    OFFSET 0
) AS source
CROSS JOIN LATERAL (
    SELECT greatest(coalesce(
        nullif(strpos(regexp_replace(source.document, search_query.patterns[source.number],
                                     U&'\E000', 'i'), U&'\E000'), 0),
        nullif(strpos(regexp_replace(unaccent(source.document),
                                     search_query.patterns[source.number], U&'\E000', 'i'),
                      U&'\E000'), 0),
        1
    ) - :snippet_lead_chars, 1) AS first
    OFFSET 0
) AS place
CROSS JOIN LATERAL (
    SELECT regexp_replace(
        regexp_replace(
            substr(source.document, place.first, :snippet_window_chars),
            CASE WHEN place.first > 1 THEN '^\S*\s+' ELSE '^' END, ''
        ),
        CASE WHEN length(source.document) >= place.first + :snippet_window_chars
            THEN '\s+\S*$' ELSE '$' END, ''
    ) AS text
) AS passage
) AS snippet"""  # noqa: S608 (constants only; the query is a bound parameter)


_SEARCH_QUERY_CTE = (
    text(_SEARCH_QUERY)
    .columns(
        literal_column("own"),
        literal_column("patterns"),
        literal_column("any_language"),
        literal_column("single"),
    )
    .cte("search_query")
    .prefix_with("MATERIALIZED")
)
_OWN_LANGUAGE_QUERY: ColumnClause[Any] = literal_column(_OWN_LANGUAGE)
_SNIPPET_COLUMN = text(_POSTGRES_SNIPPET).bindparams(
    snippet_options=HEADLINE_OPTIONS,
    snippet_source_chars=SNIPPET_SOURCE_CHARS,
    snippet_lead_chars=SNIPPET_LEAD_CHARS,
    snippet_window_chars=SNIPPET_WINDOW_CHARS,
)


class PostgresSearch(SearchPlan):
    """Each article's vector is stemmed in its own language's configuration. The GIN index
    is asked for the query stemmed in every configuration in use at once (a superset);
    each candidate is then checked (unless one configuration is in use) and ranked with
    its own language's query, once, and the list reads the candidates in its default
    order, so that only a page of them is joined to its articles."""

    # Negated so that ascending order is best first; float8 so that the value in a cursor
    # compares exactly equal to the one computed again on the next page.
    rank = SortField(_RELEVANCE, "float")
    sort_fields = {"published_at": SortField(_PUBLISHED_AT, "datetime", nullable=True)}
    id_column = _CANDIDATE_ID

    def __init__(self, parsed: ParsedQuery) -> None:
        super().__init__(parsed)
        self.text = websearch_query(parsed)
        # The words a snippet should show: those of every alternative, exclusions left out.
        self.sought_words = " ".join(
            word
            for alternative in parsed.alternatives
            for term in alternative.required
            for word in term.words
        )

    @property
    def values(self) -> dict[str, Any]:
        return {
            "search_text": self.text,
            "sought_words": self.sought_words,
            "search_candidates": SEARCH_CANDIDATES,
            "search_recent_from": SEARCH_RECENT_FROM,
            "search_recent_window": SEARCH_RECENT_WINDOW,
        }

    @classmethod
    def apply(cls, query: Select[Any], *, broad: bool = False) -> Select[Any]:
        # The candidates: the first SEARCH_CANDIDATES articles, in the index's order, that
        # the query finds in their own language and the list's filters keep, each ranked
        # once. What this reads is bounded (bar the index's own list of hits), however
        # common the words.
        candidates = _matches(articles_table).limit(_CANDIDATE_LIMIT)
        if query.whereclause is not None and broad:
            # Checked on each hit, behind a fence (a subquery the planner keeps whole): with
            # the time a bound value, a generic plan cannot tell that "published by now"
            # keeps nearly every article, and would intersect the index's hits with the
            # listing index's (at a million stories, 0.3 s of the 0.45 s a search took).
            kept = select(query.whereclause).correlate(articles_table).offset(0)
            candidates = candidates.where(kept.scalar_subquery())
        elif query.whereclause is not None:
            candidates = candidates.where(query.whereclause)
        if broad:
            candidates = _newest_first_when_common(query, candidates)
        found = candidates.subquery("found")
        # In the list's default order; OFFSET 0 keeps the subquery (and its order) whole.
        ordered = (
            select(found)
            .order_by(
                found.c.sort_relevance,
                found.c.published_at.desc().nulls_last(),
                found.c.id.desc(),
            )
            .offset(0)
            .subquery(_CANDIDATES_NAME)
        )
        return query.join(ordered, ordered.c.id == articles_table.c.id)

    @classmethod
    def quote(cls, query: Select[Any]) -> Select[Any]:
        return query.add_columns(_SNIPPET_COLUMN)

    async def snippets(self, session: Reader, rows: Sequence[Any]) -> dict[Any, str]:
        return {
            row.id: snippet for row in rows if (snippet := _snippet_html(row.snippet)) is not None
        }


def _matches(source: Any) -> Select[Any]:
    """The articles of ``source`` (the table, or a subquery of its columns named after it)
    that the query finds in their own language, each ranked once."""
    search_query = _SEARCH_QUERY_CTE
    score = func.ts_rank(RANK_WEIGHTS, SEARCH_VECTOR, _OWN_LANGUAGE_QUERY, RANK_NORMALISATION)
    return (
        select(
            source.c.id.label("id"),
            source.c.published_at.label("published_at"),
            (-cast(score, Float(precision=53))).label("sort_relevance"),
        )
        .select_from(source)
        .join(search_query, true())
        .where(
            SEARCH_VECTOR.op("@@")(search_query.c.any_language),
            or_(search_query.c.single, SEARCH_VECTOR.op("@@")(_OWN_LANGUAGE_QUERY)),
        )
    )


def _newest_first_when_common(query: Select[Any], from_index: Select[Any]) -> Any:
    """The candidates of a public, unfiltered search: in an archive of more than
    SEARCH_RECENT_FROM stories (by the planner's count), the matches among the newest
    SEARCH_RECENT_WINDOW visible ones when they are enough (a common word: reading them
    costs a few milliseconds, where the index's list of its hits costs a hundred), else
    ``from_index``'s. Either way a set that the same query gives again, so pages follow
    on from each other."""
    table = articles_table
    newest = (
        select(
            table.c.id,
            table.c.published_at,
            table.c.language,
            SEARCH_VECTOR.label("search_vector"),
        )
        .where(_ARCHIVE_SIZE > _RECENT_FROM)
        .order_by(table.c.published_at.desc(), table.c.id.desc())
        .limit(_RECENT_WINDOW)
        .offset(0)
    )
    if query.whereclause is not None:
        newest = newest.where(query.whereclause)
    # Named as the table, which the ranking's expressions name.
    recent = _matches(newest.subquery("article")).limit(_CANDIDATE_LIMIT).cte("search_recent")
    enough = select(func.count()).select_from(recent).scalar_subquery() >= _CANDIDATE_LIMIT
    return union_all(
        select(recent.c.id, recent.c.published_at, recent.c.sort_relevance).where(enough),
        from_index.where(~enough),
    )


# bm25 weights of the FTS5 columns: 10 for the headline, 4 the standfirst, 1 the body.
_SQLITE_HITS = (
    "SELECT article_search_key.article_id AS article_id, "
    "article_search.rowid AS search_key, "
    "bm25(article_search, 10.0, 4.0, 1.0) AS score "
    "FROM article_search "
    "JOIN article_search_key ON article_search_key.id = article_search.rowid "
    "WHERE article_search MATCH :search_expression"
)
_SQLITE_SNIPPETS = (
    "SELECT rowid, snippet(article_search, -1, :mark_start, :mark_stop, :ellipsis, :words) "
    "FROM article_search WHERE article_search MATCH :search_expression AND rowid IN :keys"
)


_SQLITE_HITS_TEXT = text(_SQLITE_HITS).columns(
    article_id=Uuid(), search_key=Integer(), score=Float()
)
_SQLITE_HITS_SUBQUERY = _SQLITE_HITS_TEXT.subquery("search_hits")
_SQLITE_SNIPPETS_STATEMENT = text(_SQLITE_SNIPPETS).bindparams(bindparam("keys", expanding=True))


class SqliteSearch(SearchPlan):
    # bm25 is lower for better matches: ascending order is best first.
    rank = SortField(_SQLITE_HITS_SUBQUERY.c.score, "float")

    def __init__(self, parsed: ParsedQuery) -> None:
        super().__init__(parsed)
        self.expression = fts5_query(parsed)

    @property
    def values(self) -> dict[str, Any]:
        return {"search_expression": self.expression, "search_candidates": SEARCH_CANDIDATES}

    @classmethod
    def apply(cls, query: Select[Any], *, broad: bool = False) -> Select[Any]:
        # FTS5 ranks every match by bm25 inside the index, so the bound keeps the best
        # SEARCH_CANDIDATES of the matches the list's filters keep: the same bound as on
        # PostgreSQL, for the same list and count.
        hits = _SQLITE_HITS_SUBQUERY
        best = _SQLITE_HITS_TEXT.subquery("best_hits")
        kept = (
            select(best.c.search_key)
            .join(articles_table, articles_table.c.id == best.c.article_id)
            .order_by(best.c.score)
            .limit(_CANDIDATE_LIMIT)
        )
        if query.whereclause is not None:
            kept = kept.where(query.whereclause)
        return (
            query.join(hits, hits.c.article_id == articles_table.c.id)
            .where(hits.c.search_key.in_(kept.scalar_subquery()))
            .add_columns(hits.c.search_key)
        )

    async def snippets(self, session: Reader, rows: Sequence[Any]) -> dict[Any, str]:
        if not rows:
            return {}
        keys = {int(row.search_key): row.id for row in rows}
        values = {
            "keys": list(keys),
            "mark_start": _MARK_START,
            "mark_stop": _MARK_STOP,
            "ellipsis": _ELLIPSIS,
            "words": _SNIPPET_WORDS,
            "search_expression": self.expression,
        }
        return {
            keys[int(key)]: snippet
            for key, raw in await session.execute(_SQLITE_SNIPPETS_STATEMENT, values)
            if (snippet := _snippet_html(raw)) is not None
        }


def search_plan_type(dialect_name: str) -> type[SearchPlan]:
    return PostgresSearch if dialect_name == "postgresql" else SqliteSearch


def plan_search(q: str, dialect_name: str) -> SearchPlan:
    return search_plan_type(dialect_name)(parse_query(q))


def search_sort_fields(
    base: dict[str, SortField], plan_type: type[SearchPlan] | None
) -> dict[str, SortField]:
    """The sort fields of a list, with ``relevance`` (and what the search reads in place of
    the article's own columns) when searching."""
    if plan_type is None:
        return base
    return base | plan_type.sort_fields | {RELEVANCE: plan_type.rank}


def search_sorting(
    sort: str | None, base: dict[str, SortField], plan: SearchPlan | None, default: str
) -> tuple[dict[str, SortField], str]:
    """The sort fields and default sort of a list, with ``relevance`` when searching."""
    if plan is None:
        names = {part.strip().lstrip("-+") for part in (sort or "").split(",")}
        if RELEVANCE in names:
            raise ValidationFailed(
                "sort=relevance needs a search: add q.",
                loc=["query", "sort"],
                error_type="sort_needs_q",
            )
        return base, default
    return search_sort_fields(base, type(plan)), DEFAULT_SEARCH_SORT
