"""`segmint run` on generated logs in every input format with random options."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from budget import examples
from helpers import OUTPUTS
from properties import check_command, check_strict_json
from segmint import SegmintError, segment, strict_json
from strategies import (
    INPUT_KINDS,
    VALID_SEEDS,
    csv_dialects,
    logs,
    run_options,
    unique_names,
    write_log,
)


@pytest.mark.slow
@given(log=logs(), kind=INPUT_KINDS, dialect=csv_dialects, data=st.data())
def test_run_never_crashes(log, kind, dialect, data) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        source = write_log(log, root, kind, dialect)
        options = data.draw(run_options(log))
        out = root / "out"
        if data.draw(st.integers(0, 5)) == 0:  # an existing folder holding a file of its own
            out.mkdir()
            (out / "keep.txt").write_text("mine")
        outcome = check_command(["run", source, "--out", str(out), "--quiet", *options], out,
                                OUTPUTS)  # fmt: skip
        event(
            f"exit {outcome.code}"
            + ("" if outcome.code == 0 else ": " + outcome.stderr.strip().splitlines()[-1][:60])
        )
        if outcome.code == 0:
            summary = check_strict_json((out / "summary.json").read_text(), "summary.json")
            assert summary["selection"]["chosen_k"] >= 2


@pytest.mark.slow
@examples(ci=12)
@given(log=logs(plausible=True), kind=INPUT_KINDS, dialect=csv_dialects, data=st.data())
def test_run_on_plausible_logs_writes_complete_outputs(log, kind, dialect, data) -> None:
    # Logs a run should segment, with random valid options: the outputs' side of the property
    # (strict JSON, finite figures, no broken report text) needs runs that finish.
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        source = write_log(log, root, kind, dialect)
        options = data.draw(run_options(log, valid=True))
        out = root / "out"
        outcome = check_command(["run", source, "--out", str(out), "--quiet", *options], out,
                                OUTPUTS)  # fmt: skip
        event(
            f"exit {outcome.code}"
            + ("" if outcome.code == 0 else ": " + outcome.stderr.strip().splitlines()[-1][:60])
        )


@examples(ci=12)
@given(log=logs(), typed=st.booleans(), data=st.data())
def test_the_python_api_on_dataframes_returns_or_raises_a_segmint_error(log, typed, data) -> None:
    # A DataFrame, as the notebook user passes one: text columns, or numbers and dates
    # where pandas can parse them.
    frame = pd.DataFrame(log.rows, columns=unique_names(log.header))
    if typed:
        for column in frame.columns:
            numbers = pd.to_numeric(frame[column], errors="coerce")
            if numbers.notna().all():
                frame[column] = numbers
    options = {"seed": data.draw(VALID_SEEDS), "min_segment_size": data.draw(st.integers(0, 8))}
    try:
        result = segment(frame, **options)
    except SegmintError as exc:
        event("SegmintError")
        assert "\n" not in str(exc)
        return
    event("segmented")
    check_strict_json(strict_json.dumps(result.summary), "summary")
    check_strict_json(strict_json.dumps(result.model_json), "model")
