"""The worker pool: at most `workers` runs at a time, each in a fresh process.

A dispatcher thread per slot starts a child process from a fork server that has already
imported Segmint (a run starts in milliseconds instead of the ~2.5 s those imports take) and
waits for it; the event loop never waits for a run. A fresh process per run returns its
memory when it ends, keeps DuckDB's and matplotlib's state out of the server, and a run that
crashes (or is killed) takes nothing else with it: the dispatcher marks it failed.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from segmint.web.store import FINISHED, Run, RunStore, now


def default_workers() -> int:
    """One run at a time per core."""
    return os.cpu_count() or 1


class RunPool:
    """Runs queued runs, at most `workers` at once."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["segmint.web.job"])
        self._slots = ThreadPoolExecutor(self.workers, thread_name_prefix="segmint-run")
        self._children: set = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, run: Run) -> None:
        """Queue run (its meta.json holds the inputs and the settings)."""
        run.set_status("queued", queued=now())
        self._slots.submit(self._execute, run)

    def _execute(self, run: Run) -> None:
        if self._closed:
            return
        from segmint.web import job  # the whole run's imports: only when a run starts

        child = self._context.Process(target=job.execute, args=(str(run.folder),), daemon=False)
        with self._lock:
            child.start()
            self._children.add(child)
        child.join()
        with self._lock:
            self._children.discard(child)
        if run.state not in FINISHED and not self._closed:
            run.set_status(
                "failed",
                error=f"error: the run stopped unexpectedly (worker exit code {child.exitcode})",
                finished=now(),
            )

    def recover(self, store: RunStore) -> None:
        """After a restart: queue again the runs that were queued, fail those cut short."""
        for run in reversed(store.all()):
            state = run.state
            if state == "queued":
                self.submit(run)
            elif state == "running":
                run.set_status(
                    "failed", error="error: the server stopped during this run; run it again"
                )

    def shutdown(self) -> None:
        """Stop taking runs and end the ones under way."""
        self._closed = True
        self._slots.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            children = list(self._children)
        for child in children:
            child.terminate()
        for child in children:
            child.join(timeout=10)
