"""Conditional requests (RFC 9110 §13): entity tags, ``If-None-Match`` and
``If-Modified-Since`` on reads, ``If-Match`` on writes.

Every tag Newsdesk sends is strong: the same tag always means byte-for-byte the same
representation. Tags are computed from a few cheap values that change whenever the
representation does (an article's version and the names of its authors and entities, an
author's row, the content counter for lists), never by hashing a rendered body, so a
``304`` costs one small query. The hash is keyed with the instance secret (``app.instance``),
so those values can neither be guessed into a tag nor read back out of one.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.articles.models import ArticleStatus, articles_table
from app.auth import Viewer, ViewerDep
from app.changes import content_version_table
from app.db import SessionDep, utcnow
from app.errors import NotModified, PreconditionFailed
from app.instance import instance_secret

ANY = "*"


def make_etag(*parts: Any) -> str:
    """A strong entity tag over ``parts`` (their ``str`` forms, in order), keyed with the
    instance secret: the same parts give the same tag in every worker, yet nobody without
    the secret can compute a tag from guessed values or learn the values from a tag (a
    list's tag covers the write counter and the next embargo time). Every tag Newsdesk
    sends is made here."""
    digest = hashlib.blake2b(key=instance_secret(), digest_size=16)
    for part in parts:
        text = str(part).encode()
        # Each part prefixed by its length: no two lists of parts hash the same bytes.
        digest.update(len(text).to_bytes(8, "big"))
        digest.update(text)
    return f'"{digest.hexdigest()}"'


def http_date(moment: datetime) -> str:
    """An IMF-fixdate, e.g. ``Fri, 08 Nov 2024 18:30:00 GMT``."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        # A date that cannot be read (or falls off the calendar in UTC) is ignored, as
        # RFC 9110 asks of an invalid If-Modified-Since.
        return None


def parse_entity_tags(value: str | None) -> tuple[str, ...] | None:
    """The tags of an ``If-Match``/``If-None-Match`` value: ``("*",)`` for any, else the
    tags as sent (weak ones keep their ``W/``). A bare token without quotes is read as a
    quoted tag, so that a hand-typed ``If-Match: abc`` still means ``"abc"``."""
    if value is None or not value.strip():
        return None
    if value.strip() == ANY:
        return (ANY,)
    tags: list[str] = []
    for raw in _split_tags(value):
        weak = raw.startswith("W/")
        opaque = raw[2:] if weak else raw
        if not (opaque.startswith('"') and opaque.endswith('"') and len(opaque) >= 2):
            opaque = f'"{opaque.strip(chr(34))}"'
        tags.append(("W/" if weak else "") + opaque)
    return tuple(tags) or None


def _split_tags(value: str) -> Iterable[str]:
    # Commas may appear inside a quoted tag, so split by hand rather than on ",".
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            yield "".join(current).strip()
            current = []
        else:
            current.append(char)
    if "".join(current).strip():
        yield "".join(current).strip()


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def weak_match(tags: tuple[str, ...], etag: str) -> bool:
    """``If-None-Match`` comparison: ``W/"x"`` matches ``"x"`` (a proxy that compresses
    a response may weaken its tag)."""
    return any(tag == ANY or _opaque(tag) == _opaque(etag) for tag in tags)


def strong_match(tags: tuple[str, ...], etag: str) -> bool:
    """``If-Match`` comparison: only an identical strong tag (or ``*``) matches."""
    return any(tag == ANY or (not tag.startswith("W/") and tag == etag) for tag in tags)


@dataclass(frozen=True)
class Validators:
    """What a response says about its representation's version."""

    etag: str
    last_modified: datetime | None = None

    def weak(self) -> "Validators":
        """The same tag marked weak (``W/``): for answers that may differ in a detail that
        does not matter, such as the build date of an empty feed."""
        return Validators(self.etag if self.etag.startswith("W/") else f"W/{self.etag}")

    def headers(self) -> dict[str, str]:
        headers = {"ETag": self.etag}
        if self.last_modified is not None:
            headers["Last-Modified"] = http_date(self.last_modified)
        return headers


@dataclass(frozen=True)
class ReadConditions:
    """``If-None-Match`` and ``If-Modified-Since`` of a GET."""

    if_none_match: tuple[str, ...] | None = None
    if_modified_since: datetime | None = None

    @property
    def present(self) -> bool:
        return self.if_none_match is not None or self.if_modified_since is not None

    def not_modified(self, validators: Validators) -> bool:
        """True when the client's copy is current (RFC 9110 §13.2.2, steps 3 and 4).

        ``If-Modified-Since`` only counts when there is no ``If-None-Match``; dates have
        one-second resolution, as ``Last-Modified`` does.
        """
        if self.if_none_match is not None:
            return weak_match(self.if_none_match, validators.etag)
        since = self.if_modified_since
        if since is None or validators.last_modified is None:
            return False
        if since > utcnow():
            return False
        return validators.last_modified.replace(microsecond=0) <= since

    def check(self, validators: Validators) -> None:
        """Raise ``NotModified`` (answered with ``304``) when the client's copy is current."""
        if self.not_modified(validators):
            raise NotModified(validators.headers())


@dataclass(frozen=True)
class WriteConditions:
    """``If-Match`` of a PATCH, DELETE or POST that changes a resource."""

    if_match: tuple[str, ...] | None = None

    def check(self, current_etag: str) -> None:
        """Raise 412 unless ``If-Match`` is absent or names the current tag (or ``*``)."""
        if self.if_match is not None and not strong_match(self.if_match, current_etag):
            raise PreconditionFailed(
                "The resource has changed since you read it (If-Match does not match its "
                "current ETag); nothing was changed. Read it again and reapply your edit."
            )


NONE_MATCH_DOC = (
    "An ETag from an earlier response (or several, comma-separated): when the "
    "representation still has that ETag the answer is `304 Not Modified` with no body."
)
MODIFIED_SINCE_DOC = (
    "An HTTP date; used only without `If-None-Match`. `304` when nothing changed after "
    "it (one-second resolution)."
)
IF_MATCH_DOC = (
    "The ETag you read the resource with, or `*` for any current version. When the "
    "resource has changed since, the answer is `412` and nothing is changed."
)


async def read_conditions(
    if_none_match: Annotated[
        str | None,
        Header(description=NONE_MATCH_DOC, examples=['"5d41402abc4b2a76b9719d911017c592"']),
    ] = None,
    if_modified_since: Annotated[
        str | None,
        Header(description=MODIFIED_SINCE_DOC, examples=["Fri, 08 Nov 2024 18:30:00 GMT"]),
    ] = None,
) -> ReadConditions:
    return ReadConditions(
        if_none_match=parse_entity_tags(if_none_match),
        if_modified_since=parse_http_date(if_modified_since),
    )


async def none_match_conditions(
    if_none_match: Annotated[
        str | None,
        Header(description=NONE_MATCH_DOC, examples=['"5d41402abc4b2a76b9719d911017c592"']),
    ] = None,
) -> ReadConditions:
    """``If-None-Match`` only, for representations whose ``Last-Modified`` (if any) does
    not cover everything in them, so that ``If-Modified-Since`` cannot be answered."""
    return ReadConditions(if_none_match=parse_entity_tags(if_none_match))


async def write_conditions(
    if_match: Annotated[
        str | None,
        Header(description=IF_MATCH_DOC, examples=['"5d41402abc4b2a76b9719d911017c592"']),
    ] = None,
) -> WriteConditions:
    return WriteConditions(if_match=parse_entity_tags(if_match))


ReadConditionsDep = Annotated[ReadConditions, Depends(read_conditions)]
NoneMatchDep = Annotated[ReadConditions, Depends(none_match_conditions)]
WriteConditionsDep = Annotated[WriteConditions, Depends(write_conditions)]


def audience(viewer: Viewer) -> str:
    """Which representation a viewer gets where editors see more (drafts, emails)."""
    return "editor" if viewer.is_editor else "public"


async def content_state(session: AsyncSession) -> tuple[int, datetime | None]:
    """The content counter and the next moment a scheduled article goes live, in one query.

    Every write bumps the counter in its own transaction; the only change nobody writes is
    time passing a scheduled ``published_at``, which the second value covers.
    """
    now = utcnow()
    next_release = (
        select(func.min(articles_table.c.published_at))
        .where(
            articles_table.c.status == ArticleStatus.published.value,
            articles_table.c.published_at > now,
            articles_table.c.deleted_at.is_(None),
        )
        .scalar_subquery()
    )
    query = select(content_version_table.c.value, next_release).where(
        content_version_table.c.id == 1
    )
    row = (await session.execute(query)).first()
    if row is None:
        return 0, None
    return int(row[0]), row[1]


async def content_validators(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    conditions: NoneMatchDep,
) -> Validators:
    """The ETag of an answer drawn from many resources (a list, or anything computed over
    the whole content): the URL, who asks and the state of all content. A matching
    ``If-None-Match`` ends the request with ``304`` before anything else is read.

    Computed before the answer itself is read, so a write landing in between can only make
    the tag older than the data (the next revalidation then gets a fresh ``200``), never
    newer.
    """
    # The response cache has read the state already when it asks the app for a response.
    known = getattr(request.state, "content_state", None)
    counter, next_release = known if known is not None else await content_state(session)
    etag = make_etag(
        "content",
        audience(viewer),
        str(request.url),
        counter,
        next_release.isoformat() if next_release else "",
    )
    validators = Validators(etag)
    conditions.check(validators)
    return validators


ContentValidatorsDep = Annotated[Validators, Depends(content_validators)]


ETAG_HEADER = {
    "description": "Strong entity tag of this representation; send it back in "
    "`If-None-Match` to revalidate, or in `If-Match` to write only over this version.",
    "schema": {"type": "string", "examples": ['"5d41402abc4b2a76b9719d911017c592"']},
}
LAST_MODIFIED_HEADER = {
    "description": "When this representation last changed (one-second resolution).",
    "schema": {"type": "string", "examples": ["Fri, 08 Nov 2024 18:30:00 GMT"]},
}


def cached_read_responses(*, last_modified: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for a read that sends validators and may answer ``304``."""
    headers: dict[str, Any] = {"ETag": ETAG_HEADER}
    if last_modified:
        headers["Last-Modified"] = LAST_MODIFIED_HEADER
    return {
        200: {"headers": headers},
        304: {
            "description": "Not modified: the `If-None-Match` tag is current. No body.",
            "headers": headers,
        },
    }


def document_response(
    description: str, media_type: str, *, schema_type: str = "object", example: Any = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entry for a read answered in a media type of its own (a feed, ninjs,
    JSON-LD), carrying an ETag."""
    content: dict[str, Any] = {"schema": {"type": schema_type}}
    if example is not None:
        content["example"] = example
    return {
        200: {
            "description": description,
            "headers": {"ETag": ETAG_HEADER},
            "content": {media_type: content},
        }
    }


def tagged_response(status: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entry for a write whose answer carries the new ETag."""
    return {status: {"headers": {"ETag": ETAG_HEADER}}}
