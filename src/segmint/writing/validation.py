"""Write a validation of the order models: validation.json, validation.csv (per customer)
and the validation report."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from segmint.clv.validation import Validation
from segmint.io.outputs import write_csv, write_json, write_staged
from segmint.report.validation import build_validation_report
from segmint.report.writer import write_document


def write_validation(validation: Validation, out_dir: str | Path) -> Path:
    """Write the validation's files into out_dir, atomically; return out_dir."""

    def fill(staging: Path) -> None:
        write_json(validation.summary, staging / "validation.json")
        write_csv(pa.Table.from_pandas(validation.customers, preserve_index=False),
                  staging / "validation.csv")  # fmt: skip
        write_document(staging, build_validation_report(validation.summary), "validation")

    return write_staged(Path(out_dir), fill)
