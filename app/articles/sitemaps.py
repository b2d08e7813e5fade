"""Sitemaps of the published articles: an index of monthly sitemaps, and a Google News
sitemap of the last 48 hours.

Each document is written with lxml's incremental writer while the rows stream from the
database a partition at a time, so no sitemap holds more than one partition of rows in
memory, and none more than ``sitemap_max_urls`` URLs (50,000, the protocol's limit) in all:
a month over that is split into numbered parts. Months and parts are found by one grouped
query over the live articles, which the (status, published_at, id) index serves.
"""

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Path, Request, Response
from lxml import etree
from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.articles.feeds import xml_text
from app.articles.models import publicly_visible
from app.articles.queries import articles, dialect_of
from app.articles.site import Site, article_url, current_site
from app.conditional import ContentValidatorsDep, cached_read_responses, document_response
from app.db import SessionDep, utcnow
from app.errors import NotFound
from app.problems import problem_responses

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
XML_MEDIA_TYPE = "application/xml; charset=utf-8"
NEWS_WINDOW = timedelta(hours=48)
NEWS_LIMIT = 1_000
# Rows fetched from the database at a time while a sitemap is written.
PARTITION = 1_000
URL_COLUMNS = (
    articles.c.id,
    articles.c.slug,
    articles.c.section,
    articles.c.canonical_url,
    articles.c.published_at,
    articles.c.updated_at,
)

router = APIRouter(prefix="/v1/sitemaps", tags=["sitemaps"])


@dataclass(frozen=True)
class SitemapPart:
    """One file of the index: a month (``2024-11``), its part number (1 for the first)
    and the newest ``updated_at`` of the month's articles."""

    month: str
    part: int
    lastmod: datetime

    @property
    def name(self) -> str:
        suffix = "" if self.part == 1 else f"-{self.part}"
        return f"articles-{self.month}{suffix}.xml"


def w3c_time(moment: datetime) -> str:
    """A W3C datetime in UTC, to the second: what sitemaps and Google News read."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def listed(now: datetime, site: Site) -> list[ColumnElement[bool]]:
    """What a sitemap may list: what anonymous callers see, with a page URL. Without a
    template only articles with a ``canonical_url`` have one."""
    has_url = true() if site.url_template else articles.c.canonical_url.is_not(None)
    return [publicly_visible(now), has_url]


def _month_of(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", articles.c.published_at), "YYYY-MM")
    return func.strftime("%Y-%m", articles.c.published_at)


async def sitemap_parts(session: AsyncSession, site: Site) -> list[SitemapPart]:
    """Every file of the index, oldest month first."""
    month = _month_of(dialect_of(session)).label("month")
    query = (
        select(month, func.count().label("urls"), func.max(articles.c.updated_at).label("lastmod"))
        .where(*listed(utcnow(), site))
        .group_by(month)
        .order_by(month)
    )
    parts: list[SitemapPart] = []
    for row in await session.execute(query):
        count = -(-row.urls // site.sitemap_max_urls)
        parts += [SitemapPart(row.month, part, row.lastmod) for part in range(1, count + 1)]
    return parts


def _month_range(month: str) -> tuple[datetime, datetime]:
    year, number = (int(value) for value in month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _month_query(month: str, part: int, site: Site) -> Select[Any]:
    start, end = _month_range(month)
    return (
        select(*URL_COLUMNS)
        .where(*listed(utcnow(), site), articles.c.published_at >= start)
        .where(articles.c.published_at < end)
        .order_by(articles.c.published_at, articles.c.id)
        .offset((part - 1) * site.sitemap_max_urls)
        .limit(site.sitemap_max_urls)
    )


def _news_query(site: Site) -> Select[Any]:
    now = utcnow()
    return (
        select(*URL_COLUMNS, articles.c.headline, articles.c.language)
        .where(*listed(now, site), articles.c.published_at > now - NEWS_WINDOW)
        .order_by(articles.c.published_at.desc(), articles.c.id.desc())
        .limit(NEWS_LIMIT)
    )


def _child(parent: Any, namespace: str, tag: str, text: str) -> Any:
    element = etree.SubElement(parent, f"{{{namespace}}}{tag}")
    element.text = text
    return element


def news_language(tag: str) -> str:
    """The language as Google News wants it: ISO 639 (``en``), except Chinese, which it
    takes as ``zh-cn`` (simplified) or ``zh-tw`` (traditional)."""
    parts = tag.lower().split("-")
    if parts[0] == "zh":
        return "zh-tw" if {"tw", "hk", "mo", "hant"} & set(parts[1:]) else "zh-cn"
    return parts[0]


async def write_urlset(
    session: AsyncSession, query: Select[Any], site: Site, *, news: bool
) -> tuple[bytes, int]:
    """A ``urlset`` of the articles ``query`` yields, streamed from the database a
    partition at a time into lxml's incremental writer; and how many URLs it holds."""
    count = 0
    buffer = io.BytesIO()
    nsmap = {None: SITEMAP_NS} | ({"news": NEWS_NS} if news else {})
    result = await session.stream(query.execution_options(yield_per=PARTITION))
    with etree.xmlfile(buffer, encoding="utf-8") as document:
        document.write_declaration()
        with document.element(f"{{{SITEMAP_NS}}}urlset", nsmap=nsmap):
            async for partition in result.partitions():
                for row in partition:
                    document.write(_url_element(row, site, news=news))
                count += len(partition)
    return buffer.getvalue(), count


