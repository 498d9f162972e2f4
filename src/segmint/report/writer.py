"""Write the report files: report.html, report.md and charts/*.png, from one document."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from segmint.report.build import build_report
from segmint.report.document import Report


def write_report(folder: Path, summary: dict, customers: pd.DataFrame, model_json: dict) -> Report:
    """Write report.html, report.md and charts/*.png into folder; return the document."""
    from segmint.report.html import render_html
    from segmint.report.markdown import CHART_FOLDER, chart_path, render_markdown
    from segmint.report.png import render_png

    report = build_report(summary, customers, model_json)
    (folder / "report.html").write_text(render_html(report), encoding="utf-8")
    (folder / "report.md").write_text(render_markdown(report), encoding="utf-8")
    (folder / CHART_FOLDER).mkdir(exist_ok=True)
    for chart in report.charts():
        (folder / chart_path(chart)).write_bytes(render_png(chart))
    return report
