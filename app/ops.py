"""Operations endpoints: liveness, readiness and metrics."""

from fastapi import Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import is_connection_error
from app.errors import ServiceUnavailable
from app.metrics import CONTENT_TYPE, render_metrics
from app.problems import problem_responses
from app.responses import api_router, json_response
from app.schema import NotMigrated, ensure_migrated

router = api_router(tags=["operations"])


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    status: str = Field(examples=["ready"])
    revision: str = Field(description="The Alembic revision the database is at.")


@router.get("/healthz", operation_id="getHealth", summary="Liveness", response_model=Health)
async def healthz() -> Response:
    """200 while the process runs; it does not touch the database."""
    return json_response({"status": "ok"})


@router.get(
    "/readyz",
    operation_id="getReadiness",
    summary="Readiness",
    response_model=Readiness,
    responses=problem_responses(503),
)
async def readyz(request: Request) -> Response:
    """200 when the database answers and is at the newest migration; 503 otherwise."""
    engine: AsyncEngine = request.app.state.engine
    try:
        revision = await ensure_migrated(engine)
    except NotMigrated as exc:
        raise ServiceUnavailable(str(exc)) from exc
    except Exception as exc:
        if is_connection_error(exc):
            raise ServiceUnavailable("The database does not answer.") from exc
        raise
    return json_response({"status": "ready", "revision": revision})


@router.get(
    "/metrics",
    operation_id="getMetrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format: `http_requests_total` (labels `method`, "
            "`route`, `status`) and the histogram `http_request_duration_seconds` (labels "
            "`method`, `route`), summed over every worker of the server.",
            "content": {
                "text/plain": {
                    "schema": {"type": "string"},
                    "example": 'http_requests_total{method="GET",route="/v1/articles/{ref}",'
                    'status="200"} 1027.0\n',
                }
            },
        }
    },
)
async def metrics() -> Response:
    """Request counts and durations by route template (`/v1/articles/{ref}`, not the
    path asked for); requests that matched no route share the route `unmatched`."""
    return Response(render_metrics(), media_type=CONTENT_TYPE)
