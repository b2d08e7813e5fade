"""HTTP routes for preview links."""

from typing import Annotated, Any

from fastapi import Path, Request, Response

from app.articles.models import ArticlePublic
from app.auth import EditorDep
from app.db import SessionDep
from app.previews import service
from app.previews.models import PreviewCreate, PreviewPublic
from app.problems import MOVED_WRITE, problem_responses
from app.responses import api_router, created_response, json_response

router = api_router(tags=["articles"])

PREVIEW_HEADERS = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"}
PREVIEW_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The article as an editor sees it now.",
        "headers": {
            "Cache-Control": {
                "description": "Always `private, no-store`: a preview is never cached.",
                "schema": {"type": "string"},
            },
            "X-Robots-Tag": {
                "description": "Always `noindex`: a preview is never indexed.",
                "schema": {"type": "string"},
            },
        },
    }
}


@router.post(
    "/v1/articles/{ref}/preview",
    operation_id="createArticlePreview",
    summary="Make a preview link for an article",
    status_code=201,
    response_model=PreviewPublic,
    responses=MOVED_WRITE | problem_responses(400, 401, 403, 404, 413, 415, 422, 503),
)
async def create_article_preview(
    ref: str,
    request: Request,
    session: SessionDep,
    viewer: EditorDep,
    data: PreviewCreate | None = None,
) -> Response:
    """Editors only. A link that shows the article (by id or slug), drafts and scheduled
    ones included, to anyone who has it, with no key, until `expires_at`: send it to the
    front end's preview page, which reads `url` from this API. `expires_in` is 60 to
    604800 seconds (a week), 3600 when left out; the body may be left out too.

    The token is signed, not stored: it cannot be revoked one by one, but it stops
    working when it expires, and its article shows the content as it is when read, not
    as it was when the link was made. Links keep working across restarts and on every
    worker; they are signed with `NEWSDESK_SECRET_KEY` when that is set (changing it
    voids them all), otherwise with a random key kept in the database."""
    expires_in = (data or PreviewCreate()).expires_in
    preview = await service.create_preview(session, ref, expires_in=expires_in, viewer=viewer)
    return created_response(request, preview, preview["url"])


@router.get(
    "/v1/preview/{token}",
    operation_id="getPreview",
    summary="Read an article through a preview link",
    response_model=ArticlePublic,
    responses=PREVIEW_RESPONSE | problem_responses(404, 503),
)
async def get_preview(
    token: Annotated[str, Path(max_length=200, description="The token of a preview link.")],
    session: SessionDep,
) -> Response:
    """No key needed: the token is the permission. The article as an editor sees it at
    this moment, whatever its status (draft, scheduled, published or archived). The
    answer is `Cache-Control: private, no-store` and `X-Robots-Tag: noindex`, so no
    shared cache keeps it and no search engine lists it. An expired, altered or unknown
    token is a `404`, and so is an article in the trash."""
    article = await service.read_preview(session, token)
    return json_response(article, headers=PREVIEW_HEADERS)
