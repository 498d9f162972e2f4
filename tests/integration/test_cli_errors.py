"""Bad input through the real command line (docs/reference/cli.md#exit-codes): exit 2, one
`error: …` line naming the file, column or value at fault, no traceback, no output folder, the
input untouched.

Each run is a real `python -m segmint.cli` subprocess. Starting one costs about two seconds of
imports, so every case is prepared first and the runs go in parallel (the `runs` fixture);
the tests then check each run's outcome.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from helpers import OUTPUTS

PYTHON_CLI = [sys.executable, "-m", "segmint.cli"]


# Building inputs ---------------------------------------------------------------------------


def write_csv(path: Path, header: list[str], rows: list[tuple]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def valid_rows(n_customers: int = 6) -> list[tuple[str, str, str]]:
    """Customer c<i> has i + 1 orders, so every customer is a distinct point (1+2+…+6 = 21 rows)."""
    return [
        (f"c{i}", f"2010-{1 + j:02d}-{10 + i:02d}", f"{10 * (i + 1) + j}")
        for i in range(n_customers)
        for j in range(i + 1)
    ]


def orders_csv(d: Path) -> Path:
    return write_csv(d / "orders.csv", ["customer_id", "date", "amount"], valid_rows())


def distinct_count(n: int) -> str:
    """A pattern for a message saying how many distinct customers there are
    (docs/reference/model.md#k-range)."""
    return rf"\b{n}\b[^0-9]*(distinct|customer)"


@dataclass
class Setup:
    """One run: its inputs and options, and what its error line must contain."""

    inputs: list[Path]
    options: list[str] = field(default_factory=list)
    names: tuple[str, ...] = ()
    """Substrings the error line must contain (file, column or value at fault)."""
    patterns: tuple[str, ...] = ()
    """Regular expressions the error line must match."""
    out: Path | None = None
    quiet: bool = True
    command: list[str] | None = None
    check_inputs: bool = True


@dataclass
class Run:
    setup: Setup
    out: Path
    inputs_before: dict[str, object]
    out_before: object
    result: subprocess.CompletedProcess


def snapshot(path: Path) -> dict[str, bytes] | bytes | None:
    """Return the bytes of a file, the {relative path: bytes} of a folder, or None if absent."""
    if path.is_dir():
        return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}
    if path.is_file():
        return path.read_bytes()
    return None


# The bad-input cases: each builds its files in its own folder d ----------------------------------

CASES: dict[str, Callable[[Path], Setup]] = {}
OTHER: dict[str, Callable[[Path], Setup]] = {}


def case(build: Callable[[Path], Setup]) -> Callable[[Path], Setup]:
    CASES[build.__name__] = build
    return build


def other(build: Callable[[Path], Setup]) -> Callable[[Path], Setup]:
    OTHER[build.__name__] = build
    return build


@case
def empty_file(d: Path) -> Setup:
    path = d / "empty.csv"
    path.write_bytes(b"")
    return Setup([path], names=(str(path),))


@case
def header_only(d: Path) -> Setup:
    path = write_csv(d / "header_only.csv", ["customer_id", "date", "amount"], [])
    return Setup([path], names=(str(path),))


@case
def random_bytes(d: Path) -> Setup:
    path = d / "junk.csv"
    path.write_bytes(random.Random(1).randbytes(4096))
    return Setup([path], names=(str(path),))


@case
def png_image(d: Path) -> Setup:
    path = d / "picture.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    return Setup([path], names=(str(path),))


@case
def gzip_header_with_junk(d: Path) -> Setup:
    path = d / "orders.csv.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + random.Random(2).randbytes(500))
    return Setup([path], names=(str(path),))


