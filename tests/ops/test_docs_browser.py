"""The API docs in a real browser: Debian's Chromium driven by Playwright, against a server
installed from a wheel built from the tree (as a user installs it) with the demo data, with
nothing fetched from anywhere but the server."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import missing
from tests.servers import Server, installed_wheel, running_server

CHROMIUM = Path(os.environ.get("NEWSDESK_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module", autouse=True)
def chromium() -> None:
    """Skips without Chromium on a workstation; fails in CI, which installs it."""
    if not CHROMIUM.exists():
        missing(f"no Chromium at {CHROMIUM}: install Debian's chromium package (.ci/run does)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    installed = installed_wheel(tmp_path_factory.mktemp("docs-wheel"))
    command = str(installed / "bin" / "newsdesk")
    with running_server(tmp_path_factory.mktemp("docs-server"), command=command) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that records the URL of every request it makes."""
    context = browser.new_context()
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    opened = context.new_page()
    opened.requested = requested
    yield opened
    context.close()


def _hosts(urls: list[str]) -> set[str]:
    """The host each URL goes to; ``blob:`` URLs name the origin that made them, and
    ``data:`` URLs go nowhere."""
    hosts = set()
    for url in urls:
        if url.startswith("data:"):
            continue
        hosts.add(urlsplit(url.removeprefix("blob:")).hostname or url)
    return hosts


def test_swagger_ui_lists_operations_and_try_it_out_works(server: Server, page: Any) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    operation_ids = {
        operation["operationId"] for path in spec["paths"].values() for operation in path.values()
    }
    page.goto(f"{server.url}/docs")
    page.wait_for_selector(".opblock")
    shown = set(page.locator(".opblock-summary-operation-id").all_inner_texts())
    assert shown == operation_ids

    block = page.locator("#operations-articles-listArticles")
    block.locator(".opblock-summary").click()
    block.locator(".try-out__btn").click()
    with page.expect_response(lambda response: "/v1/articles" in response.url) as answered:
        block.locator(".execute").click()
    response = answered.value
    assert response.status == 200
    headlines = [item["headline"] for item in response.json()["data"]]
    assert any(headline.startswith("Ruto Congratulates Trump") for headline in headlines)
    # The page shows the answer too.
    live = block.locator(".live-responses-table tr.response .response-col_status")
    assert live.first.inner_text().strip() == "200"
    assert "Ruto Congratulates Trump" in block.locator(".live-responses-table").inner_text()

    assert _hosts(page.requested) <= LOCAL_HOSTS, page.requested


def test_redoc_renders_the_operations(server: Server, page: Any) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    list_summary = spec["paths"]["/v1/articles"]["get"]["summary"]
    page.goto(f"{server.url}/redoc")
    page.wait_for_selector("h1")
    assert "Newsdesk" in page.locator("h1").first.inner_text()
    menu = page.locator("[role=menuitem], .menu-content label")
    assert menu.filter(has_text=list_summary).count() >= 1
    assert page.locator("h2", has_text=list_summary).count() >= 1
    assert page.requested, "the page made no requests at all"
    assert _hosts(page.requested) <= LOCAL_HOSTS, page.requested
