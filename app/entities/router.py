"""HTTP routes for entities."""

from typing import Annotated

from fastapi import Depends, Query, Request, Response

from app.auth import EditorDep
from app.conditional import (
    NoneMatchReadDep,
    WriteConditionsDep,
    cached_read_responses,
    check_content,
    tagged_response,
)
from app.db import SessionDep, WriteSessionDep
from app.entities import service
from app.entities.extract import extract_entities
from app.entities.models import (
    ENTITY_FIELDS,
    EntityCreate,
    EntityItem,
    EntityPublic,
    EntityType,
    EntityUpdate,
    ExtractRequest,
    ExtractResult,
    MergeRequest,
)
from app.pagination import ListParams, Page, list_params, parse_fields
from app.problems import MOVED, MOVED_WRITE, problem_responses
from app.responses import api_router, created_response, json_response, page_response

router = api_router(prefix="/v1/entities", tags=["entities"])


@router.get(
    "",
    operation_id="listEntities",
    summary="List entities",
    response_model=Page[EntityItem],
    responses=cached_read_responses() | problem_responses(400, 401, 422, 503),
)
async def list_entities(
    request: Request,
    read: NoneMatchReadDep,
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
    fields: Annotated[
        str | None,
        Query(
            description="Comma-separated keys to return per item (`id` always).",
            examples=["slug,name,type"],
        ),
    ] = None,
) -> Response:
    """People, organisations, places, topics and events that articles are tagged with."""
    validators = await check_content(request, read)
    items, next_cursor, total = await service.list_entities(
        read.session,
        params=params,
        sort=sort,
        q=q,
        entity_type=entity_type,
        fields=parse_fields(fields, ENTITY_FIELDS),
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
    operation_id="createEntity",
    summary="Create an entity",
    status_code=201,
    response_model=EntityPublic,
    responses=tagged_response(201) | problem_responses(400, 401, 403, 409, 413, 415, 422, 503),
)
async def create_entity(
    data: EntityCreate, request: Request, session: WriteSessionDep, _viewer: EditorDep
) -> Response:
    """A slug is made from the name when none is given. An explicit slug that is taken,
    now or as an old slug of another entity, is a `409`."""
    entity = await service.create_entity(session, data)
    etag = service.entity_validators(entity).etag
    return created_response(
        request, entity, f"/v1/entities/{entity['slug']}", headers={"ETag": etag}
    )


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
    responses=MOVED | cached_read_responses(last_modified=True) | problem_responses(401, 404, 503),
)
async def get_entity(ref: str, read: NoneMatchReadDep) -> Response:
    """By id or slug. An old slug, or the slug or id of an entity merged into this one,
    answers `301` to the current URL. The `ETag` changes whenever the answer would (also
    when `article_count` moves); `If-None-Match` with it answers `304`. `Last-Modified`
    covers the entity's own fields only, so `If-Modified-Since` is not offered here."""
    entity = await service.get_entity(read.session, ref)
    validators = service.entity_validators(entity)
    read.conditions.check(validators)
    return json_response(entity, headers=validators.headers())


@router.patch(
    "/{ref}",
    operation_id="updateEntity",
    summary="Update an entity",
    response_model=EntityPublic,
    responses=tagged_response(200)
    | MOVED_WRITE
    | problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 503),
)
async def update_entity(
    ref: str,
    data: EntityUpdate,
    session: WriteSessionDep,
    _viewer: EditorDep,
    conditions: WriteConditionsDep,
) -> Response:
    """Merge patch: fields left out stay, `null` clears; `aliases` and `external_ids` are
    replaced whole. A new slug keeps the old one redirecting, and reserved. With
    `If-Match`, a stale ETag is a `412` and nothing changes."""
    entity = await service.update_entity(session, ref, data, conditions)
    return json_response(entity, headers={"ETag": service.entity_validators(entity).etag})


@router.delete(
    "/{ref}",
    operation_id="deleteEntity",
    summary="Delete an entity",
    status_code=204,
    responses=MOVED_WRITE | problem_responses(401, 403, 404, 409, 412, 422, 503),
)
async def delete_entity(
    ref: str,
    session: WriteSessionDep,
    viewer: EditorDep,
    conditions: WriteConditionsDep,
    force: Annotated[
        bool, Query(description="Also untag it from every article (with revisions).")
    ] = False,
) -> Response:
    """Refused with 409 while articles (also those in the trash) are tagged with it, unless
    `force=true`: then every article loses the tag and gets a new version and revision.
    The entity's old slugs are freed. With `If-Match`, a stale ETag is a `412`."""
    await service.delete_entity(session, ref, force=force, viewer=viewer, conditions=conditions)
    return Response(status_code=204)


@router.post(
    "/{ref}/merge",
    operation_id="mergeEntity",
    summary="Merge an entity into another",
    response_model=EntityPublic,
    responses=tagged_response(200)
    | MOVED_WRITE
    | problem_responses(400, 401, 403, 404, 413, 415, 422, 503),
)
async def merge_entity(
    ref: str, data: MergeRequest, session: WriteSessionDep, viewer: EditorDep
) -> Response:
    """For duplicates ("Ruto" and "William Ruto"): in one transaction, every article tagged
    with this entity is tagged with `into` instead (once, also when it had both) and gets
    a new version and revision; this entity's name and aliases become aliases of `into`
    (no repeats, never `into`'s own name); this entity's slug, old slugs and id redirect
    to `into` and stay reserved; this entity is removed. `into` keeps its own name, type,
    description and external ids. The answer is `into`. An unknown `into`, or `into`
    naming this same entity, is a `422`."""
    entity = await service.merge_entity(session, ref, data.into, viewer)
    return json_response(entity, headers={"ETag": service.entity_validators(entity).etag})
