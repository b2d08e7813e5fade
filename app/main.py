"""The application: middleware, error handlers and routers; nothing else."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from app.articles.feeds import router as feeds_router
from app.articles.router import router as articles_router
from app.articles.site import Site, SiteContext
from app.articles.sitemaps import router as sitemaps_router
from app.authors.router import router as authors_router
from app.config import ADMIN_KEY_MIN_LENGTH, Settings, get_settings
from app.db import (
    create_engine,
    make_read_engine,
    make_read_sessionmaker,
    make_sessionmaker,
    make_write_queue,
    make_write_sessionmaker,
)
from app.docs import install_docs
from app.entities.router import router as entities_router
from app.freshness.feed import read_change_entries
from app.freshness.releases import release_loop
from app.freshness.router import router as changes_router
from app.freshness.store import ResponseCache
from app.freshness.tail import open_clock
from app.instance import load_instance_secret
from app.keys.router import router as keys_router
from app.keys.service import ensure_bootstrap_key
from app.middleware import RequestPlumbing
from app.openapi import DESCRIPTION, TAGS, install_openapi
from app.ops import router as ops_router
from app.previews.router import router as previews_router
from app.problems import install_error_handlers
from app.ratelimit import RateLimits
from app.responses import JSONBytesResponse, check_request
from app.schema import ensure_migrated
from app.startup import FinishStartUp, StartUp
from app.webhooks.dispatcher import reading_entries
from app.webhooks.router import router as webhooks_router
from app.webhooks.runner import WebhookRunner

logger = logging.getLogger("newsdesk")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if settings.admin_key_is_short:
        logger.warning(
            "NEWSDESK_ADMIN_KEY is shorter than %d characters: anyone who can reach the API "
            "may guess it; make one with `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`",
            ADMIN_KEY_MIN_LENGTH,
        )
    engine = create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        pool_timeout=settings.db_pool_timeout,
    )
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.read_sessionmaker = make_read_sessionmaker(engine)
    app.state.read_engine = make_read_engine(engine)
    app.state.write_sessionmaker = make_write_sessionmaker(engine)
    app.state.write_queue = make_write_queue(engine)
    app.state.content_clock = None
    webhooks = WebhookRunner(
        sessionmaker=app.state.sessionmaker,
        write_sessionmaker=app.state.write_sessionmaker,
        settings=settings,
        read_changes=reading_entries(read_change_entries),
    )
    app.state.webhooks = webhooks
    app.state.startup = StartUp(lambda: _set_up(app))
    try:
        await app.state.startup.first()
    except Exception:
        await engine.dispose()
        await webhooks.close()
        raise
    if settings.webhook_sender:
        webhooks.start()
    # Scheduled articles get their article.published entry when their time comes, over
    # a connection of their own so that requests never wait for one behind them.
    release_engine = create_engine(settings.database_url, pool_size=1)
    releases = asyncio.create_task(
        release_loop(make_sessionmaker(release_engine), make_write_sessionmaker(release_engine))
    )
    # What start-up made (modules, routes, schemas, compiled statements) lives as long as
    # the worker: out of the collector's way, which otherwise walks it on every full pass
    # (an uncached story or list page read 15 % faster).
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()
    releases.cancel()
    await asyncio.gather(releases, return_exceptions=True)
    await release_engine.dispose()
    await webhooks.close()
    if app.state.content_clock is not None:
        await app.state.content_clock.close()
    await engine.dispose()


async def _set_up(app: FastAPI) -> None:
    """What a worker needs from the database before it serves; safe to run again after a
    failure part-way (``app.startup``)."""
    settings: Settings = app.state.settings
    await ensure_migrated(app.state.engine)
    async with app.state.sessionmaker() as session:
        await load_instance_secret(session)
        admin_key = settings.admin_key.get_secret_value() if settings.admin_key else None
        await ensure_bootstrap_key(session, admin_key)
    if settings.response_cache_bytes and app.state.content_clock is None:
        app.state.content_clock = await open_clock(settings.database_url)


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
        dependencies=[Depends(check_request)],
    )
    app.state.settings = settings
    app.state.rate_limits = RateLimits.from_settings(settings)
    install_error_handlers(app)
    site = Site(
        url_template=settings.article_url_template,
        publication_name=settings.publication_name,
        sitemap_max_urls=settings.sitemap_max_urls,
    )
    app.add_middleware(SiteContext, site=site)
    # Innermost but for the site: what it keeps is the app's own answer, before CORS and
    # the plumbing.
    app.add_middleware(ResponseCache, max_bytes=settings.response_cache_bytes)
    app.add_middleware(FinishStartUp)
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
            expose_headers=[
                "ETag",
                "Last-Modified",
                "Link",
                "Location",
                "X-Request-ID",
                "Retry-After",
                "RateLimit",
                "RateLimit-Policy",
            ],
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
        sitemaps_router,
        changes_router,
        keys_router,
        previews_router,
        webhooks_router,
        ops_router,
    ):
        add_routes(app, router)
    install_openapi(app)
    install_docs(app)
    return app


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """The router's operations, as the app's own. FastAPI matches an included router
    through a layer that, on every request, walks that router's routes to see whether they
    changed: a tenth of a story read's time. The domain routers (``api_router``) carry their
    prefix, tags, request check and response class on each route, so their routes serve
    the same on the app itself."""
    for route in router.routes:
        dependencies = route.dependant.dependencies if isinstance(route, APIRoute) else []
        if not any(dependency.call is check_request for dependency in dependencies):
            raise ValueError(f"{route!r} does not come from an api_router")
    app.router.routes.extend(router.routes)
