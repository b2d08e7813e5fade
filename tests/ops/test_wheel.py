"""A wheel built from the tree, installed into a fresh virtual environment, serves working
offline docs: /docs, /redoc and every file they load, with nothing fetched or built
beforehand. A name that is not a docs asset is a 404 problem."""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import Server, installed_wheel, run_without_tree, running_server


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return installed_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def server(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    command = str(installed / "bin" / "newsdesk")
    with running_server(tmp_path_factory.mktemp("wheel-server"), command=command) as running:
        yield running


def test_the_wheel_runs_its_own_code_not_the_tree(installed: Path) -> None:
    imported = run_without_tree(
        installed / "bin" / "python", "-c", "import app; print(app.__file__)", cwd=installed
    )
    assert Path(imported.strip()).is_relative_to(installed)
    # The docs assets come with a dependency, not with a copy inside the package.
    assert not any(installed.glob("lib/*/site-packages/app/static"))


def test_docs_pages_and_their_assets_are_served(server: Server) -> None:
    for page in ("/docs", "/redoc"):
        response = httpx.get(server.url + page)
        assert response.status_code == 200, page
        assert response.headers["content-type"].startswith("text/html")
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', response.text)
        assert any(asset.endswith(".js") for asset in assets), page
        for asset in assets:
            loaded = httpx.get(server.url + asset)
            assert loaded.status_code == 200, asset
            assert len(loaded.content) > 1000, asset
            expected = {"js": "text/javascript", "css": "text/css", "png": "image/png"}
            assert loaded.headers["content-type"].startswith(expected[asset.rsplit(".", 1)[1]])
    styled = httpx.get(server.url + "/docs").text
    assert 'href="/static/swagger-ui.css"' in styled


def test_an_unknown_asset_is_a_404_problem(server: Server) -> None:
    for path in ("/static/nothing.js", "/static/swagger-ui/swagger-ui-bundle.js"):
        response = httpx.get(server.url + path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404