def _url_element(row: Any, site: Site, *, news: bool) -> Any:
    url = etree.Element(f"{{{SITEMAP_NS}}}url")
    _child(url, SITEMAP_NS, "loc", article_url(row, site) or "")
    _child(url, SITEMAP_NS, "lastmod", w3c_time(row.updated_at))
    if news:
        story = etree.SubElement(url, f"{{{NEWS_NS}}}news")
        publication = etree.SubElement(story, f"{{{NEWS_NS}}}publication")
        _child(publication, NEWS_NS, "name", xml_text(site.publication_name))
        _child(publication, NEWS_NS, "language", news_language(row.language))
        _child(story, NEWS_NS, "publication_date", w3c_time(row.published_at))
        _child(story, NEWS_NS, "title", xml_text(row.headline))
    return url


def write_index(parts: Sequence[SitemapPart], base_url: str) -> bytes:
    root = etree.Element(f"{{{SITEMAP_NS}}}sitemapindex", nsmap={None: SITEMAP_NS})
    for part in parts:
        entry = etree.SubElement(root, f"{{{SITEMAP_NS}}}sitemap")
        _child(entry, SITEMAP_NS, "loc", f"{base_url}v1/sitemaps/{part.name}")
        _child(entry, SITEMAP_NS, "lastmod", w3c_time(part.lastmod))
    result: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return result


_PERIOD = re.compile(r"(?P<month>\d{4}-(?:0[1-9]|1[0-2]))(?:-(?P<part>[2-9]|[1-9]\d+))?")


def parse_period(period: str) -> tuple[str, int]:
    """``2024-11`` or ``2024-11-2`` as (month, part); anything else names no sitemap."""
    match = _PERIOD.fullmatch(period)
    if match is None:
        raise NotFound(f"No sitemap articles-{period}.xml.")
    return match["month"], int(match["part"] or 1)


def _xml(body: bytes, validators: Any) -> Response:
    return Response(body, media_type=XML_MEDIA_TYPE, headers=validators.headers())


SITEMAP_RESPONSES = cached_read_responses() | document_response(
    "An XML sitemap (sitemaps.org 0.9).", "application/xml", schema_type="string"
)


@router.get(
    "/articles.xml",
    operation_id="getSitemapIndex",
    summary="Sitemap index of the articles, one sitemap a month",
    response_class=Response,
    responses=SITEMAP_RESPONSES | problem_responses(503),
)
async def sitemap_index(
    request: Request, session: SessionDep, validators: ContentValidatorsDep
) -> Response:
    """A sitemap index (sitemaps.org 0.9) listing one sitemap per calendar month (UTC)
    that has published articles with a page URL (`url`), oldest month first:
    `/v1/sitemaps/articles-YYYY-MM.xml`. Each entry's `lastmod` is the newest `updated_at`
    of that month's articles. A month of more than 50,000 articles is split into
    `articles-YYYY-MM.xml`, `articles-YYYY-MM-2.xml`, … (each part carries the month's
    `lastmod`). Submit this URL to search engines; it carries an `ETag` and answers
    `If-None-Match` with `304` while nothing changed."""
    site = current_site()
    parts = await sitemap_parts(session, site)
    return _xml(write_index(parts, str(request.base_url)), validators)


@router.get(
    "/news.xml",
    operation_id="getNewsSitemap",
    summary="Google News sitemap of the last 48 hours",
    response_class=Response,
    responses=SITEMAP_RESPONSES | problem_responses(503),
)
async def news_sitemap(session: SessionDep, validators: ContentValidatorsDep) -> Response:
    """A Google News sitemap: the articles published in the last 48 hours (at most
    1,000, newest first) that have a page URL, each with `loc` (`url`), `lastmod`
    (`updated_at`) and `news:news`: `news:publication` (`name` is
    `NEWSDESK_PUBLICATION_NAME`, `language` the article's language as ISO 639, `zh-cn` or
    `zh-tw` for Chinese), `news:publication_date` (`published_at`) and `news:title` (the
    headline). An article leaves it when it turns 48 hours old with the next change of
    content (Google ignores older entries meanwhile), or at once when it expires."""
    site = current_site()
    body, _count = await write_urlset(session, _news_query(site), site, news=True)
    return _xml(body, validators)


@router.get(
    "/articles-{period}.xml",
    operation_id="getMonthSitemap",
    summary="Sitemap of one month's articles",
    response_class=Response,
    responses=SITEMAP_RESPONSES | problem_responses(404, 503),
)
async def month_sitemap(
    session: SessionDep,
    validators: ContentValidatorsDep,
    period: str = Path(
        description="The month (`YYYY-MM`, UTC), then `-N` for its Nth part when it is split.",
        examples=["2024-11"],
    ),
) -> Response:
    """A `urlset` of the month's published articles that have a page URL, oldest first:
    `loc` is the article's `url`, `lastmod` its `updated_at`. At most 50,000 URLs: the
    rest of a larger month is in the parts the index lists. A month or part that the
    index does not list is a `404`."""
    month, part = parse_period(period)
    site = current_site()
    body, count = await write_urlset(session, _month_query(month, part, site), site, news=False)
    if count == 0:
        raise NotFound(f"No sitemap articles-{period}.xml: the index does not list it.")
    return _xml(body, validators)
