"""Browser fixtures: one headless Debian chromium per test session, driven by Playwright.

Never a downloaded browser: the executable is $SEGMINT_CHROMIUM or `chromium` on PATH. A missing
chromium FAILS the tests (the Makefile decides whether browser tests run at all).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from browser_helpers import (
    ALL_CHARTS_DRAWN,
    CHROMIUM_ARGS,
    COUNT_ERRORS,
    DRAWN_OR_FAILED,
    UNDRAWN_CHARTS,
    VIEWPORT,
    chromium_executable,
)


@dataclass
class OpenedReport:
    """A report loaded in its own browser context, with everything it did while loading."""

    path: Path
    page: Any
    console: list[tuple[str, str]] = field(default_factory=list)  # (type, text): error/warning
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[tuple[str, str]] = field(default_factory=list)  # (type, message)
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    blocked: list[str] = field(default_factory=list)  # the ones that were not file://


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_executable()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        pytest.fail(f"browser tests need the playwright package: {exc}", pytrace=False)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def open_report(browser: Any) -> Iterator[Callable[[Path], OpenedReport]]:
    """Return a function that opens a report.html offline and waits until every chart drew."""
    contexts: list[Any] = []

    def open_(path: Path) -> OpenedReport:
        context = browser.new_context(viewport=VIEWPORT, service_workers="block")
        contexts.append(context)
        context.add_init_script(COUNT_ERRORS)
        page = context.new_page()
        opened = OpenedReport(path=path, page=page)

        def route(r: Any) -> None:
            url = r.request.url
            if url.startswith("file://"):
                r.continue_()
            else:
                opened.blocked.append(url)
                r.abort()

        def on_console(message: Any) -> None:
            if message.type in ("error", "warning"):
                opened.console.append((message.type, message.text))

        def on_dialog(dialog: Any) -> None:
            opened.dialogs.append((dialog.type, dialog.message))
            dialog.dismiss()

        context.route("**/*", route)
        page.on("request", lambda request: opened.requests.append(request.url))
        page.on("console", on_console)
        page.on("pageerror", lambda error: opened.page_errors.append(str(error)))
        page.on("dialog", on_dialog)

        page.goto(path.resolve().as_uri(), wait_until="load")
        try:
            page.wait_for_function(DRAWN_OR_FAILED, timeout=30_000)
            problem = "" if page.evaluate(ALL_CHARTS_DRAWN) else "a script error"
        except Exception as exc:  # a timeout: say which charts and why below
            problem = type(exc).__name__
        if problem:
            undrawn = page.evaluate(UNDRAWN_CHARTS)
            pytest.fail(
                f"{path}: charts never drew: {undrawn} ({problem}); "
                f"console={opened.console} page_errors={opened.page_errors} "
                f"blocked={opened.blocked}",
                pytrace=False,
            )
        return opened

    yield open_
    for context in contexts:
        context.close()
