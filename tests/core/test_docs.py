"""The self-hosted docs pages: Swagger UI and ReDoc load every file from this service, and
a name that is not a docs asset is a 404 problem, never a 500."""

import re

import pytest
from fastapi.testclient import TestClient

from app import docs


def test_docs_pages_use_only_local_assets(client: TestClient) -> None:
    for page in ["/docs", "/redoc"]:
        html = client.get(page).text
        urls = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert urls, page
        for url in urls:
            assert url.startswith("/"), f"{page} loads {url} from elsewhere"
            assert client.get(url).status_code == 200, url
        assert "cdn" not in html.lower()


def test_every_asset_is_served_with_its_media_type(client: TestClient) -> None:
    for name, media_type in docs.ASSETS.items():
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith(media_type)
        if name not in docs.REWRITES:
            assert response.content == (docs.ASSETS_DIR / name).read_bytes()


@pytest.mark.parametrize(
    "path",
    ["/static/nothing.js", "/static/VERSION", "/static/..%2Fcore.py", "/static/swagger-ui/x.js"],
)
def test_anything_else_under_static_is_a_404_problem(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_an_asset_missing_from_the_install_is_a_404_problem(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setattr(docs, "ASSETS_DIR", tmp_path)
    response = client.get("/static/swagger-ui-bundle.js")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_redoc_names_no_other_host(client: TestClient) -> None:
    bundle = client.get("/static/redoc.standalone.js").text
    assert "Redoc" in bundle
    assert "cdn.redoc.ly" not in bundle
