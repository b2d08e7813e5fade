"""Sitemaps of the published articles: an index of monthly sitemaps, and a Google News
sitemap of the last 48 hours.

Each document is written with lxml's incremental writer while the rows come from the
database a page at a time (5,000 rows, by keyset), so no sitemap holds more than one page
of rows in memory, and none more than ``sitemap_max_urls`` URLs (50,000, the protocol's
limit) in all: a month over that is split into numbered parts. Months and parts are found
by one grouped query over the live articles, which the (status, published_at, id) index
serves.
"""

import io
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Path, Request, Response
from lxml import etree
from sqlalchemy import ColumnElement, Select, func, select, true, tuple_

from app.articles.feeds import xml_text
from app.articles.models import HEADLINE_EXAMPLE, publicly_visible
from app.articles.queries import articles, dialect_of
from app.articles.site import Site, article_url, current_site
from app.conditional import ContentValidatorsDep, cached_read_responses, document_response
from app.db import Reader, SessionDep, utcnow
from app.errors import NotFound
from app.problems import problem_responses
from app.responses import api_router

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
XML_MEDIA_TYPE = "application/xml; charset=utf-8"
NEWS_WINDOW = timedelta(hours=48)
NEWS_LIMIT = 1_000
# Rows read from the database at a time while a month's sitemap is written.
PARTITION = 5_000
URL_COLUMNS = (
    articles.c.id,
    articles.c.slug,
    articles.c.section,
    articles.c.canonical_url,
    articles.c.published_at,
    articles.c.updated_at,
)

router = api_router(prefix="/v1/sitemaps", tags=["sitemaps"])


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
    """A W3C datetime in UTC, to the second: what sitemaps and Google News read. (Times
    come from the database in UTC already.)"""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def listed(now: datetime, site: Site) -> list[ColumnElement[bool]]:
    """What a sitemap may list: what anonymous callers see, with a page URL. Without a
    template only articles with a ``canonical_url`` have one."""
    has_url = true() if site.url_template else articles.c.canonical_url.is_not(None)
    return [publicly_visible(now), has_url]


def _month_of(dialect: str) -> Any:
    if dialect == "postgresql":
        # date_trunc costs a tenth of to_char over every live article; formatted after.
        return func.date_trunc("month", func.timezone("UTC", articles.c.published_at))
    return func.strftime("%Y-%m", articles.c.published_at)


