"""`segmint compare` (docs/reference/outputs.md#compare-files): the migration matrix between
two runs, exact on a hand-made example, and adding up on real month-over-month runs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from helpers import SHARED_DATA
from report_tables import markdown_tables
from segmint import SegmintError, segment
from segmint.lifecycle.compare import compare, key_moves
from segmint.writing.compare import write_comparison

RETAIL = SHARED_DATA / "online_retail_sample.csv"
pytestmark = pytest.mark.shared_data


def fake_run(folder: Path, as_of: str, names: list[str], members: dict[str, tuple[int, float]]):
    """Write a minimal output folder: customer id → (segment id, monetary)."""
    folder.mkdir(parents=True)
    table = pd.DataFrame(
        {
            "customer_id": list(members),
            "segment_id": [m[0] for m in members.values()],
            "segment_name": [names[m[0]] for m in members.values()],
            "monetary": [m[1] for m in members.values()],
        }
    )
    table.to_parquet(folder / "segments.parquet")
    summary = {
        "input": {"as_of": as_of},
        "segments": [{"id": i, "name": n} for i, n in enumerate(names)],
    }
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


@pytest.fixture
def hand_made(tmp_path):
    # Before: a, b, c Champions; d, e At Risk. Now: a Champions, b and d At Risk, e gone,
    # c becomes Lost (a new segment), f is new (Champions), g is new (Lost).
    old = fake_run(
        tmp_path / "old",
        "2021-01-31",
        ["Champions", "At Risk"],
        {"a": (0, 100.0), "b": (0, 80.0), "c": (0, 90.0), "d": (1, 20.0), "e": (1, 10.0)},
    )
    new = fake_run(
        tmp_path / "new",
        "2021-02-28",
        ["Champions", "At Risk", "Lost"],
        {"a": (0, 130.0), "b": (1, 85.0), "d": (1, 20.0), "c": (2, 90.0), "f": (0, 50.0),
         "g": (2, 5.0)},
    )  # fmt: skip
    return old, new


def test_hand_made_migration_has_exact_counts(hand_made, tmp_path):
    result = compare(*hand_made)
    m = result.matrix
    assert list(m.index) == ["Champions", "At Risk", "(new)"]
    assert list(m.columns) == ["Champions", "At Risk", "Lost", "(gone)"]
    assert m.to_numpy().tolist() == [
        [1, 1, 1, 0],  # Champions: a stayed, b → At Risk, c → Lost
        [0, 1, 0, 1],  # At Risk: d stayed, e gone
        [1, 0, 1, 0],  # new: f Champions, g Lost
    ]
    people = result.summary["customers"]
    assert people == {"old": 5, "new": 6, "both": 4, "union": 7}
    assert int(m.to_numpy().sum()) == people["union"]
    by_name = {s["name"]: s for s in result.segments}
    assert by_name["Champions"]["customers_change"] == 2 - 3
    assert by_name["Champions"]["revenue_change"] == pytest.approx(180.0 - 270.0)
    assert by_name["Lost"]["status"] == "appeared" and by_name["At Risk"]["status"] == "persisted"
    assert by_name["At Risk"]["revenue_new"] == pytest.approx(105.0)


def test_key_moves_in_words_largest_first():
    matrix = pd.DataFrame(
        [[50, 312, 0, 4], [7, 90, 12, 0], [30, 0, 1, 0]],
        index=["Champions", "At Risk", "(new)"],
        columns=["Champions", "At Risk", "Lost", "(gone)"],
    )
    assert key_moves(matrix, limit=4) == [
        "312 Champions moved to At Risk",
        "30 new customers joined Champions",
        "12 At Risk moved to Lost",
        "7 At Risk moved to Champions",
    ]
    assert key_moves(matrix)[-1] == "4 Champions customers did not appear in the new data"


def test_written_files_agree(hand_made, tmp_path):
    write_comparison(compare(*hand_made), tmp_path / "cmp")
    out = tmp_path / "cmp"
    migration = pd.read_csv(out / "migration.csv", index_col=0)
    assert migration.loc["Champions", "Lost"] == 1 and migration.loc["(new)", "Champions"] == 1
    saved = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert saved["migration"]["counts"] == migration.to_numpy().tolist()
    md = (out / "compare.md").read_text(encoding="utf-8")
    (table,) = [t for t in markdown_tables(md) if t.headers[0] == "before \\ now"]
    assert table.rows[0] == ["Champions", "1", "1", "1", "0"]
    assert "1 Champions moved to At Risk" in md
    assert (out / "charts" / "migration.png").read_bytes()[:4] == b"\x89PNG"


def test_a_folder_that_is_not_a_run_is_an_error(tmp_path, hand_made):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SegmintError, match="not a Segmint output folder"):
        compare(tmp_path / "empty", hand_made[1])


def test_month_over_month_on_real_data_adds_up(tmp_path):
    # Two runs a quarter apart on the Online Retail sample.
    segment(RETAIL, as_of="2011-09-09", k=4, n_init=2).write(tmp_path / "sep")
    segment(RETAIL, as_of="2011-12-09", k=4, n_init=2).write(tmp_path / "dec")
    result = compare(tmp_path / "sep", tmp_path / "dec")
    old = pd.read_parquet(tmp_path / "sep" / "segments.parquet")
    new = pd.read_parquet(tmp_path / "dec" / "segments.parquet")
    union = set(old["customer_id"]) | set(new["customer_id"])
    assert int(result.matrix.to_numpy().sum()) == len(union)
    # Row sums are the old segments' sizes, column sums the new ones'.
    sizes_old = old["segment_name"].value_counts()
    for name in sizes_old.index:
        assert result.matrix.loc[name].sum() == sizes_old[name]
    sizes_new = new["segment_name"].value_counts()
    for name in sizes_new.index:
        assert result.matrix[name].sum() == sizes_new[name]
    gone = set(old["customer_id"]) - set(new["customer_id"])
    assert result.matrix["(gone)"].sum() == len(gone)
