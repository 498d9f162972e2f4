"""The report (report.md, report.html, charts/*.png): every figure it shows is checked against
summary.json and against an independent recomputation from segments.parquet / model.json
(pandas, numpy, scikit-learn), read back with an independent Markdown/HTML reader
(tests/report_tables.py); plus hand-computed cases for the report's building blocks."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import subprocess
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA

from helpers import DROP_REASONS, SHARED_DATA, write_csv
from report_tables import (
    headings,
    markdown_tables,
    number,
    read_html,
    script_block,
    section_text,
    shows,
    shows_percent,
    split_row,
    unescape,
)
from segmint.pipeline import segment
from segmint.profile.summary import revenue_concentration
from segmint.report import format as fmt
from segmint.report.build import build_report
from segmint.report.figures import box_stats, segment_map
from segmint.report.findings import key_findings
from segmint.report.html import render_html
from segmint.report.markdown import render_markdown
from segmint.report.plan import implementation_plan, refresh_cadence

DATA = SHARED_DATA
pytestmark = pytest.mark.shared_data
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# The RFM map's 11 names (docs/reference/rfm.md#map), transcribed here.
RFM_NAMES = {
    "Champions",
    "Loyal Customers",
    "Potential Loyalists",
    "New Customers",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
}
CONCENTRATION = ("0.01", "0.1", "0.2", "0.5")
RFM = ("recency_days", "frequency", "monetary")
SCRIPT = "<script>alert(1)</script>"
ODD = "a|b*c_"


@dataclass
class Run:
    out: Path
    md: str
    html: str
    summary: dict
    customers: pd.DataFrame
    model: dict


def load_run(out: Path) -> Run:
    return Run(
        out,
        (out / "report.md").read_text(encoding="utf-8"),
        (out / "report.html").read_text(encoding="utf-8"),
        json.loads((out / "summary.json").read_text(encoding="utf-8")),
        pd.read_parquet(out / "segments.parquet"),
        json.loads((out / "model.json").read_text(encoding="utf-8")),
    )


@pytest.fixture(scope="module", params=["online_retail_sample.csv", "cdnow_sample.csv"])
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("report") / "out"
    segment(DATA / request.param, k_min=3, k_max=5, n_init=2).write(out)
    return load_run(out)


def table(md: str, *first_headers: str):
    """The one Markdown table whose headers start with first_headers."""
    found = [
        t for t in markdown_tables(md) if tuple(t.headers[: len(first_headers)]) == first_headers
    ]
    assert len(found) == 1, f"{len(found)} tables start with {first_headers}"
    return found[0]


def tiles(md: str, heading: str) -> list[list[str]]:
    """The rows of the figure tiles (figure | value) under a section heading."""
    found = [
        t for t in markdown_tables(md) if t.headers == ["figure", "value"] and t.heading == heading
    ]
    assert len(found) == 1, f"{len(found)} figure tables under {heading!r}"
    return found[0].rows


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text[:10])


# 1. The Markdown figures equal summary.json and an independent recomputation ------------


def test_executive_summary_figures(run: Run) -> None:
    c, s = run.customers, run.summary
    shown = dict(tiles(run.md, "Executive summary"))
    revenue = math.fsum(c["monetary"])
    orders = int(c["frequency"].sum())
    assert (
        number(shown["Customers"]) == len(c) == s["totals"]["customers"] == s["input"]["customers"]
    )
    assert number(shown["Orders"]) == orders == s["totals"]["orders"] == s["input"]["orders"]
    assert re.fullmatch(r"[0-9,]+\.[0-9]{2}", shown["Revenue"])
    assert shows(shown["Revenue"], revenue)
    assert s["totals"]["revenue"] == pytest.approx(revenue, rel=1e-12)
    # AOV is revenue ÷ orders, not the mean of the per-customer aov column.
    assert re.fullmatch(r"[0-9,]+\.[0-9]{2}", shown["Average order value"])
    assert shows(shown["Average order value"], revenue / orders)
    assert s["totals"]["aov"] == pytest.approx(revenue / orders, rel=1e-12)
    start, end, as_of = (
        s["input"]["period"]["start"],
        s["input"]["period"]["end"],
        s["input"]["as_of"],
    )
    assert shown["Period"] == f"{start[:10]} – {end[:10]}"
    assert shown["As of"] == as_of == run.model["as_of"]
    # as_of defaults to the latest kept line (§3), and no first order precedes the period.
    assert day(end) == day(as_of)
    assert day(start) <= day(as_of) - dt.timedelta(days=int(c["tenure_days"].max()))
    assert c["recency_days"].min() >= 0
    # The HTML tiles show the same figures.
    all_tiles = tiles(run.md, "Executive summary") + tiles(run.md, "Customer lifetime value")
    assert read_html(run.html).tiles == [list(row) for row in all_tiles]


def test_data_quality_table(run: Run) -> None:
    inp = run.summary["input"]
    rows = table(run.md, "rows", "count", "share of rows read").rows
    read = inp["rows_read"]
    expected = [("read", read)]
    expected += [(f"dropped: {r.replace('_', ' ')}", inp["rows_dropped"][r]) for r in DROP_REASONS]
    expected += [("used", inp["rows_used"])]
    assert [r[0] for r in rows] == [label for label, _ in expected]
    for (label, count, share), (_, n) in zip(rows, expected, strict=True):
        assert number(count) == n, label
        assert shows_percent(share, n / read), label
    assert read - sum(inp["rows_dropped"].values()) == inp["rows_used"]


def test_segment_overview_matches_summary_and_parquet(run: Run) -> None:
    c, s = run.customers, run.summary
    overview = table(run.md, "segment", "customers", "share", "revenue share")
    assert overview.headers[:9] == [
        "segment",
        "customers",
        "share",
        "revenue share",
        "average spend",
        "orders / year",
        "AOV",
        "avg. recency (days)",
        "primary categories",
    ]
    segments = sorted(s["segments"], key=lambda x: x["id"])
    assert overview.column("segment") == [x["name"] for x in segments]
    period_days = (day(s["input"]["as_of"]) - day(s["input"]["period"]["start"])).days + 1
    assert s["input"]["period_days"] == period_days
    assert f"over the {period_days:,}-day period" in section_text(run.md, "Segment overview")
    total = math.fsum(c["monetary"])
    assert sorted(c["segment_id"].unique()) == [x["id"] for x in segments]
    for row, seg in zip(overview.records(), segments, strict=True):
        inside = c[c["segment_id"] == seg["id"]]
        assert set(inside["segment_name"]) == {seg["name"]}
        share = len(inside) / len(c)
        revenue_share = inside["monetary"].sum() / total
        spend = inside["monetary"].mean()
        per_year = inside["frequency"].mean() * 365.25 / period_days
        aov = inside["monetary"].sum() / inside["frequency"].sum()  # not mean(aov)
        recency = inside["recency_days"].mean()
        assert number(row["customers"]) == len(inside) == seg["customers"]
        for key, mine in (
            ("share", share),
            ("revenue_share", revenue_share),
            ("monetary_mean", spend),
            ("orders_per_year", per_year),
            ("aov_mean", aov),
            ("recency_days_mean", recency),
        ):
            assert seg[key] == pytest.approx(mine, rel=1e-9), (seg["name"], key)
        assert shows_percent(row["share"], share)
        assert shows_percent(row["revenue share"], revenue_share)
        assert re.fullmatch(r"-?[0-9,]+\.[0-9]{2}", row["average spend"])
        assert shows(row["average spend"], spend)
        assert re.fullmatch(r"[0-9,]+\.[0-9]", row["orders / year"])
        assert shows(row["orders / year"], per_year)
        assert re.fullmatch(r"-?[0-9,]+\.[0-9]{2}", row["AOV"])
        assert shows(row["AOV"], aov)
        assert shows(row["avg. recency (days)"], recency)
        assert row["primary categories"] == (", ".join(seg["top_categories"]) or "–")


def test_per_segment_tables_and_headings(run: Run) -> None:
    c, s = run.customers, run.summary
    segments = sorted(s["segments"], key=lambda x: x["id"])
    level3 = headings(run.md, 3)
    for seg in segments:
        assert level3.count(seg["name"]) == 1, seg["name"]
    compare = [
        t
        for t in markdown_tables(run.md)
        if t.headers == ["per customer", "this segment", "all customers"]
    ]
    assert [t.heading for t in compare] == [x["name"] for x in segments]
    base_aov = c["monetary"].sum() / c["frequency"].sum()
    for t, seg in zip(compare, segments, strict=True):
        inside = c[c["segment_id"] == seg["id"]]
        rows = {r[0]: r[1:] for r in t.rows}
        assert shows(rows["days since last order"][0], inside["recency_days"].mean())
        assert shows(rows["days since last order"][1], c["recency_days"].mean())
        assert shows(rows["orders"][0], inside["frequency"].mean())
        assert shows(rows["orders"][1], c["frequency"].mean())
        assert shows(rows["spend"][0], inside["monetary"].mean())
        assert shows(rows["spend"][1], c["monetary"].mean())
        assert shows(
            rows["average order value"][0], inside["monetary"].sum() / inside["frequency"].sum()
        )
        assert shows(rows["average order value"][1], base_aov)


def test_clv_section_matches_the_parquet(run: Run) -> None:
    # Both report datasets have enough repeat buyers: CLV is on, over the default 365 days.
    c, s = run.customers, run.summary
    assert s["clv"]["enabled"] and s["clv"]["horizon_days"] == 365
    clv_table = table(run.md, "segment", "customers", "mean chance active")
    total = c["clv_365d"].sum()
    for row, seg in zip(
        clv_table.records(), sorted(s["segments"], key=lambda x: x["id"]), strict=True
    ):
        inside = c[c["segment_id"] == seg["id"]]
        assert row["segment"] == seg["name"]
        assert shows(row["customers"], len(inside))
        assert shows_percent(row["mean chance active"], inside["p_alive"].mean())
        assert shows_percent(row["churn risk"], inside["p_no_order_365d"].mean())
        assert shows(row["likely lost"], (inside["p_alive"] < 0.3).sum())
        assert shows(row["mean CLV"], inside["clv_365d"].mean())
        assert shows(row["total CLV"], inside["clv_365d"].sum())
        assert shows_percent(row["share of CLV"], inside["clv_365d"].sum() / total)
    shown = dict(tiles(run.md, "Customer lifetime value"))
    assert shows(shown["Expected spend, next 365 days"], total)
    assert shows_percent(shown["Mean chance a customer is still active"], c["p_alive"].mean())
    assert shows(shown["Likely lost (chance active below 30.0%)"], (c["p_alive"] < 0.3).sum())
    assert shows_percent(shown["Mean chance of no order in 365 days"], c["p_no_order_365d"].mean())
    low, high = s["clv"]["totals"]["clv_total_interval"]
    assert shown["90% interval"] == f"{fmt.money(low)} – {fmt.money(high)}"
    models = {r[0]: r for r in table(run.md, "model", "parameters").rows}
    model = s["clv"]["model"]
    assert model["name"] == "pareto-nbd"
    fit = model["params"]
    assert models["Pareto/NBD (orders, activity)"][1] == (
        f"r {fit['r']:.3f}, α {fit['alpha']:.3f}, s {fit['s']:.3f}, β {fit['beta']:.3f}"
    )
    assert model["why"] in section_text(run.md, "Customer lifetime value")
    # Each segment's strategy table compares its expected spend with the base's.
    compare = [t for t in markdown_tables(run.md) if t.headers[0] == "per customer"]
    for t, seg in zip(compare, sorted(s["segments"], key=lambda x: x["id"]), strict=True):
        rows = {r[0]: r[1:] for r in t.rows}
        inside = c[c["segment_id"] == seg["id"]]
        assert shows_percent(rows["chance still active"][0], inside["p_alive"].mean())
        assert shows(rows["expected spend, next 365 days"][1], c["clv_365d"].mean())


def test_report_says_why_clv_is_absent(tmp_path: Path) -> None:
    rows = [[f"c{i:02d}", f"2021-01-{1 + i % 28:02d}", str(10 + i)] for i in range(30)]
    path = write_csv(tmp_path / "once.csv", ["customer_id", "date", "amount"], rows)
    segment(path, k=2, n_init=2).write(tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    text = section_text(md, "Customer lifetime value")
    assert "Lifetime value is not computed: no customer has a repeat order" in text
    assert "chance still active" not in md


def test_cadence_table(run: Run) -> None:
    c = run.customers
    cadence = table(run.md, "segment", "customers with 2+ orders", "median days between orders")
    for name, repeat_share, median in cadence.rows:
        inside = c.loc[c["segment_name"] == name, "interpurchase_days"]
        assert shows_percent(repeat_share, inside.notna().mean())
        # interpurchase_days is null exactly for one-time buyers (§3)
        assert inside.notna().sum() == (c.loc[c["segment_name"] == name, "frequency"] > 1).sum()
        if inside.notna().any():
            assert shows(median, inside.dropna().median())
        else:
            assert median == "–"


def test_revenue_concentration_table(run: Run) -> None:
    monetary = run.customers["monetary"].to_numpy()
    ranked = np.sort(monetary)[::-1]
    n, total = len(ranked), ranked.sum()
    shown = table(run.md, "customers by spend", "customers", "share of revenue").rows
    assert [r[0] for r in shown] == ["top 1%", "top 10%", "top 20%", "top 50%"]
    assert len(run.summary["revenue_concentration"]) == 4
    for (_, count, share), p, entry in zip(
        shown, CONCENTRATION, run.summary["revenue_concentration"], strict=True
    ):
        top = math.ceil(Fraction(p) * n)
        mine = ranked[:top].sum() / total
        assert number(count) == top == entry["customers"]
        assert entry["top_share"] == float(p)
        assert entry["revenue_share"] == pytest.approx(mine, rel=1e-9)
        assert shows_percent(share, mine)


def test_rfm_table(run: Run) -> None:
    c = run.customers
    grouped = c.groupby("rfm_segment").agg(
        customers=("customer_id", "size"), revenue=("monetary", "sum")
    )
    shown = {
        r[0]: r[1:]
        for r in table(run.md, "RFM segment", "customers", "share", "revenue share").rows
    }
    assert set(shown) == set(grouped.index)
    assert set(shown) <= RFM_NAMES
    for name, (count, share, revenue_share) in shown.items():
        assert number(count) == grouped.loc[name, "customers"]
        assert shows_percent(share, grouped.loc[name, "customers"] / len(c))
        assert shows_percent(revenue_share, grouped.loc[name, "revenue"] / c["monetary"].sum())
    summary_rows = {r["name"]: r for r in run.summary["rfm_segments"]}
    assert set(summary_rows) == set(grouped.index)
    for name, r in summary_rows.items():
        assert r["customers"] == grouped.loc[name, "customers"]
        assert r["revenue_share"] == pytest.approx(
            grouped.loc[name, "revenue"] / c["monetary"].sum()
        )
    absent = RFM_NAMES - set(grouped.index)
    text = section_text(run.md, "Classic RFM grid")
    m = re.search(r"^Not present in this data: (.*)\.$", text, re.M)
    if absent:
        assert m is not None and set(unescape(m.group(1)).split(", ")) == absent
    else:
        assert m is None


def test_technical_tables(run: Run) -> None:
    c, sel = run.customers, run.summary["selection"]
    scores = table(
        run.md,
        "k",
        "Davies-Bouldin",
        "silhouette",
        "Calinski-Harabasz",
        "inertia",
        "smallest share",
        "stability (mean)",
        "least stable segment",
        "eligible",
    ).rows
    assert len(scores) == len(sel["scores"]) == 3  # k = 3..5
    chosen_rows = []
    for row, score in zip(scores, sel["scores"], strict=True):
        m = re.fullmatch(r"(\d+)( \(chosen\))?", row[0])
        assert m is not None and int(m.group(1)) == score["k"]
        if m.group(2):
            chosen_rows.append(score["k"])
        for cell, key, places in (
            (row[1], "davies_bouldin", 3),
            (row[2], "silhouette", 3),
            (row[3], "calinski_harabasz", 1),
            (row[4], "inertia", 1),
        ):
            assert len(cell.split(".")[1]) == places and shows(cell, score[key]), key
        assert shows_percent(row[5], score["smallest_share"])
        jaccard = [s["jaccard"] for s in score["segment_stability"]]
        assert len(jaccard) == score["k"] and all(0 < j <= 1 for j in jaccard)
        assert shows(row[6], score["stability"]) and score["stability"] == pytest.approx(
            np.mean(jaccard)
        )
        assert shows(row[7], score["least_stable"]) and score["least_stable"] == min(jaccard)
        assert row[8] == ("yes" if score["eligible"] else "no")
    assert chosen_rows == [sel["chosen_k"]]
    sizes = c["segment_id"].value_counts()
    assert len(sizes) == sel["chosen_k"]
    chosen = next(x for x in sel["scores"] if x["k"] == sel["chosen_k"])
    assert chosen["smallest_share"] == pytest.approx(sizes.min() / len(c))
    features = table(run.md, "feature", "transform", "mean", "scale").rows
    assert [r[0] for r in features] == [f["name"] for f in run.model["features"]]
    for row, f in zip(features, run.model["features"], strict=True):
        assert row[1] == f["transform"]
        assert shows(row[2], f["mean"]) and shows(row[3], f["scale"])


def test_html_tables_equal_markdown_tables(run: Run) -> None:
    md_tables = [
        [t.headers, *t.rows] for t in markdown_tables(run.md) if t.headers != ["figure", "value"]
    ]
    assert read_html(run.html).tables == md_tables


def test_no_unfilled_template_text(run: Run) -> None:
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", run.md)
    assert "{" not in text and "}" not in text
    assert re.search(r"\b(None|nan|NaN|inf)\b", text) is None
    visible = re.sub(r"<(script|style)\b.*?</\1>", "", run.html, flags=re.S)
    assert "{{" not in visible and "{%" not in visible
    assert re.search(r"\b(None|nan|NaN|inf)\b", visible) is None


def test_charts_are_pngs_and_match_the_html_charts(run: Run) -> None:
    paths = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", run.md)
    assert paths and all(re.fullmatch(r"charts/[a-z0-9-]+\.png", p) for p in paths)
    assert len(paths) == len(set(paths))
    for p in paths:
        assert (run.out / p).read_bytes()[:8] == PNG_MAGIC, p
    ids = {Path(p).stem for p in paths}
    assert {f.stem for f in (run.out / "charts").iterdir()} == ids
    charts = json.loads(script_block(run.html, "segmint-charts"))
    assert set(charts) == ids
    assert all(set(fig) >= {"data", "layout"} for fig in charts.values())
    divs = read_html(run.html).chart_divs
    assert sorted(divs) == sorted(ids)


# In a fresh interpreter: the helper is forked only when the caller is the sole Python thread,
# which a test session (web servers, Spark's gateway) need not be.
_DRAW_BOTH_WAYS = """
import json, sys
from pathlib import Path
import pandas as pd
from segmint.report.build import build_report
from segmint.report.markdown import chart_path
from segmint.helper import can_fork
from segmint.report.png import drawing, render_png
out = Path(sys.argv[1])
charts = build_report(
    json.loads((out / "summary.json").read_text()),
    pd.read_parquet(out / "segments.parquet"),
    json.loads((out / "model.json").read_text()),
).charts()
with drawing(charts) as png:
    forked = [png(i) for i in reversed(range(len(charts)))][::-1]
