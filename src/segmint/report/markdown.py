"""report.md: the same document as report.html, with charts as PNG files in charts/."""

from __future__ import annotations

import html
import re

from segmint.report.charts import Chart
from segmint.report.document import (
    Block,
    Bullets,
    Callout,
    Figures,
    Paragraph,
    Report,
    Section,
    Table,
)

CHART_FOLDER = "charts"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def chart_path(chart: Chart) -> str:
    """Return where a chart's PNG sits, relative to report.md."""
    return f"{CHART_FOLDER}/{chart.id}.png"


def escape(text: str) -> str:
    """Return plain text that Markdown shows as written (no emphasis, links or raw HTML)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False)).replace("\n", " ")


def render_markdown(report: Report) -> str:
    """Return the report as Markdown."""
    out = [f"# {escape(report.title)}", "", f"_{escape(report.subtitle)}_", ""]
    out += ["## Contents", ""]
    out += [f"{i}. [{escape(s.title)}](#{s.id})" for i, s in enumerate(report.sections, 1)]
    for section in report.sections:
        out += _section(section, level=2)
    return "\n".join(out).rstrip() + "\n"


def _section(section: Section, level: int) -> list[str]:
    out = ["", f'<a id="{section.id}"></a>', "", f"{'#' * level} {escape(section.title)}"]
    for block in section.blocks:
        out.append("")
        if isinstance(block, Section):
            out += _section(block, level + 1)[1:]
        else:
            out += _block(block)
    return out


def _block(block: Block) -> list[str]:
    if isinstance(block, Paragraph):
        return [escape(block.text)]
    if isinstance(block, Bullets):
        return [f"- {escape(item)}" for item in block.items]
    if isinstance(block, Callout):
        return [f"> **{escape(block.text)}**"]
    if isinstance(block, Figures):
        return _table(Table(("figure", "value"), block.items, "lr"))
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Chart):
        lines = [f"![{escape(block.title)}]({chart_path(block)})"]
        return lines + (["", f"_{escape(block.caption)}_"] if block.caption else [])
    raise TypeError(f"no Markdown for {type(block).__name__}")


def _table(table: Table) -> list[str]:
    rule = {"l": "---", "r": "---:"}
    lines = [
        "| " + " | ".join(escape(h) for h in table.headers) + " |",
        "|" + "|".join(rule[a] for a in table.align) + "|",
    ]
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in table.rows]
    return lines + (["", f"_{escape(table.note)}_"] if table.note else [])
