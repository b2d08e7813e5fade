"""The application: middleware, error handlers and routers; nothing else."""

import asyncio
import base64
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

from app.articles.feeds import router as feeds_router
from app.articles.router import router as articles_router
from app.authors.router import router as authors_router
from app.config import Settings, get_settings
from app.db import create_engine, is_connection_error, make_sessionmaker, make_write_sessionmaker
from app.entities.router import router as entities_router
from app.freshness.releases import release_loop
from app.freshness.router import router as changes_router
from app.freshness.store import ResponseCache
from app.freshness.tail import open_clock
from app.keys.router import router as keys_router
from app.keys.service import ensure_bootstrap_key
from app.middleware import RequestPlumbing
from app.openapi import DESCRIPTION, TAGS, install_openapi
from app.ops import router as ops_router
from app.problems import install_error_handlers
from app.responses import JSONBytesResponse, refuse_nul_in_url, refuse_repeated_parameters
from app.schema import ensure_migrated

logger = logging.getLogger("newsdesk")
STATIC_DIR = Path(__file__).parent / "static"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.write_sessionmaker = make_write_sessionmaker(engine)
    app.state.content_clock = None
    try:
        await ensure_migrated(engine)
        async with app.state.sessionmaker() as session:
            admin_key = settings.admin_key.get_secret_value() if settings.admin_key else None
            await ensure_bootstrap_key(session, admin_key)
        if settings.response_cache_bytes:
            app.state.content_clock = await open_clock(settings.database_url)
    except Exception as exc:
        if not is_connection_error(exc):
            await engine.dispose()
            raise
        # Start anyway: /readyz says 503 and requests recover once the database is back.
        logger.warning("database unreachable at start-up; serving 503 until it answers")
    # Scheduled articles get their article.published entry when their time comes, over
    # a connection of their own so that requests never wait for one behind them.
    release_engine = create_engine(settings.database_url, pool_size=1)
    releases = asyncio.create_task(
        release_loop(make_sessionmaker(release_engine), make_write_sessionmaker(release_engine))
    )
    yield
    releases.cancel()
    await asyncio.gather(releases, return_exceptions=True)
    await release_engine.dispose()
    if app.state.content_clock is not None:
        await app.state.content_clock.close()
    await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Newsdesk",
        version="1.0.0",
        summary="A headless news-content API.",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        # Relative: the server that serves the document, as when servers are left out.
        servers=[{"url": "/", "description": "The server this document was read from."}],
        license_info={"name": "MIT", "identifier": "MIT"},
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        default_response_class=JSONBytesResponse,
        telemetry={"tracing": False, "metrics": False, "logs": False},
        dependencies=[Depends(refuse_nul_in_url), Depends(refuse_repeated_parameters)],
    )
    app.state.settings = settings
    install_error_handlers(app)
    # Innermost: what it keeps is the app's own answer, before CORS and the plumbing.
    app.add_middleware(ResponseCache, max_bytes=settings.response_cache_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "X-Request-ID",
            ],
            expose_headers=["ETag", "Last-Modified", "Link", "Location", "X-Request-ID"],
        )
    app.add_middleware(
        RequestPlumbing,
        cache_max_age=settings.cache_max_age,
        max_body_bytes=settings.max_body_bytes,
        public_url=settings.public_url,
        allowed_hosts=settings.allowed_hosts,
    )
    for router in (
        articles_router,
        authors_router,
        entities_router,
        feeds_router,
        changes_router,
        keys_router,
        ops_router,
    ):
        app.include_router(router)
    install_openapi(app)
    _mount_docs(app)
    return app


def _mount_docs(app: FastAPI) -> None:
    """Swagger UI and ReDoc from files this service serves itself (no CDN)."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    swagger_page = _no_outside_requests(
        get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Newsdesk API",
            swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/swagger-ui/favicon-32x32.png",
            # No badge from validator.swagger.io, which would send it our document's URL.
            swagger_ui_parameters={
                "persistAuthorization": True,
                "displayOperationId": True,
                "validatorUrl": None,
            },
        )
    )
    redoc_page = _no_outside_requests(
        get_redoc_html(
            openapi_url="/openapi.json",
            title="Newsdesk API",
            redoc_js_url="/static/redoc/redoc.standalone.js",
            redoc_favicon_url="/static/swagger-ui/favicon-32x32.png",
            with_google_fonts=False,
        )
    )

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return swagger_page

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return redoc_page


def _no_outside_requests(page: HTMLResponse) -> HTMLResponse:
    """A Content-Security-Policy that lets the page load nothing from another origin.

    The bundles would: ReDoc's sidebar logo comes from cdn.redoc.ly. The page's own inline
    script (the Swagger UI set-up) is allowed by its hash, so no other inline script runs.
    """
    inline_scripts = re.findall(rb"<script>(.*?)</script>", bytes(page.body), re.DOTALL)
    script_hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in inline_scripts
    )
    page.headers["Content-Security-Policy"] = (
        "default-src 'self'; "
        f"script-src 'self'{script_hashes}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; "
        "worker-src 'self' blob:; "
        "connect-src 'self'; "
        "base-uri 'none'; "
        "form-action 'self'; "
        "frame-ancestors 'self'"
    )
    return page
