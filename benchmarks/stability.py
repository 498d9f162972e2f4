"""The cost of the segments' stability and the refresh test in the model stage (issue 25).

    python benchmarks/stability.py --lines 10M --data-dir DIR [--repeats 3] [--results FILE]

Reads a generated log (benchmarks/generate.py; generated when missing) once through
Segmint's own read, clean and feature stages, keeping what the model stage receives: the
customers' features today and as of 90 days earlier. Then times, in one process and
alternately (with, without, with, without, ...: the machine's noise falls on both), the
model stage as a run does it with the default settings (SegmentModel.fit, the stability of
every k included, then the refresh test's refit) and the same stage without either
(resamples=0, no refit). Prints the medians, the share of the model stage that stability
and the refresh test take, and writes every number to --results.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _generate_module():
    spec = importlib.util.spec_from_file_location(
        "segmint_benchmarks_generate", HERE / "generate.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def model_inputs(path: Path):
    """Return (customers, earlier customers, earlier date) as a default run computes them."""
    from segmint.features.build import REPEAT_VALUE, customer_features, earlier_features
    from segmint.features.clean import clean
    from segmint.io.connection import connect
    from segmint.io.inputs import open_lines
    from segmint.lifecycle.refresh import refresh_date
    from segmint.settings import Settings

    config = Settings.create()
    with tempfile.TemporaryDirectory() as workdir, connect(config, Path(workdir)) as con:
        lines = open_lines(con, [path], config, Path(workdir), False)
        cleaned = clean(con, lines, config)
        customers = customer_features(
            con, cleaned.as_of, lines.has("quantity"), lines.has("category")
        )
        customers.pop(REPEAT_VALUE)
        earlier_as_of = refresh_date(cleaned.period_start, cleaned.as_of)
        earlier = None
        if earlier_as_of is not None:
            earlier = earlier_features(con, earlier_as_of, False)
    return customers, earlier, earlier_as_of


def time_model_stage(customers, earlier, earlier_as_of, with_stability: bool) -> dict:
    """Fit as a default run does; return the seconds of the fit and of the refresh refit."""
    from segmint.lifecycle.refresh import refit_earlier
    from segmint.model.segment_model import new_model
    from segmint.settings import Settings

    model = new_model(Settings.create(), customers.columns)
    if not with_stability:
        model.resamples = 0
    start = time.perf_counter()
    model.fit(customers)
    fitted = time.perf_counter()
    refresh = 0.0
    if with_stability:
        refit_earlier(earlier, earlier_as_of, model)
        refresh = time.perf_counter() - fitted
    return {"fit": fitted - start, "refresh": refresh, "total": time.perf_counter() - start,
            "k": model.k_}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", default="10M")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--results", type=Path)
    args = parser.parse_args(argv)
    generate = _generate_module()
    lines = generate.parse_lines(args.lines)
    path = args.data_dir / f"lines_{args.lines}.csv"
    if not path.exists():
        args.data_dir.mkdir(parents=True, exist_ok=True)
        generate.main(["--lines", args.lines, "--out", str(args.data_dir), "--format", "csv"])
    start = time.perf_counter()
    customers, earlier, earlier_as_of = model_inputs(path)
    print(f"{lines:,} lines → {len(customers):,} customers "
          f"({0 if earlier is None else len(earlier):,} as of {earlier_as_of}); "
          f"read, clean, features {time.perf_counter() - start:.1f} s", file=sys.stderr)  # fmt: skip
    runs: dict[str, list[dict]] = {"with": [], "without": []}
    for _ in range(args.repeats):
        for name in ("with", "without"):
            runs[name].append(time_model_stage(customers, earlier, earlier_as_of, name == "with"))
            print(f"  {name}: {runs[name][-1]}", file=sys.stderr)
    with_s = statistics.median(r["total"] for r in runs["with"])
    without_s = statistics.median(r["total"] for r in runs["without"])
    refresh_s = statistics.median(r["refresh"] for r in runs["with"])
    result = {
        "lines": lines,
        "customers": len(customers),
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor(),
            "system": platform.platform(),
        },  # fmt: skip
        "runs": runs,
        "model_stage_s": with_s,
        "without_stability_s": without_s,
        "refresh_s": refresh_s,
        "stability_and_refresh_share": (with_s - without_s) / with_s,
    }
    print(
        f"| {lines:,} | {len(customers):,} | {with_s:.2f} s | {without_s:.2f} s | "
        f"{with_s - without_s - refresh_s:.2f} s | {refresh_s:.2f} s | "
        f"{100 * (with_s - without_s) / with_s:.0f}% |"
    )
    if args.results:
        args.results.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
