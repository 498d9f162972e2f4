"""The outputs of `segmint run` (docs/reference/model.md, docs/reference/outputs.md), checked
from the files alone: the model is re-applied and the scores and figures recomputed with numpy,
pandas and scikit-learn, without importing Segmint (except where the Python API itself is under
test)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from helpers import OUTPUTS, SHARED_DATA
from report_tables import script_block

DATA = SHARED_DATA
pytestmark = pytest.mark.shared_data
RETAIL = DATA / "online_retail_sample.csv"
REL = 1e-9


def run_cli(*args: object) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "segmint.cli", "run", *map(str, args), "--quiet"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def load(out: Path) -> tuple[pd.DataFrame, dict, dict]:
    customers = pd.read_parquet(out / "segments.parquet")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    model = json.loads((out / "model.json").read_text(encoding="utf-8"))
    return customers, summary, model


@pytest.fixture(scope="module")
def retail_outs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two runs of the CLI on the retail sample with the same seed, into two folders."""
    base = tmp_path_factory.mktemp("retail")
    outs = (base / "first", base / "second")
    options = ("--k-min", "3", "--k-max", "5", "--seed", "0")
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda out: run_cli(RETAIL, "--out", out, *options), outs))
    for result in results:
        assert result.returncode == 0, result.stderr
    return outs


# Files and determinism ------------------------------------------------------------------------


def test_the_five_files_exist(retail_outs: tuple[Path, Path]) -> None:
    out = retail_outs[0]
    for name in OUTPUTS:
        if name == "charts":
            # One PNG per chart of report.html, the CLV chart among them (CLV is on here).
            html = (out / "report.html").read_text(encoding="utf-8")
            ids = json.loads(script_block(html, "segmint-charts")).keys()
            assert sorted(p.stem for p in (out / name).glob("*.png")) == sorted(ids)
            assert len(ids) == 9 and "clv-by-segment" in ids
        elif name == "audiences":
            # One CSV per segment (docs/reference/rules.md#audiences).
            segments = json.loads((out / "summary.json").read_text())["segments"]
            assert len(list((out / name).glob("*.csv"))) == len(segments)
        else:
            assert (out / name).is_file() and (out / name).stat().st_size > 0, name


def _without_timings(text: str) -> str:
    text = re.sub(r"\d+\.\d\d s\b", "<time>", text)
    return re.sub(r"Generated \S+", "Generated <when>", text)


