"""Write the report files: report.html, report.md and charts/*.png, from one document."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from segmint.report.build import build_report
from segmint.report.document import Report

if TYPE_CHECKING:
    from segmint.report.png import ChartPainter


def write_report(
    folder: Path,
    summary: dict,
    customers: pd.DataFrame,
    model_json: dict,
    painter: ChartPainter | None = None,
) -> Callable[[], Report]:
    """Write report.html and report.md into folder and start drawing charts/*.png.

    Returns a function that waits for the charts, writes them and returns the document:
    with a painter, the charts are drawn in its workers while the caller writes the rest.
    """
    from segmint.report.html import render_html
    from segmint.report.markdown import CHART_FOLDER, chart_path, render_markdown
    from segmint.report.png import render_png

    report = build_report(summary, customers, model_json)
    charts = report.charts()
    pending = painter.submit(charts) if painter is not None else None
    (folder / "report.html").write_text(render_html(report), encoding="utf-8")
    (folder / "report.md").write_text(render_markdown(report), encoding="utf-8")

    def finish() -> Report:
        (folder / CHART_FOLDER).mkdir(exist_ok=True)
        for i, chart in enumerate(charts):
            png = pending[i].result() if pending is not None else render_png(chart)
            (folder / chart_path(chart)).write_bytes(png)
        return report

    return finish
