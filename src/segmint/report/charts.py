"""Charts as data: what to draw, independent of how (plotly for HTML, matplotlib for PNG).

A chart is a row of panels; each panel is one of a few kinds. The figures module computes
them from summary.json and segments.parquet; html and png only draw them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Line:
    name: str
    x: list[float]
    y: list[float]
    colour: str
    dashed: bool = False
    markers: bool = False
    points_only: bool = False  # markers without the line (values that are not a series)


@dataclass(frozen=True)
class Mark:
    """A labelled point on a line panel (the top 20% on the Pareto curve, the chosen k)."""

    x: float
    y: float
    label: str


@dataclass(frozen=True)
class LinePanel:
    title: str
    x_title: str
    y_title: str
    lines: tuple[Line, ...]
    marks: tuple[Mark, ...] = ()
    x_percent: bool = False
    y_percent: bool = False
    integer_x: bool = False

    def label_above(self, mark: Mark) -> bool:
        """Whether a mark's label goes above its point: yes in the lower half of the panel
        (a minimum), so that it stays clear of the x axis's tick labels."""
        ys = [y for line in self.lines for y in line.y if y is not None and math.isfinite(y)]
        return bool(ys) and mark.y < (min(ys) + max(ys)) / 2


@dataclass(frozen=True)
class Bars:
    name: str
    values: list[float]
    colours: list[str]  # one per category
    opacity: float = 1.0


@dataclass(frozen=True)
class BarPanel:
    title: str
    categories: list[str]
    bars: tuple[Bars, ...]
    y_title: str
    y_percent: bool = False


@dataclass(frozen=True)
class HeatmapPanel:
    title: str
    x_labels: list[str]
    y_labels: list[str]
    z: list[list[float | None]]
    text: list[list[str]]
    diverging: bool  # centred on 0 (z-scores) or sequential from 0
    colour_title: str
    x_title: str = ""
    y_title: str = ""


@dataclass(frozen=True)
class Box:
    """Tukey box statistics of one segment (whiskers at the furthest point within 1.5 IQR)."""

    name: str
    colour: str
    low: float
    q1: float
    median: float
    q3: float
    high: float
    mean: float
    n: int


@dataclass(frozen=True)
class BoxPanel:
    title: str
    y_title: str
    boxes: tuple[Box, ...]
    log: bool = False


@dataclass(frozen=True)
class Points:
    name: str
    x: list[float]
    y: list[float]
    colour: str
    labels: list[str] = field(default_factory=list)  # hover text (customer ids)


@dataclass(frozen=True)
class ScatterPanel:
    title: str
    x_title: str
    y_title: str
    groups: tuple[Points, ...]
    centres: Points | None = None


Panel = LinePanel | BarPanel | HeatmapPanel | BoxPanel | ScatterPanel


@dataclass(frozen=True)
class Chart:
    """One figure: an id (its PNG file name and HTML anchor), a title and its panels in a row."""

    id: str
    title: str
    panels: tuple[Panel, ...]
    height: int = 420  # pixels in the HTML; the PNG keeps the same proportions
    caption: str = ""


def log_ticks(low: float, high: float) -> list[float]:
    """Return 1-2-5 tick values that cover [low, high] on a log axis (both above zero)."""
    import math

    ticks = []
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0**exponent
            if low / 1.5 <= value <= high * 1.5:
                ticks.append(value)
    return ticks


def tick_label(value: float) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"
