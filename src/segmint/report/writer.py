"""Write the report files: report.html, report.md and charts/*.png, from one document."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from segmint.report.build import build_report
from segmint.report.document import Report


def write_report(folder: Path, summary: dict, customers: pd.DataFrame, model_json: dict) -> Report:
    """Write report.html, report.md and charts/*.png into folder; return the document."""
    report = build_report(summary, customers, model_json)
    write_document(folder, report, "report")
    return report


def write_document(
    folder: Path, report: Report, stem: str, png: Callable[[int], bytes] | None = None
) -> None:
    """Write a document as stem.html and stem.md, with its charts as charts/*.png.

    png: chart index → PNG bytes, from png.drawing(report.charts()) entered by the caller
    (before it starts threads); without it, the charts are drawn here.
    """
    from segmint.report.png import drawing  # matplotlib: only when charts are drawn here

    if png is None:
        with drawing(report.charts()) as drawn:
            return write_document(folder, report, stem, drawn)
    # Jinja2 and plotly.js: only when a document is written (the CLI answers errors first)
    from segmint.report.html import render_html
    from segmint.report.markdown import CHART_FOLDER, chart_path, render_markdown

    (folder / f"{stem}.html").write_text(render_html(report), encoding="utf-8")
    (folder / f"{stem}.md").write_text(render_markdown(report), encoding="utf-8")
    (folder / CHART_FOLDER).mkdir(exist_ok=True)
    for i, chart in enumerate(report.charts()):
        (folder / chart_path(chart)).write_bytes(png(i))
