"""``GET /v1/changes``: the change log, for front ends, indexers and apps catching up."""

from typing import Annotated, Any

from fastapi import Query, Request, Response

from app.auth import ViewerDep
from app.freshness.feed import Cursor, wait_for_changes
from app.problems import problem_responses
from app.responses import api_router, json_response

router = api_router(tags=["changes"])

CHANGE_EXAMPLE = {
    "cursor": "NzQ2LjEy",
    "at": "2024-11-08T18:30:00Z",
    "event": "article.published",
    "resource": {
        "type": "article",
        "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "slug": "ruto-congratulates-trump-in-phone-call",
    },
    "keys": [
        "articles",
        "authors",
        "entities",
        "article-3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "author-8d1c4b1e-5a2f-4f3b-9c3e-1f2a3b4c5d6e",
        "entity-0b7e3c2a-9d4f-4e1b-8a6c-5d4e3f2a1b0c",
    ],
}
CHANGES_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Changes after `after`, oldest first, and the cursor to ask with next.",
        "content": {
            "application/json": {
                "example": {
                    "data": [CHANGE_EXAMPLE],
                    "meta": {"limit": 100, "next_cursor": "NzQ2LjEy"},
                }
            }
        },
    }
}


@router.get(
    "/v1/changes",
    operation_id="listChanges",
    summary="List changes",
    responses=CHANGES_RESPONSE | problem_responses(400, 422, 503),
)
async def list_changes(
    request: Request,
    viewer: ViewerDep,
    after: Annotated[
        str | None,
        Query(
            description="The `meta.next_cursor` of an earlier answer (or the `cursor` of an "
            "entry): only what came after it. Without it, from the beginning.",
            examples=["NzQ2LjEy"],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many, 1–1000.")] = 100,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=30,
            description="Seconds (0–30) to hold the answer while there is nothing new, "
            "answering as soon as something is: a long poll.",
        ),
    ] = 0,
) -> Response:
    """Every change to articles, authors and entities, in the order to apply them, each
    with its event, the resource it changed (type, id, slug) and its cache keys: the
    `Surrogate-Key`/`Cache-Tag` values of the anonymous answers it made stale (purge
    those from a CDN, or revalidate those pages in a static site).

    Events: `article.created`, `article.updated`, `article.published` (became visible
    to anonymous callers: published now, or its scheduled time came; recorded within a
    few seconds of that time even if nobody reads it), `article.unpublished` (back to
    draft or archived), `article.deleted` (trashed), `article.restored`;
    `author.created|updated|deleted`; `entity.created|updated|deleted|merged`. Saving a
    draft that was never public lists no keys.

    Anonymous callers see author and entity changes, and the changes of articles that
    were visible to them before or after the change; editors see everything.

    Paging: `meta.next_cursor` is never null; pass it as `after` to get what came since
    (an empty `data` means nothing yet). Paging through visits every change exactly once,
    in order, even while writes go on: a change shows up once every write that began
    before it has finished, so it can never land behind a cursor already handed out.
    A malformed cursor is a `400`."""
    items, cursor = await wait_for_changes(
        request.app.state.sessionmaker,
        after=Cursor.decode(after) if after is not None else None,
        limit=limit,
        public_only=not viewer.is_editor,
        wait=wait,
    )
    body: dict[str, Any] = {"data": items, "meta": {"limit": limit, "next_cursor": cursor.encode()}}
    # The next answer may differ at any moment: no shared cache should keep this one.
    return json_response(body, headers={"Cache-Control": "no-store"})
