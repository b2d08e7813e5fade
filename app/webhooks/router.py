"""HTTP routes for webhooks (admins only)."""

import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response

from app.auth import AdminDep
from app.config import Settings
from app.db import SessionDep, WriteSessionDep
from app.pagination import ListParams, Page, list_params
from app.problems import problem_responses
from app.responses import api_router, created_response, json_response, page_response
from app.webhooks import service
from app.webhooks.models import (
    DeliveryPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
    WebhookUpdate,
)
from app.webhooks.runner import WebhookRunner

router = api_router(prefix="/v1/webhooks", tags=["webhooks"])

WebhookId = Annotated[uuid.UUID, Path(description="The webhook subscription's id.")]
DeliveryId = Annotated[uuid.UUID, Path(description="The delivery's id, from the delivery log.")]
ParamsDep = Annotated[ListParams, Depends(list_params)]

DELIVERY_EXAMPLE = {
    "id": "6b0f8c1e-2d4a-4f7b-9e3c-5a1d2b3c4d5e",
    "message_id": "msg_2f1c9d4b6a8e4f0b9c3d7e5a1b2c4d6e",
    "event": "article.published",
    "status": "pending",
    "attempts": 2,
    "response_status": 503,
    "created_at": "2024-11-08T18:30:00Z",
    "last_attempt_at": "2024-11-08T18:30:05Z",
    "next_attempt_at": "2024-11-08T18:30:35Z",
}


def _example(status: int, example: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {status: {"content": {"application/json": {"example": example}}}}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _runner(request: Request) -> WebhookRunner:
    runner: WebhookRunner = request.app.state.webhooks
    return runner


@router.post(
    "",
    operation_id="createWebhook",
    summary="Create a webhook subscription",
    status_code=201,
    response_model=WebhookCreated,
    responses=problem_responses(400, 401, 403, 413, 415, 422, 503),
)
async def create_webhook(
    data: WebhookCreate, request: Request, session: WriteSessionDep, _admin: AdminDep
) -> Response:
    """Admins only. From now on, every change-log event named in `events` (default `*`,
    all of them) is POSTed to `url` as a signed message (Standard Webhooks; see the
    README for a receiver). The answer holds `secret`, shown this once: keep it to verify
    signatures.

    `url` must be http or https on a public address: a loopback, private, link-local or
    otherwise non-public address, written as a literal or what the host name resolves to,
    is a `422` (unless the server runs with `NEWSDESK_WEBHOOK_ALLOW_PRIVATE=true`)."""
    created = await service.create_subscription(session, data, _settings(request))
    return created_response(request, created, f"/v1/webhooks/{created['id']}")


@router.get(
    "",
    operation_id="listWebhooks",
    summary="List webhook subscriptions",
    response_model=Page[WebhookPublic],
    responses=problem_responses(400, 401, 403, 422, 503),
)
async def list_webhooks(
    request: Request, session: SessionDep, _admin: AdminDep, params: ParamsDep
) -> Response:
    """Admins only. Oldest first, without their secrets; paged with cursors like every
    list."""
    items, next_cursor, total = await service.list_subscriptions(session, params=params)
    return page_response(request, items, params=params, next_cursor=next_cursor, total=total)


@router.get(
    "/{webhook_id}",
    operation_id="getWebhook",
    summary="Get a webhook subscription",
    response_model=WebhookPublic,
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_webhook(webhook_id: WebhookId, session: SessionDep, _admin: AdminDep) -> Response:
    """Admins only. The subscription without its secret, which is shown only on create."""
    return json_response(await service.get_subscription(session, webhook_id))


@router.patch(
    "/{webhook_id}",
    operation_id="updateWebhook",
    summary="Update a webhook subscription",
    response_model=WebhookPublic,
    responses=problem_responses(400, 401, 403, 404, 413, 415, 422, 503),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/merge-patch+json": {
                    "schema": {"$ref": "#/components/schemas/WebhookUpdate"}
                }
            }
        }
    },
)
async def update_webhook(
    webhook_id: WebhookId,
    data: WebhookUpdate,
    request: Request,
    session: WriteSessionDep,
    _admin: AdminDep,
) -> Response:
    """Admins only. A merge patch of `url`, `events`, `description` and `active`; the
    secret stays. A new `url` is checked as on create. While `active` is false no new
    messages are made for the subscription and its pending deliveries wait; they go out
    when it is active again (if still within their retry period)."""
    updated = await service.update_subscription(session, webhook_id, data, _settings(request))
    return json_response(updated)


@router.delete(
    "/{webhook_id}",
    operation_id="deleteWebhook",
    summary="Delete a webhook subscription",
    status_code=204,
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def delete_webhook(
    webhook_id: WebhookId, session: WriteSessionDep, _admin: AdminDep
) -> Response:
    """Admins only. The subscription and its delivery log go; nothing more is sent to it."""
    await service.delete_subscription(session, webhook_id)
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    operation_id="listWebhookDeliveries",
    summary="List a webhook's deliveries",
    response_model=Page[DeliveryPublic],
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def list_webhook_deliveries(
    webhook_id: WebhookId,
    request: Request,
    session: SessionDep,
    _admin: AdminDep,
    params: ParamsDep,
) -> Response:
    """Admins only. The delivery log, newest first: each message with its `webhook-id`
    (`message_id`), `status` (`pending` until a `2xx` answer makes it `succeeded`, or
    until its 24 hours of retries run out and it is `failed`), the number of attempts, the
    HTTP status of the last answer and when the next attempt is due. Paged with cursors
    like every list."""
    items, next_cursor, total = await service.list_deliveries(session, webhook_id, params=params)
    return page_response(request, items, params=params, next_cursor=next_cursor, total=total)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    operation_id="retryWebhookDelivery",
    summary="Send a delivery again now",
    response_model=DeliveryPublic,
    responses=_example(200, DELIVERY_EXAMPLE) | problem_responses(401, 403, 404, 409, 422, 503),
)
async def retry_webhook_delivery(
    webhook_id: WebhookId, delivery_id: DeliveryId, request: Request, _admin: AdminDep
) -> Response:
    """Admins only. Sends the message again at once, whatever its status (the same body
    and `webhook-id`, a new timestamp and signature), waits for the answer (at most 10
    seconds) and returns the delivery with its outcome. A `2xx` makes it `succeeded`;
    otherwise a pending delivery keeps to its retry schedule, and one past its 24 hours is
    `failed` again. While another attempt of it is in flight, the answer is `409`."""
    runner = _runner(request)
    delivery = await service.retry_delivery(
        runner.write_sessionmaker,
        runner.client,
        runner.settings,
        subscription_id=webhook_id,
        delivery_id=delivery_id,
    )
    return json_response(delivery)


@router.post(
    "/{webhook_id}/test",
    operation_id="testWebhook",
    summary="Send a test message",
    status_code=202,
    response_model=DeliveryPublic,
    # No example of its own: its nulls would be dropped from the document (FastAPI leaves
    # out None), and the schema's field examples say the same.
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def send_test_message(
    webhook_id: WebhookId, request: Request, session: WriteSessionDep, _admin: AdminDep
) -> Response:
    """Admins only. Queues a `webhook.test` message for this subscription and answers at
    once with its delivery (`pending`); it is sent like any other message, signed, with
    retries, and shows in the delivery log. Its `data` names the webhook."""
    delivery = await service.send_test(session, webhook_id)
    _runner(request).wake()
    return json_response(delivery, status_code=202)
