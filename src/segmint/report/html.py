"""report.html: one self-contained file; plotly.js inlined once, opens offline from file://."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import jinja2

from segmint import strict_json
from segmint.report.document import Report
from segmint.report.plotly_figures import figure
from segmint.templating import environment

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}  # fmt: skip


def render_html(report: Report) -> str:
    """Return the report as one HTML page with its charts' data and plotly.js inside."""
    charts = {chart.id: figure(chart) for chart in report.charts()}
    return _template().render(
        report=report,
        plotly_js=_script_safe(_plotly_js()),
        charts_json=_json_in_script(charts),
        config_json=_json_in_script(PLOTLY_CONFIG),
        kind=lambda block: type(block).__name__,
    )


@cache
def _template() -> jinja2.Template:
    env = environment("segmint.report")
    return env.get_template("report.html.j2")


@cache
def _plotly_js() -> str:
    """Return plotly.min.js as shipped with the plotly package (read, not imported)."""
    spec = resources.files("plotly") / "package_data" / "plotly.min.js"
    return spec.read_text(encoding="utf-8")


def _script_safe(js: str) -> str:
    # Nothing inside a <script> may close it; in JS strings "<\/script" reads the same.
    return re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)


def _json_in_script(value: object) -> str:
    """Return JSON that can sit inside <script type="application/json"> whatever its strings hold."""
    text = strict_json.dumps(value, compact=True)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(char, escaped)
    return text
