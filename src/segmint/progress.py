"""Progress on stderr: a spinner on a terminal, plain lines otherwise, nothing with --quiet."""

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

        console = Console(stderr=True)
        with console.status("Starting") as status:

            def update(stage: str) -> None:
                console.log(stage)
                if stage.startswith("Writing"):
                    # The last step. The spinner's thread stops, so that the report's
                    # chart helper can be forked (report.png.drawing).
                    status.stop()
                else:
                    status.update(f"{stage}…")

            yield update
        return
    start = time.perf_counter()

    def line(stage: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f}s] {stage}", file=sys.stderr, flush=True)

    yield line
