"""The report as a document: sections of plain-text blocks that HTML and Markdown both render.

Every string here is plain text (no markup): each renderer escapes it for its own format, so
a category called ``<script>`` is shown, never run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from segmint.report.charts import Chart


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Figures:
    """Headline figures, shown as tiles in HTML and a two-column table in Markdown."""

    items: tuple[tuple[str, str], ...]  # (label, value)


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: str  # one letter per column: l (text) or r (numbers)
    swatches: tuple[str, ...] = ()  # a colour per row, drawn before the first cell in HTML
    note: str = ""


@dataclass(frozen=True)
class Callout:
    """A warning the reader must not miss."""

    text: str


Block = Paragraph | Bullets | Figures | Table | Callout | Chart


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block | Section] = field(default_factory=list)

    def add(self, *blocks: Block | Section) -> Section:
        self.blocks.extend(blocks)
        return self

    def charts(self) -> list[Chart]:
        """Return every chart in this section and its subsections, in order."""
        found: list[Chart] = []
        for block in self.blocks:
            if isinstance(block, Chart):
                found.append(block)
            elif isinstance(block, Section):
                found.extend(block.charts())
        return found


@dataclass
class Report:
    title: str
    subtitle: str
    sections: list[Section]
    sources: str = "summary.json, segments.parquet and model.json"
    """The files beside the report that every figure comes from (said in the HTML footer)."""

    def charts(self) -> list[Chart]:
        return [chart for section in self.sections for chart in section.charts()]
