"""The outcome of a run on this machine, which can write itself (`segmint.io.outputs`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
        from segmint.io.outputs import write_outputs

        return write_outputs(self, Path(out_dir))
