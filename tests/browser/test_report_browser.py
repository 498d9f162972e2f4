"""report.html in a real browser (docs/reference/outputs.md#charts: one self-contained file,
opens offline, charts interactive): opened from file:// with every other request aborted, every
chart must draw, the console must stay clean, text from the data must stay text, and the
headline tiles must say what summary.json says."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from helpers import SHARED_DATA

pytestmark = [pytest.mark.browser, pytest.mark.shared_data]

DATA = SHARED_DATA
ZEOTAP = DATA / "zeotap"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
BOOKS = 'Books & "Tea"'
DATASETS = ("retail", "tricky", "zeotap")
K_RANGE = ("--k-min", "3", "--k-max", "5")
EVERY_CHART_HAS_GRAPHICS = (
    "() => [...document.querySelectorAll('[data-chart]')]"
    ".every(el => el.querySelector('svg, canvas') !== null)"
)


def tricky_lines() -> pd.DataFrame:
    """15 customers over Jan-Apr 2024 whose spend sits in hostile category names.

    Customer c (1..15) has 1 + (7c mod 6) orders; order j is on 2024-(1 + (c+j) mod 4)-
    (1 + (3c+5j) mod 27) and has a line of 10 + 3.7c² + 11.3j in SCRIPT, a line of half that
    + 1 in IMG and, for every third customer, 5.50 in BOOKS. With only three categories, each
    segment's top three categories (its largest by gross spend:
    docs/reference/outputs.md#summary-json) hold every category it bought, so SCRIPT and IMG
    (bought by everyone) are in all of them.
    """
    rows = []
    for c in range(1, 16):
        for j in range(1 + (7 * c) % 6):
            day = f"2024-{1 + (c + j) % 4:02d}-{1 + (3 * c + 5 * j) % 27:02d}"
            amount = round(10 + 3.7 * c * c + 11.3 * j, 2)
            rows.append((f"C{c:02d}", day, amount, SCRIPT))
            rows.append((f"C{c:02d}", day, round(amount / 2 + 1, 2), IMG))
            if c % 3 == 0:
                rows.append((f"C{c:02d}", day, 5.5, BOOKS))
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount", "category"])


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Run the CLI on the three inputs at once (in parallel: the browser tests stay fast)."""
    root = tmp_path_factory.mktemp("reports")
    tricky_csv = root / "tricky.csv"
    tricky_lines().to_csv(tricky_csv, index=False)
    inputs = {
        "retail": [DATA / "online_retail_sample.csv"],
        "tricky": [tricky_csv],
        "zeotap": [
            ZEOTAP / "Transactions.csv",
            "--products",
            ZEOTAP / "Products.csv",
            "--customers",
            ZEOTAP / "Customers.csv",
        ],
    }
    running = {}
    for name, args in inputs.items():
        argv = [sys.executable, "-m", "segmint.cli", "run", *map(str, args)]
        argv += ["--out", str(root / name), *K_RANGE, "--quiet"]
        running[name] = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    for name, process in running.items():
        out, err = process.communicate(timeout=240)
        assert process.returncode == 0, f"{name}: exit {process.returncode}\n{out}\n{err}"
    return {name: root / name for name in inputs}


@pytest.fixture(scope="module")
def opened(outputs, open_report):
    """Return dataset name -> its report.html, opened once per module and shared by the tests."""
    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = open_report(outputs[name] / "report.html")
        return cache[name]

    return get


def summary_of(outputs: dict[str, Path], name: str) -> dict:
    return json.loads((outputs[name] / "summary.json").read_text(encoding="utf-8"))


def charts_json(page) -> dict:
    return page.evaluate("() => JSON.parse(document.getElementById('segmint-charts').textContent)")


