"""HTTP routes for entities."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.auth import EditorDep, ViewerDep
from app.db import SessionDep, WriteSessionDep
from app.entities import service
from app.entities.extract import extract_entities
from app.entities.models import (
    EntityCreate,
    EntityPublic,
    EntityType,
    EntityUpdate,
    ExtractRequest,
    ExtractResult,
)
from app.errors import MOVED, problem_responses
from app.pagination import ListParams, Page, list_params
from app.responses import created_response, json_response, page_response, require_json_body

router = APIRouter(
    prefix="/v1/entities", tags=["entities"], dependencies=[Depends(require_json_body)]
)


@router.get(
    "",
    operation_id="listEntities",
    summary="List entities",
    response_model=Page[EntityPublic],
    responses=problem_responses(400, 401, 422, 503),
)
async def list_entities(
    request: Request,
    session: SessionDep,
    _viewer: ViewerDep,
    params: Annotated[ListParams, Depends(list_params)],
    q: Annotated[
        str | None,
        Query(description="Matches the start of any word of the name or an alias, ignoring case."),
    ] = None,
    entity_type: Annotated[EntityType | None, Query(alias="type")] = None,
    sort: Annotated[
        str | None,
        Query(description="name (default), article_count, created_at; `-` for descending."),
    ] = None,
) -> Response:
    """People, organisations, places, topics and events that articles are tagged with."""
    items, next_cursor, total = await service.list_entities(
        session, params=params, sort=sort, q=q, entity_type=entity_type
    )
    return page_response(request, items, params=params, next_cursor=next_cursor, total=total)


@router.post(
    "",
    operation_id="createEntity",
    summary="Create an entity",
    status_code=201,
    response_model=EntityPublic,
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 503),
)
async def create_entity(
    data: EntityCreate, request: Request, session: WriteSessionDep, _viewer: EditorDep
) -> Response:
    """A slug is made from the name when none is given."""
    entity = await service.create_entity(session, data)
    return created_response(request, entity, f"/v1/entities/{entity['slug']}")


@router.post(
    "/extract",
    operation_id="extractEntities",
    summary="Find known entities in a text",
    response_model=ExtractResult,
    responses=problem_responses(400, 401, 403, 413, 415, 422, 503),
)
async def extract(data: ExtractRequest, session: SessionDep, _viewer: EditorDep) -> Response:
    """Every place the text names a known entity by its name or one of its aliases.
    Names match case-sensitively (`US` is the country, `us` is not), only where the
    characters just before and after are not letters or digits (`U.S.` in `U.S.-Kenya`,
    `Kenya` in `Kenya's`, but not `Kenya` in `Kenyan`), and where matches overlap the
    longest wins (`South Sudan` is one match, not also `Sudan`). `start` and `end` are
    offsets in Unicode code points, as in `text[start:end]`. When two entities share a
    name, the one whose own name it is wins over one that has it as an alias, then the
    smaller slug. Creating articles with `auto_tag: true` uses the same matcher."""
    return json_response(await extract_entities(session, data.text))


@router.get(
    "/{ref}",
    operation_id="getEntity",
    summary="Get an entity",
    response_model=EntityPublic,
    responses=MOVED | problem_responses(401, 404, 503),
)
async def get_entity(ref: str, session: SessionDep, _viewer: ViewerDep) -> Response:
    """By id or slug."""
    return json_response(await service.get_entity(session, ref))


@router.patch(
    "/{ref}",
    operation_id="updateEntity",
    summary="Update an entity",
    response_model=EntityPublic,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 503),
)
async def update_entity(
    ref: str, data: EntityUpdate, session: WriteSessionDep, _viewer: EditorDep
) -> Response:
    """Merge patch: fields left out stay, `null` clears; `aliases` and `external_ids` are
    replaced whole."""
    return json_response(await service.update_entity(session, ref, data))


@router.delete(
    "/{ref}",
    operation_id="deleteEntity",
    summary="Delete an entity",
    status_code=204,
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def delete_entity(
    ref: str,
    session: WriteSessionDep,
    viewer: EditorDep,
    force: Annotated[
        bool, Query(description="Also untag it from every article (with revisions).")
    ] = False,
) -> Response:
    """Refused with 409 while articles are tagged with it, unless `force=true`."""
    await service.delete_entity(session, ref, force=force, viewer=viewer)
    return Response(status_code=204)
