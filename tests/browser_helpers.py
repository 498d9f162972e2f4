"""What the browser tests share: Debian's chromium, its arguments, and the page checks
(on sys.path through pytest's `pythonpath`; tests/browser/conftest.py builds its fixtures on it)."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}

# Uncaught script errors, counted in the page so that waiting for the charts stops at the first.
COUNT_ERRORS = (
    "window.__errors = 0; window.addEventListener('error', () => { window.__errors++; });"
)
# Every [data-chart] container holds what Plotly drew (an svg, or a canvas for WebGL traces).
ALL_CHARTS_DRAWN = """() => {
  const boxes = [...document.querySelectorAll('[data-chart]')];
  return boxes.length > 0 && boxes.every(el => el.querySelector('svg, canvas') !== null);
}"""
DRAWN_OR_FAILED = f"() => window.__errors > 0 || ({ALL_CHARTS_DRAWN})()"
UNDRAWN_CHARTS = """() => [...document.querySelectorAll('[data-chart]')]
  .filter(el => el.querySelector('svg, canvas') === null)
  .map(el => el.getAttribute('data-chart'))"""


def chromium_executable() -> str:
    """Return the chromium to drive, or fail the test with how to provide one."""
    wanted = os.environ.get("SEGMINT_CHROMIUM") or "chromium"
    found = shutil.which(wanted)
    if found is None:
        pytest.fail(
            f"browser tests need Debian's chromium, but {wanted!r} is not an executable on PATH "
            "(install it with `apt-get install chromium`, or set SEGMINT_CHROMIUM to its path; "
            "never `playwright install`)",
            pytrace=False,
        )
    return found
