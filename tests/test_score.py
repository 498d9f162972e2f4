"""`segmint score` (docs/reference/cli.md#score): new data assigned to a saved model's segments,
no refit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import SHARED_DATA, write_csv
from segmint import SegmintError, segment
from segmint.model.segment_model import load_model
from segmint.pipeline import score

RETAIL = SHARED_DATA / "online_retail_sample.csv"
pytestmark = pytest.mark.shared_data
CLI = [sys.executable, "-m", "segmint.cli"]


@pytest.fixture(scope="module")
def retail_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    result = segment(RETAIL, k_min=3, k_max=5, n_init=2)
    result.write(out)
    return result, out


def test_scoring_the_training_data_reproduces_the_run(retail_run, tmp_path):
    run, out = retail_run
    scored = score(RETAIL, out / "model.json")
    assert scored.customers["customer_id"].tolist() == run.customers["customer_id"].tolist()
    assert (scored.customers["segment_id"] == run.customers["segment_id"]).all()
    assert (scored.customers["segment_name"] == run.customers["segment_name"]).all()
    features = [c for c in run.customers.columns if c not in ("segment_id", "segment_name")]
    features = [c for c in features if c in scored.customers.columns]
    pd.testing.assert_frame_equal(scored.customers[features], run.customers[features])
    assert scored.summary["out_of_range"]["customers"] == 0
    assert "selection" not in scored.summary
    assert scored.summary["model"]["file"] == str(out / "model.json")
    assert [s["name"] for s in scored.summary["segments"]] == [
        s["name"] for s in run.summary["segments"]
    ]
    scored.write(tmp_path / "scored")
    assert sorted(p.name for p in (tmp_path / "scored").iterdir()) == [
        "segments.csv",
        "segments.parquet",
        "summary.json",
    ]


def test_scoring_a_later_period_labels_every_customer(tmp_path):
    # Train on the first half of 2011's data, score the whole log.
    early = segment(RETAIL, as_of="2011-06-30", k=4, n_init=2)
    early.write(tmp_path / "early")
    scored = score(RETAIL, tmp_path / "early" / "model.json")
    everyone = segment(RETAIL, k=3, n_init=2).customers["customer_id"]
    assert sorted(scored.customers["customer_id"]) == sorted(everyone)
    assert scored.customers["segment_id"].between(0, 3).all()
    assert scored.summary["input"]["as_of"] == "2011-12-09"  # the new data's latest date
    # Each customer's segment is its nearest centre in the model's scaled space.
    model = load_model(tmp_path / "early" / "model.json")
    X = model.scaled(scored.customers)
    distances = ((X[:, None, :] - model.centers_[None, :, :]) ** 2).sum(axis=2)
    assert (scored.customers["segment_id"].to_numpy() == distances.argmin(axis=1)).all()


def shop(path: Path, spend: dict[str, list[float]], header: tuple[str, ...] = ()) -> Path:
    """Write a log: each customer's orders on consecutive days of 2021, with these amounts."""
    header = header or ("customer_id", "date", "amount")
    rows = [
        [customer, f"2021-{1 + i // 28:02d}-{1 + i % 28:02d}", str(value)]
        for customer, values in spend.items()
        for i, value in enumerate(values)
    ]
    return write_csv(path, list(header), rows)


def training_shop(tmp_path: Path) -> Path:
    spend = {f"c{i:02d}": [10.0 + i] * (1 + i % 4) for i in range(40)}
    return shop(tmp_path / "train.csv", spend)


def test_customers_far_outside_the_training_range_are_counted(tmp_path):
    segment(training_shop(tmp_path), k=2, n_init=2, clv=False).write(tmp_path / "model")
    new = shop(tmp_path / "new.csv", {"c01": [11.0], "whale": [1_000_000.0], "c02": [12, 12]})
    scored = score(new, tmp_path / "model" / "model.json")
    outside = scored.summary["out_of_range"]
    # Only the whale's spend lies beyond the range seen in training.
    assert outside["customers"] == 1
    assert outside["by_feature"]["monetary"] == 1
    assert any("outside the range" in w for w in scored.summary["warnings"])