alone = [render_png(chart) for chart in charts]
written = [(out / chart_path(chart)).read_bytes() for chart in charts]
print(json.dumps({"charts": len(charts), "can_fork": can_fork(),
                  "forked_equal": forked == alone, "written_equal": written == alone}))
"""


def test_charts_drawn_on_two_cores_are_the_pngs_drawn_on_one(run: Run) -> None:
    """The PNGs drawn by png.drawing (a forked helper takes charts from the end) and the
    written ones are byte for byte what render_png draws for each chart in one process."""
    done = subprocess.run(
        [sys.executable, "-c", _DRAW_BOTH_WAYS, str(run.out)],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    result = json.loads(done.stdout)
    assert result["charts"] >= 2
    assert result["can_fork"] == (sys.platform == "linux")  # so the helper does draw
    assert result["forked_equal"] and result["written_equal"]


def test_png_bar_and_cell_labels_are_wrapped_each_their_own_way() -> None:
    """Slanted bar labels wrap at 24 characters on at most two lines; heatmap cells break
    their first line once, at its last space. Read off the drawn axes."""
    from matplotlib.figure import Figure

    from segmint.report.charts import BarPanel, Bars, HeatmapPanel
    from segmint.report.png import _draw

    names = ["Can't Lose Them (high spend, returns often, lapsing fast)", "Lost"]
    ax = Figure().subplots()
    _draw(BarPanel("", names, (Bars("customers", [3.0, 1.0], ["#111", "#222"]),), "n"), ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "Can't Lose Them (high\nspend, returns often,…",
        "Lost",
    ]
    ax = Figure().subplots()
    cells = [["Can't Lose Them (high spend)\n12%", "Lost\n3%"]]
    _draw(HeatmapPanel("", ["a", "b"], ["s"], [[1.0, 2.0]], cells, False, ""), ax)
    assert [t.get_text() for t in ax.texts] == ["Can't Lose Them (high\nspend)\n12%", "Lost\n3%"]


# 2. Hand-made cases ---------------------------------------------------------------------


def test_revenue_concentration_by_hand() -> None:
    # 10 customers, total 1,000 (one negative net spend): ranked 500, 200, 100, 80, 50, 40,
    # 20, 10, 10, -10.
    frame = pd.DataFrame(
        {"monetary": [10.0, 80.0, 500.0, -10.0, 40.0, 200.0, 10.0, 100.0, 20.0, 50.0]}
    )
    rows = revenue_concentration(frame)
    # top 1%: ceil(0.1) = 1 -> 500/1000; top 10%: ceil(1) = 1 -> 0.5;
    # top 20%: 2 -> 700/1000; top 50%: 5 -> 500+200+100+80+50 = 930/1000.
    assert [(r["top_share"], r["customers"]) for r in rows] == [
        (0.01, 1),
        (0.1, 1),
        (0.2, 2),
        (0.5, 5),
    ]
    assert [r["revenue_share"] for r in rows] == pytest.approx([0.5, 0.5, 0.7, 0.93], abs=1e-12)
    # 30 customers spending 1..30 (total 465): 0.1*30 and 0.2*30 are 3 and 6 exactly
    # (not 3.0000000000000004 rounded up to 4). top 1%: 1 -> 30; top 10%: 30+29+28 = 87;
    # top 20%: 30+...+25 = 165; top 50%: 30+...+16 = 345.
    rows = revenue_concentration(pd.DataFrame({"monetary": np.arange(1.0, 31.0)}))
    assert [r["customers"] for r in rows] == [1, 3, 6, 15]
    assert [r["revenue_share"] for r in rows] == pytest.approx(
        [30 / 465, 87 / 465, 165 / 465, 345 / 465]
    )


def test_box_stats_by_hand() -> None:
    values = np.array([9.0, 1.0, 100.0, 2.0, 8.0, 3.0, np.nan, 7.0, 4.0, 6.0, 5.0])
    box = box_stats(values, "S", "#123456")
    # 10 known values 1..9, 100. Linear percentiles at positions 9p of the sorted values:
    # q1: 2.25 -> 3 + 0.25 = 3.25; median: 4.5 -> (5 + 6)/2 = 5.5; q3: 6.75 -> 7.75.
    # IQR 4.5, reach 6.75: fences -3.5 and 14.5 -> whiskers at the data points 1 and 9
    # (100 is an outlier). mean = (45 + 100)/10 = 14.5.
    assert (box.low, box.q1, box.median, box.q3, box.high) == pytest.approx(
        (1.0, 3.25, 5.5, 7.75, 9.0)
    )
    assert box.mean == pytest.approx(14.5) and box.n == 10
    assert (box.name, box.colour) == ("S", "#123456")
    known = values[~np.isnan(values)]
    assert [box.q1, box.median, box.q3] == pytest.approx(
        np.percentile(known, [25, 50, 75]).tolist()
    )
    # Low outlier: 0, 10, 11, 12, 13 -> q1 10, q3 12, fences 7 and 15: whiskers 10 and 13.
    box = box_stats(np.array([13.0, 0.0, 12.0, 11.0, 10.0]), "T", "#000000")
    assert (box.low, box.q1, box.median, box.q3, box.high) == pytest.approx((10, 10, 11, 12, 13))
    assert box_stats(np.array([np.nan, np.nan]), "U", "#000000") is None


def _hand_summary(sleepers_recency: str = "high", gone_recency: str = "high") -> dict:
    # 10 customers in 4 segments: Big Spenders 2, Sleepers 3, Gone 1, Newbies 4.
    def seg(i, name, n, revenue_share, recency_mean, recency_level, aov, monetary="mid"):
        return {
            "id": i,
            "name": name,
            "customers": n,
            "share": n / 10,
            "revenue_share": revenue_share,
            "recency_days_mean": recency_mean,
            "aov_mean": aov,
            "traits": {"recency_days": recency_level, "monetary": monetary},
        }

    return {
        "input": {"as_of": "2024-06-30"},
        "totals": {"aov": 50.0},
        "segments": [
            seg(0, "Big Spenders", 2, 0.6, 10.0, "low", 60.0, "high"),
            seg(1, "Sleepers", 3, 0.25, 200.0, sleepers_recency, 40.0),
            seg(2, "Gone", 1, 0.05, 400.0, gone_recency, 30.0),
            seg(3, "Newbies", 4, 0.1, 20.0, "mid", 45.0),
        ],
        "revenue_concentration": [
            {"top_share": 0.01, "customers": 1, "revenue_share": 0.35},
            {"top_share": 0.1, "customers": 1, "revenue_share": 0.35},
            {"top_share": 0.2, "customers": 2, "revenue_share": 0.6},
            {"top_share": 0.5, "customers": 5, "revenue_share": 0.9},
        ],
        "selection": {"chosen_k": 4, "scores": [{"k": 4, "davies_bouldin": 0.75}]},
    }


HAND_CUSTOMERS = pd.DataFrame(
    {
        "frequency": [5, 4, 2, 1, 1, 1, 3, 1, 2, 2],
        "recency_days": [3, 17, 250, 30, 100, 200, 150, 50, 400, 12],
    }
)


def test_key_findings_by_hand() -> None:
    found = key_findings(_hand_summary(), HAND_CUSTOMERS)
    assert 3 <= len(found) <= 6
    # Top revenue segment: Big Spenders, 2/10 customers, 60% of revenue.
    assert "Big Spenders, 20.0% of customers, bring 60.0% of revenue." in found
    # One-time buyers: 4 of 10 (recency 30, 100, 200, 50 -> median (50 + 100)/2 = 75).
    assert (
        "40.0% of customers (4) bought only once and have not come back; half of them "
        "ordered more than 75 days before the as-of date." in found
    )
    # Lapsing: Sleepers + Gone = 4 customers, 30% of revenue; days weighted by customers:
    # (3 × 200 + 1 × 400) / 4 = 250 (an unweighted mean would say 300).
    assert (
        "Lapsing segments (Sleepers, Gone) hold 40.0% of customers and brought 30.0% of "
        "revenue; their last order was 250 days ago on average." in found
    )
    # Without a segment whose recency trait is high, no lapsing sentence.
    calm = key_findings(_hand_summary("mid", "low"), HAND_CUSTOMERS)
    assert not any("apsing" in f for f in calm)
    one = key_findings(_hand_summary("mid", "high"), HAND_CUSTOMERS)
    assert sum("Lapsing segments (Gone) hold 10.0% of customers" in f for f in one) == 1
    # Nobody bought once: no one-time-buyer sentence.
    repeat = HAND_CUSTOMERS.assign(frequency=HAND_CUSTOMERS["frequency"] + 1)
    assert not any("only once" in f for f in key_findings(_hand_summary(), repeat))


@pytest.mark.parametrize(
    ("recency", "monetary", "win_back"),
    [
        ("high", "high", True),
        ("high", "mid", False),
        ("mid", "high", False),
        ("low", "high", False),
    ],
)
def test_implementation_plan_win_back(recency: str, monetary: str, win_back: bool) -> None:
    summary = _hand_summary("mid", "mid")
    summary["segments"][1]["traits"] = {"recency_days": recency, "monetary": monetary}
    plan = implementation_plan(summary, 30.0)
    actions = [a for h in plan.values() for a in h]
    wins = [a for a in actions if "win back" in a.lower()]
    assert len(wins) == (1 if win_back else 0)
    if win_back:
        assert "Sleepers" in wins[0] and wins[0] in plan["short"]


def test_implementation_plan_has_no_repeated_action() -> None:
    plan = implementation_plan(_hand_summary(), 60.0)
    for horizon, actions in plan.items():
        assert len(actions) == len(set(actions)), (horizon, actions)


def test_refresh_cadence_by_hand() -> None:
    # Monthly for a median repeat interval under 45 days, quarterly otherwise or unknown.
    assert refresh_cadence(30.0) == "every month"
    assert refresh_cadence(44.9) == "every month"
    assert refresh_cadence(45.0) == "every quarter"
    assert refresh_cadence(120.0) == "every quarter"
    assert refresh_cadence(None) == "every quarter"
    long_term = " ".join(implementation_plan(_hand_summary(), 30.0)["long"])
    assert "every month" in long_term and "every 30 days" in long_term
    long_term = " ".join(implementation_plan(_hand_summary(), None)["long"])
    assert "every quarter" in long_term and "lapsing segments (now 40.0%)" in long_term


# 3. The segment map's PCA ---------------------------------------------------------------


def scaled_features(customers: pd.DataFrame, model_json: dict) -> np.ndarray:
    """The model's scaled space rebuilt from model.json alone
    (docs/reference/outputs.md#model-json)."""
    columns = []
    for f in model_json["features"]:
        x = customers[f["name"]].to_numpy(dtype=np.float64)
        if f["transform"] == "log1p":
            x = np.log1p(np.maximum(x, 0.0))
        else:
            assert f["transform"] == "none"
        columns.append((x - f["mean"]) / f["scale"])
    return np.column_stack(columns)


def drawn_points(chart) -> dict[str, tuple[float, float, str]]:
    """customer id -> (x, y, segment name) of every point of the map."""
    panel = chart.panels[0]
    points = {}
    for group in panel.groups:
        assert len(group.x) == len(group.y) == len(group.labels)
        for cid, x, y in zip(group.labels, group.x, group.y, strict=True):
            assert cid not in points
            points[cid] = (x, y, group.name)
    return points


def check_projection(customers: pd.DataFrame, model_json: dict, chart, facts: dict) -> None:
    X = scaled_features(customers, model_json)
    pca = PCA(n_components=2, svd_solver="full").fit(X)
    assert facts["explained"] == pytest.approx(pca.explained_variance_ratio_.tolist(), abs=1e-9)
    expected = pd.DataFrame(pca.transform(X), index=customers["customer_id"].astype(str))
    points = drawn_points(chart)
    ids = list(points)
    got = np.array([[points[i][0], points[i][1]] for i in ids])
    want = expected.loc[ids].to_numpy()
    names = dict(zip(customers["customer_id"].astype(str), customers["segment_name"], strict=True))
    assert all(points[i][2] == names[i] for i in ids)
    for j in range(2):  # each component is defined up to its sign
        sign = 1.0 if np.dot(got[:, j], want[:, j]) >= 0 else -1.0
        assert np.abs(got[:, j] - sign * want[:, j]).max() <= 5e-4 + 1e-9
        loadings = np.array([facts["loadings"][f["name"]][j] for f in model_json["features"]])
        assert loadings == pytest.approx(sign * pca.components_[j], abs=1e-9)


def test_segment_map_is_the_pca_of_the_scaled_features(run: Run) -> None:
    chart, facts = segment_map(run.customers, run.summary, run.model)
    n = len(run.customers)
    assert facts["points"] == facts["customers"] == n
    points = drawn_points(chart)
    assert set(points) == set(run.customers["customer_id"].astype(str))
    check_projection(run.customers, run.model, chart, facts)
    paragraph = section_text(run.md, "Segment map")
    assert f"showing all {n:,} customers" in paragraph
    explained = re.search(r"\(([0-9.]+%) of the variance\)", paragraph).group(1)
    assert shows_percent(explained, sum(facts["explained"]))


def synthetic(n: int, seed: int = 3) -> tuple[pd.DataFrame, dict, dict]:
    """n customers with RFM features, a 3-centre model.json and a minimal summary."""
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i:06d}" for i in range(n)],
            "recency_days": rng.integers(0, 400, n),
            "frequency": rng.geometric(0.4, n),
            "monetary": rng.lognormal(4.0, 1.0, n),
        }
    )
    raw = np.log1p(customers[list(RFM)].to_numpy(dtype=float))
    mean, scale = raw.mean(axis=0), raw.std(axis=0)
    X = (raw - mean) / scale
    centers = X[[0, 1, 2]]
    labels = np.argmin(((X[:, None, :] - centers[None]) ** 2).sum(axis=2), axis=1)
    names = ["Alpha", "Beta", "Gamma"]
    customers["segment_id"] = labels
    customers["segment_name"] = [names[i] for i in labels]
    model_json = {
        "format": "segmint-model",
        "version": 1,
        "as_of": "2024-01-01",
        "feature_set": "rfm",
        "features": [
            {"name": f, "transform": "log1p", "mean": float(m), "scale": float(s)}
            for f, m, s in zip(RFM, mean, scale, strict=True)
        ],
        "centers": centers.tolist(),
        "segments": [{"id": i, "name": x} for i, x in enumerate(names)],
        "columns": {},
    }
    summary = {"seed": 11, "segments": [{"id": i, "name": x} for i, x in enumerate(names)]}
    return customers, summary, model_json


