"""`segmint serve` in Debian's chromium, as a new user would use it: upload the demo data,
accept the detected columns, wait for the run, see the report's charts drawn, download
segments.csv and find it equal to the CLI's on the same file with the same seed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from browser_helpers import ALL_CHARTS_DRAWN, COUNT_ERRORS, UNDRAWN_CHARTS, VIEWPORT
from segmint.cli import main
from segmint.datasets import demo_path
from web_helpers import Server

pytestmark = pytest.mark.browser
pytest.importorskip("fastapi", reason="the web extra is not installed: pip install -e '.[web]'")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("serve") / "data")
    yield running
    running.stop()


@pytest.fixture
def page(browser, server: Server) -> Iterator:  # noqa: ANN001 - playwright's Browser
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.add_init_script(COUNT_ERRORS)
    blocked: list[str] = []

    def only_the_server(route) -> None:  # noqa: ANN001
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_server)
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    yield tab
    context.close()
    assert blocked == [], f"the app asked for outside resources: {blocked}"


def test_upload_run_report_download(page, server: Server, tmp_path: Path) -> None:  # noqa: ANN001
    page.goto(server.url + "/")
    page.set_input_files("#transactions", str(demo_path()))
    page.click("button[type=submit]")
    page.wait_for_url("**/mapping")
    # the detected columns and the first rows are shown, and accepted as they are
    assert "as detected: CustomerID" in page.inner_text("#column_customer_id")
    assert page.locator("#preview tbody tr").count() == 10
    page.click("#run-button")
    page.wait_for_selector("#figures, #run-error", timeout=120_000)
    assert page.locator("#run-error").count() == 0, page.inner_text("#run-error")
    assert page.inner_text("#figures").split()[0] == "228"

    with page.expect_download() as download:
        page.click("#download-csv")
    downloaded = tmp_path / "downloaded.csv"
    download.value.save_as(downloaded)

    page.click("#open-report")
    page.wait_for_function(ALL_CHARTS_DRAWN, timeout=60_000)
    assert page.evaluate(UNDRAWN_CHARTS) == []
    assert page.evaluate("window.__errors") == 0
    assert page.errors == []

    assert main(["run", str(demo_path()), "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    assert downloaded.read_bytes() == (tmp_path / "cli" / "segments.csv").read_bytes()

    page.goto(server.url + "/runs")
    assert page.locator("#runs tbody tr").count() == 1
    assert "228" in page.inner_text("#runs tbody tr")
