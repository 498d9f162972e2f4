"""The report's charts, computed from summary.json, segments.parquet and model.json."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmint.features.rfm import RFM_MAP
from segmint.model.segment_model import SegmentModel
from segmint.model.selection import MAXIMISED
from segmint.profile.summary import spend_ranking
from segmint.profile.traits import segment_traits
from segmint.report import format as fmt
from segmint.report.charts import (
    BarPanel,
    Bars,
    Box,
    BoxPanel,
    Chart,
    HeatmapPanel,
    Line,
    LinePanel,
    Mark,
    Points,
    ScatterPanel,
)
from segmint.report.palette import NEUTRAL, segment_colour

MAX_MAP_POINTS = 20_000
PARETO_POINTS = 500

# Features of the profile heatmap, in reading order, with their labels.
PROFILE_LABELS = {
    "recency_days": "days since last order",
    "frequency": "orders",
    "monetary": "spend",
    "aov": "order value",
    "tenure_days": "days since first order",
    "interpurchase_days": "days between orders",
    "return_rate": "return rate",
    "quantity": "units",
    "avg_unit_price": "unit price",
    "n_categories": "categories",
}


def segment_names(summary: dict) -> list[str]:
    return [s["name"] for s in sorted(summary["segments"], key=lambda s: s["id"])]


def pareto_chart(customers: pd.DataFrame, summary: dict) -> Chart:
    """Customers ranked by spend against their cumulative share of revenue."""
    ranked = spend_ranking(customers["monetary"].to_numpy())
    total = ranked.sum()
    cumulative = np.cumsum(ranked) / total if total else np.zeros_like(ranked)
    n = len(ranked)
    picks = np.unique(np.linspace(0, n, min(n, PARETO_POINTS) + 1).round().astype(int))
    x = (picks / n).tolist()
    y = np.concatenate([[0.0], cumulative])[picks].tolist()
    marks = tuple(
        Mark(row["customers"] / n, row["revenue_share"], f"top {row['top_share']:.0%}: "
             f"{fmt.pct(row['revenue_share'])}")
        for row in summary["revenue_concentration"]
        if row["top_share"] <= 0.2
    )  # fmt: skip
    panel = LinePanel(
        title="",
        x_title="share of customers, highest spend first",
        y_title="cumulative share of revenue",
        lines=(
            Line("customers by spend", _rounded(x), _rounded(y), segment_colour(0)),
            Line("equal spend", [0.0, 1.0], [0.0, 1.0], NEUTRAL, dashed=True),
        ),
        marks=marks,
        x_percent=True,
        y_percent=True,
    )
    return Chart("pareto", "Revenue concentration (Pareto curve)", (panel,))


def segment_share_chart(summary: dict) -> Chart:
    """Each segment's share of customers beside its share of revenue."""
    segments = sorted(summary["segments"], key=lambda s: s["id"])
    colours = [segment_colour(s["id"]) for s in segments]
    panel = BarPanel(
        title="",
        categories=[s["name"] for s in segments],
        bars=(
            Bars("share of customers", [s["share"] for s in segments], colours, opacity=0.45),
            Bars("share of revenue", [s["revenue_share"] for s in segments], colours),
        ),
        y_title="share",
        y_percent=True,
    )
    return Chart(
        "revenue-by-segment",
        "Customers and revenue by segment",
        (panel,),
        caption="Light bars: the segment's share of customers; dark bars: its share of revenue.",
    )


def clv_chart(summary: dict) -> Chart:
    """Each segment's share of the revenue so far beside its share of the expected CLV."""
    segments = sorted(summary["segments"], key=lambda s: s["id"])
    colours = [segment_colour(s["id"]) for s in segments]
    total = summary["clv"]["totals"]["clv_total"]
    horizon = summary["clv"]["horizon_days"]
    panel = BarPanel(
        title="",
        categories=[s["name"] for s in segments],
        bars=(
            Bars(
                "share of revenue so far",
                [s["revenue_share"] for s in segments],
                colours,
                opacity=0.45,
            ),
            Bars(
                f"share of expected spend, next {horizon} days",
                [s["clv_total"] / total if total else 0.0 for s in segments],
                colours,
            ),
        ),  # fmt: skip
        y_title="share",
        y_percent=True,
    )
    return Chart(
        "clv-by-segment",
        "Revenue so far and expected spend by segment",
        (panel,),
        caption="Light bars: the segment's share of the revenue to date; dark bars: its share "
        f"of the spend expected over the next {horizon} days (CLV).",
    )


def profile_heatmap(customers: pd.DataFrame, summary: dict) -> Chart:
    """Each segment's mean of every profile feature, coloured by its distance from the base."""
    features = [f for f in PROFILE_LABELS if f in customers.columns]
    names = segment_names(summary)
    labels = customers["segment_id"].to_numpy()
    traits = segment_traits(customers, labels, len(names), features)
    z, text = [], []
    for segment in traits:
        z.append([_rounded_one(segment[f].z) if f in segment else None for f in features])
        text.append([_feature_value(f, segment[f].mean) if f in segment else "" for f in features])
    panel = HeatmapPanel(
        title="",
        x_labels=[PROFILE_LABELS[f] for f in features],
        y_labels=names,
        z=z,
        text=text,
        diverging=True,
        colour_title="z",
    )
    return Chart(
        "profile-heatmap",
        "Segment profiles",
        (panel,),
        height=max(320, 60 * len(names) + 160),
        caption="Cells show each segment's mean; colour is its distance from all customers' "
        "mean in standard deviations, on the log scale for days, counts and money "
        "(red above, blue below).",
    )


