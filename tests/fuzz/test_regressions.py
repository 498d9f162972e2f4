"""What the fuzz suite and its first users found, each with its minimal example."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import OUTPUTS, write_csv
from properties import check_command, check_outputs, invoke
from segmint.datasets import demo_path
from segmint.io import text
from segmint.model.clusterboot import segment_stability
from segmint.model.selection import UNDEFINED, KScore
from segmint.settings import MAX_SEED


def _day_first_export(path: Path, lines: int = 148) -> Path:
    """The first `lines` lines of the UCI Online Retail sample with its dates written
    day-first, as a spreadsheet in a day-first locale exports them (1/12/2010 8:26)."""
    with gzip.open(demo_path(), "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1 : lines + 1]
    at = header.index("InvoiceDate")
    for row in body:
        when = dt.datetime.strptime(row[at], "%Y-%m-%d %H:%M:%S")
        row[at] = f"{when.day}/{when.month}/{when.year} {when.hour}:{when.minute:02d}"
    return write_csv(path, header, body)


def test_a_149_line_day_first_export_runs(tmp_path: Path) -> None:
    # It ended in a traceback: a NaN stability (too few distinct customers in the
    # resamples for k) reached the report's chart data.
    source = _day_first_export(tmp_path / "export.csv")
    assert len(source.read_text().splitlines()) == 149
    out = tmp_path / "out"
    outcome = check_command(
        ["run", str(source), "--out", str(out), "--date-format", "%d/%m/%Y %H:%M", "--quiet"],
        out,
        OUTPUTS,
    )
    assert outcome.code == 0, outcome.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["input"]["period"]["start"] == "2010-12-01T08:26:00"
    customers = pd.read_parquet(out / "segments.parquet")
    assert len(customers) == summary["totals"]["customers"] == 5


def test_stability_is_undefined_not_nan_when_no_resample_holds_k_points() -> None:
    X = np.array([[0.0, 0.0]] * 30 + [[1.0, 1.0]] * 30)  # two distinct points
    labels = np.array([0] * 30 + [1] * 30)
    found = segment_stability(X, np.array([0] * 30 + [1] * 15 + [2] * 15), 3, seed=0)
    assert found.jaccard == (None, None, None) and found.overall is None
    assert segment_stability(X, labels, 2, seed=0).jaccard == (1.0, 1.0)
    score = KScore(3, 0.5, None, 10.0, 1.0, 0.2, True, segment_stability=found).as_dict()
    assert score["stability"] is None and score["least_stable"] is None
    assert score["undefined"] == {
        "silhouette": UNDEFINED["silhouette"],
        "stability": UNDEFINED["stability"],
    }


@pytest.fixture(scope="module")
def tiny_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """32 customers in three clear groups (one order of 10, five of 100, twelve of 1,000)."""
    rows = []
    for c in range(32):
        group = c % 3
        orders, amount = ((1, 10), (5, 100), (12, 1000))[group]
        for o in range(orders):
            day = dt.date(2011, 1, 1) + dt.timedelta(days=(c * 7 + o * 25) % 330)
            rows.append([f"C{c:02d}", day.isoformat(), str(amount + c % 3)])
    return write_csv(tmp_path_factory.mktemp("tiny") / "tiny.csv", ["customer", "date", "amount"],
                     rows)  # fmt: skip


@pytest.mark.parametrize("seed", [MAX_SEED, MAX_SEED - 1, 2**31])
def test_every_seed_the_cli_accepts_works(tiny_log: Path, tmp_path: Path, seed: int) -> None:
    # --seed 4294967295 ended in scikit-learn's InvalidParameterError: a derived seed
    # (seed + resample) went past 2**32 - 1.
    out = tmp_path / "out"
    outcome = check_command(["run", str(tiny_log), "--out", str(out), "--quiet",
                             "--seed", str(seed)], out, OUTPUTS)  # fmt: skip
    assert outcome.code == 0, outcome.stderr
    assert json.loads((out / "summary.json").read_text())["seed"] == seed


@pytest.mark.parametrize("seed", [MAX_SEED + 1, 2**63, -1])
def test_seeds_outside_the_range_are_refused(tiny_log: Path, tmp_path: Path, seed: int) -> None:
    out = tmp_path / "out"
    outcome = check_command(["run", str(tiny_log), "--out", str(out), "--seed", str(seed)],
                            out, OUTPUTS)  # fmt: skip
    assert outcome.code == 2
    assert outcome.stderr.strip() == (
        f"error: --seed {seed}: choose a whole number from 0 to {MAX_SEED}"
    )


def test_a_tiny_log_gets_segments_of_at_least_five(tiny_log: Path, tmp_path: Path) -> None:
    # A 32-customer log got k = 10, segments of one customer among them.
    out = tmp_path / "out"
    assert invoke(["run", str(tiny_log), "--out", str(out), "--quiet"]).code == 0
    sizes = pd.read_parquet(out / "segments.parquet")["segment_id"].value_counts()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["selection"]["min_segment_size"] == 5
    assert summary["selection"]["chosen_k"] == len(sizes) <= 32 // 5
    assert sizes.min() >= 5
    chosen = [s for s in summary["selection"]["scores"] if s["k"] == len(sizes)]
    assert chosen[0]["eligible"]
    # The same log with no minimum size: every k of 3..10 has segments of a share ≥ 2%.
    out = tmp_path / "out0"
    args = ["run", str(tiny_log), "--out", str(out), "--quiet", "--min-segment-size", "0"]
    assert invoke(args).code == 0
    scores = json.loads((out / "summary.json").read_text())["selection"]["scores"]
    assert [s["k"] for s in scores if s["eligible"]] != [s["k"] for s in chosen]


def test_a_header_ended_by_lf_above_rows_ended_by_crlf_is_read(tmp_path: Path) -> None:
    # DuckDB's reader stopped: "the CSV Parser state machine reached an invalid state".
    path = tmp_path / "mixed.csv"
    rows = [f"C{i % 12},2011-{1 + i % 9:02d}-{10 + i % 18},{5 + i}.50" for i in range(60)]
    path.write_bytes(b"customer_id,date,amount\n" + "\r\n".join(rows).encode() + b"\r\n")
    assert text.mixed_line_endings(path, compressed=False)
    out = tmp_path / "out"
    assert check_command(["run", str(path), "--out", str(out), "--quiet"], out, OUTPUTS).code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["input"]["rows_read"] == 60
    assert summary["totals"]["revenue"] == pytest.approx(sum(5.5 + i for i in range(60)))


def test_line_breaks_inside_quotes_are_not_mixed_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b'customer,date,note\r\n1,2011-01-01,"two\nlines"\r\n2,2011-01-02,x\r\n')
    assert not text.mixed_line_endings(path, compressed=False)


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_rewritten_files_keep_cells_holding_line_separators(tmp_path: Path, encoding: str) -> None:
    # The rewrite to UTF-8 split lines at every Unicode line boundary: a form feed or a
    # U+2028 inside a cell cut its line in two.
    cells = "caf\u00e9\x0cmenu" if encoding == "cp1252" else "a\u2028b\x1cc\x85d"
    original = f'customer,date,note\r\n1,2011-01-01,"{cells}"\r\n2,2011-01-02,x\r\n'
    path = tmp_path / "legacy.csv"
    path.write_bytes(original.encode(encoding))
    target = text.rewrite_as_utf8(path, False, encoding, tmp_path / "out.csv", whitespace=False)
    assert target.read_text(encoding="utf-8") == original.replace("\r\n", "\n")


def test_a_carriage_return_in_an_unquoted_cell_is_an_error_not_a_crash(tmp_path: Path) -> None:
    # Python's csv module raised "new-line character seen in unquoted field" while the
    # delimiter of a file DuckDB could not sniff was looked for.
    path = tmp_path / "cr.csv"
    path.write_bytes(b"customer_id;date;amount\n1;2011-01-01;5\n2;2011-01-02;6\rx\n3;2011-01-03\n")
    outcome = check_command(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"], tmp_path / "out",
                            OUTPUTS)  # fmt: skip
    assert outcome.code == 2
    assert outcome.stderr.startswith(f"error: {path}: cannot be read")


def test_an_unknown_option_is_one_line_that_says_where_help_is(tiny_log: Path) -> None:
    outcome = invoke(["run", str(tiny_log), "--out", "x", "--frobnicate"])
    assert outcome.code == 2
    assert outcome.stderr.splitlines() == [
        "error: No such option '--frobnicate' (see segmint run --help)"
    ]
    outcome = invoke(["validate", str(tiny_log), "--out", "x"])
    assert outcome.stderr.splitlines() == [
        "error: Missing option '--holdout-days' (see segmint validate --help)"
    ]


def test_a_data_error_stays_one_line(tiny_log: Path, tmp_path: Path) -> None:
    outcome = invoke(["run", str(tiny_log), "--out", str(tmp_path / "o"), "--as-of", "1999-01-01",
                      "--quiet"])  # fmt: skip
    assert outcome.code == 2 and len(outcome.stderr.strip().splitlines()) == 1


def test_outputs_of_a_run_are_checked_for_strict_json(tmp_path: Path) -> None:
    # The checker itself: a NaN written by a writer that forgot to refuse it is found.
    (tmp_path / "summary.json").write_text('{"a": [1, NaN]}')
    with pytest.raises(AssertionError, match="NaN in JSON"):
        check_outputs(tmp_path)


def test_an_output_folder_holding_an_input_named_like_an_output_is_refused(
    tiny_log: Path, tmp_path: Path
) -> None:
    # `run folder/segments.csv --out folder` replaced the user's file with the outputs.
    folder = tmp_path / "folder"
    folder.mkdir()
    mine = folder / "segments.csv"
    mine.write_bytes(tiny_log.read_bytes())
    outcome = check_command(["run", str(mine), "--out", str(folder), "--quiet"], folder, OUTPUTS)
    assert outcome.code == 2
    assert outcome.stderr.strip() == (
        f"error: --out {folder}: writing there would replace the input {mine}; "
        "choose another output folder"
    )
    # An input beside the outputs, under a name no output takes, is left where it is.
    other = folder / "orders.csv"
    mine.rename(other)
    assert check_command(["run", str(other), "--out", str(folder), "--quiet"], folder,
                         OUTPUTS).code == 0  # fmt: skip
    assert other.read_bytes() == tiny_log.read_bytes()
    assert (folder / "summary.json").exists()


def test_a_run_folder_is_not_the_output_of_a_command_reading_it(
    tiny_log: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    assert invoke(["run", str(tiny_log), "--out", str(run), "--quiet"]).code == 0
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    for argv in (["compare", str(run), str(run), "--out", str(run)],
                 ["run", str(tiny_log), "--previous", str(run), "--out", str(run)]):  # fmt: skip
        outcome = invoke([*argv, "--quiet"])
        assert outcome.code == 2
        assert "writing there would replace the input" in outcome.stderr
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


@pytest.mark.parametrize(("threads", "code"), [(100_000, 2), (0, 2), (1025, 2), (2, 0)])
def test_threads_are_bounded(tiny_log: Path, tmp_path: Path, threads: int, code: int) -> None:
    # --threads 100000 ended in "RuntimeError: can't start new thread".
    out = tmp_path / "out"
    args = ["run", str(tiny_log), "--out", str(out), "--quiet", "--threads", str(threads)]
    outcome = check_command(args, out, OUTPUTS)
    assert outcome.code == code
    if code:
        assert outcome.stderr.strip() == f"error: --threads {threads}: choose from 1 to 1024"


def test_the_lifetime_horizon_is_at_most_a_century(tiny_log: Path, tmp_path: Path) -> None:
    # --clv-horizon-days 100000000 (273,000 years) ran, and wrote a CLV of 7 billion.
    out = tmp_path / "out"
    args = ["run", str(tiny_log), "--out", str(out), "--quiet", "--clv-horizon-days"]
    outcome = check_command([*args, "36501"], out, OUTPUTS)
    assert outcome.stderr.strip() == (
        "error: --clv-horizon-days 36501: choose from 1 to 36500 (100 years)"
    )
    assert check_command([*args, "36500", "--clv"], out, OUTPUTS).code == 0


def test_an_empty_out_is_refused_not_the_current_folder(
    tiny_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # --out "" wrote every output into the current folder.
    monkeypatch.chdir(tmp_path)
    outcome = invoke(["run", str(tiny_log), "--out", "", "--quiet"])
    assert outcome.code == 2
    assert outcome.stderr.splitlines() == [
        "error: Invalid value for '--out': give the name of a folder (see segmint run --help)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_an_out_where_no_folder_can_be_made_is_an_error(tiny_log: Path) -> None:
    # /proc accepts no new folder: making the staging folder there ended in a traceback.
    outcome = invoke(["run", str(tiny_log), "--out", "/proc/segmint-out", "--quiet"])
    assert outcome.code == 2
    assert outcome.stderr.strip().startswith("error: --out /proc/segmint-out: cannot write (")


def test_mixed_line_endings_with_legacy_bytes_past_the_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rewrite of a file with mixed line ends trusted the head's UTF-8 verdict and
    # stopped on a cp1252 byte further on with a UnicodeDecodeError.
    monkeypatch.setattr(text, "HEAD_BYTES", 64)
    rows = [f"A{i:03d},2011-01-{1 + i % 28:02d},{10 + i}" for i in range(60)]
    rows += ["José,2011-01-10,10.00", "José,2011-01-20,5.50"]
    data = ("customer,date,amount\n" + "\r\n".join(rows) + "\r\n").encode("cp1252")
    path = tmp_path / "late.csv"
    path.write_bytes(data)
    out = tmp_path / "out"
    outcome = check_command(["run", str(path), "--out", str(out), "--quiet"], out, OUTPUTS)
    assert outcome.code == 0, outcome.stderr
    customers = pd.read_parquet(out / "segments.parquet").set_index("customer_id")
    assert customers.loc["José", "frequency"] == 2
    assert customers.loc["José", "monetary"] == pytest.approx(15.5)


def test_a_log_whose_amounts_are_all_zero_has_no_nan_ratio(tmp_path: Path) -> None:
    # It wrote "spent 0.00 each, nan× the average customer" into report.md (make fuzz).
    rows = [["12369", "2010-01-07", "0"], ["12371", "2010-01-06", "0"], ["12347", "2010-01-03", "0"],
            ["12361", "2010-01-02", "0"], ["12376", "2010-01-03", "0"]]  # fmt: skip
    source = write_csv(tmp_path / "zero.csv", ["CustomerID", "InvoiceDate", "Amount"], rows)
    out = tmp_path / "out"
    outcome = check_command(["run", str(source), "--out", str(out), "--quiet"], out, OUTPUTS)
    assert outcome.code == 0, outcome.stderr
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "spent 0.00 each." in report and "nan" not in report
