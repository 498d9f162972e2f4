"""The benchmark harness (benchmarks/): generator, floor, baseline and run.py, on 100k lines."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from helpers import load_benchmark

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
LINES = 100_000


generate = load_benchmark("generate")
floor = load_benchmark("floor")
run = load_benchmark("run")


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """run.py's main on 100k CSV lines: generation, then floor, Segmint and the baseline."""
    root = tmp_path_factory.mktemp("bench")
    results_path = root / "results.json"
    argv = ["--sizes", "100k", "--data-dir", str(root / "data"), "--results", str(results_path)]
    argv += ["--work-dir", str(root / "runs"), "--segmint-args", "--k-min 3 --k-max 4"]
    argv += ["--baseline-args", "--k-max 4"]
    import contextlib
    import io

    table = io.StringIO()
    with contextlib.redirect_stdout(table):
        assert run.main(argv) == 0
    results = json.loads(results_path.read_text())
    path = root / "data" / "lines_100k.csv"
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {"results": results, "table": table.getvalue(), "path": path, "raw": raw}


def _runs(harness: dict) -> dict[str, dict]:
    return {r["tool"]: r for r in harness["results"]["runs"]}


def test_harness_runs_every_tool_end_to_end(harness: dict) -> None:
    results, runs = harness["results"], _runs(harness)
    assert sorted(runs) == ["baseline", "floor", "segmint"]
    for row in runs.values():
        assert row["returncode"] == 0, row.get("error")
        assert row["size"] == "100k" and row["lines"] == LINES and row["format"] == "csv"
        assert row["peak_rss_kib"] > 0 and row["wall_s"] > 0
        # a Python process with pandas or DuckDB loaded holds at least ~50 MiB
        assert row["peak_rss_kib"] > 50 * 1024
    seg = runs["segmint"]
    out = Path(seg["out"])
    assert (out / "summary.json").exists() and (out / "segments.parquet").exists()
    assert set(seg["stages"]) >= {"read", "clean", "features", "model"}
    assert seg["chosen_k"] in (3, 4)
    assert 2 <= runs["baseline"]["chosen_k"] <= 4
    assert set(runs["baseline"]["stages"]) >= {"read", "clean", "features", "model", "total"}
    assert runs["floor"]["stages"]["query"] > 0
    # The three tools agree on who is a customer (an order with a positive price).
    customers = len(pd.read_parquet(out / "segments.parquet"))
    assert runs["floor"]["customers"] == customers == runs["baseline"]["customers"]
    assert seg["customers"] == customers
    # Generation was measured and its stats recorded.
    (made,) = results["generation"]
    assert made["stats"]["lines"] == LINES and made["peak_rss_gib"] > 0
    # Ratios computed from the rows, not copied.
    (ratio,) = results["ratios"]
    assert ratio["baseline_over_segmint_wall"] == pytest.approx(
        runs["baseline"]["wall_s"] / seg["wall_s"], abs=1e-3
    )
    assert ratio["segmint_over_baseline_rss"] == pytest.approx(
        seg["peak_rss_kib"] / runs["baseline"]["peak_rss_kib"], abs=1e-3
    )
    features = sum(seg["stages"][s] for s in ("read", "clean", "features"))
    assert ratio["segmint_features_over_floor"] == pytest.approx(
        features / runs["floor"]["stages"]["query"], abs=1e-3
    )
    assert results["scaling"] == {}  # one size: no exponent
    assert results["machine"]["cpus"] >= 1
    # The printed Markdown table has one row per tool.
    for tool in ("floor", "segmint", "baseline"):
        assert re.search(rf"^\| 100k \| csv \| {tool} \| [\d.]+ \|", harness["table"], re.M)


