"""What writing the report adds to a run of the CLI, on the same data, alternating.

    python benchmarks/report_overhead.py FILE [FILE...] [--repeat N]

Each variant runs the CLI in a fresh process (cold imports, as a user sees it), in turn,
N times: `no report` (every output but report.html, report.md and charts/) and `report`
(the CLI as shipped). Prints the median wall time of each and what the report adds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = ("no report", "report")


def run_cli(variant: str, data: str, out: Path) -> None:
    """Run `segmint run data --out out --quiet` in this process, the report left out or not."""
    import contextlib
    from unittest import mock

    from segmint import cli
    from segmint.report.document import Report

    def no_report(*args: object, **kwargs: object) -> Report:
        return Report("", "", [])

    left_out = variant == "no report"
    with (
        mock.patch("segmint.report.writer.write_report", no_report)
        if left_out
        else (contextlib.nullcontext())
    ):
        code = cli.main(["run", data, "--out", str(out), "--quiet"])
    sys.exit(code)


def timed(variant: str, data: str, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--one", variant, data, str(out)], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="*")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--one", nargs=3, metavar=("VARIANT", "DATA", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.one:
        run_cli(*args.one[:2], Path(args.one[2]))
    with tempfile.TemporaryDirectory() as tmp:
        for data in args.files:
            times: dict[str, list[float]] = {v: [] for v in VARIANTS}
            for i in range(args.repeat):
                for v in VARIANTS:
                    times[v].append(timed(v, data, Path(tmp) / f"{v}-{i}"))
            base = statistics.median(times["no report"])
            print(f"{Path(data).name} ({args.repeat} runs each, median):")
            for v in VARIANTS:
                t = statistics.median(times[v])
                print(f"  {v:<10} {t:6.2f} s  (+{(t - base) / base:.0%})")


if __name__ == "__main__":
    main()
