"""The refresh test (lifecycle/refresh.py): a run 90 days earlier, applied to today's customers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import SHARED_DATA
from segmint import segment
from segmint.lifecycle.refresh import TOO_SHORT, EarlierFit, refresh_date, refresh_summary
from segmint.model.segment_model import SegmentModel

DATA = SHARED_DATA
pytestmark = pytest.mark.shared_data


def test_the_earlier_date_needs_ninety_days_of_orders_before_it():
    start = dt.datetime(2011, 1, 1, 9, 30)
    assert refresh_date(start, dt.date(2011, 6, 30)) == dt.date(2011, 4, 1)  # 90 days after
    assert refresh_date(start, dt.date(2011, 6, 29)) is None  # 89 days after
    assert refresh_date(start.date(), dt.date(2011, 6, 30)) == dt.date(2011, 4, 1)


def _fixed_model(centres: list[float]) -> SegmentModel:
    """A one-feature model with the given centres, no transform, no scaling."""
    return SegmentModel.from_json({
        "format": "segmint-model", "version": 1, "seed": 0,
        "features": [{"name": "monetary", "transform": "none", "mean": 0.0, "scale": 1.0}],
        "centers": [[c] for c in centres],
        "segments": [{"id": i, "name": f"s{i}"} for i in range(len(centres))],
    })  # fmt: skip


def test_jaccard_of_each_segment_with_the_earlier_model_by_hand():
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(10)],
                              "monetary": np.arange(10, dtype=float)})  # fmt: skip
    today = np.array([0] * 5 + [1] * 5)  # {0..4}, {5..9}
    # The earlier model cuts at 3.5: {0..3} and {4..9}.
    fit = EarlierFit(dt.date(2011, 9, 10), customers=8, model=_fixed_model([1.0, 6.0]))
    found = refresh_summary(fit, customers, today, 2, min_stability=0.82)
    assert [s["jaccard"] for s in found["segments"]] == pytest.approx([4 / 5, 5 / 6])
    assert [s["matched"] for s in found["segments"]] == [False, True]
    assert found["matched"] == 1
    assert found["as_of"] == "2011-09-10" and found["customers_then"] == 8
    assert found["days"] == 90 and found["skipped"] is None


def test_a_short_log_is_not_tested_and_the_report_says_why(tmp_path: Path):
    # The Online Retail sample starts on 2010-12-01: as of 2011-04-01, 31 days of orders
    # precede the earlier date.
    result = segment(DATA / "online_retail_sample.csv", as_of="2011-04-01", k=3, n_init=2)
    refresh = result.summary["selection"]["refresh"]
    assert refresh["skipped"] == TOO_SHORT and refresh["matched"] is None
    assert refresh["as_of"] is None and refresh["segments"] == []
    result.write(tmp_path / "out")
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert f"Refresh test (a run 90 days earlier): not run, {TOO_SHORT}." in report


@pytest.mark.parametrize("name", ["online_retail_sample.csv", "cdnow_sample.csv"])
def test_the_refresh_test_is_a_run_as_of_ninety_days_earlier_with_todays_k(name: str):
    """Recomputed through the public API: a run with --as-of the earlier date and --k today's
    k, its model applied to today's customers, Jaccard similarities from sets."""
    today = segment(DATA / name)
    refresh = today.summary["selection"]["refresh"]
    k = today.summary["selection"]["chosen_k"]
    earlier_day = dt.date.fromisoformat(today.summary["input"]["as_of"]) - dt.timedelta(days=90)
    assert refresh["as_of"] == earlier_day.isoformat()
    then = segment(DATA / name, as_of=earlier_day.isoformat(), k=k)
    assert refresh["customers_then"] == len(then.customers)
    theirs = then.model.predict(today.customers)
    ours = today.customers["segment_id"].to_numpy()
    expected = []
    for i in range(k):
        a = set(np.flatnonzero(ours == i))
        expected.append(max(len(a & (b := set(np.flatnonzero(theirs == j)))) / len(a | b)
                            for j in range(k)))  # fmt: skip
    assert [s["jaccard"] for s in refresh["segments"]] == pytest.approx(expected, abs=1e-12)
    assert refresh["matched"] == sum(j >= 0.6 for j in expected)
