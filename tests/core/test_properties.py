"""Property-based tests of everything that reads untrusted text: cursors, filters, dates,
search queries and Markdown. Whatever comes in, the answer is a value of the promised
shape or a 400/422 problem, never a 500, and rendered HTML is always sanitised.

Example counts are kept small so that the suite stays fast; a failure prints the input
that caused it.
"""

import base64
import html
import json
import math
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.articles.history import REVISION_SORT
from app.articles.params import MAX_FILTER_REFS, filter_ref_groups, parse_instant
from app.articles.queries import SORT_FIELDS
from app.articles.render import MAX_NESTING_DEPTH, render_body
from app.articles.search import fts5_query, parse_query, websearch_query, words_of
from app.errors import BadRequest, ValidationFailed
from app.pagination import SortField, SortKey, decode_cursor, parse_sort
from tests.conftest import EDITOR

FAST = settings(max_examples=150, deadline=None)
THROUGH_THE_API = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def outcome(function: Callable[..., Any], *args: Any) -> tuple[Any, ValidationFailed | None]:
    """What ``function`` returns, or the 422 it raises (anything else fails the test)."""
    try:
        return function(*args), None
    except ValidationFailed as exc:
        return None, exc


def error_of(refused: ValidationFailed) -> dict[str, Any]:
    assert refused.errors is not None
    assert len(refused.errors) == 1
    return refused.errors[0]


# Cursors

