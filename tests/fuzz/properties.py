"""The property every command must have, whatever it is given:

exit 0 with complete outputs whose JSON is strict (no NaN or Infinity) and whose figures are
finite, or exit 2 with one `error:` line on stderr and no traceback, the output folder not
created (or, when it existed, unchanged), and the inputs untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from segmint.cli import main

# Text in a report that means a number or a template went wrong.
BROKEN_TEXT = re.compile(r"\b(nan|NaN|inf|Infinity|None)\b|\{\{|\{%|\{[a-z_]+\}")


@dataclass
class Outcome:
    code: int
    stderr: str


def invoke(argv: list[str]) -> Outcome:
    """Run the CLI in this process; an exception escaping main() is a crash (a failure)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return Outcome(code, err.getvalue())


def fingerprint(paths: Iterable[Path]) -> dict[str, str]:
    """Return path → digest of every file under paths (folders walked), to see a change."""
    found: dict[str, str] = {}
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.exists():
                found[str(file)] = hashlib.sha256(file.read_bytes()).hexdigest()
    return found


def input_paths(argv: list[str]) -> list[Path]:
    """Return the files named in argv (arguments and option values), duckdb: inputs included."""
    paths = []
    for arg in argv:
        text = arg.removeprefix("duckdb:").split("::")[0]
        if text and not text.startswith("-") and Path(text).exists():
            paths.append(Path(text))
    return paths


def check_command(argv: list[str], out: Path | None, expected_outputs: Iterable[str]) -> Outcome:
    """Run argv and assert the property; return the outcome for further checks."""
    inputs = [p for p in input_paths(argv) if out is None or p != out]
    before_inputs = fingerprint(inputs)
    out_existed = out is not None and out.exists()
    before_out = fingerprint([out]) if out_existed else {}
    outcome = invoke(argv)
    assert outcome.code in (0, 2), f"exit {outcome.code}:\n{outcome.stderr}"
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert fingerprint(inputs) == before_inputs, "an input was modified"
    if outcome.code == 2:
        check_error_output(outcome.stderr)
        if out is not None:
            if out_existed:
                assert fingerprint([out]) == before_out, "a failed command changed --out"
            else:
                assert not out.exists(), "a failed command created --out"
        return outcome
    if out is not None:
        present = {p.name for p in out.iterdir()}
        missing = set(expected_outputs) - present
        assert not missing, f"outputs missing: {sorted(missing)}"
        check_outputs(out)
    return outcome


def check_error_output(stderr: str) -> None:
    """One `error:` line (the last), no traceback, no usage block."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, f"expected one error line:\n{stderr}"
    assert "\n" not in errors[0]
    assert not [line for line in lines if line.startswith(("Usage:", "Try '"))], stderr
    assert lines[-1] == errors[0], f"the error line is not the last:\n{stderr}"


def check_outputs(out: Path) -> None:
    """Every JSON file strict and finite, every table's numbers finite, no broken report text."""
    for path in out.rglob("*.json"):
        check_strict_json(path.read_text(encoding="utf-8"), str(path.relative_to(out)))
    for path in out.rglob("*.parquet"):
        check_finite_table(path)
    for name in ("report.md", "compare.md", "validation.md"):
        if (out / name).exists():
            check_report_text((out / name).read_text(encoding="utf-8"), name)
    for name in ("report.html", "compare.html", "validation.html"):
        if (out / name).exists():
            check_html_data((out / name).read_text(encoding="utf-8"), name)


def check_strict_json(text: str, where: str) -> object:
    """Parse text as strict JSON (NaN, Infinity refused) and check every number is finite."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{where}: {constant} in JSON")

    value = json.loads(text, parse_constant=refuse)
    _check_finite(value, where)
    return value


def _check_finite(value: object, where: str) -> None:
    if isinstance(value, float):
        assert math.isfinite(value), f"{where}: {value}"
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_finite(item, f"{where}[{i}]")


def check_finite_table(path: Path) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    for name, column in zip(table.column_names, table.columns, strict=True):
        if column.type in ("double", "float"):
            bad = pc.sum(pc.invert(pc.is_finite(column.drop_null()))).as_py() or 0
            assert bad == 0, f"{path.name}: {bad} non-finite value(s) in {name}"


def check_report_text(text: str, name: str) -> None:
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(("![", "|")) and "](" in line:
            continue  # image links carry file names
        match = BROKEN_TEXT.search(line)
        assert match is None, f"{name}:{number}: {match.group(0)!r} in {line[:200]!r}"


def check_html_data(text: str, name: str) -> None:
    """The chart data a page carries (its application/json scripts) is strict, finite JSON."""
    blocks = re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', text, re.S)
    for block in blocks:
        check_strict_json(block, name)
