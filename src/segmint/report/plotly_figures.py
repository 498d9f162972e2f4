"""Charts as plotly.js figures (plain JSON: no plotly Python objects, no validation cost)."""

from __future__ import annotations

import html
from functools import singledispatch

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
from segmint.report.palette import DIVERGING, SEQUENTIAL

FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12}
GAP = 0.08  # horizontal space between panels, as a share of the width
# Plotly reads a small set of HTML tags and entities inside text; escaping the entity
# characters makes every label show as written (a category "<b>" stays "<b>").


def text(value: str) -> str:
    """Return value safe to show as a plotly label (entities decoded back by plotly)."""
    return html.escape(str(value), quote=False)


def figure(chart: Chart) -> dict:
    """Return the plotly.js {data, layout} of a chart, its panels side by side."""
    n = len(chart.panels)
    width = (1 - GAP * (n - 1)) / n
    data: list[dict] = []
    layout: dict = {
        "height": chart.height,
        "margin": {
            "l": 60,
            "r": 20,
            "t": 40 if any(p.title for p in chart.panels) else 20,
            "b": 60,
        },
        "font": FONT,
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "legend": {"orientation": "h", "y": -0.18},
        "annotations": [],
        "hoverlabel": {"namelength": -1},
    }
    for i, panel in enumerate(chart.panels):
        suffix = "" if i == 0 else str(i + 1)
        axes = {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}
        start = i * (width + GAP)
        layout[f"xaxis{suffix}"] = {
            "domain": [start, start + width],
            "anchor": axes["yaxis"],
            "automargin": True,
            "gridcolor": "#eee",
            "zeroline": False,
        }
        layout[f"yaxis{suffix}"] = {"anchor": axes["xaxis"], "automargin": True,
                                    "gridcolor": "#eee", "zeroline": False}  # fmt: skip
        if panel.title:
            layout["annotations"].append(
                {"text": f"<b>{text(panel.title)}</b>", "x": start + width / 2, "y": 1.0,
                 "xref": "paper", "yref": "paper", "yanchor": "bottom", "showarrow": False}
            )  # fmt: skip
        traces, extra = _panel(panel, axes)
        data.extend(traces)
        layout[f"xaxis{suffix}"].update(extra.get("x", {}))
        layout[f"yaxis{suffix}"].update(extra.get("y", {}))
        layout["annotations"].extend(extra.get("annotations", []))
        layout.update(extra.get("layout", {}))
    return {"data": data, "layout": layout}


@singledispatch
def _panel(panel: Panel, axes: dict) -> tuple[list[dict], dict]:
    raise TypeError(f"no plotly drawing for {type(panel).__name__}")


@_panel.register
def _(panel: LinePanel, axes: dict) -> tuple[list[dict], dict]:
    traces = [
        {"type": "scatter",
         "mode": "markers" if line.points_only else "lines+markers" if line.markers else "lines",
         "name": text(line.name), "x": line.x, "y": line.y, **axes,
         "line": {"color": line.colour, "dash": "dash" if line.dashed else "solid", "width": 2},
         "showlegend": len(panel.lines) > 1,
         "hovertemplate": _hover(panel.x_percent, panel.y_percent)}
        for line in panel.lines
    ]  # fmt: skip
    right_end = max((max(line.x) for line in panel.lines if line.x), default=0)
    annotations = [
        {"x": m.x, "y": m.y, "xref": axes["xaxis"], "yref": axes["yaxis"], "text": text(m.label),
         "showarrow": True, "arrowhead": 2, "ax": -40 if m.x >= right_end else 40,
         "ay": -30 if panel.label_above(m) else 30, "bgcolor": "white",
         "bordercolor": "#999", "font": {"size": 11}}
        for m in panel.marks
    ]  # fmt: skip
    x_axis = {"title": {"text": text(panel.x_title)}}
    y_axis = {"title": {"text": text(panel.y_title)}}
    if panel.x_percent:
        x_axis.update(tickformat=".0%", range=[0, 1])
    if panel.y_percent:
        y_axis.update(tickformat=".0%")
    if panel.integer_x:
        x_axis.update(dtick=1)
    return traces, {"x": x_axis, "y": y_axis, "annotations": annotations}