async def sitemap_parts(session: Reader, site: Site) -> list[SitemapPart]:
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
        name = row.month if isinstance(row.month, str) else f"{row.month:%Y-%m}"
        count = -(-row.urls // site.sitemap_max_urls)
        parts += [SitemapPart(name, part, row.lastmod) for part in range(1, count + 1)]
    return parts


def _month_range(month: str) -> tuple[datetime, datetime]:
    year, number = (int(value) for value in month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _month_query(month: str, site: Site) -> Select[Any]:
    """The month's listed articles, oldest first; the caller pages through them."""
    start, end = _month_range(month)
    return (
        select(*URL_COLUMNS)
        .where(*listed(utcnow(), site), articles.c.published_at >= start)
        .where(articles.c.published_at < end)
        .order_by(articles.c.published_at, articles.c.id)
    )


async def month_rows(
    session: Reader, month: str, part: int, site: Site
) -> AsyncIterator[Sequence[Any]]:
    """The rows of one part of a month's sitemap, ``PARTITION`` at a time: the first
    page skips the earlier parts, the next ones go on from the last row seen (a keyset on
    the (published_at, id) order, which the index serves)."""
    query = _month_query(month, site)
    remaining = site.sitemap_max_urls
    page = query.offset((part - 1) * site.sitemap_max_urls)
    while remaining > 0:
        rows = (await session.execute(page.limit(min(PARTITION, remaining)))).all()
        if rows:
            yield rows
        if len(rows) < min(PARTITION, remaining):
            return
        remaining -= len(rows)
        last = rows[-1]
        page = query.where(
            tuple_(articles.c.published_at, articles.c.id) > tuple_(last.published_at, last.id)
        )


def _news_query(site: Site) -> Select[Any]:
    now = utcnow()
    return (
        select(*URL_COLUMNS, articles.c.headline, articles.c.language)
        .where(*listed(now, site), articles.c.published_at > now - NEWS_WINDOW)
        .order_by(articles.c.published_at.desc(), articles.c.id.desc())
        .limit(NEWS_LIMIT)
    )


def _child(parent: Any, tag: str, text: str) -> Any:
    element = etree.SubElement(parent, tag)
    element.text = text
    return element


# Qualified names, made once: a sitemap writes six elements for each of up to 50,000 URLs.
URL, LOC, LASTMOD = (f"{{{SITEMAP_NS}}}{name}" for name in ("url", "loc", "lastmod"))
NEWS, PUBLICATION, NAME, LANGUAGE, PUBLICATION_DATE, TITLE = (
    f"{{{NEWS_NS}}}{name}"
    for name in ("news", "publication", "name", "language", "publication_date", "title")
)


def news_language(tag: str) -> str:
    """The language as Google News wants it: ISO 639 (``en``), except Chinese, which it
    takes as ``zh-cn`` (simplified) or ``zh-tw`` (traditional)."""
    parts = tag.lower().split("-")
    if parts[0] == "zh":
        return "zh-tw" if {"tw", "hk", "mo", "hant"} & set(parts[1:]) else "zh-cn"
    return parts[0]


async def write_urlset(
    pages: AsyncIterator[Sequence[Any]], site: Site, *, news: bool
) -> tuple[bytes, int]:
    """A ``urlset`` of the articles in ``pages`` (rows, a page at a time, read while the
    document is written with lxml's incremental writer); and how many URLs it holds."""
    count = 0
    buffer = io.BytesIO()
    nsmap = {None: SITEMAP_NS} | ({"news": NEWS_NS} if news else {})
    with etree.xmlfile(buffer, encoding="utf-8") as document:
        document.write_declaration()
        with document.element(f"{{{SITEMAP_NS}}}urlset", nsmap=nsmap):
            async for rows in pages:
                for row in rows:
                    document.write(_url_element(row, site, news=news))
                count += len(rows)
    return buffer.getvalue(), count


async def news_rows(session: Reader, site: Site) -> AsyncIterator[Sequence[Any]]:
    """The news sitemap's rows: at most 1,000, read at once."""
    yield (await session.execute(_news_query(site))).all()


def _url_element(row: Any, site: Site, *, news: bool) -> Any:
    url = etree.Element(URL)
    _child(url, LOC, article_url(row, site) or "")
    _child(url, LASTMOD, w3c_time(row.updated_at))
    if news:
        story = etree.SubElement(url, NEWS)
        publication = etree.SubElement(story, PUBLICATION)
        _child(publication, NAME, xml_text(site.publication_name))
        _child(publication, LANGUAGE, news_language(row.language))
        _child(story, PUBLICATION_DATE, w3c_time(row.published_at))
        _child(story, TITLE, xml_text(row.headline))
    return url


def write_index(parts: Sequence[SitemapPart], base_url: str) -> bytes:
    root = etree.Element(f"{{{SITEMAP_NS}}}sitemapindex", nsmap={None: SITEMAP_NS})
    for part in parts:
        entry = etree.SubElement(root, f"{{{SITEMAP_NS}}}sitemap")
        _child(entry, LOC, f"{base_url}v1/sitemaps/{part.name}")
        _child(entry, LASTMOD, w3c_time(part.lastmod))
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


_PAGE = "https://www.example.com/politics/2024/11/ruto-congratulates-trump-in-phone-call"
INDEX_EXAMPLE = f"""<?xml version='1.0' encoding='utf-8'?>
<sitemapindex xmlns="{SITEMAP_NS}">
  <sitemap><loc>https://api.example.com/v1/sitemaps/articles-2024-10.xml</loc><lastmod>2024-10-31T17:02:11Z</lastmod></sitemap>
  <sitemap><loc>https://api.example.com/v1/sitemaps/articles-2024-11.xml</loc><lastmod>2024-11-09T07:15:00Z</lastmod></sitemap>
</sitemapindex>"""
MONTH_EXAMPLE = f"""<?xml version='1.0' encoding='utf-8'?>
<urlset xmlns="{SITEMAP_NS}">
  <url><loc>{_PAGE}</loc><lastmod>2024-11-09T07:15:00Z</lastmod></url>
</urlset>"""
NEWS_EXAMPLE = f"""<?xml version='1.0' encoding='utf-8'?>
<urlset xmlns="{SITEMAP_NS}" xmlns:news="{NEWS_NS}">
  <url>
    <loc>{_PAGE}</loc>
    <lastmod>2024-11-08T18:29:12Z</lastmod>
    <news:news>
      <news:publication>
        <news:name>Capital News</news:name>
        <news:language>en</news:language>
      </news:publication>
      <news:publication_date>2024-11-08T18:30:00Z</news:publication_date>
      <news:title>{HEADLINE_EXAMPLE}</news:title>
    </news:news>
  </url>
</urlset>"""


def sitemap_responses(description: str, example: str) -> dict[int | str, dict[str, Any]]:
    return cached_read_responses() | document_response(
        description, "application/xml", schema_type="string", example=example
    )


@router.get(
    "/articles.xml",
    operation_id="getSitemapIndex",
    summary="Sitemap index of the articles, one sitemap a month",
    response_class=Response,
    responses=sitemap_responses("A sitemap index (sitemaps.org 0.9).", INDEX_EXAMPLE)
    | problem_responses(503),
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
    responses=sitemap_responses("A Google News sitemap.", NEWS_EXAMPLE) | problem_responses(503),
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
    body, _count = await write_urlset(news_rows(session, site), site, news=True)
    return _xml(body, validators)


@router.get(
    "/articles-{period}.xml",
    operation_id="getMonthSitemap",
    summary="Sitemap of one month's articles",
    response_class=Response,
    responses=sitemap_responses("A sitemap (sitemaps.org 0.9).", MONTH_EXAMPLE)
    | problem_responses(404, 503),
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
    body, count = await write_urlset(month_rows(session, month, part, site), site, news=False)
    if count == 0:
        raise NotFound(f"No sitemap articles-{period}.xml: the index does not list it.")
    return _xml(body, validators)