FLOAT_SORT = {"score": SortField(SORT_FIELDS["headline"].column, "float")}
SORTS = [
    parse_sort("-published_at", SORT_FIELDS, default="-published_at"),
    parse_sort("headline,created_at", SORT_FIELDS, default="-published_at"),
    parse_sort("-version", REVISION_SORT, default="-version"),
    [SortKey("score", FLOAT_SORT["score"], descending=True)],
]
SORT_NAMES = ["-published_at", "headline,created_at", "-version", "-score", "published_at"]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.datetimes(timezones=st.none() | st.timezones()).map(datetime.isoformat),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
sort_values = (
    st.none()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
    ).map(datetime.isoformat)
    | st.sampled_from(["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "nul\x00"])
)
last_ids = st.uuids().map(lambda value: value.hex) | st.text(max_size=40) | st.integers()


def _token(payload: Any) -> str:
    # The standard library's encoder: a client may send integers of any size.
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


well_shaped_cursors = st.builds(
    lambda sort, values, last: _token({"s": sort, "v": [*values, last]}),
    st.sampled_from(SORT_NAMES),
    st.lists(sort_values, min_size=1, max_size=3),
    last_ids,
)
cursors = (
    well_shaped_cursors
    | json_values.map(_token)
    | st.text(max_size=60)
    | st.binary(max_size=60).map(lambda raw: base64.urlsafe_b64encode(raw).decode())
)


@FAST
@given(token=cursors, keys=st.sampled_from(SORTS))
def test_a_cursor_decodes_to_values_the_database_can_take_or_is_a_400(
    token: str, keys: list[SortKey]
) -> None:
    try:
        values = decode_cursor(token, keys)
    except BadRequest:
        return
    *sorted_by, last_id = values
    assert isinstance(last_id, uuid.UUID)
    for key, value in zip(keys, sorted_by, strict=True):
        if value is None:
            continue
        if key.field.kind == "datetime":
            assert value.tzinfo is UTC
        elif key.field.kind == "int":
            assert -(2**31) <= value < 2**31
        elif key.field.kind == "str":
            assert "\x00" not in value
        else:
            assert math.isfinite(value)


@THROUGH_THE_API
@given(token=well_shaped_cursors | st.text(max_size=40), sort=st.sampled_from(SORT_NAMES))
def test_no_cursor_makes_a_list_fail(client: TestClient, token: str, sort: str) -> None:
    response = client.get("/v1/articles", params={"cursor": token, "sort": sort}, headers=EDITOR)
    assert response.status_code in {200, 400, 422}, response.text


# Dates

instants = (
    st.text(max_size=40)
    | st.datetimes(timezones=st.none() | st.timezones()).map(datetime.isoformat)
    | st.dates().map(lambda day: day.isoformat())
    | st.builds(
        lambda day, offset: f"{day.isoformat()}T23:59:59{offset}",
        st.dates(),
        st.sampled_from(["-23:59", "+23:59", "Z", "z", "+00:00", ""]),
    )
)


@FAST
@given(value=instants)
def test_a_date_filter_is_a_utc_instant_or_a_422(value: str) -> None:
    parsed, refused = outcome(parse_instant, value, "published_after")
    if refused is not None:
        assert refused.errors == [
            {"loc": ["query", "published_after"], "msg": refused.detail, "type": "datetime_parsing"}
        ]
        return
    assert parsed is None or parsed.tzinfo is UTC


@THROUGH_THE_API
@given(after=instants, before=instants)
def test_no_date_filter_makes_a_list_fail(client: TestClient, after: str, before: str) -> None:
    params = {"published_after": after, "published_before": before}
    response = client.get("/v1/articles", params=params)
    assert response.status_code in {200, 422}, response.text


# Author and entity filters

refs = st.text(alphabet=st.sampled_from("abc-,0123 \t"), max_size=12) | st.uuids().map(str)
ref_lists = st.lists(refs, max_size=60)


@FAST
@given(author=ref_lists, entity=ref_lists)
def test_filters_are_groups_of_clean_refs_within_the_limit_or_a_422(
    author: list[str], entity: list[str]
) -> None:
    groups_found, refused = outcome(filter_ref_groups, author, entity)
    if refused is not None:
        assert error_of(refused)["type"] == "too_many_refs"
        return
    authors, entities = groups_found
    groups = [*authors, *entities]
    assert sum(len(group) for group in groups) <= MAX_FILTER_REFS
    assert len(author) + len(entity) <= MAX_FILTER_REFS
    for group in groups:
        assert group
        assert all(ref and ref == ref.strip() and "," not in ref for ref in group)


@THROUGH_THE_API
@given(author=ref_lists, entity=ref_lists, entity_type=st.text(max_size=10))
def test_no_filter_makes_a_list_or_a_feed_fail(
    client: TestClient, author: list[str], entity: list[str], entity_type: str
) -> None:
    params: dict[str, Any] = {"author": author, "entity": entity}
    listed = client.get("/v1/articles", params=params | {"entity_type": entity_type})
    assert listed.status_code in {200, 422}, listed.text
    feed = client.get("/v1/feeds/articles.atom", params=params)
    assert feed.status_code in {200, 422}, feed.text


# Search queries

queries = st.text(max_size=80) | st.lists(
    st.sampled_from(['"', "-", "or", "OR", "*", "(", ")", ":", "^", "NEAR", "ruto", " ", "é"])
    | st.text(max_size=6),
    max_size=25,
).map("".join)


@FAST
@given(q=queries)
def test_a_search_query_parses_to_clean_words_or_a_422(q: str) -> None:
    parsed, refused = outcome(parse_query, q)
    if refused is not None:
        assert error_of(refused)["loc"] == ["query", "q"]
        return
    assert parsed.alternatives
    for alternative in parsed.alternatives:
        assert alternative.required
        for term in (*alternative.required, *alternative.excluded):
            assert term.words
            for word in term.words:
                # Letters and digits only: nothing a search engine reads as syntax.
                assert words_of(word) == [word]
                assert '"' not in word
                assert "\x00" not in word
    assert fts5_query(parsed).count('"') % 2 == 0
    assert websearch_query(parsed).count('"') % 2 == 0


@THROUGH_THE_API
@given(q=queries)
def test_no_search_makes_a_list_fail(client: TestClient, q: str) -> None:
    response = client.get("/v1/articles", params={"q": q})
    assert response.status_code in {200, 422}, response.text


# Markdown

DANGEROUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//x.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<a href='jav&#x09;ascript:alert(1)'>x</a>",
    '<a href="&#106;avascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "![x](javascript:alert(1))",
    "[x]( javascript:alert(1) )",
    "<svg onload=alert(1)>",
    "<math><mi xlink:href='javascript:alert(1)'>x</mi></math>",
    "<iframe src=//x.example></iframe>",
    "<style>*{}</style>",
    '<div style="background:url(javascript:alert(1))" onclick="alert(1)">x</div>',
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<base href=//x.example/>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<object data=javascript:alert(1)></object>",
    "<!-- <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<a href=vbscript:msgbox(1)>x</a>",
    "<a href=data:text/html,<script>alert(1)</script>>x</a>",
    "<p onmouseover=alert(1)>x</p>",
    "<<script>script>alert(1)<</script>/script>",
]
MARKDOWN = [
    "> ", "- ", "1. ", "* ", "# ", "## ", "**", "*", "_", "`", "```\n", "    ", "|a|b|\n|-|-|\n",
    "[a](https://example.com)", "<https://example.com>", "\n", "\n\n", "<", ">", '"', "'", "&",
    "<div>", "</div>", "<blockquote>", "<ul><li>", "</li></ul>", "<b>", "</b>", "<pre>", "x",
]  # fmt: skip
bodies = st.lists(
    st.sampled_from(DANGEROUS) | st.sampled_from(MARKDOWN) | st.text(max_size=10), max_size=40
).map("".join)

