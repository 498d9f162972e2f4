"""Concurrent runs of the Python API: each keeps its own data (issue 26, item 4).

Several threads calling `segmint.segment()` at once must get what they get one at a time:
no module global may carry one run's work to another. (The model stage's one-thread limit
is per thread for OpenMP, which scikit-learn's K-means uses, so each run holds its own.)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import SHARED_DATA
from segmint import segment
from segmint.helper import shared, sharing

DATA = SHARED_DATA
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


@pytest.mark.shared_data
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


# BLAS's thread count is one setting for the whole process, which another run, the caller
# or OpenBLAS's own rules (it ignores a change asked from another thread once the main
# thread has set it) decide: no figure may depend on it. A matrix product or a long dot
# product splits its sums between BLAS's threads, so these run both ways and compare bits.


def _both_ways(compute):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        one = compute()
    with threadpool_limits(limits=2, user_api="blas"):
        two = compute()
    return one, two


def test_silhouettes_are_the_same_bits_on_one_or_two_blas_threads() -> None:
    from segmint.model.selection import silhouettes

    rng = np.random.default_rng(3)
    X = rng.normal(size=(5000, 3))
    labelings = [rng.integers(0, k, len(X)) for k in (3, 4, 7)]
    one, two = _both_ways(lambda: silhouettes(X, labelings))
    assert one == two


def test_lifetime_value_fits_are_the_same_bits_on_one_or_two_blas_threads() -> None:
    # Over 10,000 distinct (x, t_x, T) rows, where OpenBLAS splits a dot product.
    from segmint.clv import orders
    from segmint.clv.gamma_gamma import fit_gamma_gamma

    rng = np.random.default_rng(5)
    n = 60_000
    x = rng.poisson(rng.gamma(0.5, 4.0, n)).astype(float)
    T = rng.integers(30, 731, n) / 7.0
    t_x = np.where(x > 0, np.floor(rng.random(n) * T * 7) / 7, 0.0)
    m_x = np.where(x > 0, rng.gamma(6.0, 5.0, n), np.nan)

    def fits():
        bg = orders.fit("bg-nbd", x, t_x, T)
        pareto = orders.fit("pareto-nbd", x, t_x, T)
        value = fit_gamma_gamma(x, m_x)
        return (bg.values, pareto.values, (value.p, value.q, value.gamma))

    one, two = _both_ways(fits)
    assert one == two