def distribution_chart(customers: pd.DataFrame, summary: dict) -> Chart:
    """Boxes of recency, frequency and spend per segment."""
    panels = tuple(
        _box_panel(customers, summary, feature, title, log)
        for feature, title, log in (
            ("recency_days", "days since last order", False),
            ("frequency", "orders", True),
            ("monetary", "spend", True),
        )
    )
    return Chart(
        "distributions",
        "Recency, frequency and spend per segment",
        panels,
        height=460,
        caption="Boxes span the middle half of each segment, the line is its median, whiskers "
        "reach the furthest customer within 1.5 box-lengths; orders and spend on a log scale.",
    )


def cadence_chart(customers: pd.DataFrame, summary: dict) -> Chart:
    """Days between orders, per segment, for customers with more than one order."""
    panel = _box_panel(customers, summary, "interpurchase_days", "days between orders", True)
    return Chart(
        "cadence",
        "Purchase cadence",
        (panel,),
        caption="Average days between a customer's orders, for customers with two or more orders.",
    )


def segment_map(customers: pd.DataFrame, summary: dict, model_json: dict) -> tuple[Chart, dict]:
    """The scaled features projected on their first two principal components."""
    model = SegmentModel.from_json(model_json)
    X = model.scaled(customers)
    components, explained = _principal_axes(X)
    rng = np.random.default_rng(summary["seed"])
    n = len(X)
    sample = np.sort(rng.choice(n, MAX_MAP_POINTS, replace=False)) if n > MAX_MAP_POINTS else None
    rows = np.arange(n) if sample is None else sample
    coords = (X[rows] - X.mean(axis=0)) @ components.T
    centres = (model.centers_ - X.mean(axis=0)) @ components.T
    labels = customers["segment_id"].to_numpy()[rows]
    ids = customers["customer_id"].to_numpy()[rows].astype(str)
    names = segment_names(summary)
    groups = tuple(
        Points(
            names[i],
            _rounded(coords[labels == i, 0].tolist(), 3),
            _rounded(coords[labels == i, 1].tolist(), 3),
            segment_colour(i),
            ids[labels == i].tolist(),
        )
        for i in range(len(names))
    )
    panel = ScatterPanel(
        title="",
        x_title=f"first component ({explained[0]:.0%} of variance)",
        y_title=f"second component ({explained[1]:.0%} of variance)",
        groups=groups,
        centres=Points("segment centres", _rounded(centres[:, 0].tolist(), 3),
                       _rounded(centres[:, 1].tolist(), 3), "#000000", names),
    )  # fmt: skip
    facts = {
        "points": len(rows),
        "customers": n,
        "explained": [float(e) for e in explained[:2]],
        "loadings": {f: [float(components[0, j]), float(components[1, j])]
                     for j, f in enumerate(model.features)},
    }  # fmt: skip
    return Chart("segment-map", "Segment map", (panel,), height=560), facts


def rfm_grid_chart(customers: pd.DataFrame) -> Chart:
    """The classic R × FM grid: customers and revenue share per cell, with the map's names."""
    fm = ((customers["f_score"] + customers["m_score"]) / 2 + 0.5).astype(int)
    counts = pd.crosstab(customers["r_score"], fm).reindex(index=range(1, 6), columns=range(1, 6))
    revenue = customers.groupby([customers["r_score"], fm])["monetary"].sum()
    total = customers["monetary"].sum()
    rows = list(range(5, 0, -1))
    panels = []
    for title, value_of, text_of in (
        ("customers", lambda r, c: counts.loc[r, c], fmt.whole),
        ("share of revenue", lambda r, c: revenue.get((r, c), 0.0) / total if total else 0.0, fmt.pct),
    ):  # fmt: skip
        z = [[_finite_or_zero(value_of(r, c)) for c in range(1, 6)] for r in rows]
        text = [[f"{RFM_MAP[(r, c)]}\n{text_of(z[i][c - 1])}" for c in range(1, 6)]
                for i, r in enumerate(rows)]  # fmt: skip
        panels.append(
            HeatmapPanel(
                title=title,
                x_labels=[str(c) for c in range(1, 6)],
                y_labels=[str(r) for r in rows],
                z=z,
                text=text,
                diverging=False,
                colour_title="",
                x_title="FM score (frequency and spend)",
                y_title="R score (recency)",
            )
        )
    return Chart("rfm-grid", "Classic RFM grid", tuple(panels), height=520)


# The scores charted against k, with their labels; then the segments' stability.
CHART_SCORES = {
    "davies_bouldin": "Davies-Bouldin",
    "silhouette": "silhouette",
    "calinski_harabasz": "Calinski-Harabasz",
}


