"""Charts as PNG files for report.md, drawn with matplotlib's Agg canvas (no browser, no pyplot)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import singledispatch
from typing import Any

import numpy as np

from segmint.helper import from_both_ends
from segmint.report.charts import (
    BarPanel,
    BoxPanel,
    Chart,
    HeatmapPanel,
    LinePanel,
    Panel,
    ScatterPanel,
    log_ticks,
    tick_label,
)
from segmint.report.palette import DIVERGING, NEUTRAL, SEQUENTIAL

WIDTH_INCHES = 10.0
DPI = 100
PIXELS_PER_INCH = 100  # the HTML height in pixels maps to inches at this rate


def render_png(chart: Chart) -> bytes:
    """Return the chart as PNG bytes, with no timestamp or version in its metadata."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = chart.height / PIXELS_PER_INCH
    fig = Figure(figsize=(WIDTH_INCHES, height), dpi=DPI)
    FigureCanvasAgg(fig)
    # Fixed margins instead of a layout engine, which draws every figure several times.
    fig.subplots_adjust(**_margins(chart, height))
    axes = fig.subplots(1, len(chart.panels), squeeze=False)[0]
    for i, (ax, panel) in enumerate(zip(axes, chart.panels, strict=True)):
        _style(ax)
        _draw(panel, ax)
        if i and isinstance(panel, BoxPanel):  # the first panel names the segments
            ax.tick_params(axis="y", labelleft=False)
        if panel.title:
            ax.set_title(
                panel.title,
                fontsize=10.5,
                fontweight="bold",
                pad=18 if _labels_on_top(panel) else 6,
            )
    fig.suptitle(chart.title, fontsize=12, x=0.01, y=1 - 0.12 / height, ha="left", va="top")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


@contextmanager
def drawing(charts: Sequence[Chart]) -> Iterator[Callable[[int], bytes]]:
    """Yield a function returning chart i as PNG bytes, drawn on both cores where possible.

    matplotlib holds the GIL while it draws, and a large report's 9 charts take 2-3 s. A
    helper process (segmint.helper) draws the charts from the last one back while the
    caller draws from the first one on; a chart the helper has started is taken from it.
    Enter this before starting threads (see segmint.helper).
    """
    with from_both_ends(render_png, charts) as drawn:
        yield drawn


def _labels_on_top(panel: Panel) -> bool:
    return isinstance(panel, HeatmapPanel) and not panel.x_title


def bar_label(label: str) -> str:
    """Return a slanted axis label on two lines when long, so that it stays inside the figure."""
    import textwrap

    return "\n".join(textwrap.wrap(label, 24, max_lines=2, placeholder="…")) or label


def _margins(chart: Chart, height: float) -> dict[str, float]:
    """Return subplot margins (figure fractions) that leave room for each kind's labels."""
    inch = 1 / height
    longest = max(
        [len(label) for p in chart.panels if isinstance(p, HeatmapPanel) for label in p.y_labels]
        + [len(b.name) for p in chart.panels if isinstance(p, BoxPanel) for b in p.boxes]
        + [0]
    )
    left = max(0.08, 0.02 + 0.0075 * longest)  # row labels are segment names
    top_room = 0.55 + (0.7 if any(_labels_on_top(p) for p in chart.panels) else 0.0)
    top_room += 0.25 if any(p.title for p in chart.panels) else 0.0
    bottom_room = 0.5
    if any(isinstance(p, BarPanel) for p in chart.panels):
        bottom_room = 1.1  # slanted segment names
    if any(isinstance(p, LinePanel) and len(p.lines) > 1 for p in chart.panels):
        bottom_room = 0.6
    if any(isinstance(p, LinePanel) and len(p.lines) > 2 for p in chart.panels):
        bottom_room = 1.2  # a legend of one line per entry below the panel
    return {
        "left": left,
        "right": 0.98,
        "top": 1 - top_room * inch,
        "bottom": bottom_room * inch,
        "wspace": 0.3 if len(chart.panels) > 1 else 0.2,
    }


def _style(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=9)
    ax.grid(True, color="#eeeeee", linewidth=0.8)
    ax.set_axisbelow(True)


@singledispatch
def _draw(panel: Panel, ax: Any) -> None:
    raise TypeError(f"no matplotlib drawing for {type(panel).__name__}")


@_draw.register
def _(panel: LinePanel, ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    for line in panel.lines:
        style = "none" if line.points_only else "--" if line.dashed else "-"
        ax.plot(line.x, line.y, color=line.colour, linestyle=style,
                marker="o" if line.markers or line.points_only else None,
                markersize=4, alpha=0.55 if line.points_only else 1.0,
                label=line.name)  # fmt: skip
    right_end = max((max(line.x) for line in panel.lines if line.x), default=0)
    for mark in panel.marks:
        ax.plot([mark.x], [mark.y], "o", color="#333333", markersize=5)
        at_right = mark.x >= right_end
        above = panel.label_above(mark)
        ax.annotate(mark.label, (mark.x, mark.y), xytext=(-12 if at_right else 12, 8 if above else -14),
                    textcoords="offset points", ha="right" if at_right else "left",
                    va="bottom" if above else "baseline",
                    fontsize=8.5, bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#999"})  # fmt: skip
    if panel.x_percent:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlim(0, 1)
    if panel.y_percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    if panel.integer_x:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(panel.lines) > 2:  # points all over the panel (segment stability): legend below
        ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2),
                  ncol=1)  # fmt: skip
    elif len(panel.lines) > 1:
        ax.legend(fontsize=8.5, frameon=False)
    ax.set_xlabel(panel.x_title, fontsize=9)
    ax.set_ylabel(panel.y_title, fontsize=9)


