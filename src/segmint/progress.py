"""Progress on stderr: a status line on a terminal, plain lines otherwise, nothing with --quiet.

A run announces each stage ("Cleaning order lines") and, within a stage, steps after a colon
("Cleaning order lines: 43%, about 25 s left"). On a terminal a new stage is logged and its
steps only update the status line; in plain output (a log file, CI) a stage's steps are
printed at most every PLAIN_STEP_SECONDS.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

PLAIN_STEP_SECONDS = 10.0


@contextmanager
def reporter(quiet: bool) -> Iterator[Callable[[str], None]]:
    """Yield a function that announces each stage of a run, and steps within it."""
    if quiet:
        yield lambda stage: None
        return
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        console = Console(stderr=True)
        started = time.perf_counter()
        current = [""]
        # Redrawn at each step rather than by rich's timer thread: a run forks helper
        # processes (segmint.helper), which it does only while it has no other thread.
        with Live(Text("Starting…"), console=console, auto_refresh=False, transient=True) as live:

            def update(stage: str) -> None:
                top = stage_of(stage)
                if top != current[0]:
                    console.log(top)
                    current[0] = top
                elapsed = time.perf_counter() - started
                live.update(Text(f"{stage}… ({elapsed:.0f} s)", style="bold"), refresh=True)

            yield update
        return
    start = time.perf_counter()
    last = {"stage": "", "at": 0.0}

    def line(stage: str) -> None:
        now = time.perf_counter()
        top = stage_of(stage)
        if top == last["stage"] and now - last["at"] < PLAIN_STEP_SECONDS:
            return
        last.update(stage=top, at=now)
        print(f"[{now - start:6.1f}s] {stage}", file=sys.stderr, flush=True)

    yield line


def stage_of(text: str) -> str:
    """Return the stage of a progress text: what comes before 'stage: step'."""
    return text.split(": ", 1)[0]


@contextmanager
def watching(
    con: Any, report: Callable[[str], None] | None, every: float = 2.0, after: float = 3.0
) -> Iterator[None]:
    """While the block runs DuckDB queries on con, report how far the running one is and the
    time it has left ("43%, about 25 s left"), every `every` seconds once it has run `after`.

    DuckDB measures a running query's progress when its progress bar is on (the run's
    connection turns it on, without printing). A thread reads it and ends with the block, so
    that a helper process forked later (segmint.helper) finds no other thread.
    """
    if report is None:
        yield
        return
    stop = threading.Event()
    poll = 0.25

    def watch() -> None:
        first: tuple[float, float] | None = None  # (time, percent) when the query was first seen
        last_percent, last_report = -1.0, 0.0
        while not stop.wait(poll):
            try:
                percent = float(con.query_progress())
            except Exception:  # the connection is busy closing, or has none to tell
                percent = -1.0
            now = time.perf_counter()
            if not 0 <= percent <= 100:
                first, last_percent = None, -1.0
                continue
            if first is None or percent < last_percent:  # a new query
                first = (now, percent)
            last_percent = percent
            ran = now - first[0]
            # At 100% the query is only finishing; a percent is shown rounded down, so that a
            # query at 99.7% does not read as done.
            if ran >= after and now - last_report >= every and first[1] < percent < 100:
                rate = (percent - first[1]) / ran
                report(f"{int(percent)}%, {time_left((100 - percent) / rate)} left")
                last_report = now

    thread = threading.Thread(target=watch, name="segmint-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def time_left(seconds: float) -> str:
    """Return a rounded duration in words: 'a few seconds', 'about 25 s', 'about 3 min'."""
    if seconds < 10:
        return "a few seconds"
    if seconds < 90:
        return f"about {5 * round(seconds / 5)} s"
    return f"about {round(seconds / 60)} min"