def test_the_models_columns_are_used_and_can_be_overridden(tmp_path):
    spend = {f"c{i:02d}": [10.0 + i] * (1 + i % 4) for i in range(40)}
    train = shop(tmp_path / "t.csv", spend, ("Client", "Day", "Total"))
    segment(
        train, k=2, n_init=2, clv=False, columns={"customer_id": "Client", "date": "Day"}
    ).write(tmp_path / "m")
    model = tmp_path / "m" / "model.json"
    assert json.loads(model.read_text())["columns"]["customer_id"] == "Client"
    # The same headers: no --column needed, the model's mapping applies.
    assert len(score(train, model).customers) == 40
    # Renamed headers: the model's column is missing, and --column maps the new one.
    renamed = shop(tmp_path / "r.csv", spend, ("Buyer", "Day", "Total"))
    with pytest.raises(SegmintError, match="trained with customer_id = 'Client', not in this"):
        score(renamed, model)
    assert len(score(renamed, model, columns={"customer_id": "Buyer"}).customers) == 40


def test_features_the_data_cannot_provide_are_an_error(tmp_path):
    rows = [[f"c{i:02d}", f"2021-01-{1 + i % 28:02d}", str(1 + i % 3), "2.5"] for i in range(40)]
    rows += [[f"c{i:02d}", "2021-02-01", "1", "4.0"] for i in range(0, 40, 2)]
    train = write_csv(tmp_path / "t.csv", ["customer_id", "date", "quantity", "unit_price"], rows)
    segment(train, k=2, n_init=2, feature_set="full", clv=False).write(tmp_path / "m")
    no_quantity = shop(tmp_path / "n.csv", {"c01": [5.0, 6.0], "c02": [7.0]})
    with pytest.raises(SegmintError, match="cannot provide the model's feature"):
        score(no_quantity, tmp_path / "m" / "model.json")


def test_a_model_from_a_newer_segmint_is_refused_by_the_cli(retail_run, tmp_path):
    _, out = retail_run
    newer = json.loads((out / "model.json").read_text())
    newer["version"] = 99
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(newer))
    target = tmp_path / "scored"
    run = subprocess.run(
        [*CLI, "score", str(RETAIL), "--model", str(path), "--out", str(target), "--quiet"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1
    assert "version 99" in run.stderr
    assert not target.exists()


def test_settings_of_a_fit_do_not_apply_to_scoring(retail_run):
    _, out = retail_run
    with pytest.raises(SegmintError, match="k: does not apply"):
        score(RETAIL, out / "model.json", k=3)


def test_an_older_model_without_training_ranges_still_scores(retail_run, tmp_path):
    _, out = retail_run
    old = json.loads((out / "model.json").read_text())
    for feature in old["features"]:
        del feature["range"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    scored = score(RETAIL, path)
    assert scored.summary["out_of_range"]["customers"] == 0
    assert np.isin(scored.customers["segment_id"], range(old["k"])).all()


def test_a_segment_without_customers_in_the_new_data_is_described_as_empty(retail_run, tmp_path):
    _, out = retail_run
    # Two customers of the Online Retail sample: at most two of the model's segments get one.
    lines = pd.read_csv(RETAIL, dtype=str)
    two = lines[lines["CustomerID"].isin(lines["CustomerID"].dropna().unique()[:2])]
    path = tmp_path / "two.csv"
    two.to_csv(path, index=False)
    scored = score(path, out / "model.json")
    sizes = {s["name"]: s["customers"] for s in scored.summary["segments"]}
    assert sum(sizes.values()) == 2 and len(sizes) == load_model(out / "model.json").k_
    empty = [s for s in scored.summary["segments"] if s["customers"] == 0]
    assert empty and all("no customer of this data" in s["description"] for s in empty)
    assert all(s["strategy"] == [] for s in empty)
