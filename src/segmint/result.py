"""The outcome of a run, which can write itself: on this machine (`writing.run`) or on
Spark (`writing.spark`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from segmint.model.segment_model import SegmentModel
from segmint.rules.tree import Rules


@dataclass
class SegmentationResult:
    """The outcome of a run: the per-customer table, summary.json, and the fitted model."""

    customers: pd.DataFrame
    summary: dict
    model: SegmentModel
    model_json: dict | None
    """None for a scoring run (segmint score), which writes no model and no report."""
    rules: Rules | None = None
    """The segments as CRM rules (None when scoring)."""
    contacts: pd.DataFrame | None = None
    """customer_id and the contact columns of the --customers file, for the audience files."""

    def write(self, out_dir: str | Path) -> Path:
        """Write every output file into out_dir, atomically; return out_dir."""
        from segmint.writing.run import write_outputs  # the report's libraries: when writing

        return write_outputs(self, Path(out_dir))


@dataclass
class SparkSegmentation:
    """A Spark run: every customer's row as a Spark DataFrame, the rest on the driver."""

    customers: Any
    """Spark DataFrame: the per-customer table (never collected)."""
    sample: pd.DataFrame
    """The seeded sample k was chosen on, with its segment: the report's charts use it."""
    summary: dict
    model: SegmentModel
    model_json: dict
    rules: Rules
    contacts: pd.DataFrame | None = None
    """The --customers file's id and contact columns (email, phone), for the audiences."""

    def write(self, out_dir: str | Path) -> Path:
        """Write every output into out_dir, atomically (Spark writes the per-customer table)."""
        from segmint.writing.spark import write_spark_outputs  # the report's libraries

        return write_spark_outputs(self, Path(out_dir))
