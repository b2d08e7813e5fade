"""HTTP routes for authors."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.auth import EditorDep, ViewerDep
from app.authors import service
from app.authors.models import AuthorCreate, AuthorPublic, AuthorUpdate
from app.db import SessionDep, WriteSessionDep
from app.errors import MOVED, problem_responses
from app.pagination import ListParams, Page, list_params
from app.responses import created_response, json_response, page_response, require_json_body

router = APIRouter(
    prefix="/v1/authors", tags=["authors"], dependencies=[Depends(require_json_body)]
)


@router.get(
    "",
    operation_id="listAuthors",
    summary="List authors",
    response_model=Page[AuthorPublic],
    responses=problem_responses(400, 401, 422, 503),
)
async def list_authors(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    params: Annotated[ListParams, Depends(list_params)],
    q: Annotated[
        str | None,
        Query(description="Matches the start of any word of the name, ignoring case."),
    ] = None,
    sort: Annotated[
        str | None,
        Query(description="name (default), article_count, created_at; `-` for descending."),
    ] = None,
) -> Response:
    """Alphabetical by default. `email` is shown to editors only."""
    items, next_cursor, total = await service.list_authors(
        session, params=params, sort=sort, q=q, viewer=viewer
    )
    return page_response(request, items, params=params, next_cursor=next_cursor, total=total)


@router.post(
    "",
    operation_id="createAuthor",
    summary="Create an author",
    status_code=201,
    response_model=AuthorPublic,
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 503),
)
async def create_author(
    data: AuthorCreate, request: Request, session: WriteSessionDep, viewer: EditorDep
) -> Response:
    """A slug is made from the name when none is given."""
    author = await service.create_author(session, data, viewer)
    return created_response(request, author, f"/v1/authors/{author['slug']}")


@router.get(
    "/{ref}",
    operation_id="getAuthor",
    summary="Get an author",
    response_model=AuthorPublic,
    responses=MOVED | problem_responses(401, 404, 503),
)
async def get_author(ref: str, session: SessionDep, viewer: ViewerDep) -> Response:
    """By id or slug."""
    return json_response(await service.get_author(session, ref, viewer))


@router.patch(
    "/{ref}",
    operation_id="updateAuthor",
    summary="Update an author",
    response_model=AuthorPublic,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 503),
)
async def update_author(
    ref: str, data: AuthorUpdate, session: WriteSessionDep, viewer: EditorDep
) -> Response:
    """Merge patch: fields left out stay, `null` clears. A new slug keeps the old one
    answering with a redirect."""
    return json_response(await service.update_author(session, ref, data, viewer))


@router.delete(
    "/{ref}",
    operation_id="deleteAuthor",
    summary="Delete an author",
    status_code=204,
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def delete_author(
    ref: str,
    session: WriteSessionDep,
    viewer: EditorDep,
    force: Annotated[
        bool, Query(description="Also remove the author from every byline (with revisions).")
    ] = False,
) -> Response:
    """Refused with 409 while articles carry the author, unless `force=true`."""
    await service.delete_author(session, ref, force=force, viewer=viewer)
    return Response(status_code=204)
