"""Atom 1.0 and RSS 2.0 feeds of the newest published articles."""

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from feedgen.feed import FeedGenerator
from sqlalchemy import select

from app.articles.params import REFS_LIMIT_DOC, filter_ref_groups
from app.articles.queries import (
    SUMMARY_COLUMNS,
    ArticleFilters,
    articles,
    bylines_of,
    dialect_of,
    filter_conditions,
    relation_columns,
    tags_of,
)
from app.articles.site import article_url
from app.auth import ANONYMOUS
from app.conditional import ContentValidatorsDep, cached_read_responses, document_response
from app.db import Reader, SessionDep, utcnow
from app.problems import problem_responses
from app.responses import api_router

FEED_SIZE = 50
ATOM_MEDIA_TYPE = "application/atom+xml; charset=utf-8"
RSS_MEDIA_TYPE = "application/rss+xml; charset=utf-8"
FEED_TITLE = "Newsdesk"

router = api_router(prefix="/v1/feeds", tags=["feeds"])


async def newest_articles(session: Reader, filters: ArticleFilters) -> list[Any]:
    """The newest published articles matching ``filters``, as anyone may see them."""
    query = (
        select(*SUMMARY_COLUMNS, articles.c.body_html, *relation_columns(dialect_of(session)))
        .where(*filter_conditions(filters, ANONYMOUS, utcnow()))
        .order_by(articles.c.published_at.desc(), articles.c.id.desc())
        .limit(FEED_SIZE)
    )
    return list((await session.execute(query)).all())


# The list parameters default to [] and not to a default_factory: pydantic inspects a
# factory's signature every time it fills a default (a tenth of a list request's time).
# The default is copied, never shared.
async def feed_filters(
    author: Annotated[
        list[str],
        Query(
            description="Author refs joined by `,` (any of them); repeat to require all."
            + REFS_LIMIT_DOC,
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
    section: Annotated[str | None, Query(examples=["politics"])] = None,
) -> ArticleFilters:
    authors, entities = filter_ref_groups(author, entity)
    return ArticleFilters(authors=authors, entities=entities, section=section or None)


FeedFiltersDep = Annotated[ArticleFilters, Depends(feed_filters)]


# What XML 1.0 lets a document hold (its production "Char"); lxml refuses the rest.
_NOT_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot carry (a control character pasted
    from a word processor): one stray byte in one story must not take the feed down."""
    return _NOT_XML_CHARS.sub("", value)


def _subtitle(filters: ArticleFilters) -> str:
    """What the feed holds, in words; the refs are the caller's, so anything XML cannot
    carry (a NUL, most control characters) is left out rather than failing the feed."""
    parts = []
    for label, groups in (("by", filters.authors), ("about", filters.entities)):
        parts += [f"{label} " + " or ".join(group) for group in groups]
    if filters.section:
        parts.append(f"in {filters.section}")
    scope = f" {', '.join(parts)}" if parts else ""
    return xml_text(f"The {FEED_SIZE} newest published articles{scope}.")


def build_feed(
    request: Request,
    rows: list[Any],
    filters: ArticleFilters,
    *,
    rss: bool,
) -> FeedGenerator:
    base = str(request.base_url)
    feed = FeedGenerator()
    if rss:
        # RSS 2.0's <author> must be an e-mail address: bylines go in dc:creator.
        feed.load_extension("dc")
    feed.id(str(request.url))
    feed.title(FEED_TITLE)
    feed.subtitle(_subtitle(filters))
    feed.generator("Newsdesk")
    feed.link(href=str(request.url), rel="self")
    # feedgen makes the last link RSS's channel <link>: the same articles as JSON.
    listing = request.url.replace(path="/v1/articles")
    feed.link(href=str(listing), rel="alternate", type="application/json")
    newest: datetime = max((row.updated_at for row in rows), default=utcnow()).replace(
        microsecond=0
    )
    feed.updated(newest)
    feed.lastBuildDate(newest)
    for row in rows:
        entry = feed.add_entry(order="append")
        api_url = f"{base}v1/articles/{row.slug}"
        entry.id(f"urn:uuid:{row.id}")
        entry.guid(f"urn:uuid:{row.id}", permalink=False)
        entry.title(xml_text(row.headline))
        entry.link(href=article_url(row) or api_url, rel="alternate")
        entry.published(row.published_at)
        entry.updated(row.updated_at)
        if row.standfirst:
            entry.summary(xml_text(row.standfirst))
        if row.body_html:
            entry.content(xml_text(row.body_html), type="html")
        for author in bylines_of(row):
            name = xml_text(author["name"])
            if rss:
                entry.dc.dc_creator(name)
            else:
                entry.author({"name": name, "uri": f"{base}v1/authors/{author['slug']}"})
        if row.section:
            entry.category(term=row.section, label=row.section)
        for tag in tags_of(row):
            entry.category(term=tag["slug"], label=xml_text(tag["name"]))
    return feed


FEED_ERRORS = cached_read_responses() | problem_responses(422, 503)


@router.get(
    "/articles.atom",
    operation_id="getAtomFeed",
    summary="Atom feed of the newest articles",
    response_class=Response,
    responses=FEED_ERRORS
    | document_response("An Atom 1.0 feed.", "application/atom+xml", schema_type="string"),
)
async def atom_feed(
    request: Request,
    session: SessionDep,
    filters: FeedFiltersDep,
    validators: ContentValidatorsDep,
) -> Response:
    """The 50 newest published articles, newest first, as Atom 1.0, filtered like
    listArticles by `author`, `entity` and `section` (unknown refs simply match nothing).
    Entries link to the article's page (`url`: its `canonical_url`, or the site's URL
    template filled in), or to the article in this API when it has none; an entry's
    `updated` is the article's `updated_at`, so a correction shows as an update;
    their ids are `urn:uuid:` plus the article id, so they survive slug changes.
    The answer carries a weak `ETag` (an empty feed's date is when it was asked for);
    feed readers that send it back in `If-None-Match` get `304` while nothing changed."""
    rows = await newest_articles(session, filters)
    feed = build_feed(request, rows, filters, rss=False)
    headers = validators.weak().headers()
    return Response(feed.atom_str(pretty=True), media_type=ATOM_MEDIA_TYPE, headers=headers)


@router.get(
    "/articles.rss",
    operation_id="getRssFeed",
    summary="RSS feed of the newest articles",
    response_class=Response,
    responses=FEED_ERRORS
    | document_response("An RSS 2.0 feed.", "application/rss+xml", schema_type="string"),
)
async def rss_feed(
    request: Request,
    session: SessionDep,
    filters: FeedFiltersDep,
    validators: ContentValidatorsDep,
) -> Response:
    """The same articles as the Atom feed, as RSS 2.0; bylines are in `dc:creator`."""
    rows = await newest_articles(session, filters)
    feed = build_feed(request, rows, filters, rss=True)
    headers = validators.weak().headers()
    return Response(feed.rss_str(pretty=True), media_type=RSS_MEDIA_TYPE, headers=headers)
