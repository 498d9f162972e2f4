"""Progress on stderr: a status line on a terminal, plain lines otherwise, nothing with --quiet."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def reporter(quiet: bool) -> Iterator[Callable[[str], None]]:
    """Yield a function that announces each stage of a run."""
    if quiet:
        yield lambda stage: None
        return
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        console = Console(stderr=True)
        started = time.perf_counter()
        # Redrawn at each step rather than by rich's timer thread: a run forks helper
        # processes (segmint.helper), which it does only while it has no other thread.
        with Live(Text("Starting…"), console=console, auto_refresh=False, transient=True) as live:

            def update(stage: str) -> None:
                console.log(stage)
                elapsed = time.perf_counter() - started
                live.update(Text(f"{stage}… ({elapsed:.0f} s)", style="bold"), refresh=True)

            yield update
        return
    start = time.perf_counter()

    def line(stage: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f}s] {stage}", file=sys.stderr, flush=True)

    yield line
