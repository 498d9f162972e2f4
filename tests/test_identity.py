"""`segmint run … --previous OLD_DIR`: segments that persist keep their ids and names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import write_csv
from segmint import SegmintError, segment
from segmint.lifecycle.identity import in_old_space
from segmint.model.segment_model import load_model

AS_OF = "2021-12-31"


def group_rows(prefix: str, n: int, last_day: int, orders: int, amount: float, seed: int):
    """n customers, each with `orders` orders ending `last_day` days before the as-of date."""
    rng = np.random.default_rng(seed)
    rows = []
    end = pd.Timestamp(AS_OF)
    for i in range(n):
        last = end - pd.Timedelta(days=int(last_day + rng.integers(0, 10)))
        for j in range(orders):
            day = last - pd.Timedelta(days=30 * j)
            rows.append(
                [
                    f"{prefix}{i:03d}",
                    day.date().isoformat(),
                    f"{amount * rng.uniform(0.8, 1.2):.2f}",
                ]
            )
    return rows


def base_rows():
    return (
        group_rows("loyal", 60, 5, 8, 120.0, 1)
        + group_rows("lapsed", 60, 300, 1, 20.0, 2)
        + group_rows("mid", 60, 90, 3, 50.0, 3)
    )


def write(path: Path, rows) -> Path:
    return write_csv(path, ["customer_id", "date", "amount"], rows)


@pytest.fixture(scope="module")
def old_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("identity")
    data = write(root / "base.csv", base_rows())
    segment(data, k=3, n_init=2, seed=0, clv=False).write(root / "old")
    return root, data


def permute_folder(source: Path, target: Path, order: list[int], names: list[str]) -> None:
    """Copy a run's folder with its segments renumbered: old id order[i] becomes id i."""
    target.mkdir()
    model = json.loads((source / "model.json").read_text())
    model["centers"] = [model["centers"][j] for j in order]
    model["segments"] = [{"id": i, "name": names[i]} for i in range(len(order))]
    (target / "model.json").write_text(json.dumps(model))
    table = pd.read_parquet(source / "segments.parquet")
    new_id = {old: i for i, old in enumerate(order)}
    table["segment_id"] = table["segment_id"].map(new_id)
    table["segment_name"] = table["segment_id"].map(dict(enumerate(names)))
    table.to_parquet(target / "segments.parquet")
    summary = json.loads((source / "summary.json").read_text())
    summary["segments"] = [{"id": i, "name": names[i]} for i in range(len(order))]
    (target / "summary.json").write_text(json.dumps(summary))


def test_same_data_other_seed_keeps_ids_and_names(old_run):
    root, data = old_run
    # The old run's segments renumbered (2, 0, 1) and renamed: the new run must adopt them,
    # though its own fit orders segments by revenue.
    permute_folder(root / "old", root / "permuted", [2, 0, 1], ["Gamma", "Alpha", "Beta"])
    old = pd.read_parquet(root / "permuted" / "segments.parquet").set_index("customer_id")
    new = segment(data, k=3, n_init=2, seed=7, clv=False, previous=str(root / "permuted"))
    table = new.customers.set_index("customer_id")
    assert (table["segment_id"] == old.loc[table.index, "segment_id"]).all()
    assert (table["segment_name"] == old.loc[table.index, "segment_name"]).all()
    previous = new.summary["previous"]
    assert sorted(previous["persisted"]) == ["Alpha", "Beta", "Gamma"]
    assert previous["appeared"] == [] and previous["vanished"] == []
    assert [s["name"] for s in new.summary["segments"]] == ["Gamma", "Alpha", "Beta"]
    # model.json carries the kept ids: its centre i is the segment named segments[i].
    model = new.model_json
    assert [s["name"] for s in model["segments"]] == ["Gamma", "Alpha", "Beta"]


def test_a_genuinely_new_group_is_one_new_segment(old_run, tmp_path):
    root, _ = old_run
    # Add 60 recent one-order customers who spend 50 times more than anyone before.
    data = write(tmp_path / "more.csv", base_rows() + group_rows("whale", 60, 3, 1, 6000.0, 4))
    new = segment(data, k=4, n_init=2, seed=0, clv=False, previous=str(root / "old"))
    previous = new.summary["previous"]
    old_names = [
        s["name"] for s in json.loads((root / "old" / "summary.json").read_text())["segments"]
    ]
    assert sorted(previous["persisted"]) == sorted(old_names)
    assert len(previous["appeared"]) == 1 and previous["vanished"] == []
    table = new.customers.set_index("customer_id")
    whales = table[table.index.str.startswith("whale")]
    assert whales["segment_name"].nunique() == 1
    assert whales["segment_name"].iloc[0] == previous["appeared"][0]
    assert whales["segment_name"].iloc[0] not in old_names
    # The old customers keep their old segment names.
    old = pd.read_parquet(root / "old" / "segments.parquet").set_index("customer_id")
    assert (table.loc[old.index, "segment_name"] == old["segment_name"]).all()


def test_centres_are_compared_in_the_old_scaled_space(old_run):
    root, data = old_run
    old = load_model(root / "old" / "model.json")
    again = segment(data, k=3, n_init=2, seed=0, clv=False, sample_size=1000).model
    # The same data gives the same scaling: moving into the old space changes nothing.
    np.testing.assert_allclose(in_old_space(again.centers_, again, old), again.centers_, atol=1e-12)
    # A different scaling: x_old = (x_new * s_new + m_new - m_old) / s_old, by hand.
    again.mean_ = again.mean_ + 1.0
    again.scale_ = again.scale_ * 2.0
    moved = in_old_space(again.centers_, again, old)
    expected = (again.centers_ * again.scale_ + again.mean_ - old.mean_) / old.scale_
    np.testing.assert_allclose(moved, expected)


def test_a_previous_run_on_other_features_is_an_error(old_run, tmp_path):
    root, data = old_run
    rows = [r + ["2", f"{float(r[2]) / 2:.2f}"] for r in base_rows()]
    other = write_csv(
        tmp_path / "q.csv", ["customer_id", "date", "amount", "quantity", "unit_price"], rows
    )
    with pytest.raises(SegmintError, match="use the same --feature-set"):
        segment(other, k=3, n_init=2, clv=False, feature_set="full", previous=str(root / "old"))
    with pytest.raises(SegmintError, match="no model.json"):
        segment(data, k=3, n_init=2, clv=False, previous=str(tmp_path))
