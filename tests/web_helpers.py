"""Helpers of the web app's tests (on sys.path through pytest's `pythonpath`)."""

from __future__ import annotations

import time

RUN_TIMEOUT = 120


def wait_for(client, run_id: str, timeout: float = RUN_TIMEOUT, **kwargs) -> dict:
    """Poll GET /api/runs/{id} until the run is done or failed; return its last status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/runs/{run_id}", **kwargs).json()
        if status["state"] in ("done", "failed"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still {status['state']} after {timeout} s")


def csrf_of(client) -> str:
    """Return the CSRF token the app gave this client (a page view sets it)."""
    if "segmint_csrf" not in client.cookies:
        client.get("/")
    return client.cookies["segmint_csrf"]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`segmint serve` in a subprocess on a free localhost port, until stop()."""

    def __init__(self, data_dir, *options: str, timeout: float = 30) -> None:
        import subprocess
        import sys
        import urllib.request

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(f"{data_dir}.log", "w")  # noqa: SIM115 - closed in stop()
        command = [sys.executable, "-m", "segmint.cli", "serve", "--port", str(self.port),
                   "--data-dir", str(data_dir), *options]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/static/segmint.css", timeout=2):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(
                        f"segmint serve did not start: see {self.log.name}"
                    ) from None
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except Exception:  # noqa: BLE001 - a server that will not stop is killed
            self.process.kill()
            self.process.wait()
        self.log.close()


def tree_rss_bytes(pid: int) -> int:
    """Return the resident memory of pid and all its descendants, from /proc."""
    from pathlib import Path

    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) * 1024 for line in status.splitlines()
                          if line.startswith("VmRSS:"))  # fmt: skip
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration):
            continue  # it ended meanwhile
    return total