@pytest.mark.parametrize("name", DATASETS)
def test_report_opens_offline_and_every_chart_draws(name, opened, tmp_path):
    report = opened(name)
    page = report.page

    assert report.page_errors == []
    assert report.console == []  # no console error nor warning
    assert report.dialogs == []
    assert report.blocked == []  # nothing but file:// was even attempted
    assert [u for u in report.requests if not u.startswith("file://")] == []
    assert report.requests[0] == report.path.resolve().as_uri()

    charts = charts_json(page)
    ids = page.eval_on_selector_all("[data-chart]", "els => els.map(e => e.dataset.chart)")
    assert len(charts) >= 1
    assert sorted(ids) == sorted(charts)  # one container per chart in the JSON, and no other
    drawn = page.eval_on_selector_all(
        "[data-chart]",
        """els => els.map(e => ({
            id: e.dataset.chart,
            graphics: e.querySelectorAll('svg, canvas').length,
            traces: (e.data || []).length,
            width: e.getBoundingClientRect().width,
            height: e.getBoundingClientRect().height,
        }))""",
    )
    for chart in drawn:
        assert chart["graphics"] >= 1, chart
        assert chart["traces"] == len(charts[chart["id"]]["data"]), chart  # Plotly took them all
        assert chart["width"] > 100 and chart["height"] > 100, chart

    shot = tmp_path / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


@pytest.mark.parametrize("name", DATASETS)
def test_executive_summary_tiles_equal_summary_json(name, opened, outputs):
    summary = summary_of(outputs, name)
    page = opened(name).page
    # text_content, not inner_text: the labels are upper-cased by CSS only
    labels = page.locator("#summary .figure .label").all_text_contents()
    values = page.locator("#summary .figure .value").all_text_contents()
    assert len(labels) == len(values)
    tiles = dict(zip(labels, values, strict=True))
    totals = summary["totals"]
    expected = {
        "Customers": f"{totals['customers']:,}",
        "Orders": f"{totals['orders']:,}",
        "Revenue": f"{totals['revenue']:,.2f}",
        "Average order value": f"{totals['revenue'] / totals['orders']:,.2f}",
        "As of": summary["input"]["as_of"],
    }
    assert {label: tiles.get(label) for label in expected} == expected


def test_tricky_totals_match_pandas(outputs):
    """The tiles above are only as right as summary.json: check it for the hand-made log.

    No order id, so an order is one customer's lines at one time
    (docs/reference/cleaning.md#orders); no row is dropped and as_of is the last date.
    """
    lines = tricky_lines()
    totals = summary_of(outputs, "tricky")["totals"]
    summary_input = summary_of(outputs, "tricky")["input"]
    assert totals["customers"] == lines["customer_id"].nunique() == 15
    assert totals["orders"] == lines.groupby(["customer_id", "date"]).ngroups
    assert totals["revenue"] == pytest.approx(lines["amount"].sum(), abs=0.005)
    assert summary_input["as_of"] == lines["date"].max()


def test_markup_in_the_data_stays_text(opened, outputs):
    summary = summary_of(outputs, "tricky")
    for segment in summary["segments"]:
        assert SCRIPT in segment["top_categories"] and IMG in segment["top_categories"], segment

    page = opened("tricky").page
    overview = page.locator("#segments table").inner_text()
    assert SCRIPT in overview
    assert IMG in overview
    assert BOOKS in overview
    main = page.locator("main").inner_text()
    assert main.count(SCRIPT) >= len(summary["segments"])

    # The strings were parsed as text: no element came out of them, and nothing ran.
    assert opened("tricky").dialogs == []
    assert page.locator("main img").count() == 0
    assert page.locator("main script").count() == 0
    scripts = page.eval_on_selector_all("script", "els => els.map(e => e.textContent.trim())")
    assert "alert(1)" not in scripts
    assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0


