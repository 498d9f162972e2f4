"""Fit K-means for each candidate k, score each fit, and choose k (CONTRACT §4)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np

from segmint.errors import UsageError
from segmint.model.stability import STABLE

MAXIMISED = ("silhouette", "calinski_harabasz")
# How people write each metric's name (the report and every message use these).
METRIC_LABELS = {
    "stable": "Davies-Bouldin among stable k",
    "davies_bouldin": "Davies-Bouldin",
    "silhouette": "silhouette",
    "calinski_harabasz": "Calinski-Harabasz",
}


# Why a score can be undefined for a k (its value is then null, shown as "—" with this).
UNDEFINED = {
    "davies_bouldin": "needs at least 2 segments holding customers",
    "silhouette": "needs from 2 to n − 1 segments holding customers",
    "calinski_harabasz": "needs at least 2 segments holding customers",
    "stability": "needs at least 2 resamples holding k distinct customers",
}


@dataclass(frozen=True)
class KScore:
    """The quality of one k's fit, computed over all customers with that k's labels."""

    k: int
    davies_bouldin: float | None
    silhouette: float | None
    calinski_harabasz: float | None
    inertia: float
    smallest_share: float
    eligible: bool
    stability: float | None = None

    def as_dict(self) -> dict:
        """The scores, and under "undefined" the reason of each score that has no value."""
        scores = asdict(self)
        undefined = {name: why for name, why in UNDEFINED.items() if scores[name] is None}
        return {**scores, "undefined": undefined}


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
    """Return the number of distinct rows of X (floats, no NaN), as np.unique(X, axis=0) would.

    Each row is compared as one block of bytes (3.5× faster than np.unique's axis=0); + 0.0
    turns -0.0 into 0.0, the only two equal floats with different bytes.
    """
    rows = np.ascontiguousarray(X, dtype=np.float64) + 0.0
    return len(np.unique(rows.view(np.dtype((np.void, 8 * rows.shape[1])))))


def candidate_ks(k: int | None, k_min: int, k_max: int, n_distinct: int) -> list[int]:
    """Return the k values to try; raise UsageError when the data has too few distinct customers."""
    if k is not None:
        if k >= n_distinct:
            raise UsageError(
                f"--k {k}: the data has only {n_distinct} distinct customer point(s); "
                f"k must be below that"
            )
        return [k]
    top = min(k_max, n_distinct - 1)
    if top < k_min:
        at_most = max(n_distinct - 1, 0)
        segments = "segment" if at_most == 1 else "segments"
        remedy = "lower --k-min or add data" if at_most >= 2 else "too few to segment; add data"
        raise UsageError(
            f"--k-min {k_min}..--k-max {k_max}: the data has only {n_distinct} distinct "
            f"customer point(s), so at most {at_most} {segments}; {remedy}"
        )
    return list(range(k_min, top + 1))


def fit_kmeans(
    X: np.ndarray, k: int, n_init: int, seed: int, init: np.ndarray | None = None
) -> np.ndarray:
    """Return the centres of a seeded K-means fit with k clusters (from `init` when given)."""
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
        return model.fit(X).cluster_centers_


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
    """
    from threadpoolctl import threadpool_limits

    from segmint import preload

    preload.finish()
    import sklearn.cluster  # noqa: F401  (loads the OpenMP runtime to be limited)

    with threadpool_limits(limits=1):
        yield


def eligible_share(min_segment_share: float, min_segment_size: int, customers: int) -> float:
    """Return the smallest share of customers every segment of an eligible k must hold: at
    least --min-segment-share, and at least --min-segment-size customers of `customers`."""
    return max(min_segment_share, min_segment_size / customers if customers else 0.0)


def score_labels(
    X: np.ndarray, labels: np.ndarray, centers: np.ndarray, min_share: float
) -> KScore:
    """Return the scores of one labelling over all rows; the silhouette is left to silhouettes().
    min_share: the eligible_share a k's smallest segment must reach."""
    k = len(centers)
    sizes = np.bincount(labels, minlength=k)
    smallest_share = float(sizes.min() / len(labels))
    inertia = float(_squared_distance_to(X, centers, labels).sum())
    if (sizes > 0).sum() < 2:
        return KScore(k, None, None, None, inertia, smallest_share, False)
    db, ch = davies_bouldin_and_calinski_harabasz(X, labels)
    eligible = smallest_share >= min_share and (sizes > 0).all()
    return KScore(k, db, None, _finite(ch), inertia, smallest_share, bool(eligible))


def silhouette_rows(n: int, sample_size: int, seed: int) -> np.ndarray:
    """Return the rows the silhouette is measured on: all, or scikit-learn's seeded sample.

    The same rows as ``silhouette_score(X, labels, sample_size=sample_size, random_state=seed)``.
    """
    if n <= sample_size:
        return np.arange(n)
    return np.random.RandomState(seed).permutation(n)[:sample_size]


# Sample rows per block of the silhouette's distance matrix (block × sample floats): 128
# keeps a block's arrays near the cache (5,000 rows × 10 labellings: 0.48 s → 0.33 s).
SILHOUETTE_BLOCK = 128


def silhouettes(X: np.ndarray, labelings: list[np.ndarray]) -> list[float | None]:
    """Return the mean silhouette coefficient of each labelling of the rows of X.

    scikit-learn's definition (silhouette_score): a point alone in its segment scores 0;
    None where a labelling has fewer than 2 or more than n - 1 segments. The distances are
    computed once, block by block, and shared by every labelling; per-segment sums of a
    block's distances are one matrix product with the labelling's indicator matrix.
    """
    n = len(X)
    encoded = [np.unique(labels, return_inverse=True)[1].reshape(-1) for labels in labelings]
    counts = [np.bincount(codes) for codes in encoded]
    usable = [2 <= len(c) <= n - 1 for c in counts]
    indicators = [
        np.eye(len(c))[codes] if ok else None
        for codes, c, ok in zip(encoded, counts, usable, strict=True)
    ]
    totals = [0.0] * len(labelings)
    for start in range(0, n, SILHOUETTE_BLOCK):
        block = slice(start, start + SILHOUETTE_BLOCK)
        distances = np.sqrt(squared_distances(X, X[block])).T  # block × n
        for i, indicator in enumerate(indicators):
            if indicator is None:
                continue
            sums = distances @ indicator  # block × segments
            own = encoded[i][block]
            sizes = counts[i]
            rows = np.arange(len(own))
            with np.errstate(divide="ignore", invalid="ignore"):
                intra = sums[rows, own] / (sizes[own] - 1)
                means = sums / sizes
            means[rows, own] = np.inf
            inter = means.min(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                values = (inter - intra) / np.maximum(intra, inter)
            values[sizes[own] == 1] = 0.0
            totals[i] += float(np.nan_to_num(values).sum())
    return [total / n if ok else None for total, ok in zip(totals, usable, strict=True)]


def davies_bouldin_and_calinski_harabasz(X: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Return the Davies-Bouldin and Calinski-Harabasz indices of a labelling, in O(n·d).

    The definitions of scikit-learn's davies_bouldin_score and calinski_harabasz_score,
    computed from per-segment sums (no sort of the labels), over the segments that hold
    customers.
    """
    present = np.flatnonzero(np.bincount(labels))
    index = np.full(labels.max() + 1, -1)
    index[present] = np.arange(len(present))
    compact = index[labels]
    k, n = len(present), len(X)
    sizes = np.bincount(compact, minlength=k).astype(np.float64)
    centroids = (
        np.column_stack(
            [np.bincount(compact, weights=X[:, j], minlength=k) for j in range(X.shape[1])]
        )
        / sizes[:, None]
    )
    within_sq = _squared_distance_to(X, centroids, compact)
    # Davies-Bouldin: mean over segments of the worst (s_i + s_j) / d(c_i, c_j).
    spread = np.bincount(compact, weights=np.sqrt(within_sq), minlength=k) / sizes
    gaps = np.sqrt(squared_distances(centroids, centroids))
    if np.allclose(spread, 0) or np.allclose(gaps, 0):
        db = 0.0
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (spread[:, None] + spread[None, :]) / gaps
        ratio[np.isinf(ratio) | np.isnan(ratio)] = 0.0
        np.fill_diagonal(ratio, 0.0)  # (scikit-learn: inf on the diagonal, then set to 0)
        db = float(ratio.max(axis=1).mean())
    # Calinski-Harabasz: between-segment over within-segment dispersion, per degree of freedom.
    mean = X.mean(axis=0)
    between = float((sizes * ((centroids - mean) ** 2).sum(axis=1)).sum())
    within = float(within_sq.sum())
    ch = 1.0 if within == 0 else between * (n - k) / (within * (k - 1))
    return db, ch


def _squared_distance_to(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return each row's squared distance to its own centre, summed feature by feature."""
    total = np.zeros(len(X))
    for j in range(X.shape[1]):
        diff = X[:, j] - centers[labels, j]
        total += diff * diff
    return total


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def choose_k(scores: list[KScore], metric: str) -> tuple[int, list[str]]:
    """Return the chosen k and any warnings: best metric among eligible k, ties to the smaller k."""
    warnings: list[str] = []
    pool = [s for s in scores if s.eligible]
    if not pool:
        # The k closest to eligible: those whose smallest segment is the largest.
        largest = max(s.smallest_share for s in scores)
        pool = [s for s in scores if s.smallest_share == largest]
        if len(scores) > 1:
            warnings.append(
                "no k gives every segment the minimum share and number of customers "
                "(--min-segment-share, --min-segment-size); k was chosen among those whose "
                "smallest segment is the largest"
            )
    if metric == "stable":
        # The best Davies-Bouldin among the k whose segments are reproducible.
        stable = [s for s in pool if s.stability is not None and s.stability >= STABLE]
        if stable:
            pool = stable
        else:
            warnings.append(
                f"no k reaches a stability of {STABLE}; k was chosen by Davies-Bouldin alone"
            )
        metric = "davies_bouldin"
    sign = -1.0 if metric in MAXIMISED else 1.0
    rated = [(sign * getattr(s, metric), s.k) for s in pool if getattr(s, metric) is not None]
    chosen = min(rated)[1] if rated else min(s.k for s in pool)
    return chosen, warnings + _edge_warnings(scores, chosen, metric) + _stability_warning(
        scores, chosen
    )


def _stability_warning(scores: list[KScore], chosen: int) -> list[str]:
    value = next((s.stability for s in scores if s.k == chosen), None)
    if value is None or value >= STABLE:
        return []
    return [
        f"the chosen k = {chosen} has a stability of {value:.2f} (below {STABLE}): fits on "
        "resampled customers often draw the segments differently; read them with care "
        "(--select stable picks among the stable k)"
    ]


def _edge_warnings(scores: list[KScore], chosen: int, metric: str) -> list[str]:
    """Warn when the chosen k sits at an end of a range of several k: the best may lie beyond it."""
    ks = [s.k for s in scores]
    if len(ks) < 2:
        return []
    label = METRIC_LABELS.get(metric, metric)
    if chosen == max(ks):
        return [
            f"the chosen k = {chosen} is the top of the range {min(ks)}–{max(ks)}: "
            f"{label} might improve further with more segments (try --k-max {max(ks) + 5}, "
            "or fix --k)"
        ]
    if chosen == min(ks) and chosen > 2:
        return [
            f"the chosen k = {chosen} is the bottom of the range {min(ks)}–{max(ks)}: "
            f"{label} might prefer fewer segments (try --k-min {chosen - 1})"
        ]
    return []
