"""`segmint validate`: every order model fitted on a calibration period, its holdout predictions
against what customers did, checked against independent pandas/numpy/sklearn computations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from helpers import SHARED_DATA, write_csv
from report_tables import markdown_tables, shows, table_with
from segmint import SegmintError
from segmint.clv import orders
from segmint.clv.validation import auc, read_log, tracking_points, validate
from segmint.settings import Settings
from segmint.writing.validation import write_validation

DATA = SHARED_DATA
pytestmark = pytest.mark.shared_data
CDNOW = DATA / "cdnow_sample.csv"
needs_cdnow = pytest.mark.skipif(not CDNOW.exists(), reason=f"{CDNOW} is not present")
MODELS = orders.MODEL_NAMES
LABELS = {"pareto-nbd": "Pareto/NBD", "mbg-nbd": "MBG/NBD", "bg-nbd": "BG/NBD"}


def column(model: str) -> str:
    return "predicted_" + model.replace("-", "_")


def strict_json(path: Path) -> dict:
    """Read JSON refusing NaN and Infinity (which json.loads accepts by default)."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{path.name} holds {constant}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    if not CDNOW.exists():
        pytest.skip(f"{CDNOW} is not present")
    # 273 days before the log's last day (1998-06-30): the paper's calibration, to 1997-09-30.
    out = tmp_path_factory.mktemp("validate") / "out"
    result = validate(CDNOW, holdout_days=273)
    write_validation(result, out)
    return result, out


def model_entry(summary: dict, name: str) -> dict:
    (entry,) = [m for m in summary["models"] if m["name"] == name]
    return entry


def pandas_orders() -> pd.DataFrame:
    """CDNOW's orders: distinct customer-days, duplicates dropped, with days since 1997-01-01."""
    lines = pd.read_csv(CDNOW, dtype=str).drop_duplicates()
    days = pd.to_datetime(lines["date"], format="%Y%m%d")
    orders_ = pd.DataFrame({"customer_id": lines["customer_id"], "day": days}).drop_duplicates()
    orders_["offset"] = (orders_["day"] - pd.Timestamp("1997-01-01")).dt.days
    return orders_


def pandas_holdout() -> pd.Series:
    """Orders per customer from 1997-10-01 on."""
    orders_ = pandas_orders()
    return orders_[orders_["day"] > pd.Timestamp("1997-09-30")].groupby("customer_id").size()


def test_every_model_is_compared_and_bg_nbd_is_the_published_fit(cdnow):
    result, _ = cdnow
    assert [m["name"] for m in result.summary["models"]] == list(MODELS)
    fit = model_entry(result.summary, "bg-nbd")["params"]
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426.
    assert fit["r"] == pytest.approx(0.243, abs=5e-4)
    assert fit["alpha"] == pytest.approx(4.414, abs=5e-4)
    assert fit["a"] == pytest.approx(0.793, abs=5e-4)
    assert fit["b"] == pytest.approx(2.426, abs=5e-4)
    # Fader, Hardie & Lee (2005, "RFM and CLV"): r = 0.553, alpha = 10.578, s = 0.606,
    # beta = 11.669, LL = -9,595.0.
    pareto = model_entry(result.summary, "pareto-nbd")
    assert [pareto["params"][p] for p in ("r", "alpha", "s", "beta")] == pytest.approx(
        [0.553, 10.578, 0.606, 11.669], abs=2e-3
    )
    assert pareto["log_likelihood"] == pytest.approx(-9595.0, abs=0.1)
    assert result.summary["calibration"] == {"start": "1997-01-01", "end": "1997-09-30"}
    assert result.summary["holdout"] == {"start": "1997-10-01", "end": "1998-06-30"}
    for entry in result.summary["models"]:
        assert entry["reason"] is None and entry["errors"] is not None
        assert entry["log_likelihood"] < 0 and isinstance(entry["converged"], bool)


def test_actual_holdout_orders_equal_pandas(cdnow):
    result, _ = cdnow
    table = result.customers.set_index("customer_id")
    expected = pandas_holdout().reindex(table.index, fill_value=0)
    assert len(table) == 2357
    assert (table["actual_orders"] == expected).all()
    for entry in result.summary["models"]:
        assert entry["errors"]["total_actual"] == expected.sum() == 1882