@_draw.register
def _(panel: BarPanel, ax: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    n = len(panel.bars)
    width = 0.8 / n
    positions = np.arange(len(panel.categories))
    for i, bars in enumerate(panel.bars):
        ax.bar(positions + (i - (n - 1) / 2) * width, bars.values, width, color=bars.colours,
               alpha=bars.opacity, edgecolor=bars.colours, label=bars.name)  # fmt: skip
    labels = [bar_label(c) for c in panel.categories]
    ax.set_xticks(positions, labels, rotation=20, ha="right", fontsize=8.5)
    if panel.y_percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel(panel.y_title, fontsize=9)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(facecolor=NEUTRAL, alpha=b.opacity, label=b.name) for b in panel.bars],
              fontsize=8.5, frameon=False)  # fmt: skip


@_draw.register
def _(panel: HeatmapPanel, ax: Any) -> None:
    z = np.array([[np.nan if v is None else v for v in row] for row in panel.z], dtype=float)
    if panel.diverging:
        bound = max(float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 0.0, 1.0)
        image = ax.imshow(z, cmap=_colour_map(DIVERGING), vmin=-bound, vmax=bound, aspect="auto")
    else:
        image = ax.imshow(z, cmap=_colour_map(SEQUENTIAL), vmin=0, aspect="auto")
    norm, cmap = image.norm, image.cmap
    for (i, j), value in np.ndenumerate(z):
        dark = np.isfinite(value) and sum(cmap(norm(value))[:3]) < 1.5
        ax.text(j, i, cell_label(panel.text[i][j]), ha="center", va="center", fontsize=7 if len(panel.z[0]) > 6 else 7.5,
                color="white" if dark else "black")  # fmt: skip
    ax.set_xticks(range(len(panel.x_labels)), panel.x_labels, fontsize=8.5,
                  rotation=0 if panel.x_title else 25, ha="center" if panel.x_title else "left")  # fmt: skip
    if not panel.x_title:
        ax.xaxis.tick_top()
    ax.set_yticks(range(len(panel.y_labels)), panel.y_labels, fontsize=8.5)
    ax.grid(False)
    ax.set_xlabel(panel.x_title, fontsize=9)
    ax.set_ylabel(panel.y_title, fontsize=9)


def cell_label(text: str) -> str:
    """Break a long first line at its last space, so that cell labels fit their cell."""
    first, _, rest = text.partition("\n")
    if len(first) > 12 and " " in first:
        first = "\n".join(first.rsplit(" ", 1))
    return first + ("\n" + rest if rest else "")


def _colour_map(stops: tuple[tuple[float, str], ...]) -> Any:
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("segmint", list(stops))


@_draw.register
def _(panel: BoxPanel, ax: Any) -> None:
    # Horizontal boxes, the first segment on top: segment names read across, not slanted.
    stats = [{"label": b.name, "whislo": b.low, "q1": b.q1, "med": b.median, "q3": b.q3,
              "whishi": b.high, "mean": b.mean, "fliers": []} for b in panel.boxes]  # fmt: skip
    if not stats:
        return
    parts = ax.bxp(stats, showmeans=True, patch_artist=True, showfliers=False,
                   orientation="horizontal",
                   meanprops={"marker": "D", "markersize": 4, "markerfacecolor": "white",
                              "markeredgecolor": "#333"})  # fmt: skip
    for patch, box in zip(parts["boxes"], panel.boxes, strict=True):
        patch.set_facecolor(box.colour)
        patch.set_alpha(0.55)
        patch.set_edgecolor(box.colour)
    for median in parts["medians"]:
        median.set_color("#222222")
    ax.invert_yaxis()
    if panel.log:
        ax.set_xscale("log")
        ticks = log_ticks(min(b.low for b in panel.boxes), max(b.high for b in panel.boxes))
        if len(ticks) > 6:  # side by side, a narrow axis has room for powers of ten only
            ticks = [t for t in ticks if f"{t:e}".startswith("1")]
        ax.set_xticks(ticks, [tick_label(t) for t in ticks])
        ax.minorticks_off()
    ax.tick_params(axis="y", labelsize=8.5)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel(panel.y_title, fontsize=9)
    ax.grid(axis="y", visible=False)


@_draw.register
def _(panel: ScatterPanel, ax: Any) -> None:
    for group in panel.groups:
        ax.scatter(group.x, group.y, s=9, color=group.colour, alpha=0.55, linewidths=0,
                   label=group.name, rasterized=True)  # fmt: skip
    if panel.centres is not None:
        ax.scatter(panel.centres.x, panel.centres.y, s=120, marker="x", color="black",
                   linewidths=2.5, label=panel.centres.name)  # fmt: skip
    ax.legend(fontsize=8, frameon=False, loc="best")
    ax.set_xlabel(panel.x_title, fontsize=9)
    ax.set_ylabel(panel.y_title, fontsize=9)
