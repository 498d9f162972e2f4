"""K-means and its building blocks: seeded fits, nearest centres, exact squared distances,
distinct points, and the one-thread limit every fit runs under."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from segmint import preload

# Rows per block when measuring distances to centres: a block's few arrays of block × k
# floats stay in the processor's cache (1 << 15 rows: 0.084 s → 0.048 s for 600,000 × 10).
BLOCK_ROWS = 1 << 15


def nearest_centre(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Return, for each row of X, the index of its nearest centre (ties: lowest index)."""
    labels = np.empty(len(X), dtype=np.int64)
    for start in range(0, len(X), BLOCK_ROWS):
        labels[start : start + BLOCK_ROWS] = squared_distances(
            X[start : start + BLOCK_ROWS], centers
        ).argmin(axis=1)
    return labels


def squared_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Return the n × k squared distances, summed feature by feature.

    The exact differences avoid the cancellation of the |x|² − 2x·c + |c|² shortcut near
    ties, and summing in feature order gives the same bits as ((x − c) ** 2).sum().
    """
    distances = np.empty((len(X), len(centers)))
    diff = np.empty_like(distances)
    for j in range(X.shape[1]):
        np.subtract(X[:, j, None], centers[None, :, j], out=diff)
        if j:
            diff *= diff
            distances += diff
        else:
            np.multiply(diff, diff, out=distances)
    return distances


def count_distinct(X: np.ndarray, enough: int | None = None) -> int:
    """Return the number of distinct points (rows) of X.

    With `enough`, a shortcut: when the first 100,000 rows already hold that many distinct
    points, return their count (the caller only needs to know that there are enough).
    """
    head = X[:100_000]
    if enough is not None and len(X) > len(head):
        distinct = distinct_rows(head)
        if distinct >= enough:
            return distinct
    return distinct_rows(X)


def distinct_rows(X: np.ndarray) -> int:
    """Return the number of distinct rows of X (floats, no NaN), as np.unique(X, axis=0) would."""
    return len(np.unique(_row_bytes(X)))


def distinct_points(X: np.ndarray) -> np.ndarray:
    """Return, for each row of X, the index of its distinct point (equal rows, equal index)."""
    return np.unique(_row_bytes(X), return_inverse=True)[1].reshape(-1)


def _row_bytes(X: np.ndarray) -> np.ndarray:
    """Each row of X as one block of bytes (3.5× faster to sort than np.unique's axis=0);
    + 0.0 turns -0.0 into 0.0, the only two equal floats with different bytes."""
    rows = np.ascontiguousarray(X, dtype=np.float64) + 0.0
    return rows.view(np.dtype((np.void, 8 * rows.shape[1]))).reshape(-1)


def fit_kmeans(
    X: np.ndarray,
    k: int,
    n_init: int,
    seed: int,
    init: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Return the centres of a seeded K-means fit with k clusters (from `init` when given;
    each row counted `weights` times when given)."""
    from sklearn.cluster import KMeans  # imported here: the CLI answers bad input without it
    from sklearn.exceptions import ConvergenceWarning

    if init is not None:
        model = KMeans(n_clusters=k, init=init, n_init=1, random_state=seed, algorithm="lloyd")
    else:
        model = KMeans(n_clusters=k, n_init=n_init, random_state=seed, algorithm="lloyd")
    with warnings.catch_warnings():
        # Fewer distinct points than k (a resample of a small log): the fit is scored as it
        # is (a segment left empty makes the k ineligible); scikit-learn's warning would
        # only reach the user's terminal as two lines naming a library file.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, sample_weight=weights).cluster_centers_


@contextmanager
def one_thread() -> Iterator[None]:
    """Run scikit-learn's K-means and metrics on one thread.

    On a few features its OpenMP threads mostly wait on each other (measured on 2 cores:
    50,000 customers × k = 3..10, 2.7 s on one thread, 47 s on two), and a fixed thread
    count gives the same result on every machine. Entered once per fit: each entry costs
    ~0.1 s of library introspection.

    threadpoolctl limits only the libraries already loaded: scikit-learn's OpenMP runtime
    is loaded first (the run's background import finished, or done here). Entered while
    that import was still under way, the limit missed it, and a small log's model stage
    ran on two threads (cdnow: 2.0 s, and up to 27 s with a forked helper fitting too).

    OpenMP's limit holds for the calling thread only, so runs of the Python API in several
    threads each set their own (tests/test_concurrency.py). BLAS's thread count is left
    alone: it is one setting for the whole process (and OpenBLAS ignores a change asked from
    another thread once the main thread has set it), and no figure of a run depends on it
    (silhouettes and the CLV's sums never call BLAS; scikit-learn's K-means limits its own).
    """
    from threadpoolctl import threadpool_limits

    preload.finish()
    import sklearn.cluster  # noqa: F401  (loads the OpenMP runtime to be limited)

    with threadpool_limits(limits=1, user_api="openmp"):
        yield