def selection_chart(summary: dict) -> Chart:
    """Davies-Bouldin, silhouette, Calinski-Harabasz and the segments' stability against k,
    the chosen k marked."""
    selection = summary["selection"]
    rows = selection["scores"]
    chosen = selection["chosen_k"]
    panels = []
    for metric, title in CHART_SCORES.items():
        points = [(r["k"], r[metric]) for r in rows if r.get(metric) is not None]
        if not points:
            continue
        better = "higher is better" if metric in MAXIMISED else "lower is better"
        at_chosen = [v for k, v in points if k == chosen]
        lines = (Line(title, [k for k, _ in points], [v for _, v in points],
                      segment_colour(0), markers=True),)  # fmt: skip
        panels.append(
            LinePanel(
                title=title,
                x_title="k",
                y_title=better,
                lines=lines,
                marks=(Mark(chosen, at_chosen[0], f"k = {chosen}"),) if at_chosen else (),
                integer_x=True,
            )
        )
    stability = stability_panel(selection)
    if stability is not None:
        panels.append(stability)
    return Chart("selection", "Scores by number of segments", tuple(panels), height=360)


def stability_panel(selection: dict) -> LinePanel | None:
    """Each segment's mean bootstrap Jaccard similarity for every k (a dot per segment),
    the least stable segment's line, and the --min-stability threshold."""
    rows = [r for r in selection["scores"] if r.get("least_stable") is not None]
    if not rows:
        return None
    ks = [r["k"] for r in rows]
    threshold = selection["min_stability"]
    dots = [(r["k"], s["jaccard"]) for r in rows for s in r["segment_stability"]
            if s["jaccard"] is not None]  # fmt: skip
    least = [r["least_stable"] for r in rows]
    chosen = selection["chosen_k"]
    at_chosen = [v for k, v in zip(ks, least, strict=True) if k == chosen]
    return LinePanel(
        title="segments' stability",
        x_title="k",
        y_title="higher is better",
        lines=(
            Line(
                "a segment's mean Jaccard",
                [k for k, _ in dots],
                [j for _, j in dots],
                segment_colour(1),
                points_only=True,
            ),
            Line("least stable segment", ks, least, segment_colour(0), markers=True),
            Line(
                f"stable from {threshold:g}",
                [min(ks), max(ks)],
                [threshold, threshold],
                NEUTRAL,
                dashed=True,
            ),
        ),  # fmt: skip
        marks=(Mark(chosen, at_chosen[0], f"k = {chosen}"),) if at_chosen else (),
        integer_x=True,
    )


# Helpers ------------------------------------------------------------------------------


def box_stats(values: np.ndarray, name: str, colour: str) -> Box | None:
    """Return the Tukey box of values (NaN ignored), or None when there are none."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not len(values):
        return None
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    reach = 1.5 * (q3 - q1)
    low = values[values >= q1 - reach].min()
    high = values[values <= q3 + reach].max()
    return Box(name, colour, *(float(v) for v in (low, q1, median, q3, high)),
               float(values.mean()), len(values))  # fmt: skip


def _box_panel(
    customers: pd.DataFrame, summary: dict, feature: str, title: str, log: bool
) -> BoxPanel:
    labels = customers["segment_id"].to_numpy()
    values = customers[feature].to_numpy(dtype=np.float64)
    boxes = []
    for i, name in enumerate(segment_names(summary)):
        box = box_stats(values[labels == i], name, segment_colour(i))
        if box is not None:
            boxes.append(box)
    # A log axis only when every box stays above zero (net spend can be negative).
    log = log and all(b.low > 0 for b in boxes)
    return BoxPanel(title, title, tuple(boxes), log=log)


def _principal_axes(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the principal axes of X (rows) and each one's share of the variance.

    Each axis's sign is fixed so that its largest loading is positive: the same data gives
    the same picture.
    """
    centred = X - X.mean(axis=0)
    covariance = centred.T @ centred / max(len(X) - 1, 1)
    values, vectors = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order].T
    for axis in vectors:
        if axis[np.argmax(np.abs(axis))] < 0:
            axis *= -1
    total = values.sum()
    explained = values / total if total > 0 else np.zeros_like(values)
    if len(vectors) == 1:  # a single feature: the second axis is flat
        vectors = np.vstack([vectors, np.zeros_like(vectors)])
        explained = np.append(explained, 0.0)
    return vectors[:2], explained[:2]


def _feature_value(feature: str, value: float) -> str:
    if feature in ("monetary", "aov", "avg_unit_price"):
        return fmt.money(value)
    if feature == "return_rate":
        return fmt.pct(value)
    if feature in ("frequency", "n_categories"):
        return fmt.one(value)
    return fmt.whole(value)


def _rounded(values: list[float], digits: int = 5) -> list[float]:
    return [round(v, digits) for v in values]


def _rounded_one(value: float) -> float:
    return round(float(value), 2)


def _finite_or_zero(value: float) -> float:
    value = float(value)
    return value if np.isfinite(value) else 0.0
