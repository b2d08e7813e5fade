"""An article in standard news formats: IPTC ninjs 2.2 and schema.org NewsArticle."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.articles.models import ShownStatus
from app.articles.queries import ArticleData, get_article
from app.articles.site import current_site
from app.auth import Viewer
from app.db import Reader
from app.entities.extract import entities_named_in
from app.entities.models import entities_table as entities
from app.responses import dumps

NINJS_VERSION = "2.2"
NINJS_SCHEMA = "http://www.iptc.org/std/ninjs/ninjs-schema_2.2.json"
NINJS_ENTITY_GROUPS = {
    "person": "people",
    "organization": "organisations",
    "place": "places",
    "topic": "subjects",
    "event": "events",
}
SCHEMA_ORG_TYPES = {
    "person": "Person",
    "organization": "Organization",
    "place": "Place",
    "topic": "Thing",
    "event": "Event",
}
# ninjs pubstatus: only published articles are usable; drafts and scheduled articles are
# withheld (scheduled ones carry `embargoed`), archived ones are withdrawn.
PUBSTATUS = {
    ShownStatus.published.value: "usable",
    ShownStatus.scheduled.value: "withheld",
    ShownStatus.draft.value: "withheld",
    ShownStatus.archived.value: "canceled",
}
# Identifier schemes in `external_ids` that name a resolvable URI.
EXTERNAL_URIS = {
    "wikidata": "http://www.wikidata.org/entity/{}",
    "geonames": "https://sws.geonames.org/{}/",
}


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _byline(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


async def _external_ids(session: Reader, entity_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """External ids by entity id, in the text form an article's tags carry."""
    if not entity_ids:
        return {}
    wanted = [uuid.UUID(entity_id) for entity_id in entity_ids]
    rows = await session.execute(
        select(entities.c.id, entities.c.external_ids).where(entities.c.id.in_(wanted))
    )
    return {str(row.id): dict(row.external_ids or {}) for row in rows}


def _external_uris(external_ids: dict[str, str]) -> list[str]:
    return [
        template.format(external_ids[scheme])
        for scheme, template in EXTERNAL_URIS.items()
        if external_ids.get(scheme)
    ]


async def _load(
    session: Reader, ref: str, viewer: Viewer
) -> tuple[ArticleData, dict[str, dict[str, str]]]:
    article = await get_article(session, ref, viewer)
    ids = [tag["id"] for tag in article["entities"]]
    return article, await _external_ids(session, ids)


def ninjs_picture(image: dict[str, Any]) -> dict[str, Any]:
    """The article's image as a ninjs ``associations`` item of type ``picture``: one
    rendition (with its size when known), the caption and the alt text as descriptions."""
    rendition: dict[str, Any] = {"name": "original", "href": image["url"]}
    rendition |= {side: image[side] for side in ("width", "height") if image.get(side)}
    picture: dict[str, Any] = {
        "name": "image",
        "uri": image["url"],
        "type": "picture",
        "renditions": [rendition],
    }
    descriptions = [
        {"role": role, "contenttype": "text/plain", "value": image[key]}
        for role, key in (("caption", "caption"), ("alt", "alt"))
        if image.get(key)
    ]
    if descriptions:
        picture["descriptions"] = descriptions
    if image.get("credit"):
        picture["copyrightholder"] = image["credit"]
    return picture


def jsonld_image(image: dict[str, Any]) -> dict[str, Any]:
    """The image as a schema.org ``ImageObject``; its alt text is the ``description``
    (schema.org has no property of that name; ``caption`` is the visible caption)."""
    node: dict[str, Any] = {"@type": "ImageObject", "url": image["url"], "contentUrl": image["url"]}
    for key, name in (
        ("caption", "caption"),
        ("description", "alt"),
        ("creditText", "credit"),
        ("width", "width"),
        ("height", "height"),
    ):
        if image.get(name):
            node[key] = image[name]
    return node