def test_errors_per_model_recomputed_from_the_csv(cdnow):
    _, out = cdnow
    saved = strict_json(out / "validation.json")
    csv = pd.read_csv(out / "validation.csv", dtype={"customer_id": str})
    assert list(csv.columns) == ["customer_id", "repeat_orders", "t_x_weeks", "T_weeks",
                                 "actual_orders", *(column(m) for m in MODELS)]  # fmt: skip
    actual = csv["actual_orders"].to_numpy(dtype=float)
    maes = {}
    for name in MODELS:
        predicted = csv[column(name)].to_numpy()
        errors = model_entry(saved, name)["errors"]
        maes[name] = np.mean(np.abs(predicted - actual))
        assert errors["mae"] == pytest.approx(maes[name], rel=1e-12)
        assert errors["rmse"] == pytest.approx(np.sqrt(np.mean((predicted - actual) ** 2)),
                                               rel=1e-12)  # fmt: skip
        assert errors["correlation"] == pytest.approx(np.corrcoef(predicted, actual)[0, 1],
                                                      rel=1e-9)  # fmt: skip
        assert errors["total_predicted"] == pytest.approx(predicted.sum(), rel=1e-12)
        assert errors["total_error_share"] == pytest.approx(predicted.sum() / actual.sum() - 1,
                                                            rel=1e-9)  # fmt: skip
    assert saved["best_by_mae"] == min(maes, key=maes.get)


def test_groups_by_repeat_orders_recomputed(cdnow):
    result, _ = cdnow
    t = result.customers
    groups = {g["repeat_orders"]: g for g in result.summary["by_repeat_orders"]}
    assert list(groups) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    for label, g in groups.items():
        inside = (
            t[t["repeat_orders"] >= 7] if label == "7+" else t[t["repeat_orders"] == int(label)]
        )
        assert g["customers"] == len(inside)
        assert g["actual_mean"] == pytest.approx(inside["actual_orders"].mean(), rel=1e-12)
        assert list(g["predicted_mean"]) == list(MODELS)
        for name in MODELS:
            assert g["predicted_mean"][name] == pytest.approx(inside[column(name)].mean(),
                                                              rel=1e-12)  # fmt: skip
    # x = 0: 2,357 customers less the 946 who bought again in the calibration period.
    assert groups["0"]["customers"] == 2357 - 946


def test_auc_equals_sklearn_on_probabilities_recomputed_from_the_json(cdnow):
    # P(alive) and P(an order in 39 weeks) from each model's saved parameters, on the CSV's
    # customers: the saved AUCs must be sklearn's of those.
    _, out = cdnow
    saved = strict_json(out / "validation.json")
    csv = pd.read_csv(out / "validation.csv", dtype={"customer_id": str})
    x, t_x, T = (csv[c].to_numpy() for c in ("repeat_orders", "t_x_weeks", "T_weeks"))
    ordered = csv["actual_orders"].to_numpy() > 0
    for name in MODELS:
        entry, module = model_entry(saved, name), orders.model(name)
        params = [entry["params"][p] for p in module.PARAMS]
        alive = module.p_alive(params, x, t_x, T)
        some_order = 1 - module.p_no_order(params, 273 / 7, x, t_x, T)
        assert entry["auc_p_alive"] == pytest.approx(roc_auc_score(ordered, alive), abs=1e-12)
        assert entry["auc_p_order"] == pytest.approx(roc_auc_score(ordered, some_order),
                                                     abs=1e-12)  # fmt: skip
        assert entry["auc_p_order"] > 0.7  # a useful ranking on CDNOW, whatever the model


def test_auc_counts_ties_half():
    # Positives 0.4 and 0.8 against negatives 0.1 and 0.4: 1 + ½ + 1 + 1 of 4 pairs.
    assert auc(np.array([0.1, 0.4, 0.4, 0.8]), np.array([False, True, False, True])) == 0.875
    assert auc(np.array([0.3, 0.3]), np.array([True, False])) == 0.5
    assert auc(np.array([0.1, 0.2]), np.array([True, True])) is None


