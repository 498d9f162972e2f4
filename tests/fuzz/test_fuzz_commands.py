"""`segmint score`, `validate` and `compare` on generated logs, damaged models and damaged
run folders, with random options."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from budget import examples
from properties import check_command, invoke
from segmint.datasets import demo_path
from strategies import DATE_STYLES, INPUT_KINDS, csv_dialects, logs, write_log

SCORE_OUTPUTS = ("segments.parquet", "segments.csv", "summary.json")
VALIDATE_OUTPUTS = ("validation.json", "validation.csv", "validation.html", "validation.md")
COMPARE_OUTPUTS = ("migration.csv", "compare.json", "compare.html", "compare.md")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two runs of the demo data (k = 3 and k = 4) whose folders the commands read."""
    root = tmp_path_factory.mktemp("runs")
    found = {}
    for name, k in (("a", "3"), ("b", "4")):
        found[name] = root / name
        argv = ["run", str(demo_path()), "--out", str(found[name]), "--k", k, "--quiet"]
        assert invoke(argv).code == 0
    return found


def _damaged_model(draw: st.DrawFn, model: dict) -> str:
    """The text of a model.json: as written, or damaged in one of the ways files get damaged."""
    how = draw(st.sampled_from(("as written",) * 3 + (
        "truncated", "no centers", "ragged centers", "text centers", "NaN", "future version",
        "not a model", "no segments", "empty", "a list",
    )))  # fmt: skip
    data = json.loads(json.dumps(model))
    text = json.dumps(data)
    if how == "truncated":
        return text[: draw(st.integers(0, len(text) - 1))]
    if how == "no centers":
        del data["centers"]
    elif how == "ragged centers":
        data["centers"][0] = data["centers"][0][:1]
    elif how == "text centers":
        data["centers"] = [["a"] * len(row) for row in data["centers"]]
    elif how == "NaN":
        return text.replace(str(data["centers"][0][0]), "NaN", 1)
    elif how == "future version":
        data["version"] = 999
    elif how == "not a model":
        data["format"] = "something else"
    elif how == "no segments":
        data["segments"] = []
    elif how == "empty":
        return ""
    elif how == "a list":
        return "[]"
    return json.dumps(data)


@given(log=logs(), kind=INPUT_KINDS, dialect=csv_dialects, data=st.data())
def test_score_never_crashes(runs: dict[str, Path], log, kind, dialect, data) -> None:
    model = json.loads((runs["a"] / "model.json").read_text())
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        source = write_log(log, root, kind, dialect)
        model_file = root / "model.json"
        model_file.write_text(_damaged_model(data.draw, model))
        options = []
        if data.draw(st.integers(0, 3)) == 3:
            options += ["--as-of", data.draw(st.sampled_from(("2011-12-09", "2024-06-30", "x")))]
        if data.draw(st.integers(0, 3)) == 3:
            options += ["--date-format", data.draw(st.sampled_from(log.date_styles + ["%Q"]))]
        if data.draw(st.integers(0, 5)) == 5:
            options.append("--keep-duplicates")
        out = root / "out"
        check_command(["score", source, "--model", str(model_file), "--out", str(out),
                       "--quiet", *options], out, SCORE_OUTPUTS)  # fmt: skip


@examples(ci=12)
@given(log=logs(), kind=INPUT_KINDS, dialect=csv_dialects, data=st.data())
def test_validate_never_crashes(log, kind, dialect, data) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        source = write_log(log, root, kind, dialect)
        days = data.draw(st.sampled_from((30, 90, 1, 365, 2000, 0, -3)))
        options = []
        if data.draw(st.integers(0, 3)) == 3:
            options += ["--date-format", data.draw(st.sampled_from(DATE_STYLES))]
        out = root / "out"
        check_command(["validate", source, "--holdout-days", str(days), "--out", str(out),
                       "--quiet", *options], out, VALIDATE_OUTPUTS)  # fmt: skip


DAMAGES = (
    "as written", "as written", "no summary", "summary truncated", "summary not json",
    "no segments table", "segments table truncated", "segments table is text", "no model",
    "an empty folder", "a file", "no folder",
)  # fmt: skip


def _damaged_run(source: Path, target: Path, how: str) -> Path:
    if how == "no folder":
        return target
    if how == "a file":
        target.write_text("not a folder")
        return target
    shutil.copytree(source, target)
    summary, table = target / "summary.json", target / "segments.parquet"
    if how == "no summary":
        summary.unlink()
    elif how == "summary truncated":
        summary.write_text(summary.read_text()[:100])
    elif how == "summary not json":
        summary.write_text("NaN")
    elif how == "no segments table":
        table.unlink()
    elif how == "segments table truncated":
        table.write_bytes(table.read_bytes()[:200])
    elif how == "segments table is text":
        table.write_text("customer_id,segment_id\n1,0\n")
    elif how == "no model":
        (target / "model.json").unlink()
    elif how == "an empty folder":
        shutil.rmtree(target)
        target.mkdir()
    return target


@given(old=st.sampled_from(DAMAGES), new=st.sampled_from(DAMAGES), swap=st.booleans(),
       same=st.booleans())  # fmt: skip
def test_compare_never_crashes(runs: dict[str, Path], old: str, new: str, swap: bool,
                               same: bool) -> None:  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        first, second = (runs["b"], runs["a"]) if swap else (runs["a"], runs["b"])
        old_dir = _damaged_run(first, root / "old", old)
        new_dir = old_dir if same else _damaged_run(second, root / "new", new)
        out = root / "out"
        outcome = check_command(["compare", str(old_dir), str(new_dir), "--out", str(out),
                                 "--quiet"], out, COMPARE_OUTPUTS)  # fmt: skip
        if old == new == "as written" and not same:
            assert outcome.code == 0, outcome.stderr
