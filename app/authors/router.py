"""HTTP routes for authors."""

from typing import Annotated

from fastapi import Depends, Query, Request, Response

from app.auth import EditorDep
from app.authors import service
from app.authors.models import AUTHOR_FIELDS, AuthorCreate, AuthorItem, AuthorPublic, AuthorUpdate
from app.conditional import (
    NoneMatchReadDep,
    WriteConditionsDep,
    cached_read_responses,
    check_content,
    tagged_response,
)
from app.db import WriteSessionDep
from app.pagination import ListParams, Page, list_params, parse_fields
from app.problems import MOVED, MOVED_WRITE, problem_responses
from app.responses import api_router, created_response, json_response, page_response

router = api_router(prefix="/v1/authors", tags=["authors"])


@router.get(
    "",
    operation_id="listAuthors",
    summary="List authors",
    response_model=Page[AuthorItem],
    responses=cached_read_responses() | problem_responses(400, 401, 422, 503),
)
async def list_authors(
    request: Request,
    read: NoneMatchReadDep,
    params: Annotated[ListParams, Depends(list_params)],
    q: Annotated[
        str | None,
        Query(description="Matches the start of any word of the name, ignoring case."),
    ] = None,
    sort: Annotated[
        str | None,
        Query(description="name (default), article_count, created_at; `-` for descending."),
    ] = None,
    fields: Annotated[
        str | None,
        Query(
            description="Comma-separated keys to return per item (`id` always).",
            examples=["slug,name,article_count"],
        ),
    ] = None,
) -> Response:
    """Alphabetical by default. `email` is shown to editors only."""
    validators = await check_content(request, read)
    items, next_cursor, total = await service.list_authors(
        read.session,
        params=params,
        sort=sort,
        q=q,
        viewer=read.viewer,
        fields=parse_fields(fields, AUTHOR_FIELDS),
    )
    return page_response(
        request,
        items,
        params=params,
        next_cursor=next_cursor,
        total=total,
        headers=validators.headers(),
    )


@router.post(
    "",
    operation_id="createAuthor",
    summary="Create an author",
    status_code=201,
    response_model=AuthorPublic,
    responses=tagged_response(201) | problem_responses(400, 401, 403, 409, 413, 415, 422, 503),
)
async def create_author(
    data: AuthorCreate, request: Request, session: WriteSessionDep, viewer: EditorDep
) -> Response:
    """A slug is made from the name when none is given. An explicit slug that is taken,
    now or as an old slug of another author, is a `409`."""
    author = await service.create_author(session, data, viewer)
    etag = service.author_validators(author, viewer).etag
    return created_response(
        request, author, f"/v1/authors/{author['slug']}", headers={"ETag": etag}
    )


@router.get(
    "/{ref}",
    operation_id="getAuthor",
    summary="Get an author",
    response_model=AuthorPublic,
    responses=MOVED | cached_read_responses(last_modified=True) | problem_responses(401, 404, 503),
)
async def get_author(ref: str, read: NoneMatchReadDep) -> Response:
    """By id or slug; an old slug answers `301` to the current URL. The `ETag` changes
    whenever the answer would (also when `article_count` moves); `If-None-Match` with it
    answers `304`. `Last-Modified` covers the author's own fields only (`article_count`
    moves without it), so `If-Modified-Since` is not offered here."""
    author = await service.get_author(read.session, ref, read.viewer)
    validators = service.author_validators(author, read.viewer)
    read.conditions.check(validators)
    return json_response(author, headers=validators.headers())


@router.patch(
    "/{ref}",
    operation_id="updateAuthor",
    summary="Update an author",
    response_model=AuthorPublic,
    responses=tagged_response(200)
    | MOVED_WRITE
    | problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 503),
)
async def update_author(
    ref: str,
    data: AuthorUpdate,
    session: WriteSessionDep,
    viewer: EditorDep,
    conditions: WriteConditionsDep,
) -> Response:
    """Merge patch: fields left out stay, `null` clears. A new slug keeps the old one
    answering with a redirect, and reserved. With `If-Match`, a stale ETag is a `412`
    and nothing changes."""
    author = await service.update_author(session, ref, data, viewer, conditions)
    return json_response(author, headers={"ETag": service.author_validators(author, viewer).etag})


@router.delete(
    "/{ref}",
    operation_id="deleteAuthor",
    summary="Delete an author",
    status_code=204,
    responses=MOVED_WRITE | problem_responses(401, 403, 404, 409, 412, 422, 503),
)
async def delete_author(
    ref: str,
    session: WriteSessionDep,
    viewer: EditorDep,
    conditions: WriteConditionsDep,
    force: Annotated[
        bool, Query(description="Also remove the author from every byline (with revisions).")
    ] = False,
) -> Response:
    """Refused with 409 while articles (also those in the trash) carry the author, unless
    `force=true`: then every byline loses the author and each article gets a new version
    and revision. The author's old slugs are freed. With `If-Match`, a stale ETag is a
    `412`."""
    await service.delete_author(session, ref, force=force, viewer=viewer, conditions=conditions)
    return Response(status_code=204)
