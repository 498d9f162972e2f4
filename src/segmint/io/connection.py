"""The run's DuckDB connection, and the one place where DuckDB's errors about the data
become the user's errors (one line, exit 2): around the stages that read the inputs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from segmint.errors import InputError, UsageError
from segmint.io.sources import read_error
from segmint.settings import Settings


def connect(config: Settings, workdir: Path) -> duckdb.DuckDBPyConnection:
    """Return an in-memory DuckDB that spills to workdir, with the run's memory and threads."""
    options: dict[str, Any] = {"temp_directory": str(workdir / "spill")}
    if config.memory_limit:
        options["memory_limit"] = config.memory_limit
    if config.threads:
        options["threads"] = config.threads
    try:
        con = duckdb.connect(config=options)
    except duckdb.Error as exc:
        detail = str(exc).strip().splitlines()[0]
        raise UsageError(f"--memory-limit/--threads: {detail}") from None
    # DuckDB measures a running query's progress only with its progress bar on; it draws
    # nothing here, and progress.watching reports the figure.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    return con


# DuckDB's errors about the data itself (a malformed CSV line past the sniffed sample, a
# damaged compressed file); other DuckDB errors are bugs and keep their traceback.
_DATA_ERRORS = (duckdb.InvalidInputException, duckdb.IOException, duckdb.ConversionException)


@contextmanager
def input_errors(inputs: list[Any]) -> Iterator[None]:
    """Turn DuckDB's errors about the data met inside the block into an InputError naming
    the inputs (its `file` field too). Used only around what reads the inputs: after that,
    the data is in memory, and a DuckDB error is a bug with its traceback."""
    try:
        yield
    except _DATA_ERRORS as exc:
        names = ", ".join(
            str(i) if isinstance(i, (str, Path)) else type(i).__name__ for i in inputs
        )
        raise InputError(f"{names}: cannot be read ({read_error(exc)})", file=names) from None