@case
def truncated_gzip(d: Path) -> Setup:
    text = "customer_id,date,amount\n" + "".join(",".join(r) + "\n" for r in valid_rows() * 300)
    packed = gzip.compress(text.encode(), mtime=0)
    path = d / "cut.csv.gz"
    path.write_bytes(packed[: len(packed) // 2])
    return Setup([path], names=(str(path),))


def _cut_short(path: Path, repeats: int) -> Setup:
    """A CSV cut in the middle of its last line (an interrupted export)."""
    text = "customer_id,date,amount\n" + "".join(",".join(r) + "\n" for r in valid_rows() * repeats)
    text += "c9,2010-0"
    path.write_text(text, encoding="utf-8")
    last = text.count("\n") + 1
    return Setup(
        [path], names=(str(path),), patterns=(rf"line {last:,} has 2 fields\b.*header has 3",)
    )


@case
def cut_short_in_the_sniffed_lines(d: Path) -> Setup:
    # DuckDB's sniffer sees the short line and finds no dialect: the header's delimiter is used.
    return _cut_short(d / "cut.csv", 2)


@case
def cut_short_after_the_sniffed_lines(d: Path) -> Setup:
    return _cut_short(d / "cut_late.csv", 1200)  # 25,201 lines: beyond the 20,480 sniffed


@case
def cut_short_in_a_file_of_three_lines(d: Path) -> Setup:
    # One line in two is short here: the last line is not counted against the delimiter.
    path = d / "tiny.csv"
    path.write_text("customer_id,date,amount\nc1,2024-01-01,5\nc2,2024-01-0", encoding="utf-8")
    return Setup([path], names=(str(path),), patterns=(r"line 3 has 2 fields\b.*header has 3",))


@case
def damaged_xlsx(d: Path) -> Setup:
    path = d / "book.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"this is not a workbook " * 40)
    return Setup([path], names=(str(path),))


@case
def damaged_parquet(d: Path) -> Setup:
    path = d / "lines.parquet"
    path.write_bytes(b"PAR1" + random.Random(3).randbytes(600))
    return Setup([path], names=(str(path),))


@case
def missing_input(d: Path) -> Setup:
    path = d / "missing.csv"
    return Setup([path], names=(str(path),))


@case
def directory_as_input(d: Path) -> Setup:
    path = d / "folder.csv"
    path.mkdir()
    return Setup([path], names=(str(path),))


@case
def unreadable_input(d: Path) -> Setup:
    path = orders_csv(d)
    path.chmod(0)
    if os.access(path, os.R_OK):
        # Running as root: permissions do not stop reading. Use a file that exists and that
        # nobody can read instead (reading /proc/self/mem at offset 0 fails with EIO).
        path.chmod(0o644)
        path = Path("/proc/self/mem")
    return Setup([path], names=(str(path),), check_inputs=False)


# Columns


@case
def no_customer_id_column(d: Path) -> Setup:
    rows = [(day, a) for _, day, a in valid_rows()]
    path = write_csv(d / "no_customer.csv", ["OrderDate", "Amount"], rows)
    # The message lists the columns seen and suggests --column (docs/reference/input.md#column).
    return Setup([path], names=(str(path), "customer_id", "OrderDate", "Amount", "--column"))


@case
def no_date_column(d: Path) -> Setup:
    rows = [(c, a) for c, _, a in valid_rows()]
    path = write_csv(d / "no_date.csv", ["Client ID", "Amount"], rows)
    return Setup([path], names=(str(path), "Client ID", "Amount", "--column date"))


@case
def two_columns_for_the_amount(d: Path) -> Setup:
    rows = [(c, day, a, a) for c, day, a in valid_rows()]
    path = write_csv(d / "two_amounts.csv", ["customer", "date", "amount", "Total"], rows)
    return Setup([path], names=(str(path), "amount", "Total", "--column"))


@case
def two_columns_for_the_customer(d: Path) -> Setup:
    rows = [(c, c, day, a) for c, day, a in valid_rows()]
    path = write_csv(d / "two_ids.csv", ["CustomerID", "user_id", "date", "amount"], rows)
    return Setup([path], names=(str(path), "CustomerID", "user_id", "--column"))


@case
def no_amount_and_no_price(d: Path) -> Setup:
    rows = [(c, day, "2") for c, day, _ in valid_rows()]
    path = write_csv(d / "no_money.csv", ["customer_id", "date", "Qty"], rows)
    return Setup([path], names=(str(path), "amount", "Qty"))


@case
def column_override_with_unknown_role(d: Path) -> Setup:
    return Setup([orders_csv(d)], ["--column", "colour=amount"], names=("colour",))


@case
def column_override_naming_a_missing_column(d: Path) -> Setup:
    path = orders_csv(d)
    return Setup([path], ["--column", "amount=Nope"], names=(str(path), "Nope"))


# Dates


@case
def no_date_can_be_read(d: Path) -> Setup:
    rows = [(c, "someday", a) for c, _, a in valid_rows()]
    path = write_csv(d / "bad_dates.csv", ["customer_id", "OrderDate", "amount"], rows)
    return Setup([path], names=(str(path), "OrderDate"))


@case
def most_dates_bad(d: Path) -> Setup:
    # 21 rows: the first 5 have ISO dates, the other 16 cannot be read, and 16 > 21 / 2.
    rows = [(c, day if n < 5 else "soon", a) for n, (c, day, a) in enumerate(valid_rows())]
    path = write_csv(d / "mostly_bad.csv", ["customer_id", "OrderDate", "amount"], rows)
    return Setup([path], names=(str(path), "OrderDate"))


@case
def day_first_or_month_first(d: Path) -> Setup:
    rows = [("c1", "01/02/2010", "10"), ("c2", "03/04/2010", "20"), ("c3", "01/02/2010", "30")]
    path = write_csv(d / "ambiguous.csv", ["customer_id", "OrderDate", "amount"], rows)
    return Setup([path], names=(str(path), "OrderDate"), patterns=(r"01/02/2010|03/04/2010",))


@case
def as_of_before_the_data(d: Path) -> Setup:
    # All 21 lines are after 2000-01-01: the message says which rule removed what.
    path = orders_csv(d)
    return Setup(
        [path], ["--as-of", "2000-01-01"], names=(str(path), "after_as_of"), patterns=(r"\b21\b",)
    )


@case
def as_of_not_a_date(d: Path) -> Setup:
    return Setup([orders_csv(d)], ["--as-of", "someday"], names=("--as-of", "someday"))


# Too few customers, and k


@case
def one_customer(d: Path) -> Setup:
    rows = [("c1", "2010-01-05", "10"), ("c1", "2010-02-07", "25"), ("c1", "2010-03-01", "5")]
    path = write_csv(d / "one.csv", ["customer_id", "date", "amount"], rows)
    return Setup([path], patterns=(distinct_count(1),))


@case
def all_customers_identical(d: Path) -> Setup:
    # Five ids with the very same two lines: a single distinct customer point.
    lines = (("2010-01-05", "10"), ("2010-03-01", "30"))
    rows = [(c, day, a) for c in "abcde" for day, a in lines]
    path = write_csv(d / "clones.csv", ["customer_id", "date", "amount"], rows)
    return Setup([path], ["--k-min", "2"], patterns=(distinct_count(1),))


@case
def k_of_one(d: Path) -> Setup:
    return Setup([orders_csv(d)], ["--k", "1"], names=("--k",), patterns=(r"--k\D*\b1\b",))


@case
def k_equal_to_the_customers(d: Path) -> Setup:
    # orders.csv has 6 distinct customers: k must be below 6.
    return Setup([orders_csv(d)], ["--k", "6"], names=("--k",), patterns=(distinct_count(6),))


@case
def k_above_the_customers(d: Path) -> Setup:
    return Setup(
        [orders_csv(d)], ["--k", "9"], names=("--k",), patterns=(r"\b9\b", distinct_count(6))
    )


@case
def k_min_above_k_max(d: Path) -> Setup:
    return Setup(
        [orders_csv(d)],
        ["--k-min", "5", "--k-max", "3"],
        names=("--k-min", "--k-max"),
        patterns=(r"\b5\b", r"\b3\b"),
    )


@case
def k_range_above_the_customers(d: Path) -> Setup:
    # 6 distinct customers allow at most 5 segments: 7..9 is empty after clamping.
    return Setup([orders_csv(d)], ["--k-min", "7", "--k-max", "9"], patterns=(distinct_count(6),))


@case
def unknown_feature_set(d: Path) -> Setup:
    return Setup([orders_csv(d)], ["--feature-set", "bogus"], names=("--feature-set", "bogus"))


# The output location


@case
def output_path_is_a_file(d: Path) -> Setup:
    out = d / "out.txt"
    out.write_text("keep me\n")
    return Setup([orders_csv(d)], names=(str(out),), out=out)


def _existing_folder(d: Path) -> Path:
    out = d / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    (out / "segments.csv").write_text("customer_id,segment_id\nold,0\n")
    return out


@case
def existing_folder_kept_on_a_usage_error(d: Path) -> Setup:
    return Setup([orders_csv(d)], ["--k", "1"], out=_existing_folder(d))


@case
def existing_folder_kept_on_a_data_error(d: Path) -> Setup:
    path = orders_csv(d)
    return Setup([path], ["--as-of", "2000-01-01"], names=(str(path),), out=_existing_folder(d))


@case
def previous_folder_without_a_run(d: Path) -> Setup:
    # Checked before the data is read: the unreadable file is not what the error names.
    earlier = d / "earlier"
    earlier.mkdir()
    path = d / "junk.csv"
    path.write_bytes(random.Random(4).randbytes(2048))
    return Setup([path], ["--previous", str(earlier)], names=("--previous", "model.json"))


# Runs checked by their own tests


@other
def valid_file(d: Path) -> Setup:
    return Setup([orders_csv(d)], ["--k-min", "2", "--k-max", "3"])


@other
def success_into_existing_folder(d: Path) -> Setup:
    out = d / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    for name in OUTPUTS:
        (out / name).write_bytes(b"stale")
    return Setup([orders_csv(d)], ["--k-min", "2", "--k-max", "3"], out=out)


@other
def console_script(d: Path) -> Setup:
    beside = Path(sys.executable).parent / "segmint"
    script = str(beside) if beside.exists() else shutil.which("segmint")
    assert script is not None, "the `segmint` console script is not installed"
    return Setup([d / "missing.csv"], command=[script])


@other
def error_after_progress_lines(d: Path) -> Setup:
    setup = no_date_can_be_read(d)
    setup.quiet = False
    return setup


# Running ------------------------------------------------------------------------------------------


def _start(name: str, build: Callable[[Path], Setup], base: Path) -> tuple[str, Setup, Path]:
    d = base / name
    d.mkdir()
    setup = build(d)
    return name, setup, setup.out if setup.out is not None else d / "out"


def _execute(setup: Setup, out: Path) -> Run:
    inputs_before = {str(p): snapshot(p) for p in setup.inputs} if setup.check_inputs else {}
    out_before = snapshot(out)
    argv = [*(setup.command or PYTHON_CLI), "run", *map(str, setup.inputs), "--out", str(out)]
    argv += setup.options + (["--quiet"] if setup.quiet else [])
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    return Run(setup, out, inputs_before, out_before, result)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    base = tmp_path_factory.mktemp("cli")
    started = [_start(name, build, base) for name, build in {**CASES, **OTHER}.items()]
    workers = max(2, min(8, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(_execute, setup, out) for name, setup, out in started}
        return {name: future.result() for name, future in futures.items()}


def error_line(result: subprocess.CompletedProcess) -> str:
    """Assert a user's error: exit 2, exactly one `error: ` line on stderr, no traceback
    (a command line click cannot parse too: the line says where the help is)."""
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


# Tests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_a_one_line_error(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    line = error_line(run.result)
    for expected in run.setup.names:
        assert expected in line, f"{expected!r} not named in {line!r}"
    for pattern in run.setup.patterns:
        assert re.search(pattern, line), f"{pattern!r} does not match {line!r}"
    # The output location is as it was: absent stays absent, a file or folder is unchanged.
    assert snapshot(run.out) == run.out_before, "the --out location changed"
    if run.out_before is None:
        assert not run.out.exists(), "a failed run created the output folder"
    for path, content in run.inputs_before.items():
        assert snapshot(Path(path)) == content, f"the input {path} changed"
    leftovers = [p.name for p in run.out.parent.iterdir() if p.name.startswith(".segmint-")]
    assert leftovers == [], leftovers


def test_failed_run_leaves_existing_folder_untouched(runs: dict[str, Run]) -> None:
    for name in ("existing_folder_kept_on_a_usage_error", "existing_folder_kept_on_a_data_error"):
        run = runs[name]
        assert run.result.returncode == 2, run.result.stderr
        assert snapshot(run.out) == {
            "notes.txt": b"mine\n",
            "segments.csv": b"customer_id,segment_id\nold,0\n",
        }


def test_output_file_is_not_overwritten(runs: dict[str, Run]) -> None:
    run = runs["output_path_is_a_file"]
    assert run.result.returncode == 2
    assert run.out.read_text() == "keep me\n"


def test_the_valid_file_runs(runs: dict[str, Run]) -> None:
    # The cases built on orders.csv fail because of what each one changes, not the file.
    run = runs["valid_file"]
    assert run.result.returncode == 0, run.result.stderr
    assert run.result.stderr == ""  # --quiet
    assert sorted(p.name for p in run.out.iterdir()) == sorted(OUTPUTS)
    customers = pd.read_parquet(run.out / "segments.parquet")
    assert sorted(customers["customer_id"]) == [f"c{i}" for i in range(6)]


def test_successful_run_replaces_outputs_in_existing_folder(runs: dict[str, Run]) -> None:
    run = runs["success_into_existing_folder"]
    out = run.out
    assert run.result.returncode == 0, run.result.stderr
    for name in OUTPUTS:
        assert (out / name).is_dir() or (out / name).read_bytes() != b"stale", name
    customers = pd.read_parquet(out / "segments.parquet")
    assert sorted(customers["customer_id"]) == [f"c{i}" for i in range(6)]
    assert json.loads((out / "summary.json").read_text())["totals"]["customers"] == 6
    assert json.loads((out / "model.json").read_text())["format"] == "segmint-model"
    csv_ids = pd.read_csv(out / "segments.csv", dtype=str)["customer_id"]
    assert sorted(csv_ids) == [f"c{i}" for i in range(6)]
    assert (out / "report.md").read_text(encoding="utf-8").strip() != ""
    # A file that is not an output stays; no staging folder is left behind.
    assert (out / "notes.txt").read_text() == "mine\n"
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".segmint-")] == []


def test_installed_console_script(runs: dict[str, Run]) -> None:
    run = runs["console_script"]
    line = error_line(run.result)
    assert str(run.setup.inputs[0]) in line
    assert not run.out.exists()


def test_error_after_progress_lines(runs: dict[str, Run]) -> None:
    # Without --quiet, progress lines may come first; the error is still one line, the last.
    run = runs["error_after_progress_lines"]
    assert run.result.returncode == 2, run.result.stderr
    assert "Traceback" not in run.result.stderr
    lines = run.result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], run.result.stderr
    assert "OrderDate" in errors[0] and str(run.setup.inputs[0]) in errors[0]
    assert not run.out.exists()
