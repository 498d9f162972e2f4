"""A bounded load test on localhost: a real `segmint serve`, 20 concurrent small runs and
200 status polls; every run reaches done, none is lost, every poll answers 200, and the memory
of the server and its processes comes back to its baseline.

Memory is the resident size of the server and all its descendants (/proc), measured once the
runs' worker processes have exited (waited for: a run reports done just before its process
ends). The baseline is taken after one warm-up run, once the fork server (which holds the
preloaded imports) exists. The margin is 60 MB: runs happen in child processes that exit, so
what may stay is the server's own growth from 20 uploads and 200 JSON answers (allocator
arenas, caches), measured at 1-25 MB here; a worker process that never exits fails the test.
"""

from __future__ import annotations

import csv
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from web_helpers import Server, tree_rss_bytes, wait_for

pytest.importorskip("fastapi", reason="the web extra is not installed: pip install -e '.[web]'")

pytestmark = [pytest.mark.load, pytest.mark.slow]

RUNS, POLLS = 20, 200
RUN_TIMEOUT = 180  # s for a run to finish with 20 queued on a small machine
MARGIN = 60 * 1024 * 1024


def small_log(path: Path, seed: int) -> bytes:
    """A few hundred order lines of 40 customers over 2024."""
    rng = random.Random(seed)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "date", "amount"])
        for _ in range(300):
            writer.writerow([f"C{rng.randint(1, 40):03d}",
                             f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                             round(rng.uniform(5, 250), 2)])  # fmt: skip
    return path.read_bytes()


def test_twenty_concurrent_runs(tmp_path: Path) -> None:
    server = Server(tmp_path / "data")
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            warm = client.post("/api/runs", files={"transactions": ("w.csv", small_log(
                tmp_path / "w.csv", 99))}, data={"k": "3", "clv": "off"})  # fmt: skip
            assert wait_for(client, warm.json()["id"], timeout=RUN_TIMEOUT)["state"] == "done"
            server.wait_runs_exited()
            baseline = tree_rss_bytes(server.process.pid)

            logs = [small_log(tmp_path / f"log{i}.csv", i) for i in range(RUNS)]

            def start(i: int) -> str:
                answer = client.post("/api/runs", files={"transactions": (f"log{i}.csv", logs[i])},
                                     data={"k": "3", "clv": "off", "seed": str(i)})  # fmt: skip
                assert answer.status_code == 201, answer.text
                return answer.json()["id"]

            started = time.monotonic()
            with ThreadPoolExecutor(RUNS) as pool:
                ids = list(pool.map(start, range(RUNS)))
            assert len(set(ids)) == RUNS

            def poll(n: int) -> int:
                return client.get(f"/api/runs/{ids[n % RUNS]}").status_code

            with ThreadPoolExecutor(10) as pool:
                codes = list(pool.map(poll, range(POLLS)))
            assert codes == [200] * POLLS

            states = [wait_for(client, run_id, timeout=RUN_TIMEOUT)["state"] for run_id in ids]
            elapsed = time.monotonic() - started
            assert states == ["done"] * RUNS
            listed = {r["id"]: r["state"] for r in client.get("/api/runs").json()}
            assert all(listed[run_id] == "done" for run_id in ids)
            for run_id in ids:
                assert (tmp_path / "data" / "runs" / run_id / "out" / "segments.csv").is_file()

            server.wait_runs_exited()
            after = tree_rss_bytes(server.process.pid)
            print(f"\n{RUNS} runs in {elapsed:.1f} s; RSS baseline {baseline / 2**20:.0f} MB, "
                  f"after {after / 2**20:.0f} MB")  # fmt: skip
            assert after - baseline < MARGIN, (baseline, after)
    finally:
        server.stop()