_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "background"}
_FORBIDDEN_TAGS = {
    "script", "style", "iframe", "object", "embed", "svg", "math", "form", "base", "meta",
    "link", "button",
}  # fmt: skip
_SCHEME_NOISE = re.compile(r"[\x00-\x20]+")


class _Inspector(HTMLParser):
    """Collects what a browser would act on: tags, attributes, URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _FORBIDDEN_TAGS:
            self.problems.append(f"tag {tag}")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.problems.append(f"attribute {name} on {tag}")
            if name in _URL_ATTRIBUTES and value is not None:
                url = _SCHEME_NOISE.sub("", value).lower()
                if url.startswith(("javascript:", "vbscript:", "data:")):
                    self.problems.append(f"{name}={value!r} on {tag}")


def unsafe_parts(body_html: str) -> list[str]:
    inspector = _Inspector()
    inspector.feed(body_html)
    inspector.close()
    if "<script" in body_html.lower():
        inspector.problems.append("<script")
    return inspector.problems


def test_the_inspector_sees_what_it_looks_for() -> None:
    """The checks below mean something only if unsanitised HTML fails them."""
    for dangerous in DANGEROUS[:6] + DANGEROUS[10:19]:
        assert unsafe_parts(dangerous), dangerous


@FAST
@given(markdown=bodies)
def test_markdown_renders_to_sanitised_html_or_a_422(markdown: str) -> None:
    rendered, refused = outcome(render_body, markdown)
    if refused is not None:
        assert error_of(refused)["loc"] == ["body", "body"]
        return
    assert unsafe_parts(rendered.html) == []
    assert "<" not in html.unescape(rendered.text) or "<" in markdown
    assert rendered.word_count >= 0


@FAST
@given(depth=st.integers(min_value=1, max_value=3 * MAX_NESTING_DEPTH), kind=st.sampled_from("<>-"))
def test_nesting_is_refused_exactly_past_the_limit(depth: int, kind: str) -> None:
    markdown = {
        ">": ">" * depth + " x",
        "<": "<blockquote>" * depth + "x",
        "-": "".join("  " * level + "- x\n" for level in range(depth)),
    }[kind]
    _rendered, refused = outcome(render_body, markdown)
    if refused is not None:
        assert error_of(refused)["type"] == "body_too_deep"
    assert (refused is not None) == (depth > MAX_NESTING_DEPTH)


@THROUGH_THE_API
@given(markdown=bodies)
def test_no_body_makes_a_write_fail_and_what_is_stored_is_sanitised(
    client: TestClient, markdown: str
) -> None:
    response = client.post(
        "/v1/articles", json={"headline": "Property", "body": markdown}, headers=EDITOR
    )
    assert response.status_code in {201, 422}, response.text
    if response.status_code == 201:
        assert unsafe_parts(response.json()["body_html"]) == []


@pytest.mark.parametrize("dangerous", DANGEROUS)
def test_each_known_attack_is_sanitised(dangerous: str) -> None:
    assert unsafe_parts(render_body(dangerous).html) == []
