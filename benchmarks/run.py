"""Segmint against what users do today, on generated logs of growing size.

    python benchmarks/run.py --sizes 1M 10M [50M] --data-dir DIR --results FILE.json
        [--formats csv [parquet]] [--no-baseline-above 10M] [--tools floor segmint baseline]
        [--segmint-args "--k-min 3 --k-max 10"] [--baseline-args "--k-max 6"] [--work-dir DIR]
        [--wait-idle SECONDS] [--retries N]

Generates the missing logs (benchmarks/generate.py), then for each size and format runs,
one after another, each in its own process: the floor (one DuckDB query, floor.py), Segmint
(`python -m segmint.cli run FILE --out OUT --quiet`) and the pandas + scikit-learn notebook
(baseline.py). Each process's wall time and peak RSS are measured exactly with os.wait4
(ru_maxrss), with the CPU time other processes used meanwhile (on a shared machine,
--wait-idle waits for them to go quiet before each run, --retries runs a disturbed run
again). Prints Markdown tables, the log-log scaling exponent of each tool's wall time, and
writes every number to the results JSON (rewritten after each run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import math
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
TOOLS = ("floor", "segmint", "baseline")
DISTURBED_CORES = 0.05  # others' average CPU use during a run above which it is disturbed
KIB_PER_GIB = 1024 * 1024


def _sibling(name: str) -> ModuleType:
    """Import benchmarks/<name>.py under a name of its own (works from a script or a test)."""
    full = f"segmint_benchmarks_{name}"
    if full not in sys.modules:
        spec = importlib.util.spec_from_file_location(full, HERE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        spec.loader.exec_module(module)
    return sys.modules[full]


generate = _sibling("generate")


@dataclass(frozen=True)
class Measurement:
    """One finished subprocess: wall time, peak resident memory, CPU time, exit code, output.

    `other_cpu_s` is the CPU time the rest of the machine used meanwhile (all cores' busy
    time from /proc/stat minus the process's own): well above zero, the run was disturbed.
    """

    wall_s: float
    peak_rss_kib: int
    returncode: int
    stdout: str
    stderr: str
    cpu_s: float = 0.0
    other_cpu_s: float | None = None

    @property
    def peak_rss_gib(self) -> float:
        return self.peak_rss_kib / KIB_PER_GIB


def busy_cpu_seconds() -> float | None:
    """Return the CPU seconds all cores have spent busy since boot (Linux), else None."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
    busy = sum(fields[:8]) - fields[3] - fields[4]
    return busy / os.sysconf("SC_CLK_TCK")


# The measured command is started by this small launcher, not forked from the harness: Linux
# carries a parent's peak RSS into a forked child's ru_maxrss (the copied mm's high-water
# mark is recorded at exec), so a child forked from a big parent would report the parent's
# peak. The launcher's own peak (~10 MiB) is the floor of what it reports.
_LAUNCHER = """
import os, sys, time
result, command = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"cannot run {command[0]}: {exc}", file=sys.stderr, flush=True)
    os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(result, "w") as handle:
    code, cpu = os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime
    handle.write(f"{code} {usage.ru_maxrss} {cpu!r} {wall!r}")
"""


def measure(command: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Run command to completion; return its wall time and peak RSS (os.wait4's ru_maxrss, KiB)."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as folder,
    ):
        result = Path(folder) / "usage"
        busy_before = busy_cpu_seconds()
        launcher = [sys.executable, "-S", "-c", _LAUNCHER, str(result), *command]
        subprocess.run(launcher, stdout=out, stderr=err, env=env, check=False)
        busy_after = busy_cpu_seconds()
        out.seek(0)
        err.seek(0)
        stdout, stderr = (f.read().decode(errors="replace") for f in (out, err))
        if not result.exists():
            raise RuntimeError(f"the launcher failed to run {command}:\n{stderr}")
        code, maxrss, cpu, wall = result.read_text().split()
        other = None
        if busy_before is not None and busy_after is not None:
            other = max(busy_after - busy_before - float(cpu), 0.0)
        return Measurement(
            wall_s=float(wall),
            peak_rss_kib=int(maxrss),
            returncode=int(code),
            stdout=stdout,
            stderr=stderr,
            cpu_s=float(cpu),
            other_cpu_s=other,
        )


def wait_for_idle(max_wait_s: float, window_s: float = 5.0, cores: float = 0.1) -> float:
    """Wait until the machine's busy CPU stays under `cores` over a window; return the wait."""
    start = time.perf_counter()
    while time.perf_counter() - start < max_wait_s:
        before = busy_cpu_seconds()
        time.sleep(window_s)
        after = busy_cpu_seconds()
        if before is None or after is None or (after - before) / window_s < cores:
            break
    return time.perf_counter() - start


def parse_sizes(sizes: list[str]) -> list[int]:
    """Return the line counts of sizes such as ["1M", "10M", "100k"], smallest first, once each."""
    return sorted({generate.parse_lines(s) for s in sizes})


def fit_exponent(lines: list[int], seconds: list[float]) -> float | None:
    """Return the least-squares slope of log(seconds) on log(lines); None below two sizes."""
    points = [(math.log(n), math.log(s)) for n, s in zip(lines, seconds, strict=True) if s > 0]
    if len({x for x, _ in points}) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in points)
    variance = sum((x - mean_x) ** 2 for x, _ in points)
    return covariance / variance


def last_json_line(text: str) -> dict | None:
    """Return the last line of text that parses as a JSON object, or None."""
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def ensure_data(lines: int, data_dir: Path, formats: list[str], seed: int) -> dict | None:
    """Generate the log of that size in the formats missing from data_dir; return the stats."""
    missing = [f for f in formats if not generate.data_path(data_dir, lines, f).exists()]
    if not missing:
        return None
    fmt = "both" if len(missing) == 2 else missing[0]
    command = [sys.executable, str(HERE / "generate.py"), "--lines", str(lines)]
    command += ["--out", str(data_dir), "--format", fmt, "--seed", str(seed)]
    done = measure(command)
    if done.returncode != 0:
        raise RuntimeError(f"generate.py failed:\n{done.stderr}")
    return {
        "lines": lines,
        "format": fmt,
        "wall_s": round(done.wall_s, 3),
        "peak_rss_gib": round(done.peak_rss_gib, 3),
        "stats": last_json_line(done.stdout),
    }


def tool_command(tool: str, path: Path, out_dir: Path, extra: list[str]) -> list[str]:
    """Return the command line that runs one tool on one file."""
    if tool == "segmint":
        return [sys.executable, "-m", "segmint.cli", "run", str(path), "--out", str(out_dir)] + [
            "--quiet",
            *extra,
        ]
    return [sys.executable, str(HERE / f"{tool}.py"), str(path), *extra]


def disturbed(done: Measurement) -> bool:
    """True when other processes used over DISTURBED_CORES on average during the run."""
    return (done.other_cpu_s or 0.0) > DISTURBED_CORES * done.wall_s


def run_tool(
    tool: str,
    path: Path,
    out_dir: Path,
    extra: list[str],
    wait_idle_s: float = 0.0,
    retries: int = 0,
) -> dict:
    """Run one tool on one file in its own process; return its row of the results.

    A run that other processes disturbed is run again, up to `retries` more times.
    """
    waited, attempts = 0.0, 0
    while True:
        if out_dir.exists():
            shutil.rmtree(out_dir)
        waited += wait_for_idle(wait_idle_s) if wait_idle_s else 0.0
        done = measure(tool_command(tool, path, out_dir, extra))
        attempts += 1
        if done.returncode != 0 or not disturbed(done) or attempts > retries:
            break
    row = {
        "tool": tool,
        "wall_s": round(done.wall_s, 3),
        "peak_rss_kib": done.peak_rss_kib,
        "peak_rss_gib": round(done.peak_rss_gib, 3),
        "returncode": done.returncode,
        "cpu_s": round(done.cpu_s, 2),
        "other_cpu_s": None if done.other_cpu_s is None else round(done.other_cpu_s, 2),
        "waited_for_idle_s": round(waited, 1),
        "attempts": attempts,
        "disturbed": disturbed(done),
    }
    if done.returncode != 0:
        row["error"] = done.stderr.strip()[-2000:]
        return row
    if tool == "segmint":
        summary = json.loads((out_dir / "summary.json").read_text())
        row["stages"] = summary["timings"]
        row["customers"] = summary["input"]["customers"]
        row["chosen_k"] = summary["selection"]["chosen_k"]
        row["rows_dropped"] = summary["input"]["rows_dropped"]
        row["out"] = str(out_dir)
    else:
        output = last_json_line(done.stdout) or {}
        row["stages"] = output.get("seconds", {})
        row["customers"] = output.get("customers")
        if "chosen_k" in output:
            row["chosen_k"] = output["chosen_k"]
    return row


def ratios(rows: list[dict]) -> dict:
    """Return the comparisons of one size and format: baseline/Segmint wall, RSS, features/floor."""
    by_tool = {r["tool"]: r for r in rows if r.get("returncode") == 0}
    seg, base, floor = (by_tool.get(t) for t in ("segmint", "baseline", "floor"))
    result: dict[str, float | None] = {
        "baseline_over_segmint_wall": None,
        "segmint_over_baseline_rss": None,
        "segmint_features_s": None,
        "floor_query_s": None,
        "segmint_features_over_floor": None,
    }
    if seg and base:
        result["baseline_over_segmint_wall"] = base["wall_s"] / seg["wall_s"]
        result["segmint_over_baseline_rss"] = seg["peak_rss_kib"] / base["peak_rss_kib"]
    if floor and floor["stages"].get("query"):
        result["floor_query_s"] = floor["stages"]["query"]
    if seg:
        stages = seg["stages"]
        result["segmint_features_s"] = sum(
            stages.get(s, 0.0) for s in ("read", "clean", "features")
        )
        if result["floor_query_s"]:
            result["segmint_features_over_floor"] = (
                result["segmint_features_s"] / result["floor_query_s"]
            )
    return {k: (round(v, 3) if v is not None else None) for k, v in result.items()}


def scaling(runs: list[dict]) -> dict:
    """Return each tool's (and format's) log-log exponent of wall time against lines."""
    exponents = {}
    for tool in TOOLS:
        for fmt in sorted({r["format"] for r in runs}):
            done = [r for r in runs if r["tool"] == tool and r["format"] == fmt]
            done = [r for r in done if r["returncode"] == 0]
            slope = fit_exponent([r["lines"] for r in done], [r["wall_s"] for r in done])
            if slope is not None:
                exponents[f"{tool} ({fmt})"] = round(slope, 3)
    return exponents


def machine() -> dict:
    """Return what the numbers depend on: cores, memory, versions (read without importing)."""
    from importlib.metadata import PackageNotFoundError, version

    memory_kib = 0
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    versions = {}
    for package in ("segmint", "duckdb", "pandas", "scikit-learn", "numpy", "pyarrow"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(memory_kib / KIB_PER_GIB, 1),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "versions": versions,
    }


def benchmark(
    sizes: list[int],
    data_dir: Path,
    results_path: Path,
    formats: tuple[str, ...] = ("csv",),
    tools: tuple[str, ...] = TOOLS,
    segmint_args: list[str] | None = None,
    baseline_args: list[str] | None = None,
    no_baseline_above: int | None = None,
    work_dir: Path | None = None,
    seed: int = 0,
    echo: bool = True,
    wait_idle_s: float = 0.0,
    retries: int = 0,
) -> dict:
    """Run every tool on every size and format; write and return the results."""
    data_dir.mkdir(parents=True, exist_ok=True)
    work_dir = work_dir or data_dir / "runs"
    extra = {"segmint": segmint_args or [], "baseline": baseline_args or [], "floor": []}
    results = {
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "seed": seed,
        "segmint_args": extra["segmint"],
        "baseline_args": extra["baseline"],
        "generation": [],
        "runs": [],
        "ratios": [],
        "scaling": {},
    }
    for lines in sizes:
        made = ensure_data(lines, data_dir, list(formats), seed)
        if made:
            results["generation"].append(made)
            _say(echo, f"generated {made['stats']['files']} in {made['wall_s']:.1f} s")
        for fmt in formats:
            path = generate.data_path(data_dir, lines, fmt)
            label = generate.size_label(lines)
            rows = []
            for tool in tools:
                if tool == "baseline" and no_baseline_above and lines > no_baseline_above:
                    continue
                out_dir = work_dir / f"{tool}_{label}_{fmt}"
                row = run_tool(tool, path, out_dir, extra[tool], wait_idle_s, retries)
                row.update(size=label, lines=lines, format=fmt, file_bytes=path.stat().st_size)
                rows.append(row)
                results["runs"].append(row)
                status = "" if row["returncode"] == 0 else f" FAILED ({row['returncode']})"
                if row["disturbed"]:
                    status += f" (disturbed: others used {row['other_cpu_s']:.1f} CPU s)"
                _say(
                    echo,
                    f"{label} {fmt} {tool}: {row['wall_s']:.1f} s, "
                    f"{row['peak_rss_gib']:.2f} GiB{status}",
                )
                _write(results_path, results)
            results["ratios"].append({"size": label, "format": fmt, **ratios(rows)})
    results["scaling"] = scaling(results["runs"])
    results["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    _write(results_path, results)
    return results


def markdown(results: dict) -> str:
    """Return the results as Markdown tables (runs, ratios, scaling exponents)."""
    out = [
        "| size | format | tool | wall s | peak RSS GiB | read | clean | features (floor: query) | model | "
        "CPU s | others' CPU s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["runs"]:
        stages = r.get("stages", {})
        names = ("read", "clean", "query" if r["tool"] == "floor" else "features", "model")
        cells = [_num(stages.get(s)) for s in names]
        cells += [_num(r.get("cpu_s"), digits=1), _num(r.get("other_cpu_s"), digits=1)]
        wall = f"{r['wall_s']:.1f}" + ("" if r["returncode"] == 0 else " (failed)")
        out.append(
            f"| {r['size']} | {r['format']} | {r['tool']} | {wall} | "
            f"{r['peak_rss_gib']:.2f} | " + " | ".join(cells) + " |"
        )
    out += [
        "",
        "| size | format | baseline / Segmint wall | Segmint RSS / baseline RSS | "
        "Segmint read+clean+features s | floor query s | ratio |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results["ratios"]:
        out.append(
            f"| {r['size']} | {r['format']} | {_num(r['baseline_over_segmint_wall'], 'x')} | "
            f"{_num(r['segmint_over_baseline_rss'], 'x')} | {_num(r['segmint_features_s'])} | "
            f"{_num(r['floor_query_s'])} | {_num(r['segmint_features_over_floor'], 'x')} |"
        )
    if results["scaling"]:
        out.append("")
        out.append(
            "Wall time ~ lines^b: "
            + ", ".join(f"{k} b = {v:.2f}" for k, v in results["scaling"].items())
        )
    return "\n".join(out)


def _num(value: float | None, suffix: str = "", digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}{suffix}"


def _say(echo: bool, message: str) -> None:
    if echo:
        print(message, file=sys.stderr, flush=True)


def _write(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(results, indent=2) + "\n")
    os.replace(partial, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", required=True, help="e.g. 1M 10M 50M")
    parser.add_argument("--data-dir", type=Path, required=True, help="where the logs are")
    parser.add_argument("--results", type=Path, required=True, help="results JSON file")
    parser.add_argument("--formats", nargs="+", choices=("csv", "parquet"), default=["csv"])
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--no-baseline-above", help="skip the baseline above this many lines")
    parser.add_argument("--segmint-args", default="", help="extra arguments for segmint run")
    parser.add_argument("--baseline-args", default="", help="extra arguments for baseline.py")
    parser.add_argument("--work-dir", type=Path, help="tools' outputs (default DATA_DIR/runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each run, wait up to SECONDS for other processes to go quiet",
    )
    parser.add_argument(
        "--retries", type=int, default=0, help="run a disturbed run again, up to N times"
    )
    args = parser.parse_args(argv)
    try:
        sizes = parse_sizes(args.sizes)
        limit = generate.parse_lines(args.no_baseline_above) if args.no_baseline_above else None
    except ValueError as exc:
        parser.error(str(exc))
    results = benchmark(
        sizes,
        args.data_dir,
        args.results,
        formats=tuple(dict.fromkeys(args.formats)),
        tools=tuple(t for t in TOOLS if t in args.tools),
        segmint_args=shlex.split(args.segmint_args),
        baseline_args=shlex.split(args.baseline_args),
        no_baseline_above=limit,
        work_dir=args.work_dir,
        seed=args.seed,
        wait_idle_s=args.wait_idle,
        retries=args.retries,
    )
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
