"""The site the articles live on: each article's page URL and the publication's name.

Every article read shows ``url``, so the template is needed wherever an article is
rendered, many calls below the request. Rather than thread one setting through every read
function, the app names its site once per request (``SiteContext``, set from the settings
passed to ``create_app``); reads ask ``current_site()``. Outside a request (the command
line) the site has no template, so ``url`` is the canonical URL or null.
"""

import re
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True)
class Site:
    url_template: str | None = None
    publication_name: str = "Newsdesk"
    sitemap_max_urls: int = 50_000


NO_SITE = Site()
_site: ContextVar[Site | None] = ContextVar("newsdesk_site", default=None)


def current_site() -> Site:
    return _site.get() or NO_SITE


class SiteContext:
    """ASGI middleware: every request of this app reads articles for ``site``."""

    def __init__(self, app: ASGIApp, site: Site) -> None:
        self.app = app
        self.site = site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _site.set(self.site)
        try:
            await self.app(scope, receive, send)
        finally:
            _site.reset(token)


_EMPTY_SEGMENTS = re.compile(r"(?<!:)/{2,}")


def fill_template(
    template: str,
    *,
    article_id: Any,
    slug: str,
    section: str | None,
    published_at: datetime | None,
) -> str | None:
    """The template filled in for one article; None where it needs a date the article
    does not have yet (a draft). An article without a section leaves that path segment
    out rather than leaving an empty one."""
    values = {"slug": slug, "id": str(article_id), "section": section or ""}
    if published_at is not None:
        values |= {
            "yyyy": f"{published_at.year:04d}",
            "mm": f"{published_at.month:02d}",
            "dd": f"{published_at.day:02d}",
        }
    try:
        filled = template.format_map(values)
    except KeyError:  # a date placeholder, and no date yet
        return None
    if section:
        return filled
    scheme, _, rest = filled.partition("://")
    return f"{scheme}://{_EMPTY_SEGMENTS.sub('/', rest)}"


def article_url(row: Any, site: Site | None = None) -> str | None:
    """An article's page: its ``canonical_url``, else the site's template filled in,
    else None. ``row`` has the article's id, slug, section, published_at and
    canonical_url (as a row, or as attributes)."""
    if row.canonical_url:
        return str(row.canonical_url)
    template = (site or current_site()).url_template
    if template is None:
        return None
    return fill_template(
        template,
        article_id=row.id,
        slug=row.slug,
        section=row.section,
        published_at=row.published_at,
    )