def test_segment_map_samples_20000_points_of_a_large_base() -> None:
    customers, summary, model_json = synthetic(25_000)
    chart, facts = segment_map(customers, summary, model_json)
    assert facts["points"] == 20_000 and facts["customers"] == 25_000
    points = drawn_points(chart)
    assert len(points) == 20_000 and set(points) <= set(customers["customer_id"])
    # The projection is the PCA of all 25,000 customers, whichever are drawn.
    check_projection(customers, model_json, chart, facts)
    again = drawn_points(segment_map(customers, summary, model_json)[0])
    assert again == points
    other = drawn_points(segment_map(customers, {**summary, "seed": 12}, model_json)[0])
    assert len(other) == 20_000 and set(other) != set(points)


def repeated(customers: pd.DataFrame, n: int) -> pd.DataFrame:
    """Return the first n rows of customers repeated, each copy with new ids (id-0, id-1, …)."""
    copies = -(-n // len(customers))
    return pd.concat(
        [customers.assign(customer_id=customers["customer_id"] + f"-{i}") for i in range(copies)],
        ignore_index=True,
    ).iloc[:n]


def test_report_says_the_map_is_a_sample(run: Run) -> None:
    big = repeated(run.customers, 25_000)  # past 20,000
    md = render_markdown(build_report(run.summary, big, run.model))
    paragraph = section_text(md, "Segment map")
    assert f"a random sample of 20,000 of the {len(big):,} customers" in paragraph
    assert "showing all" not in paragraph


# 4. Escaping ------------------------------------------------------------------------------

CATEGORIES = (SCRIPT, ODD, "R&D")


@pytest.fixture(scope="module")
def tricky_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 customers over four months of 2024; every one buys from the three categories, and
    customer 11's id is itself a script tag."""
    rows = []
    for c in range(12):
        cid = SCRIPT if c == 11 else f"C{c:02d}"
        for j in range(1 + c % 4):
            month, dom = 1 + (c + 2 * j) % 4, 1 + (3 * c + 5 * j) % 27
            rows.append(
                [
                    cid,
                    f"2024-{month:02d}-{dom:02d}",
                    f"{10 * (c + 1) + 7 * j}.00",
                    CATEGORIES[(c + j) % 3],
                ]
            )
    return write_csv(
        tmp_path_factory.mktemp("tricky") / "tricky.csv",
        ["customer_id", "date", "amount", "category"],
        rows,
    )


@pytest.fixture(scope="module")
def tricky(tricky_csv: Path) -> Run:
    out = tricky_csv.parent / "out"
    argv = [
        sys.executable,
        "-m",
        "segmint.cli",
        "run",
        str(tricky_csv),
        "--out",
        str(out),
        "--k",
        "3",
        "--column",
        "category=category",
        "--quiet",
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return load_run(out)


def test_html_escapes_text_and_chart_json(tricky: Run) -> None:
    assert any(set(s["top_categories"]) & {SCRIPT, ODD} for s in tricky.summary["segments"])
    assert "<script>alert" not in tricky.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in tricky.html
    reader = read_html(tricky.html)
    overview = next(t for t in reader.tables if t[0][:2] == ["segment", "customers"])
    j = overview[0].index("primary categories")
    by_name = {s["name"]: s["top_categories"] for s in tricky.summary["segments"]}
    for row in overview[1:]:
        assert row[j].split(", ") == by_name[row[0]]  # decoded: shown as written
    block = script_block(tricky.html, "segmint-charts")
    assert "<" not in block and ">" not in block and "\\u003c" in block
    charts = json.loads(block)
    labels = [
        t
        for fig in charts.values()
        for tr in fig["data"]
        for t in tr.get("text", [])
        if isinstance(t, str)
    ]
    # plotly labels are entity-escaped, then the JSON hides every "<" and "&".
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in labels
    assert any(
        "<extra>" in tr.get("hovertemplate", "") for fig in charts.values() for tr in fig["data"]
    )


def test_markdown_escapes_text(tricky: Run) -> None:
    md = tricky.md
    assert "<script>" not in md and ODD not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "a\\|b\\*c\\_" in md and "R&amp;D" in md
    overview = table(md, "segment", "customers", "share", "revenue share")
    by_name = {s["name"]: s["top_categories"] for s in tricky.summary["segments"]}
    for row in overview.records():
        assert row["primary categories"].split(", ") == by_name[row["segment"]]
    line = next(x for x in md.splitlines() if x.startswith("| ") and "a\\|b" in x)
    assert len(split_row(line)) == len(overview.headers)
    assert (
        unescape("a\\|b\\*c\\_") == ODD
        and unescape("&lt;script&gt;alert(1)&lt;/script&gt;") == SCRIPT
    )
    paragraphs = [
        unescape(x) for x in md.splitlines() if x.startswith("Largest categories by spend: ")
    ]
    assert len(paragraphs) == 3
    for p in paragraphs:
        assert set(
            p.removeprefix("Largest categories by spend: ").removesuffix(".").split(", ")
        ) == set(CATEGORIES)


def test_report_states_the_number_of_kmeans_starts(tricky_csv: Path, tmp_path: Path) -> None:
    segment(tricky_csv, k=3, n_init=2).write(tmp_path / "out")
    technical = section_text(
        (tmp_path / "out" / "report.md").read_text("utf-8"), "Technical details"
    )
    assert "10 starts" not in technical
    assert "2 starts" in technical


def test_report_html_for_a_million_customers_stays_under_8_mb(run: Run) -> None:
    # The run's customers repeated (with new ids) to 1,000,000: the HTML carries bounded
    # chart data (box statistics, <= 500 Pareto points, <= 20,000 map points), not customers.
    big = repeated(run.customers, 1_000_000)
    summary = {**run.summary, "revenue_concentration": revenue_concentration(big)}
    html = render_html(build_report(summary, big, run.model))
    size = len(html.encode("utf-8"))
    assert 4_000_000 < size < 8_000_000  # plotly.js alone is over 4 MB
    assert html.count('data-chart="') == len(json.loads(script_block(html, "segmint-charts")))


def test_a_marked_minimum_is_labelled_above_its_point_in_both_renderings():
    """The chosen k of Davies-Bouldin is the lowest point: its label goes above it (clear of
    the axis), a maximum's below; the PNG and the plotly figure place it alike."""
    from segmint.report.charts import Line, LinePanel, Mark
    from segmint.report.plotly_figures import _panel

    line = Line("Davies-Bouldin", [3, 4, 5, 6], [1.2, 0.8, 1.0, 1.4], "#000")
    low = LinePanel("", "k", "", (line,), marks=(Mark(4, 0.8, "k = 4"),))
    high = LinePanel("", "k", "", (line,), marks=(Mark(6, 1.4, "k = 6"),))
    assert low.label_above(low.marks[0]) and not high.label_above(high.marks[0])
    axes = {"xaxis": "x", "yaxis": "y"}
    assert _panel(low, axes)[1]["annotations"][0]["ay"] < 0  # plotly: negative is upwards
    assert _panel(high, axes)[1]["annotations"][0]["ay"] > 0


def test_undefined_scores_are_explained_under_the_table() -> None:
    from segmint.model.selection import UNDEFINED
    from segmint.report.build import _undefined_scores

    rows = [
        {"k": 3, "undefined": {}},
        {"k": 4, "undefined": {"stability": UNDEFINED["stability"]}},
        {"k": 5, "undefined": {"stability": UNDEFINED["stability"],
                               "silhouette": UNDEFINED["silhouette"]}},
    ]  # fmt: skip
    assert _undefined_scores(rows) == (
        "–: undefined here; the stability at k = 4, 5 needs a resample holding k "
        "distinct customers; the silhouette at k = 5 needs from 2 to n − 1 segments holding "
        "customers."
    )
    assert _undefined_scores(rows[:1]) == ""
