"""`segmint validate`: BG/NBD fitted on a calibration period, its holdout predictions against
what customers did, checked against an independent pandas computation of the holdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import write_csv
from report_tables import markdown_tables, shows
from segmint import SegmintError
from segmint.clv.validation import validate

CDNOW = Path(__file__).resolve().parents[2] / "shared" / "data" / "cdnow_sample.csv"


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    # 273 days before the log's last day (1998-06-30): the paper's calibration, to 1997-09-30.
    out = tmp_path_factory.mktemp("validate") / "out"
    result = validate(CDNOW, holdout_days=273)
    result.write(out)
    return result, out


def pandas_holdout() -> pd.Series:
    """Orders per customer from 1997-10-01 on: distinct customer-days, duplicates dropped."""
    lines = pd.read_csv(CDNOW, dtype=str).drop_duplicates()
    days = pd.to_datetime(lines["date"], format="%Y%m%d")
    holdout = lines[days > pd.Timestamp("1997-09-30")]
    return holdout.groupby("customer_id")["date"].nunique()


def test_calibration_fit_is_the_published_one(cdnow):
    result, _ = cdnow
    fit = result.summary["bgnbd"]
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426.
    assert fit["r"] == pytest.approx(0.243, abs=5e-4)
    assert fit["alpha"] == pytest.approx(4.414, abs=5e-4)
    assert fit["a"] == pytest.approx(0.793, abs=5e-4)
    assert fit["b"] == pytest.approx(2.426, abs=5e-4)
    assert result.summary["calibration"] == {"start": "1997-01-01", "end": "1997-09-30"}
    assert result.summary["holdout"] == {"start": "1997-10-01", "end": "1998-06-30"}


def test_actual_holdout_orders_equal_pandas(cdnow):
    result, _ = cdnow
    table = result.customers.set_index("customer_id")
    expected = pandas_holdout().reindex(table.index, fill_value=0)
    assert len(table) == 2357
    assert (table["actual_orders"] == expected).all()
    assert result.summary["errors"]["total_actual"] == expected.sum()


def test_groups_and_errors_recomputed(cdnow):
    result, _ = cdnow
    t = result.customers
    groups = {g["repeat_orders"]: g for g in result.summary["by_repeat_orders"]}
    assert list(groups) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    for label, g in groups.items():
        inside = (
            t[t["repeat_orders"] >= 7] if label == "7+" else t[t["repeat_orders"] == int(label)]
        )
        assert g["customers"] == len(inside)
        assert g["predicted_mean"] == pytest.approx(inside["predicted_orders"].mean(), rel=1e-12)
        assert g["actual_mean"] == pytest.approx(inside["actual_orders"].mean(), rel=1e-12)
    # x = 0: 2,357 customers less the 946 who bought again in the calibration period.
    assert groups["0"]["customers"] == 2357 - 946
    errors = result.summary["errors"]
    diff = t["predicted_orders"] - t["actual_orders"]
    assert errors["mae"] == pytest.approx(diff.abs().mean(), rel=1e-12)
    assert errors["rmse"] == pytest.approx(np.sqrt((diff**2).mean()), rel=1e-12)
    assert errors["correlation"] == pytest.approx(
        t["predicted_orders"].corr(t["actual_orders"]), rel=1e-9
    )
    assert errors["total_error_share"] == pytest.approx(
        t["predicted_orders"].sum() / t["actual_orders"].sum() - 1, rel=1e-9
    )


def test_report_and_files_say_the_same(cdnow):
    result, out = cdnow
    saved = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    assert saved["errors"]["total_actual"] == result.summary["errors"]["total_actual"]
    csv = pd.read_csv(out / "validation.csv", dtype={"customer_id": str})
    assert (csv["customer_id"].str.len() == 5).all()  # zero padding kept: 00004, not 4
    assert (csv["customer_id"].to_numpy() == result.customers["customer_id"].to_numpy()).all()
    assert (csv["actual_orders"].to_numpy() == result.customers["actual_orders"].to_numpy()).all()
    md = (out / "validation.md").read_text(encoding="utf-8")
    (groups,) = [t for t in markdown_tables(md) if t.headers[0] == "repeat orders"]
    for row, g in zip(groups.rows, saved["by_repeat_orders"], strict=True):
        assert row[0] == g["repeat_orders"]
        assert shows(row[2], g["predicted_mean"]) and shows(row[3], g["actual_mean"])
    assert (out / "charts" / "holdout-by-repeat-orders.png").read_bytes()[:4] == b"\x89PNG"
    assert "holdout-by-repeat-orders" in (out / "validation.html").read_text(encoding="utf-8")


def test_customers_new_in_the_holdout_are_counted_not_compared(tmp_path):
    # CDNOW plus one customer whose only orders fall in the last 30 days (1998-06-01 to -30).
    lines = pd.read_csv(CDNOW, dtype=str)
    extra = pd.DataFrame([["new", "19980620", "1", "5.00"], ["new", "19980625", "1", "6.00"]],
                         columns=lines.columns)  # fmt: skip
    path = tmp_path / "a.csv"
    pd.concat([lines, extra]).to_csv(path, index=False)
    result = validate(path, holdout_days=30)
    assert result.summary["holdout"] == {"start": "1998-06-01", "end": "1998-06-30"}
    assert result.summary["new_in_holdout"] == 1
    table = result.customers.set_index("customer_id")
    assert "new" not in table.index and len(table) == 2357
    kept = lines.drop_duplicates()
    late = kept[pd.to_datetime(kept["date"], format="%Y%m%d") >= pd.Timestamp("1998-06-01")]
    assert table["actual_orders"].sum() == late.groupby("customer_id")["date"].nunique().sum()


def test_a_holdout_longer_than_the_log_is_an_error(tmp_path):
    rows = [[f"c{i}", f"2020-01-{1 + i:02d}", "10"] for i in range(20)]
    path = write_csv(tmp_path / "a.csv", ["customer_id", "date", "amount"], rows)
    with pytest.raises(SegmintError, match="--holdout-days 400 leaves no calibration period"):
        validate(path, holdout_days=400)
    with pytest.raises(SegmintError, match="no customer has a repeat order"):
        validate(path, holdout_days=5)
    with pytest.raises(SegmintError, match="--holdout-days 0: must be at least 1"):
        validate(path, holdout_days=0)


def test_cli_errors_are_one_line_and_leave_no_output(tmp_path):
    rows = [[f"c{i}", f"2020-01-{1 + i:02d}", "10"] for i in range(20)]
    path = write_csv(tmp_path / "a.csv", ["customer_id", "date", "amount"], rows)
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "segmint.cli", "validate", str(path), "--holdout-days", "400",
         "--out", str(out), "--quiet"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and run.stderr.startswith("error: ")
    assert str(path) in run.stderr
    assert not out.exists()
