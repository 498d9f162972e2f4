"""One run from input files to an output folder: what the CLI, the API and the web pages call.

The command line, `segmint serve`'s worker processes and its pages all go through
`run_to_folder`, and all turn a user's error into the same one line with `error_line`, so a
run that fails in the browser says exactly what `segmint run` would have said (naming the
uploads by the user's names for them, not by the names the server stored them under).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segmint.result import SegmentationResult

WRITING = "Writing outputs and the report"


def run_to_folder(
    inputs: Sequence[Any],
    out: str | Path,
    progress: Callable[[str], None] | None = None,
    input_names: Sequence[str] | None = None,
    **settings: Any,
) -> SegmentationResult:
    """Return the segmentation of inputs after writing all its outputs into out, atomically.

    Settings are `Settings.create`'s; progress receives each stage's name, then WRITING.
    input_names: what the outputs call the inputs (`segment`'s; display text only).
    A failure (a SegmintError for anything the user can fix) leaves out as it was.
    """
    # the run's libraries: not for the CLI's error path, which imports error_line
    from segmint.pipeline import segment
    from segmint.preload import preload

    preload()  # scikit-learn and matplotlib load while DuckDB reads the data
    result = segment(list(inputs), progress=progress, input_names=input_names, **settings)
    if progress:
        progress(WRITING)
    result.write(out)
    return result


def error_line(message: str) -> str:
    """Return the one line `error: …` a user sees for an error message (whitespace collapsed)."""
    return f"error: {' '.join(str(message).split())}"