@pytest.mark.parametrize("name", DATASETS)
def test_plotly_inlined_once_and_print_stylesheet(name, outputs, opened):
    html = (outputs[name] / "report.html").read_text(encoding="utf-8")
    plotly_js = (resources.files("plotly") / "package_data" / "plotly.min.js").read_text(
        encoding="utf-8"
    )
    # plotly.min.js opens with its license header "/**\n* plotly.js vX.Y.Z\n* Copyright ..."
    header = next(line for line in plotly_js.splitlines()[:5] if line.startswith("* plotly.js v"))
    assert plotly_js.count(header) == 1
    assert html.count(header) == 1
    assert html.count("plotly.js v") == 1
    assert "@media print" in html
    assert "<script src=" not in html.lower() and "<link " not in html.lower()

    report = opened(name)
    page = report.page
    display = "() => getComputedStyle(document.querySelector('nav')).display"
    assert page.evaluate(display) != "none"
    try:
        page.emulate_media(media="print")
        assert page.evaluate("() => matchMedia('print').matches")
        assert page.evaluate(display) == "none"
        assert page.locator("nav").is_hidden()
        # the report re-lays its charts out for paper; that must work too
        page.evaluate(
            "() => Promise.all([...document.querySelectorAll('[data-chart]')]"
            ".map(el => Plotly.Plots.resize(el)))"
        )
        assert page.evaluate(EVERY_CHART_HAS_GRAPHICS)
    finally:
        page.emulate_media(media="screen")
    assert page.evaluate(display) != "none"
    assert report.page_errors == [] and report.console == []


def test_validation_report_opens_offline_and_draws_its_chart(open_report, tmp_path):
    # `segmint validate` on CDNOW with the paper's 39-week holdout.
    out = tmp_path / "validation"
    argv = [sys.executable, "-m", "segmint.cli", "validate", str(DATA / "cdnow_sample.csv"),
            "--holdout-days", "273", "--out", str(out), "--quiet"]  # fmt: skip
    subprocess.run(argv, check=True, capture_output=True, timeout=120)
    report = open_report(out / "validation.html")
    assert report.page_errors == [] and report.console == [] and report.blocked == []
    charts = charts_json(report.page)
    assert list(charts) == ["tracking-cumulative-orders", "holdout-by-repeat-orders"]
    lines = charts["holdout-by-repeat-orders"]["data"]
    saved = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    actual = [g["actual_mean"] for g in saved["by_repeat_orders"]]
    assert [round(y, 6) for y in lines[0]["y"]] == [round(y, 6) for y in actual]
    # The tracking chart draws the actual cumulative repeat orders and one line per model.
    tracking = charts["tracking-cumulative-orders"]["data"]
    assert [round(y, 6) for y in tracking[0]["y"]] == [
        round(y, 6) for y in saved["tracking"]["actual"]
    ]
    for model in ("pareto-nbd", "mbg-nbd", "bg-nbd"):
        assert any(
            [round(y, 6) for y in line["y"]] == [round(y, 6) for y in saved["tracking"][model]]
            for line in tracking
        ), model
    footer = report.page.inner_text("footer")
    assert "validation.json and validation.csv" in footer


def test_compare_report_opens_offline_and_draws_the_migration(open_report, tmp_path):
    # Two runs of the Online Retail sample a quarter apart, the second keeping the first's names.
    retail = DATA / "online_retail_sample.csv"
    cli = [sys.executable, "-m", "segmint.cli"]
    sep, dec, out = tmp_path / "sep", tmp_path / "dec", tmp_path / "moves"
    for argv in (
        ["run", str(retail), "--as-of", "2011-09-09", "--k", "4", "--out", str(sep), "--quiet"],
        ["run", str(retail), "--k", "4", "--previous", str(sep), "--out", str(dec), "--quiet"],
        ["compare", str(sep), str(dec), "--out", str(out), "--quiet"],
    ):
        subprocess.run([*cli, *argv], check=True, capture_output=True, timeout=180)
    report = open_report(out / "compare.html")
    assert report.page_errors == [] and report.console == [] and report.blocked == []
    charts = charts_json(report.page)
    assert list(charts) == ["migration"]
    saved = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    heatmap = charts["migration"]["data"][0]
    assert heatmap["text"] == [[f"{n:,}" for n in row] for row in saved["migration"]["counts"]]
    assert "compare.json and migration.csv" in report.page.inner_text("footer")
