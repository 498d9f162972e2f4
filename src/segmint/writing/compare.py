"""Write the comparison of two runs: migration.csv, compare.json, compare.html/.md, charts/."""

from __future__ import annotations

from pathlib import Path

from segmint.io.outputs import write_json, write_staged
from segmint.lifecycle.compare import Comparison
from segmint.report.compare import build_compare_report
from segmint.report.writer import write_document


def write_comparison(comparison: Comparison, out_dir: str | Path) -> Path:
    """Write the comparison's files into out_dir, atomically; return out_dir."""

    def fill(staging: Path) -> None:
        comparison.matrix.rename_axis("old segment \\ new segment").to_csv(
            staging / "migration.csv", lineterminator="\n"
        )
        write_json(comparison.summary, staging / "compare.json")
        write_document(staging, build_compare_report(comparison.summary), "compare")

    return write_staged(Path(out_dir), fill)
