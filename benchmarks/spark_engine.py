"""The Spark engine beside the DuckDB engine on one generated log (issue 8).

Runs `segmint run FILE --engine duckdb` and `--engine spark` (local[*]) one after the other
as separate processes, and reports each one's wall time and whether the two deliveries agree:
the same customers, the same k and segment names, and the adjusted Rand index of the segments.

    python benchmarks/spark_engine.py --lines 1M --data-dir bench-data

Peak memory is not reported: Spark's JVM is a separate process that os.wait4 does not see.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd
from sklearn.metrics import adjusted_rand_score

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as harness  # noqa: E402 - benchmarks/ is not a package


def compare_engines(path: Path) -> dict:
    """Return each engine's wall time and the agreement of their outputs on path."""
    rows: dict = {}
    with tempfile.TemporaryDirectory(prefix="segmint-engines-") as folder:
        outputs = {}
        for engine in ("duckdb", "spark"):
            out = Path(folder) / engine
            command = harness.tool_command("segmint", path, out, ["--engine", engine])
            done = harness.measure(command)
            if done.returncode != 0:
                raise RuntimeError(f"{engine} run failed:\n{done.stderr}")
            summary = json.loads((out / "summary.json").read_text())
            rows[engine] = {
                "wall_s": round(done.wall_s, 2),
                "timings": summary["timings"],
                "customers": summary["totals"]["customers"],
                "k": summary["selection"]["chosen_k"],
                "sampled": summary["selection"]["sampled"],
                "names": [s["name"] for s in summary["segments"]],
            }
            outputs[engine] = pd.read_parquet(out / "segments.parquet")[
                ["customer_id", "segment_id"]
            ]
        both = outputs["duckdb"].merge(outputs["spark"], on="customer_id", how="outer",
                                       suffixes=("_duckdb", "_spark"), indicator=True)  # fmt: skip
    rows["agreement"] = {
        "same_customers": bool((both["_merge"] == "both").all()),
        "same_k": rows["duckdb"]["k"] == rows["spark"]["k"],
        "same_names": rows["duckdb"]["names"] == rows["spark"]["names"],
        "ari": round(
            float(adjusted_rand_score(both["segment_id_duckdb"], both["segment_id_spark"])), 6
        ),
    }
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", default="1M")
    parser.add_argument("--data-dir", type=Path, default=Path("bench-data"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    (lines,) = harness.parse_sizes([args.lines])
    harness.ensure_data(lines, args.data_dir, ["csv"], args.seed)
    path = harness.generate.data_path(args.data_dir, lines, "csv")
    result = {"machine": harness.machine(), "file": path.name, **compare_engines(path)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
