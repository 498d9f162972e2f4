"""Small helpers shared by the test modules (on sys.path through pytest's `pythonpath`)."""

from __future__ import annotations

import csv
from pathlib import Path

# The shared real datasets (outside the repository, beside it). Tests that read them carry
# the `shared_data` marker and skip, saying why, where the folder is absent (conftest.py).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# The drop reasons in their order (docs/reference/cleaning.md#rules), transcribed here rather
# than imported from segmint, so that a renamed or reordered reason fails the tests.
DROP_REASONS = (
    "missing_customer_id",
    "bad_date",
    "duplicate",
    "invalid_amount",
    "after_as_of",
    "returns_only",
)

# Every file and folder a run writes into --out (docs/reference/outputs.md#run-files).
OUTPUTS = (
    "segments.parquet",
    "segments.csv",
    "summary.json",
    "model.json",
    "report.md",
    "report.html",
    "charts",
    "rules.json",
    "rules.sql",
    "audiences",
)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """Write header and rows as a UTF-8 CSV at path and return path."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def load_benchmark(name: str):
    """Import benchmarks/<name>.py (the folder is not a package) once per test session."""
    import importlib.util
    import sys

    full = f"segmint_benchmarks_{name}"
    if full not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(full, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        spec.loader.exec_module(module)
    return sys.modules[full]