def test_segmint_drop_counts_match_pandas(harness: dict) -> None:
    raw = harness["raw"]
    summary = json.loads((Path(_runs(harness)["segmint"]["out"]) / "summary.json").read_text())
    missing = raw["CustomerID"].str.strip() == ""
    known = raw[~missing]
    unique = known.drop_duplicates()
    invalid = (unique["UnitPrice"].astype(float) <= 0) | (unique["Quantity"].astype(int) == 0)
    valid = unique[~invalid]
    is_return = valid["InvoiceNo"].str.startswith("C") | (valid["Quantity"].astype(int) < 0)
    buyers = set(valid.loc[~is_return, "CustomerID"])
    returns_only = int((~valid["CustomerID"].isin(buyers)).sum())
    assert summary["input"]["rows_read"] == LINES
    assert summary["input"]["rows_dropped"] == {
        "missing_customer_id": int(missing.sum()),
        "bad_date": 0,
        "duplicate": len(known) - len(unique),
        "invalid_amount": int(invalid.sum()),
        "after_as_of": 0,
        "returns_only": returns_only,
    }
    assert summary["input"]["columns"] == {
        "customer_id": "CustomerID",
        "date": "InvoiceDate",
        "order_id": "InvoiceNo",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
        "category": "Category",
        "product_id": "StockCode",
    }


def _pandas_rfm(raw: pd.DataFrame) -> pd.DataFrame:
    """The floor's rules, in pandas, from the text of the file."""
    df = raw[raw["CustomerID"].str.strip() != ""].drop_duplicates().copy()
    df["qty"] = df["Quantity"].astype(int)
    df["price"] = df["UnitPrice"].astype(float)
    df = df[(df["qty"] != 0) & (df["price"] > 0)].copy()
    df["ts"] = pd.to_datetime(df["InvoiceDate"], format="%Y-%m-%d %H:%M:%S")
    df["is_return"] = df["InvoiceNo"].str.startswith("C") | (df["qty"] < 0)
    df["amount"] = df["qty"] * df["price"]
    orders = df[~df["is_return"]]
    df = df[df["CustomerID"].isin(set(orders["CustomerID"]))]
    as_of = df["ts"].max().normalize()
    rfm = pd.DataFrame(
        {
            "frequency": orders.groupby("CustomerID")["InvoiceNo"].nunique(),
            "monetary": df.groupby("CustomerID")["amount"].sum(),
            "recency_days": (
                as_of - orders.groupby("CustomerID")["ts"].max().dt.normalize()
            ).dt.days,
        }
    )
    return rfm.sort_index()


def test_floor_and_segmint_match_a_pandas_groupby(harness: dict, tmp_path: Path) -> None:
    expected = _pandas_rfm(harness["raw"])
    floor.run(str(harness["path"]), str(tmp_path / "floor.parquet"))
    got = pd.read_parquet(tmp_path / "floor.parquet").set_index("customer_id").sort_index()
    assert list(got.index) == list(expected.index)
    assert (got["frequency"].to_numpy() == expected["frequency"].to_numpy()).all()
    assert (got["recency_days"].to_numpy() == expected["recency_days"].to_numpy()).all()
    np.testing.assert_allclose(got["monetary"], expected["monetary"], rtol=1e-9, atol=1e-9)
    segments = pd.read_parquet(Path(_runs(harness)["segmint"]["out"]) / "segments.parquet")
    segments = segments.set_index("customer_id").sort_index()
    assert list(segments.index) == list(expected.index)
    assert (segments["frequency"].to_numpy() == expected["frequency"].to_numpy()).all()
    assert (segments["recency_days"].to_numpy() == expected["recency_days"].to_numpy()).all()
    np.testing.assert_allclose(segments["monetary"], expected["monetary"], rtol=1e-9, atol=1e-9)


