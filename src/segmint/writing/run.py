"""Write every output of a run on this machine into its folder, atomically."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from segmint.clv.per_customer import audience_columns
from segmint.io.outputs import write_csv, write_json, write_parquet, write_staged
from segmint.report.build import build_report
from segmint.report.png import drawing
from segmint.report.writer import write_document
from segmint.rules.export import sql_expression, write_audiences

if TYPE_CHECKING:
    from segmint.result import SegmentationResult


def write_outputs(result: SegmentationResult, out_dir: Path) -> Path:
    """Write every output of result into out_dir; a failure leaves out_dir as it was."""

    def fill(staging: Path) -> None:
        table = pa.Table.from_pandas(result.customers, preserve_index=False)
        report = None
        if result.model_json is not None:  # a run; scoring writes the tables and summary
            report = build_report(result.summary, result.customers, result.model_json)
        # The charts' helper process is forked first, while this is the only thread; the
        # tables and audiences are written by pyarrow and DuckDB, which release the GIL: in
        # other threads, they overlap the report.
        with (
            drawing(report.charts() if report else []) as png,
            ThreadPoolExecutor(max_workers=2) as pool,
        ):
            files = [
                pool.submit(write_parquet, table, staging / "segments.parquet"),
                pool.submit(write_csv, table, staging / "segments.csv"),
            ]
            if result.rules is not None:
                files.append(pool.submit(write_audiences_of, staging, result))
            write_json(result.summary, staging / "summary.json")
            if report is not None:
                write_json(result.model_json, staging / "model.json")
                write_document(staging, report, "report", png)
            if result.rules is not None:
                write_rules(staging, result)
            for written in files:
                written.result()

    return write_staged(out_dir, fill)


def write_rules(folder: Path, result: SegmentationResult) -> None:
    """Write rules.json and rules.sql (docs/reference/rules.md#rules-json); the audiences:
    write_audiences_of."""
    write_json(result.rules.as_json(), folder / "rules.json")
    (folder / "rules.sql").write_text(sql_expression(result.rules), encoding="utf-8")


def write_audiences_of(folder: Path, result: SegmentationResult) -> None:
    """Write audiences/<segment>.csv (docs/reference/rules.md#audiences)."""
    marketing = audience_columns(result.summary.get("clv") or {})
    write_audiences(folder, result.customers, result.rules.names, result.contacts, marketing)
