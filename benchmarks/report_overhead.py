"""What writing the report adds to a run: the same data, with and without it, alternating.

    python benchmarks/report_overhead.py FILE [FILE...] [--repeat N]

For each file, three variants run in turn, N times each, in one process (warm imports):
`no report` (outputs without report.html/.md/charts), `report, one process` (charts drawn
in-process after the rest) and `report, painter` (the CLI's way: a ChartPainter started
before the run draws the charts in worker processes). Prints the median wall time of each
and the report's share of the run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

from segmint.pipeline import segment
from segmint.report.png import ChartPainter


def no_report(*args: object, **kwargs: object):
    return lambda: None


def one_run(path: str, variant: str, out: Path) -> float:
    start = time.perf_counter()
    if variant == "report, painter":
        with ChartPainter() as painter:
            segment([path]).write(out, painter)
    elif variant == "report, one process":
        segment([path]).write(out)
    else:
        with mock.patch("segmint.report.writer.write_report", no_report):
            segment([path]).write(out)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    variants = ("no report", "report, one process", "report, painter")
    with tempfile.TemporaryDirectory() as tmp:
        segment([args.files[0]]).write(Path(tmp) / "warm-up")
        for path in args.files:
            times: dict[str, list[float]] = {v: [] for v in variants}
            for i in range(args.repeat):
                for v in variants:
                    times[v].append(one_run(path, v, Path(tmp) / f"{v}-{i}"))
            base = statistics.median(times["no report"])
            print(f"{Path(path).name}:")
            for v in variants:
                t = statistics.median(times[v])
                print(f"  {v:<22} {t:6.2f} s  (+{(t - base) / base:.0%})")


if __name__ == "__main__":
    main()