def test_generated_log_has_the_dirt_it_claims(harness: dict) -> None:
    raw = harness["raw"]
    stats = harness["results"]["generation"][0]["stats"]
    n = len(raw)
    assert n == LINES
    is_return = raw["InvoiceNo"].str.startswith("C")
    missing = raw["CustomerID"] == ""
    zero = raw["UnitPrice"].astype(float) == 0
    duplicates = int(raw.duplicated().sum())
    # The stats count what is in the file (no accidental duplicates besides the injected).
    assert stats["return_lines"] == int(is_return.sum())
    assert stats["missing_ids"] == int(missing.sum())
    assert stats["zero_prices"] == int(zero.sum())
    assert stats["duplicates"] == duplicates
    assert stats["customers"] == raw.loc[~missing, "CustomerID"].nunique()
    assert stats["invoices"] == raw["InvoiceNo"].nunique()
    # Near the targets: 2% returns, 1% missing ids, 1% duplicates, 0.5% zero prices.
    assert is_return.mean() == pytest.approx(0.02, abs=0.004)
    assert missing.mean() == pytest.approx(0.01, abs=0.004)
    assert duplicates / n == pytest.approx(0.01, abs=0.003)
    assert zero.mean() == pytest.approx(0.005, abs=0.002)
    # About 16.7 lines per customer (60k customers per million lines).
    assert n / stats["customers"] == pytest.approx(16.7, rel=0.1)
    # Text as written by users: ids, 2-decimal prices, dates, 8 countries, ~12 categories.
    assert raw["InvoiceNo"].str.fullmatch(r"C?INV\d{8}").all()
    assert raw.loc[~missing, "CustomerID"].str.fullmatch(r"\d{6,7}").all()
    assert raw["UnitPrice"].str.fullmatch(r"\d+\.\d\d").all()
    assert raw["InvoiceDate"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    dates = pd.to_datetime(raw["InvoiceDate"])
    assert dates.min() >= pd.Timestamp("2023-01-01") and dates.max() < pd.Timestamp("2025-01-01")
    assert raw["Country"].nunique() == 8
    assert raw["Category"].nunique() == 12
    assert 2_000 <= raw["StockCode"].nunique() <= 3_000
    # Orders sell, returns take back.
    qty = raw["Quantity"].astype(int)
    assert (qty[is_return] < 0).all() and (qty[~is_return] > 0).all()
    # An invoice is one customer (or none: whole invoices lack the id) at one time.
    per_invoice = raw.groupby("InvoiceNo").agg(
        ids=("CustomerID", "nunique"), times=("InvoiceDate", "nunique")
    )
    assert (per_invoice["ids"] == 1).all() and (per_invoice["times"] == 1).all()


def test_returns_take_back_an_earlier_purchase_of_the_same_customer(harness: dict) -> None:
    raw = harness["raw"]
    known = raw[raw["CustomerID"] != ""].copy()
    known["ts"] = pd.to_datetime(known["InvoiceDate"])
    is_return = known["InvoiceNo"].str.startswith("C")
    returns = known[is_return]
    first_bought = known[~is_return].groupby(["CustomerID", "StockCode"])["ts"].min()
    keys = pd.MultiIndex.from_frame(returns[["CustomerID", "StockCode"]])
    bought = first_bought.reindex(keys).to_numpy()
    # The file is cut at exactly N lines, so the last customer may lack an order; every
    # other return has an earlier purchase of that product by the same customer.
    assert np.isnat(bought).sum() <= 1
    assert (returns["ts"].to_numpy()[~np.isnat(bought)] > bought[~np.isnat(bought)]).all()


def test_generator_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    def files(seed: int, name: str) -> tuple[bytes, bytes]:
        generate.generate(20_000, tmp_path / name, ("csv", "parquet"), seed=seed)
        folder = tmp_path / name
        return (folder / "lines_20k.csv").read_bytes(), (folder / "lines_20k.parquet").read_bytes()

    first, again, other = files(0, "a"), files(0, "b"), files(1, "c")
    assert first == again
    assert first[0] != other[0] and first[1] != other[1]
    # The CSV and the Parquet file hold the same lines.
    csv = pd.read_csv(tmp_path / "a" / "lines_20k.csv", dtype={"CustomerID": str})
    parquet = pd.read_parquet(tmp_path / "a" / "lines_20k.parquet")
    assert (csv["InvoiceNo"] == parquet["InvoiceNo"]).all()
    assert (csv["CustomerID"].fillna("") == parquet["CustomerID"].fillna("")).all()
    np.testing.assert_array_equal(csv["UnitPrice"], parquet["UnitPrice"])
    assert (pd.to_datetime(csv["InvoiceDate"]) == parquet["InvoiceDate"]).all()


def test_generator_hits_the_line_count_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 1,000 customers per chunk is ~16,700 lines: 50,001 lines take 3 or 4 chunks, the last cut.
    monkeypatch.setattr(generate, "CUSTOMERS_PER_CHUNK", 1_000)
    stats = generate.generate(50_001, tmp_path, ("csv", "parquet"), seed=3)
    assert stats["lines"] == 50_001 and stats["chunks"] >= 3
    csv = pd.read_csv(tmp_path / "lines_50001.csv", dtype=str, keep_default_na=False)
    assert len(csv) == 50_001
    assert pq.ParquetFile(tmp_path / "lines_50001.parquet").metadata.num_rows == 50_001
    # Invoice numbers stay unique across chunks: one customer and one time per invoice.
    per_invoice = csv.groupby("InvoiceNo").agg(
        ids=("CustomerID", "nunique"), times=("InvoiceDate", "nunique")
    )
    assert (per_invoice["ids"] == 1).all() and (per_invoice["times"] == 1).all()
    assert stats["invoices"] == len(per_invoice)
    assert stats["customers"] == csv.loc[csv["CustomerID"] != "", "CustomerID"].nunique()


def test_parse_sizes_and_labels() -> None:
    assert run.parse_sizes(["10M", "1M", "100k", "1m"]) == [100_000, 1_000_000, 10_000_000]
    assert generate.parse_lines("2.5M") == 2_500_000
    assert generate.parse_lines("50_000") == 50_000
    assert [generate.size_label(n) for n in (100_000, 50_000_000, 1_234)] == ["100k", "50M", "1234"]
    for bad in ("ten", "1.5k7", "0", "0.5"):
        with pytest.raises(ValueError):
            generate.parse_lines(bad)


def test_fit_exponent() -> None:
    # Two sizes, time x10 for lines x10: slope 1.
    assert run.fit_exponent([1_000_000, 10_000_000], [2.0, 20.0]) == pytest.approx(1.0)
    # t = 3 (n / 1M)^1.5 at three sizes: slope 1.5 exactly.
    sizes = [1_000_000, 10_000_000, 50_000_000]
    assert run.fit_exponent(sizes, [3 * (n / 1e6) ** 1.5 for n in sizes]) == pytest.approx(1.5)
    # By hand, x = ln(1, 2, 4) = (0, 1, 2)·ln2, y = ln(1, 2, 8) = (0, 1, 3)·ln2:
    # cov = (-1)(-4/3) + 0 + (1)(5/3) = 3 (ln2)^2, var = 2 (ln2)^2, slope = 1.5.
    assert run.fit_exponent([1, 2, 4], [1.0, 2.0, 8.0]) == pytest.approx(1.5)
    assert run.fit_exponent([1_000_000], [5.0]) is None
    assert run.fit_exponent([1_000_000, 1_000_000], [5.0, 6.0]) is None


def test_measure_reports_peak_memory_wall_time_and_exit_code() -> None:
    # The child's sleep is work of a known length, not a wait for anything: the wall time
    # covers at least it however busy the machine is, and the peak RSS is a high-water mark
    # (ru_maxrss, kept after the child exits) that no timing can miss.
    big = "import time; b = b'x' * (300 * 2**20); time.sleep(0.3); print('done')"
    measured = run.measure([sys.executable, "-c", big])
    assert measured.returncode == 0 and measured.stdout.strip() == "done"
    assert measured.peak_rss_kib >= 300 * 1024
    assert measured.wall_s >= 0.3
    assert measured.peak_rss_gib == pytest.approx(measured.peak_rss_kib / 2**20)
    # Writing 300 MiB takes CPU time, but no more than the cores can give in the wall time.
    assert 0 < measured.cpu_s <= measured.wall_s * os.cpu_count()
    assert measured.other_cpu_s is not None and measured.other_cpu_s >= 0


def test_measure_does_not_count_the_parents_memory() -> None:
    # Linux carries a parent's peak RSS into a forked child's ru_maxrss: a small child forked
    # straight from this (big) process would report at least 400 MiB.
    ballast = bytearray(b"x" * (400 * 2**20))
    small = "import sys; print('small', file=sys.stderr); sys.exit(3)"
    measured = run.measure([sys.executable, "-c", small])
    assert len(ballast) == 400 * 2**20
    assert measured.returncode == 3 and measured.stderr.strip() == "small"
    assert 0 < measured.peak_rss_kib < 100 * 1024  # a bare Python holds ~10 MiB
    missing = run.measure(["/nonexistent/program"])
    assert missing.returncode == 127 and "/nonexistent/program" in missing.stderr


def test_a_run_is_disturbed_when_others_used_over_five_percent_of_a_core() -> None:
    def measured(wall: float, others: float | None) -> object:
        return run.Measurement(wall, 1, 0, "", "", cpu_s=wall, other_cpu_s=others)

    # 10 s of wall time: others may use up to 0.05 x 10 = 0.5 CPU s.
    assert not run.disturbed(measured(10.0, 0.4))
    assert run.disturbed(measured(10.0, 0.6))
    assert not run.disturbed(measured(10.0, None))  # not measurable: not flagged


def test_last_json_line_and_ratios_without_a_tool() -> None:
    assert run.last_json_line('warning\n{"a": 1}\nnot json\n') == {"a": 1}
    assert run.last_json_line("nothing") is None
    rows = [
        {
            "tool": "segmint",
            "returncode": 0,
            "wall_s": 10.0,
            "peak_rss_kib": 2048,
            "stages": {"read": 1.0, "clean": 2.0, "features": 0.5, "model": 4.0},
        },
        {
            "tool": "floor",
            "returncode": 0,
            "wall_s": 1.0,
            "peak_rss_kib": 1024,
            "stages": {"import": 0.1, "query": 0.7},
        },
        {"tool": "baseline", "returncode": 1, "wall_s": 3.0, "peak_rss_kib": 1024, "stages": {}},
    ]
    got = run.ratios(rows)
    # read + clean + features = 3.5 s; 3.5 / 0.7 = 5; the failed baseline gives no ratio.
    assert got["segmint_features_s"] == 3.5
    assert got["segmint_features_over_floor"] == 5.0
    assert got["floor_query_s"] == 0.7
    assert got["baseline_over_segmint_wall"] is None
    assert got["segmint_over_baseline_rss"] is None
    both = run.ratios([*rows[:2], {**rows[2], "returncode": 0}])
    assert both["baseline_over_segmint_wall"] == 0.3  # 3 s / 10 s
    assert both["segmint_over_baseline_rss"] == 2.0  # 2048 KiB / 1024 KiB


def test_clv_benchmark_recovers_the_simulated_parameters() -> None:
    # 100,000 customers drawn from BG/NBD (Hardie's CDNOW estimates) and Gamma-Gamma
    # (6, 4, 15): the fits must find them again, to the precision such a sample allows.
    clv = load_benchmark("clv")
    got = clv.run(100_000, seed=1, model="bg-nbd")
    assert got["customers"] == 100_000 and got["model"] == "bg-nbd"
    assert 0 < got["distinct_rows"] < 100_000
    truth = {"r": clv.R, "alpha": clv.ALPHA, "a": clv.A, "b": clv.B}
    for name, value in truth.items():
        assert got["orders"][name] == pytest.approx(value, rel=0.1), name
    for name, value in {"p": clv.P, "q": clv.Q, "gamma": clv.GAMMA}.items():
        assert got["gamma_gamma"][name] == pytest.approx(value, rel=0.1), name
    assert set(got["seconds"]) == {"fit_orders", "fit_gamma_gamma", "clv_stage"}


def test_stability_benchmark_times_the_model_stage_with_and_without(tmp_path: Path) -> None:
    stability = load_benchmark("stability")
    results = tmp_path / "stability.json"
    assert stability.main(["--lines", "30k", "--data-dir", str(tmp_path), "--repeats", "1",
                           "--results", str(results)]) == 0  # fmt: skip
    found = json.loads(results.read_text())
    assert found["lines"] == 30_000 and found["customers"] > 1000
    assert [len(found["runs"][name]) for name in ("with", "without")] == [1, 1]
    (with_run,), (without,) = found["runs"]["with"], found["runs"]["without"]
    assert with_run["refresh"] > 0 and without["refresh"] == 0  # the log spans two years
    assert found["stability_and_refresh_share"] == pytest.approx(
        (with_run["total"] - without["total"]) / with_run["total"]
    )
