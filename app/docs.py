"""Swagger UI at /docs and ReDoc at /redoc, with every file they load served by this
service: no CDN, so the docs work offline and in locked-down networks.

The Swagger UI and ReDoc bundles come from the ``fastapi-offline`` package, an ordinary
dependency, so they are there however Newsdesk is installed (a wheel, ``pip install .``,
the image) with no build step. Only the files named in ``ASSETS`` are served, under
``/static/``; any other name, or a file missing from a broken install, is a 404 problem.
"""

import base64
import hashlib
import re
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI
from fastapi import Path as PathParam
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import FileResponse, HTMLResponse, Response

from app.errors import NotFound

ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
STATIC_PREFIX = "/static/"
# The one thing the ReDoc bundle asks another host for is its sidebar logo (cdn.redoc.ly).
# It is served with an empty data: URL there instead (ReDoc hides a logo that does not
# load), so the page requests nothing from elsewhere, not even one the CSP would block.
REWRITES = {
    "redoc.standalone.js": (b'"https://cdn.redoc.ly/redoc/logo-mini.svg"', b'"data:,"'),
}


def install_docs(app: FastAPI) -> None:
    """The two docs pages and their assets, left out of the OpenAPI document."""
    swagger_page = _no_outside_requests(
        get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Newsdesk API",
            swagger_js_url=f"{STATIC_PREFIX}swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC_PREFIX}swagger-ui.css",
            swagger_favicon_url=f"{STATIC_PREFIX}favicon.png",
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
            redoc_js_url=f"{STATIC_PREFIX}redoc.standalone.js",
            redoc_favicon_url=f"{STATIC_PREFIX}favicon.png",
            with_google_fonts=False,
        )
    )

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return swagger_page

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return redoc_page

    @app.get(STATIC_PREFIX + "{name}", include_in_schema=False)
    async def docs_asset(name: Annotated[str, PathParam()]) -> Response:
        path = asset_path(name)
        if name in REWRITES:
            return Response(_rewritten(path, name), media_type=ASSETS[name])
        return FileResponse(path, media_type=ASSETS[name])


def asset_path(name: str) -> Path:
    """The file of a docs asset; ``NotFound`` for a name not served or a missing file."""
    path = ASSETS_DIR / name
    if name not in ASSETS or not path.is_file():
        raise NotFound(f"No docs asset {name!r}.")
    return path


@cache
def _rewritten(path: Path, name: str) -> bytes:
    outside, inside = REWRITES[name]
    return path.read_bytes().replace(outside, inside)


def _no_outside_requests(page: HTMLResponse) -> HTMLResponse:
    """A Content-Security-Policy that lets the page load nothing from another origin.

    A second guard beside ``REWRITES``, should a new bundle name another host. The page's
    own inline script (the Swagger UI set-up) is allowed by its hash, so no other inline
    script runs.
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
