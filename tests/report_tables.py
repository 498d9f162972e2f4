"""A small, independent reader of report.md and report.html for the report tests.

Written from CommonMark/GFM rules, not from segmint's renderer: table rows split on
unescaped `|`, backslash escapes of ASCII punctuation and the entities &lt; &gt; &amp; undone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

# CommonMark: a backslash before any ASCII punctuation character is a literal character.
_ESCAPE_OR_ENTITY = re.compile(r"\\([!-/:-@\[-`{-~])|&(lt|gt|amp);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&"}
_DELIMITER_ROW = re.compile(r"^\|(\s*:?-+:?\s*\|)+\s*$")
_HEADING = re.compile(r"^(#{1,6}) (.*)$")


def unescape(text: str) -> str:
    """Return what a Markdown renderer shows for text (backslash escapes and 3 entities)."""

    def replace(match: re.Match) -> str:
        return match.group(1) if match.group(1) is not None else _ENTITIES[match.group(2)]

    return _ESCAPE_OR_ENTITY.sub(replace, text)


def split_row(line: str) -> list[str]:
    """Return the raw (still escaped) cells of a GFM table row `| a | b |`."""
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|")):
        raise ValueError(f"not a table row: {line!r}")
    cells, current, i = [], [], 1
    while i < len(line):
        char = line[i]
        if char == "\\" and i + 1 < len(line):
            current.append(line[i : i + 2])  # an escaped pair never splits the row
            i += 2
            continue
        if char == "|":
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    return cells


@dataclass
class MarkdownTable:
    heading: str  # the nearest heading above the table, unescaped
    headers: list[str]
    align: list[str]  # "l" or "r" per column
    rows: list[list[str]]  # unescaped cells

    def column(self, header: str) -> list[str]:
        j = self.headers.index(header)
        return [row[j] for row in self.rows]

    def records(self) -> list[dict[str, str]]:
        return [dict(zip(self.headers, row, strict=True)) for row in self.rows]


def markdown_tables(markdown: str) -> list[MarkdownTable]:
    """Return every GFM table of a Markdown document, in order."""
    lines = markdown.splitlines()
    tables: list[MarkdownTable] = []
    heading = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if m := _HEADING.match(line):
            heading = unescape(m.group(2))
        if line.startswith("|") and i + 1 < len(lines) and _DELIMITER_ROW.match(lines[i + 1]):
            headers = [unescape(c) for c in split_row(line)]
            align = ["r" if c.strip().endswith(":") else "l" for c in split_row(lines[i + 1])]
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [unescape(c) for c in split_row(lines[i])]
                if len(cells) != len(headers):
                    raise ValueError(f"row has {len(cells)} cells, header {len(headers)}")
                rows.append(cells)
                i += 1
            tables.append(MarkdownTable(heading, headers, align, rows))
            continue
        i += 1
    return tables


def table_with(markdown: str, first_header: str) -> MarkdownTable:
    """Return the single table whose first header is first_header."""
    found = [t for t in markdown_tables(markdown) if t.headers[0] == first_header]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} tables start with {first_header!r}")
    return found[0]


def headings(markdown: str, level: int) -> list[str]:
    """Return the unescaped text of every heading of the given level."""
    out = []
    for line in markdown.splitlines():
        m = _HEADING.match(line)
        if m and len(m.group(1)) == level:
            out.append(unescape(m.group(2)))
    return out


def section_text(markdown: str, title: str) -> str:
    """Return the Markdown between the `## title` heading and the next `## ` heading."""
    lines = markdown.splitlines()
    start = lines.index(f"## {title}") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start:end])


# Numbers as displayed ---------------------------------------------------------------


def number(cell: str) -> float:
    """Return the value of a displayed number: `12,345.67`, `-0.52`, `+0.84`."""
    if not re.fullmatch(r"[+-]?[0-9][0-9,]*(\.[0-9]+)?", cell):
        raise ValueError(f"not a number: {cell!r}")
    return float(cell.replace(",", ""))


def decimals(cell: str) -> int:
    """Return how many decimals a displayed number has."""
    return len(cell.split(".")[1]) if "." in cell else 0


def percent(cell: str) -> float:
    """Return a displayed percentage as a share: `12.3%` -> 0.123."""
    if not cell.endswith("%"):
        raise ValueError(f"not a percentage: {cell!r}")
    return number(cell[:-1]) / 100


def shows(cell: str, value: float) -> bool:
    """True when the displayed number is value rounded to the cell's own decimals."""
    return abs(number(cell) - value) <= 0.5 * 10 ** -decimals(cell) + 1e-9 * max(1, abs(value))


def shows_percent(cell: str, share: float) -> bool:
    """True when the displayed percentage is share × 100 rounded to the cell's decimals."""
    return shows(cell[:-1], share * 100) and cell.endswith("%")


# HTML ----------------------------------------------------------------------------------


class _HtmlReader(HTMLParser):
    """Collect the tables (cell texts) and the headline tiles of report.html."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.tiles: list[list[str]] = []
        self.chart_divs: list[str] = []
        self._cell: list[str] | None = None
        self._tile: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "div" and "figure" in classes:
            self.tiles.append([])
        elif tag == "div" and ("label" in classes or "value" in classes):
            self._tile = []
        elif tag == "div" and "data-chart" in attributes:
            self.chart_divs.append(attributes["data-chart"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "div" and self._tile is not None:
            self.tiles[-1].append("".join(self._tile).strip())
            self._tile = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        if self._tile is not None:
            self._tile.append(data)


def read_html(text: str) -> _HtmlReader:
    reader = _HtmlReader()
    reader.feed(text)
    reader.close()
    return reader


def script_block(html_text: str, element_id: str) -> str:
    """Return the raw text inside <script ... id="element_id">...</script>."""
    m = re.search(
        rf'<script[^>]*\bid="{re.escape(element_id)}"[^>]*>(.*?)</script>', html_text, re.S
    )
    if m is None:
        raise AssertionError(f"no script element with id {element_id!r}")
    return m.group(1)
