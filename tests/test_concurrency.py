"""Concurrent runs of the Python API: each keeps its own data (issue 26, item 4).

Several threads calling `segmint.segment()` at once must get what they get one at a time:
no module global may carry one run's work to another. (The model stage's one-thread limit
is per thread for OpenMP, which scikit-learn's K-means uses, so each run holds its own.)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from helpers import SHARED_DATA
from segmint import segment
from segmint.helper import shared, sharing

DATA = SHARED_DATA
pytestmark = pytest.mark.shared_data
CASES = [
    (DATA / "online_retail_sample.csv", {}),
    (DATA / "cdnow_sample.csv", {}),
    (DATA / "online_retail_sample.csv", {"k": 4}),
    (DATA / "cdnow_sample.csv", {"select": "davies_bouldin", "clv": True}),
]


def _outcome(source: Path, settings: dict) -> tuple[dict, pd.DataFrame]:
    result = segment(source, k_min=3, k_max=6, n_init=3, **settings)
    summary = {key: value for key, value in result.summary.items()
               if key not in ("timings", "generated_at")}  # fmt: skip
    return summary, result.customers


def test_four_threads_get_what_four_serial_runs_get() -> None:
    serial = [_outcome(source, settings) for source, settings in CASES]
    with ThreadPoolExecutor(len(CASES)) as pool:
        threaded = list(pool.map(lambda case: _outcome(*case), CASES))
    for (summary, customers), (expected, table) in zip(threaded, serial, strict=True):
        assert summary == expected
        pd.testing.assert_frame_equal(customers, table)


def test_shared_values_are_kept_apart_by_token_and_dropped_after() -> None:
    with sharing({"run": 1}) as first, sharing({"run": 2}) as second:
        assert first != second
        assert shared(first) == {"run": 1} and shared(second) == {"run": 2}
    with pytest.raises(KeyError):
        shared(first)  # gone with its block
