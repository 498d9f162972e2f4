"""Helpers of the web app's tests (on sys.path through pytest's `pythonpath`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

RUN_TIMEOUT = 120
POLL_S = 0.1


def wait_until(check: Callable[[], T], timeout: float, waiting_for: Callable[[], str]) -> T:
    """Return check()'s first true answer, asking every POLL_S s; past timeout s, raise
    AssertionError saying what was awaited. It waits for a condition (a status, a port, a
    process's end), never for a guess at how long something takes."""
    deadline = time.monotonic() + timeout
    while not (answer := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{waiting_for()} after {timeout} s")
        time.sleep(POLL_S)
    return answer


def wait_for(client, run_id: str, timeout: float = RUN_TIMEOUT, **kwargs) -> dict:
    """Poll GET /api/runs/{id} until the run is done or failed; return its last status."""
    last: dict = {}

    def finished() -> dict | None:
        last.clear()
        last.update(client.get(f"/api/runs/{run_id}", **kwargs).json())
        return dict(last) if last["state"] in ("done", "failed") else None

    return wait_until(finished, timeout, lambda: f"run {run_id} still {last.get('state')}")


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

        def answers() -> bool:  # ready when it serves a file; no use waiting once it exited
            if self.process.poll() is not None:
                raise AssertionError(f"segmint serve exited: see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/static/segmint.css", timeout=2):
                    return True
            except OSError:
                return False

        try:
            wait_until(answers, timeout, lambda: f"segmint serve not answering ({self.log.name})")
        except AssertionError:
            self.stop()
            raise

    def wait_runs_exited(self, timeout: float = 60) -> None:
        """Wait until no run's process is alive. A run reports done just before its worker
        process exits, and a process that is still exiting holds its memory."""
        pid = self.process.pid
        wait_until(lambda: not run_processes(pid), timeout,
                   lambda: f"run processes {run_processes(pid)} still alive")  # fmt: skip

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except Exception:  # noqa: BLE001 - a server that will not stop is killed
            self.process.kill()
            self.process.wait()
        self.log.close()


def _children(pid: int) -> list[int]:
    """Return pid's living child processes (from /proc; none if it ended)."""
    from pathlib import Path

    children = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        return []
    return [c for c in children if _alive(c)]


def _alive(pid: int) -> bool:
    """Return whether pid runs (an exited process not yet reaped, a zombie, does not)."""
    from pathlib import Path

    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    states = [line.split()[1] for line in status.splitlines() if line.startswith("State:")]
    return states != ["Z"]


def run_processes(server_pid: int) -> list[int]:
    """Return the living processes of the server's runs: those below its own children.

    The server's children last as long as it does (the pool's fork server, multiprocessing's
    resource tracker); each run is a child of the fork server, and may have a helper of its own.
    """
    found, pending = [], [c for child in _children(server_pid) for c in _children(child)]
    while pending:
        current = pending.pop()
        found.append(current)
        pending += _children(current)
    return found


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