async def article_ninjs(session: Reader, ref: str, viewer: Viewer, base_url: str) -> dict[str, Any]:
    article, external = await _load(session, ref, viewer)
    status = article["status"]
    document: dict[str, Any] = {
        "uri": f"urn:uuid:{article['id']}",
        "standard": {"name": "ninjs", "version": NINJS_VERSION, "schema": NINJS_SCHEMA},
        "type": "text",
        "representationtype": "full",
        "version": str(article["version"]),
        "firstcreated": _timestamp(article["created_at"]),
        "versioncreated": _timestamp(article["updated_at"]),
        "pubstatus": PUBSTATUS.get(status, "withheld"),
        "language": article["language"],
        "slugline": article["slug"],
        "headlines": [{"role": "main", "contenttype": "text/plain", "value": article["headline"]}],
        "bodies": [
            {
                "role": "main",
                "contenttype": contenttype,
                "charcount": len(article["body_text"]),
                "wordcount": article["word_count"],
                "value": value,
            }
            for value, contenttype in (
                (article["body_html"], "text/html"),
                (article["body_text"], "text/plain"),
            )
        ],
        "by": _byline([author["name"] for author in article["authors"]]),
    }
    if status == ShownStatus.scheduled.value:
        document["embargoed"] = _timestamp(article["published_at"])
    if article["published_at"]:
        document["contentcreated"] = _timestamp(article["published_at"])
    if article["standfirst"]:
        document["descriptions"] = [
            {"role": "summary", "contenttype": "text/plain", "value": article["standfirst"]}
        ]
    if article["dateline"]:
        document["located"] = article["dateline"]
    if article["source"]:
        document["copyrightholder"] = article["source"]
        document["infosources"] = [{"name": article["source"]}]
    if article["url"]:
        document["renditions"] = [
            {"name": "web", "href": article["url"], "contenttype": "text/html"}
        ]
    if article["image"]:
        document["associations"] = [ninjs_picture(article["image"])]
    for group in NINJS_ENTITY_GROUPS.values():
        document[group] = []
    for tag in article["entities"]:
        uris = _external_uris(external.get(tag["id"], {}))
        uri = uris[0] if uris else f"{base_url}v1/entities/{tag['slug']}"
        document[NINJS_ENTITY_GROUPS[tag["type"]]].append(
            {"name": tag["name"], "rel": "mentioned", "uri": uri, "literal": tag["slug"]}
        )
    return document


async def article_jsonld(
    session: Reader, ref: str, viewer: Viewer, base_url: str
) -> dict[str, Any]:
    """schema.org NewsArticle. Tagged entities named in the headline or standfirst are
    what the story is ``about``; the others are ``mentions``. The publisher is the
    article's source, else the publication."""
    article, external = await _load(session, ref, viewer)
    # The page readers visit; an article without one is identified by its API URL.
    page_url = article["url"] or f"{base_url}v1/articles/{article['slug']}"
    in_lead = {
        str(entity.id)
        for entity in await entities_named_in(session, [article["headline"], article["standfirst"]])
    }
    document: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "@id": page_url,
        "url": page_url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": page_url},
        "identifier": str(article["id"]),
        "headline": article["headline"],
        "inLanguage": article["language"],
        "dateCreated": _timestamp(article["created_at"]),
        "dateModified": _timestamp(article["updated_at"]),
        "wordCount": article["word_count"],
        "timeRequired": f"PT{article['reading_time_minutes']}M",
        "articleBody": article["body_text"],
        "author": [
            {
                "@type": "Person",
                "@id": f"{base_url}v1/authors/{author['slug']}",
                "name": author["name"],
            }
            for author in article["authors"]
        ],
    }
    optional = {
        "datePublished": _timestamp(article["published_at"]),
        "description": article["standfirst"],
        "dateline": article["dateline"],
        "articleSection": article["section"],
    }
    document |= {key: value for key, value in optional.items() if value}
    publisher = article["source"] or current_site().publication_name
    document["publisher"] = {"@type": "Organization", "name": publisher}
    if article["image"]:
        document["image"] = jsonld_image(article["image"])
    if article["corrections"]:
        document["correction"] = [
            {
                "@type": "CorrectionComment",
                "text": note["text"],
                "datePublished": _timestamp(note["created_at"]),
            }
            for note in article["corrections"]
        ]
    about: list[dict[str, Any]] = []
    mentions: list[dict[str, Any]] = []
    for tag in article["entities"]:
        node: dict[str, Any] = {
            "@type": SCHEMA_ORG_TYPES[tag["type"]],
            "@id": f"{base_url}v1/entities/{tag['slug']}",
            "name": tag["name"],
        }
        if uris := _external_uris(external.get(tag["id"], {})):
            node["sameAs"] = uris
        (about if tag["id"] in in_lead else mentions).append(node)
    if about:
        document["about"] = about
    if mentions:
        document["mentions"] = mentions
    return document


_SCRIPT_SAFE = (
    (b"<", b"\\u003c"),
    (b">", b"\\u003e"),
    (b"&", b"\\u0026"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)


def script_safe_json(document: dict[str, Any]) -> bytes:
    """JSON that can sit inside ``<script type="application/ld+json">`` as it is: ``<``,
    ``>`` and ``&`` only ever occur inside strings, where ``\\u003c`` means the same."""
    encoded = dumps(document)
    for raw, escaped in _SCRIPT_SAFE:
        encoded = encoded.replace(raw, escaped)
    return encoded