def test_same_seed_same_bytes(retail_outs: tuple[Path, Path]) -> None:
    first, second = retail_outs
    for name in ("segments.parquet", "segments.csv", "model.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    charts = sorted(p.name for p in (first / "charts").iterdir())
    for name in charts:
        assert (first / "charts" / name).read_bytes() == (second / "charts" / name).read_bytes()
    # The reports differ only where they quote the run's timings and when it was made.
    for name in ("report.md", "report.html"):
        texts = [_without_timings((out / name).read_text(encoding="utf-8")) for out in retail_outs]
        assert texts[0] == texts[1], name
    summaries = [json.loads((out / "summary.json").read_text()) for out in retail_outs]
    for summary in summaries:
        dt.datetime.fromisoformat(summary.pop("generated_at"))  # ISO 8601
        assert set(summary.pop("timings")) >= {"read", "clean", "features", "model"}
    assert summaries[0] == summaries[1]


# model.json -----------------------------------------------------------------------------------


def test_model_json_has_the_documented_keys(retail_outs: tuple[Path, Path]) -> None:
    customers, summary, model = load(retail_outs[0])
    required = {"format", "version", "as_of", "feature_set", "features", "centers", "segments"}
    assert required | {"columns"} <= set(model)
    assert model["format"] == "segmint-model" and model["version"] == 1
    assert model["feature_set"] == "rfm"
    assert model["as_of"] == summary["input"]["as_of"]
    for feature in model["features"]:
        assert {"name", "transform", "mean", "scale"} <= set(feature)
    # The rfm set, each with log1p (day, count and money features: docs/reference/model.md#scaling).
    assert [(f["name"], f["transform"]) for f in model["features"]] == [
        ("recency_days", "log1p"),
        ("frequency", "log1p"),
        ("monetary", "log1p"),
    ]
    assert summary["features"] == [f["name"] for f in model["features"]]
    k = summary["selection"]["chosen_k"]
    assert np.asarray(model["centers"], dtype=float).shape == (k, 3)
    for segment in model["segments"]:
        assert {"id", "name"} <= set(segment)
    assert [s["id"] for s in model["segments"]] == list(range(k))
    # The roles were found in the file's header (docs/reference/input.md#roles).
    assert model["columns"] == summary["input"]["columns"]
    header = {
        "customer_id": "CustomerID",
        "date": "InvoiceDate",
        "order_id": "InvoiceNo",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
        "product_id": "StockCode",
    }
    assert {role: model["columns"].get(role) for role in header} == header


def test_as_of_is_the_latest_kept_date(retail_outs: tuple[Path, Path]) -> None:
    _, summary, model = load(retail_outs[0])
    raw = pd.read_csv(RETAIL, dtype=str, keep_default_na=False)
    sale = (
        (raw["CustomerID"].str.strip() != "")
        & (pd.to_numeric(raw["Quantity"]) > 0)
        & (pd.to_numeric(raw["UnitPrice"]) > 0)
    )
    latest = pd.to_datetime(raw.loc[sale, "InvoiceDate"]).max().date().isoformat()
    assert model["as_of"] == summary["input"]["as_of"] == latest


def check_model_reproduces(out: Path) -> None:
    """Re-apply model.json to segments.parquet and recompute the chosen k's scores."""
    customers, summary, model = load(out)
    raw = np.column_stack(
        [customers[f["name"]].to_numpy(dtype=np.float64) for f in model["features"]]
    )
    transforms = [f["transform"] for f in model["features"]]
    assert set(transforms) <= {"log1p", "none"}
    transformed = np.column_stack(
        [
            np.log1p(np.maximum(raw[:, j], 0.0)) if t == "log1p" else raw[:, j]
            for j, t in enumerate(transforms)
        ]
    )
    mean = np.array([f["mean"] for f in model["features"]])
    scale = np.array([f["scale"] for f in model["features"]])
    # Standard scaling: mean and population standard deviation of the transformed features.
    np.testing.assert_allclose(mean, transformed.mean(axis=0), rtol=REL, atol=1e-12)
    np.testing.assert_allclose(scale, transformed.std(axis=0, ddof=0), rtol=REL)
    X = (transformed - mean) / scale
    centers = np.asarray(model["centers"], dtype=np.float64)
    distances = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    labels = customers["segment_id"].to_numpy()
    np.testing.assert_array_equal(distances.argmin(axis=1), labels)

    selection = summary["selection"]
    k = selection["chosen_k"]
    assert len(centers) == k
    (row,) = [s for s in selection["scores"] if s["k"] == k]
    n = len(customers)
    sample = selection["silhouette_sample_size"]
    silhouette = silhouette_score(
        X, labels, sample_size=sample if n > sample else None, random_state=summary["seed"]
    )
    assert row["davies_bouldin"] == pytest.approx(davies_bouldin_score(X, labels), rel=REL)
    assert row["calinski_harabasz"] == pytest.approx(calinski_harabasz_score(X, labels), rel=REL)
    assert row["silhouette"] == pytest.approx(silhouette, rel=REL)
    assert row["inertia"] == pytest.approx(((X - centers[labels]) ** 2).sum(), rel=REL)
    assert row["smallest_share"] == pytest.approx(np.bincount(labels, minlength=k).min() / n)

    # Selection rule (docs/stability.md): eligible = smallest share ≥ the minimum; the chosen
    # k has the lowest Davies-Bouldin among the eligible k whose every segment's mean
    # Jaccard reaches min_stability (else among the most stable), ties to the smaller k.
    assert selection["metric"] == "stable"
    for s in selection["scores"]:
        assert s["eligible"] == (s["smallest_share"] >= selection["min_segment_share"])
    pool = [s for s in selection["scores"] if s["eligible"]] or selection["scores"]
    least = {s["k"]: min(x["jaccard"] for x in s["segment_stability"]) for s in pool}
    stable = [s for s in pool if least[s["k"]] >= selection["min_stability"]]
    pool = stable or [s for s in pool if least[s["k"]] == max(least.values())]
    assert k == min(pool, key=lambda s: (s["davies_bouldin"], s["k"]))["k"]

    # The delivered segments' stability, measured again from segments.parquet and model.json
    # (every customer here: the log is below the sample size) with Segmint's own function.
    from segmint.model.clusterboot import segment_stability

    assert not selection["sampled"]
    again = segment_stability(X, labels, k, summary["seed"], model["stability"]["resamples"])
    figures = [s["stability"] for s in summary["segments"]]
    assert (
        [f["jaccard"] for f in figures]
        == list(again.jaccard)
        == [s["jaccard"] for s in row["segment_stability"]]
    )
    assert [f["recovered"] for f in figures] == list(again.recovered)
    assert [s["stability"] for s in model["segments"]] == figures
    # ... and with bootstraps of our own (other draws, scikit-learn's K-means, Jaccard from
    # sets): the same figures within sampling error.
    ours = clusterboot_by_hand(X, labels, k, resamples=200, seed=12345)
    for segment, (theirs, mine) in enumerate(zip(again.jaccard, ours, strict=True)):
        assert abs(theirs - mine) <= 0.1, (segment, theirs, mine)

    # Names: one per segment id, unique, the same in the model, the summary and the table.
    names = {s["id"]: s["name"] for s in model["segments"]}
    assert len(set(names.values())) == k
    assert [s["name"] for s in summary["segments"]] == [names[i] for i in range(k)]
    assert (customers["segment_name"] == customers["segment_id"].map(names)).all()


def clusterboot_by_hand(
    X: np.ndarray, labels: np.ndarray, k: int, resamples: int, seed: int
) -> list[float]:
    """Hennig's cluster-wise bootstrap written plainly: each segment's mean, over resamples
    of the customers drawn with replacement, of its best Jaccard similarity to a cluster of
    K-means refitted on the resample (compared on the distinct customers drawn)."""
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(seed)
    n = len(X)
    totals = np.zeros(k)
    for b in range(resamples):
        drawn = rng.integers(0, n, n)
        refit = KMeans(k, n_init=1, random_state=b).fit(X[drawn])
        present = sorted(set(drawn.tolist()))
        new = dict(zip(present, refit.predict(X[present]), strict=True))
        for segment in range(k):
            a = {i for i in present if labels[i] == segment}
            totals[segment] += max(
                len(a & (c := {i for i in present if new[i] == j})) / len(a | c) for j in range(k)
            )
    return list(totals / resamples)


def test_model_json_and_parquet_alone_reproduce_the_segments(
    retail_outs: tuple[Path, Path],
) -> None:
    check_model_reproduces(retail_outs[0])
    _, summary, _ = load(retail_outs[0])
    assert summary["selection"]["k_range"] == [3, 5]
    assert [s["k"] for s in summary["selection"]["scores"]] == [3, 4, 5]


def test_silhouette_over_a_seeded_sample(tmp_path: Path) -> None:
    # More customers (≈230) than silhouette_sample_size: the score is over a sample drawn
    # with random_state = seed; the recomputation must draw the same one.
    from segmint import segment

    result = segment(RETAIL, k_min=3, k_max=4, silhouette_sample_size=50, n_init=2, seed=7)
    result.write(tmp_path / "out")
    customers, summary, _ = load(tmp_path / "out")
    assert len(customers) > 50
    assert summary["seed"] == 7 and summary["selection"]["silhouette_sample_size"] == 50
    check_model_reproduces(tmp_path / "out")


# summary.json figures ----------------------------------------------------------------------------


def test_segment_figures_recomputed_with_pandas(retail_outs: tuple[Path, Path]) -> None:
    customers, summary, _ = load(retail_outs[0])
    n, revenue = len(customers), customers["monetary"].sum()
    grouped = customers.groupby("segment_id")
    expected = pd.DataFrame(
        {
            "customers": grouped.size(),
            "revenue": grouped["monetary"].sum(),
            "recency_days_mean": grouped["recency_days"].mean(),
            "frequency_mean": grouped["frequency"].mean(),
            "monetary_mean": grouped["monetary"].mean(),
        }
    )
    expected["share"] = expected["customers"] / n
    expected["revenue_share"] = expected["revenue"] / revenue
    assert [s["id"] for s in summary["segments"]] == list(expected.index)
    for segment in summary["segments"]:
        row = expected.loc[segment["id"]]
        assert segment["customers"] == row["customers"]
        for key in ("share", "revenue", "revenue_share"):
            assert segment[key] == pytest.approx(row[key], rel=REL), key
        for key in ("recency_days_mean", "frequency_mean", "monetary_mean"):
            assert segment[key] == pytest.approx(row[key], rel=REL), key
    assert sum(s["customers"] for s in summary["segments"]) == n
    assert len({s["name"] for s in summary["segments"]}) == len(summary["segments"])


def test_totals_recomputed_with_pandas(retail_outs: tuple[Path, Path]) -> None:
    customers, summary, _ = load(retail_outs[0])
    totals = summary["totals"]
    revenue, orders = customers["monetary"].sum(), int(customers["frequency"].sum())
    assert totals["customers"] == summary["input"]["customers"] == len(customers)
    assert totals["orders"] == summary["input"]["orders"] == orders
    assert totals["revenue"] == pytest.approx(revenue, rel=REL)
    assert totals["aov"] == pytest.approx(totals["revenue"] / totals["orders"], rel=REL)
    assert totals["revenue_per_customer"] == pytest.approx(revenue / len(customers), rel=REL)
    assert totals["orders_per_customer"] == pytest.approx(orders / len(customers), rel=REL)


# segments.csv ------------------------------------------------------------------------------------


def test_csv_matches_parquet_and_keeps_ids_as_written(retail_outs: tuple[Path, Path]) -> None:
    out = retail_outs[0]
    customers = pd.read_parquet(out / "segments.parquet")
    text = pd.read_csv(out / "segments.csv", dtype=str, keep_default_na=False)
    assert list(text.columns) == list(customers.columns)
    # Ids exactly as in the input file (the float-looking text `17850.0` stays so).
    raw = pd.read_csv(RETAIL, dtype=str, keep_default_na=False)
    written = set(raw["CustomerID"].str.strip()) - {""}
    assert customers["customer_id"].is_unique
    assert set(customers["customer_id"]) <= written
    assert "17850.0" in set(customers["customer_id"])
    assert list(text["customer_id"]) == list(customers["customer_id"])
    # Every number of the CSV is the parquet's number.
    numbers = pd.read_csv(out / "segments.csv")
    for column in customers.columns:
        if pd.api.types.is_numeric_dtype(customers[column]):
            np.testing.assert_allclose(
                numbers[column].to_numpy(dtype=float),
                customers[column].to_numpy(dtype=float),
                rtol=1e-12,
                err_msg=column,
            )


def test_formula_like_ids_are_neutralised_in_csv_only(tmp_path: Path) -> None:
    ids = ["=1+2", "-5", "+7", "@home", "00042", "plain", "a=b", "'quoted"]
    path = tmp_path / "formula.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["customer_id", "date", "amount"])
        for i, customer in enumerate(ids):  # customer i: i + 1 orders, all distinct points
            for j in range(i + 1):
                writer.writerow([customer, f"2011-{1 + j:02d}-{1 + i:02d}", 10 * (i + 1) + j])
    result = run_cli(path, "--out", tmp_path / "out", "--k", "2")
    assert result.returncode == 0, result.stderr
    customers = pd.read_parquet(tmp_path / "out" / "segments.parquet")
    text = pd.read_csv(tmp_path / "out" / "segments.csv", dtype=str, keep_default_na=False)
    assert sorted(customers["customer_id"]) == sorted(ids)  # parquet: exactly as written
    expected = {
        "=1+2": "'=1+2",
        "-5": "'-5",
        "+7": "'+7",
        "@home": "'@home",
        "00042": "00042",
        "plain": "plain",
        "a=b": "a=b",
        "'quoted": "'quoted",
    }
    assert list(text["customer_id"]) == [expected[c] for c in customers["customer_id"]]


# The Python API on in-memory tables --------------------------------------------------------------

# (order_id, customer, date, quantity, unit_price); as_of = the latest date, 2011-03-31.
LINES = [
    ("o1", "a", dt.datetime(2011, 1, 3), 2, 5.0),
    ("o1", "a", dt.datetime(2011, 1, 3), 1, 10.0),
    ("o2", "a", dt.datetime(2011, 2, 1), 3, 2.5),
    ("o3", "b", dt.datetime(2011, 1, 10), 1, 100.0),
    ("o4", "c", dt.datetime(2011, 1, 15), 4, 1.25),
    ("o5", "c", dt.datetime(2011, 3, 1), 2, 3.0),
    ("o6", "c", dt.datetime(2011, 3, 20), 1, 8.0),
    ("o7", "d", dt.datetime(2011, 2, 14), 10, 0.5),
    ("o8", "e", dt.datetime(2011, 3, 25), 2, 20.0),
    ("C9", "e", dt.datetime(2011, 3, 26), -1, 20.0),
    ("o10", "f", dt.datetime(2011, 1, 5), 1, 12.0),
    ("o11", "f", dt.datetime(2011, 3, 31), 1, 12.0),
]
COLUMNS = {
    "InvoiceNo": [r[0] for r in LINES],
    "CustomerID": [r[1] for r in LINES],
    "InvoiceDate": [r[2] for r in LINES],
    "Quantity": [r[3] for r in LINES],
    "UnitPrice": [r[4] for r in LINES],
}


def test_pandas_polars_and_arrow_give_the_same_customers() -> None:
    import polars as pl

    from segmint import segment

    tables = {
        "pandas": pd.DataFrame(COLUMNS),
        "polars": pl.DataFrame(COLUMNS),
        "arrow": pa.table(COLUMNS),
    }
    results = {name: segment(t, k=2, n_init=2, seed=0).customers for name, t in tables.items()}
    by_id = results["pandas"].set_index("customer_id")
    # By hand:
    # a: o1 = 2×5 + 1×10 = 20, o2 = 3×2.5 = 7.5 → 2 orders, 27.5; last 02-01 → 27 + 31 = 58 days
    # b: 1×100 → 1 order, 100; last 01-10 → 21 + 28 + 31 = 80 days
    # c: 5 + 6 + 8 = 19 over 3 orders; last 03-20 → 11 days
    # d: 10×0.5 = 5; last 02-14 → 14 + 31 = 45 days
    # e: o8 = 40, return C9 = −20 (not an order) → 1 order, 20; last order 03-25 → 6 days
    # f: 12 + 12 → 2 orders, 24; last 03-31 → 0 days
    assert by_id["frequency"].to_dict() == {"a": 2, "b": 1, "c": 3, "d": 1, "e": 1, "f": 2}
    expected_monetary = {"a": 27.5, "b": 100.0, "c": 19.0, "d": 5.0, "e": 20.0, "f": 24.0}
    assert by_id["monetary"].to_dict() == pytest.approx(expected_monetary)
    recency = {"a": 58, "b": 80, "c": 11, "d": 45, "e": 6, "f": 0}
    assert by_id["recency_days"].to_dict() == recency
    pd.testing.assert_frame_equal(results["pandas"], results["polars"])
    pd.testing.assert_frame_equal(results["pandas"], results["arrow"])