def test_tracking_actual_counts_on_a_hand_made_log(tmp_path):
    # Days since 2020-01-01. A orders on days 0, 2, 9 and 19 (and returns on 17); B on 4 and
    # 11 (one line twice: a duplicate); C on 8 and 15; D first orders on 16, in the holdout,
    # so is not tracked. Holdout 6 days: calibration to day 14 (2020-01-15), log to day 20.
    rows = [
        ["A", "2020-01-01", "10"], ["A", "2020-01-03", "10"], ["A", "2020-01-10", "10"],
        ["A", "2020-01-18", "-5"], ["A", "2020-01-20", "10"],
        ["B", "2020-01-05", "10"], ["B", "2020-01-12", "10"], ["B", "2020-01-12", "10"],
        ["C", "2020-01-09", "10"], ["C", "2020-01-16", "10"],
        ["D", "2020-01-17", "10"], ["D", "2020-01-21", "10"],
    ]  # fmt: skip
    path = write_csv(tmp_path / "a.csv", ["customer_id", "date", "amount"], rows)
    log = read_log(path, 6, Settings.create(), None)
    from segmint.clv.validation import customer_inputs

    customers = customer_inputs(log)
    tracking = tracking_points(log, customers)
    # Points: the end of weeks 1, 2 and 3 (days 6, 13, 20) and the calibration's last day 14.
    assert tracking.days.tolist() == [6, 13, 14, 20]
    assert tracking.weeks() == [1, 2, pytest.approx(15 / 7, abs=1e-4), 3]
    # Repeat orders: A's days 2, 9, 19; B's 11; C's 15 (D is not a calibration customer).
    assert tracking.actual.tolist() == [1, 3, 3, 5]
    assert tracking.first_day_counts.tolist() == [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert customers.x.tolist() == [2, 1, 0] and customers.actual.tolist() == [1, 0, 1]
    assert log.holdout_orders.to_dict() == {"A": 1, "C": 1, "D": 2}


def test_tracking_curves_equal_pandas_and_an_independent_sum(cdnow):
    result, _ = cdnow
    tracking = result.summary["tracking"]
    assert list(tracking) == ["week", "actual", *MODELS]
    weeks = np.array(tracking["week"])
    assert weeks.tolist() == list(range(1, 79))  # 546 days: 39 + 39 weeks exactly
    # Actual: each customer's orders but the first, counted up to each week's last day.
    orders_ = pandas_orders().sort_values(["customer_id", "day"])
    repeat = orders_[orders_.duplicated("customer_id")]
    last_days = 7 * weeks - 1
    expected = [(repeat["offset"] <= day).sum() for day in last_days]
    assert tracking["actual"] == expected
    # At the calibration's end: Σ x; at the holdout's: Σ x + the holdout's orders.
    t = result.customers
    assert tracking["actual"][38] == t["repeat_orders"].sum() == 2457
    assert tracking["actual"][-1] == t["repeat_orders"].sum() + t["actual_orders"].sum()
    # Predicted: Σ over customers of E[X(t − their first order)], one customer at a time.
    first = (272 - np.rint(t["T_weeks"].to_numpy() * 7)).astype(int)  # days since 1997-01-01
    for name in MODELS:
        entry, module = model_entry(result.summary, name), orders.model(name)
        params = [entry["params"][p] for p in module.PARAMS]
        independent = [
            module.expected_orders_new(params, (day - first[first <= day]) / 7.0).sum()
            for day in last_days
        ]
        assert tracking[name] == pytest.approx(independent, rel=1e-9, abs=1e-9)
        # A sane fit tracks the calibration closely: within 5% at its last week.
        assert tracking[name][38] == pytest.approx(2457, rel=0.05)


def test_report_and_files_say_the_same(cdnow):
    result, out = cdnow
    saved = strict_json(out / "validation.json")
    assert saved["best_by_mae"] == result.summary["best_by_mae"]
    csv = pd.read_csv(out / "validation.csv", dtype={"customer_id": str})
    assert (csv["customer_id"].str.len() == 5).all()  # zero padding kept: 00004, not 4
    assert (csv["customer_id"].to_numpy() == result.customers["customer_id"].to_numpy()).all()
    assert (csv["actual_orders"].to_numpy() == result.customers["actual_orders"].to_numpy()).all()
    md = (out / "validation.md").read_text(encoding="utf-8")
    groups = table_with(md, "repeat orders")
    assert groups.headers[3:] == [f"{LABELS[m]} predicted mean" for m in MODELS]
    for row, g in zip(groups.rows, saved["by_repeat_orders"], strict=True):
        assert row[0] == g["repeat_orders"] and shows(row[2], g["actual_mean"])
        for cell, name in zip(row[3:], MODELS, strict=True):
            assert shows(cell, g["predicted_mean"][name])
    (figures,) = [t for t in markdown_tables(md) if "MAE" in t.headers]
    best = saved["best_by_mae"]
    for row, entry in zip(figures.records(), saved["models"], strict=True):
        marked = " (best by MAE)" if entry["name"] == best else ""
        assert row["model"] == LABELS[entry["name"]] + marked
        assert shows(row["MAE"], entry["errors"]["mae"])
        assert shows(row["correlation"], entry["errors"]["correlation"])
        assert shows(row["orders predicted"], entry["errors"]["total_predicted"])
        assert shows(row["AUC P(alive)"], entry["auc_p_alive"])
        assert shows(row["AUC P(order)"], entry["auc_p_order"])
    mae = f"{model_entry(saved, best)['errors']['mae']:.3f}"
    assert f"{LABELS[best]} predicts the holdout best, with a mean absolute error of {mae}" in md
    html = (out / "validation.html").read_text(encoding="utf-8")
    for chart in ("holdout-by-repeat-orders", "tracking-cumulative-orders"):
        assert (out / "charts" / f"{chart}.png").read_bytes()[:4] == b"\x89PNG"
        assert chart in html
    assert "end of calibration" in html  # the tracking chart's mark at week 39


def test_the_report_says_when_a_tracking_curve_misses_the_calibration(cdnow):
    from segmint.report.validation import verdict

    result, _ = cdnow
    assert "At the end of the calibration" not in verdict(result.summary)
    summary = json.loads(json.dumps(result.summary))
    name = MODELS[0]
    summary["tracking"][name] = [2 * v for v in summary["tracking"][name]]
    said = verdict(summary)
    expected = f"{2 * result.summary['tracking'][name][38]:,.0f}"
    assert "the customers had placed 2,457 repeat orders" in said
    assert f"expect {LABELS[name]} {expected}:" in said


def test_a_model_that_fails_is_listed_with_its_reason(cdnow, monkeypatch, tmp_path):
    # One model's fit raises ValueError, another's gives non-finite predictions (a parameter
    # set to NaN): both are listed with why, no NaN reaches the JSON, the report says so.
    real_fit = orders.fit
    failing, degenerate, kept = MODELS[0], MODELS[1], MODELS[2]

    def fit(name, *args, **kwargs):
        if name == failing:
            raise ValueError("no maximum")
        result = real_fit(name, *args, **kwargs)
        return result.with_params([np.nan, *result.params[1:]]) if name == degenerate else result

    monkeypatch.setattr(orders, "fit", fit)
    result = validate(CDNOW, holdout_days=273)
    write_validation(result, tmp_path / "out")
    saved = strict_json(tmp_path / "out" / "validation.json")
    entries = {m["name"]: m for m in saved["models"]}
    assert entries[failing]["reason"] == "cannot be fitted (no maximum)"
    assert entries[failing]["params"] is None and entries[failing]["errors"] is None
    assert "not finite" in entries[degenerate]["reason"]
    assert entries[degenerate]["params"][orders.model(degenerate).PARAMS[0]] is None
    assert entries[degenerate]["errors"] is None and entries[degenerate]["auc_p_alive"] is None
    assert entries[kept]["reason"] is None and saved["best_by_mae"] == kept
    assert saved["tracking"][failing] is None and saved["tracking"][degenerate] is None
    csv = pd.read_csv(tmp_path / "out" / "validation.csv")
    assert csv[column(failing)].isna().all() and csv[column(kept)].notna().all()
    md = (tmp_path / "out" / "validation.md").read_text(encoding="utf-8")
    assert f"{LABELS[failing]} is not compared: cannot be fitted (no maximum)." in md


@needs_cdnow
def test_customers_new_in_the_holdout_are_counted_not_compared(tmp_path):
    # CDNOW plus one customer whose only orders fall in the last 30 days (1998-06-01 to -30).
    lines = pd.read_csv(CDNOW, dtype=str)
    extra = pd.DataFrame([["new", "19980620", "1", "5.00"], ["new", "19980625", "1", "6.00"]],
                         columns=lines.columns)  # fmt: skip
    path = tmp_path / "a.csv"
    pd.concat([lines, extra]).to_csv(path, index=False)
    result = validate(path, holdout_days=30, models=("bg-nbd",))
    assert result.summary["holdout"] == {"start": "1998-06-01", "end": "1998-06-30"}
    assert result.summary["new_in_holdout"] == 1
    table = result.customers.set_index("customer_id")
    assert "new" not in table.index and len(table) == 2357
    kept = lines.drop_duplicates()
    late = kept[pd.to_datetime(kept["date"], format="%Y%m%d") >= pd.Timestamp("1998-06-01")]
    assert table["actual_orders"].sum() == late.groupby("customer_id")["date"].nunique().sum()
    # The new customer's orders are not in the tracking either: it ends at Σ x + holdout.
    ends = table["repeat_orders"].sum() + table["actual_orders"].sum()
    assert result.summary["tracking"]["actual"][-1] == ends


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


def test_cli_end_to_end_on_cdnow(cdnow, tmp_path):
    result, _ = cdnow
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "segmint.cli", "validate", str(CDNOW), "--holdout-days", "273",
         "--out", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    best = result.summary["best_by_mae"]
    assert f"best by MAE {best}" in run.stderr.splitlines()[-1]
    saved = strict_json(out / "validation.json")
    assert saved["calibration"]["end"] == "1997-09-30" and saved["holdout"]["end"] == "1998-06-30"
    assert saved["best_by_mae"] == best
    assert [m["errors"]["mae"] for m in saved["models"]] == pytest.approx(
        [m["errors"]["mae"] for m in result.summary["models"]], rel=1e-12
    )
    written = {p.name for p in out.iterdir()}
    assert written == {"validation.json", "validation.csv", "validation.html", "validation.md",
                       "charts"}  # fmt: skip
