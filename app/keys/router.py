"""HTTP routes for API keys (admins only)."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request, Response

from app.auth import AdminDep
from app.db import SessionDep, WriteSessionDep
from app.keys import service
from app.keys.models import KeyCreate, KeyCreated, KeyPublic
from app.pagination import ListParams, Page, list_params
from app.problems import problem_responses
from app.responses import api_router, created_response, json_response, page_response

router = api_router(prefix="/v1/keys", tags=["keys"])


@router.post(
    "",
    operation_id="createKey",
    summary="Create an API key",
    status_code=201,
    response_model=KeyCreated,
    responses=problem_responses(400, 401, 403, 413, 415, 422, 503),
)
async def create_key(
    data: KeyCreate, request: Request, session: WriteSessionDep, _admin: AdminDep
) -> Response:
    """Admins only. The answer holds the secret in `key`, shown this once: only its hash
    is stored, so a lost secret means a new key. `role` is `editor` or `admin`."""
    key = await service.create_key(session, name=data.name, role=data.role)
    return created_response(request, key, f"/v1/keys/{key['id']}")


@router.get(
    "",
    operation_id="listKeys",
    summary="List API keys",
    response_model=Page[KeyPublic],
    responses=problem_responses(400, 401, 403, 422, 503),
)
async def list_keys(
    request: Request,
    session: SessionDep,
    _admin: AdminDep,
    params: Annotated[ListParams, Depends(list_params)],
    include_revoked: Annotated[bool, Query(description="Also list revoked keys.")] = False,
) -> Response:
    """Admins only. Names, roles and dates of the keys, never their secrets; revoked keys
    only with `include_revoked=true`. Paged with cursors like every list."""
    items, next_cursor, total = await service.list_keys(
        session, params=params, include_revoked=include_revoked
    )
    return page_response(request, items, params=params, next_cursor=next_cursor, total=total)


@router.get(
    "/{key_id}",
    operation_id="getKey",
    summary="Get an API key",
    response_model=KeyPublic,
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_key(key_id: uuid.UUID, session: SessionDep, _admin: AdminDep) -> Response:
    """Admins only. The key's name, role and dates, without its secret; a revoked key
    shows when in `revoked_at`."""
    return json_response(await service.get_key(session, key_id))


@router.delete(
    "/{key_id}",
    operation_id="revokeKey",
    summary="Revoke an API key",
    status_code=204,
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def revoke_key(key_id: uuid.UUID, session: WriteSessionDep, _admin: AdminDep) -> Response:
    """Admins only. The key stops working at once, on every worker. It is kept, with
    `revoked_at` set, and listed when `include_revoked=true` is asked for."""
    await service.revoke_key(session, key_id)
    return Response(status_code=204)