@_panel.register
def _(panel: BarPanel, axes: dict) -> tuple[list[dict], dict]:
    categories = [text(c) for c in panel.categories]
    traces = [
        {"type": "bar", "name": text(bars.name), "x": categories, "y": bars.values, **axes,
         "showlegend": False,  # the colours are the segments'; the caption names the bars
         "marker": {"color": bars.colours, "opacity": bars.opacity,
                    "line": {"color": bars.colours, "width": 1}},
         "hovertemplate": "%{x}: " + ("%{y:.1%}" if panel.y_percent else "%{y}")
         + "<extra>" + text(bars.name) + "</extra>"}
        for bars in panel.bars
    ]  # fmt: skip
    y_axis = {"title": {"text": text(panel.y_title)}}
    if panel.y_percent:
        y_axis["tickformat"] = ".0%"
    return traces, {"x": {"type": "category"}, "y": y_axis, "layout": {"barmode": "group"}}


@_panel.register
def _(panel: HeatmapPanel, axes: dict) -> tuple[list[dict], dict]:
    trace = {
        "type": "heatmap", "x": [text(x) for x in panel.x_labels],
        "y": [text(y) for y in panel.y_labels], "z": panel.z,
        "text": [[text(t).replace("\n", "<br>") for t in row] for row in panel.text],
        "texttemplate": "%{text}", "hovertemplate": "%{y} · %{x}<br>%{text}<extra></extra>",
        "colorscale": [list(stop) for stop in (DIVERGING if panel.diverging else SEQUENTIAL)],
        "showscale": False, "xgap": 2, "ygap": 2, **axes,
    }  # fmt: skip
    if panel.diverging:
        bound = max([abs(v) for row in panel.z for v in row if v is not None] + [1.0])
        trace.update(zmid=0, zmin=-bound, zmax=bound)
    else:
        trace.update(zmin=0)
    x_axis = {"type": "category", "title": {"text": text(panel.x_title)}, "side": "top"
              if not panel.x_title else "bottom", "showgrid": False}  # fmt: skip
    y_axis = {"type": "category", "title": {"text": text(panel.y_title)}, "showgrid": False,
              "autorange": "reversed"}  # first row on top  # fmt: skip
    return [trace], {"x": x_axis, "y": y_axis}


@_panel.register
def _(panel: BoxPanel, axes: dict) -> tuple[list[dict], dict]:
    traces = [
        {"type": "box", "name": text(b.name), "x": [text(b.name)], "q1": [b.q1],
         "median": [b.median], "q3": [b.q3], "lowerfence": [b.low], "upperfence": [b.high],
         "mean": [b.mean], "boxpoints": False, "marker": {"color": b.colour},
         "line": {"color": b.colour}, "fillcolor": _translucent(b.colour), "showlegend": False,
         **axes}
        for b in panel.boxes
    ]  # fmt: skip
    y_axis = {"title": {"text": text(panel.y_title)}}
    if panel.log and panel.boxes:
        ticks = log_ticks(min(b.low for b in panel.boxes), max(b.high for b in panel.boxes))
        y_axis.update(type="log", tickvals=ticks, ticktext=[tick_label(t) for t in ticks])
    return traces, {"x": {"type": "category", "tickangle": -30}, "y": y_axis}


@_panel.register
def _(panel: ScatterPanel, axes: dict) -> tuple[list[dict], dict]:
    traces = [
        {"type": "scatter", "mode": "markers", "name": text(g.name), "x": g.x, "y": g.y,
         "text": [text(label) for label in g.labels], **axes,
         "hovertemplate": "customer %{text}<extra>" + text(g.name) + "</extra>",
         "marker": {"color": g.colour, "size": 5, "opacity": 0.6}}
        for g in panel.groups
    ]  # fmt: skip
    if panel.centres is not None:
        c = panel.centres
        traces.append(
            {"type": "scatter", "mode": "markers", "name": text(c.name), "x": c.x, "y": c.y,
             "text": [text(label) for label in c.labels], **axes,
             "hovertemplate": "centre of %{text}<extra></extra>",
             "marker": {"color": "#000", "size": 14, "symbol": "x-thin",
                        "line": {"width": 3, "color": "#000"}}}
        )  # fmt: skip
    return traces, {
        "x": {"title": {"text": text(panel.x_title)}, "zeroline": True, "zerolinecolor": "#ddd"},
        "y": {"title": {"text": text(panel.y_title)}, "zeroline": True, "zerolinecolor": "#ddd"},
    }


def _hover(x_percent: bool, y_percent: bool) -> str:
    x = "%{x:.1%}" if x_percent else "%{x}"
    y = "%{y:.1%}" if y_percent else "%{y:.3f}"
    return f"{x}: {y}<extra>%{{fullData.name}}</extra>"


def _translucent(colour: str) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},0.35)"
