"""Fit K-means for each candidate k, score each fit, and choose k (CONTRACT §4)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from segmint.errors import UsageError

MAXIMISED = ("silhouette", "calinski_harabasz")
# How people write each metric's name (the report and every message use these).
METRIC_LABELS = {
    "davies_bouldin": "Davies-Bouldin",
    "silhouette": "silhouette",
    "calinski_harabasz": "Calinski-Harabasz",
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

    def as_dict(self) -> dict:
        return asdict(self)


def nearest_centre(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Return, for each row of X, the index of its nearest centre (ties: lowest index)."""
    # One column per centre keeps memory at n × k, and the exact difference avoids the
    # cancellation of the |x|² − 2x·c + |c|² shortcut near ties.
    distances = np.column_stack([((X - c) ** 2).sum(axis=1) for c in centers])
    return distances.argmin(axis=1)


def count_distinct(X: np.ndarray) -> int:
    """Return the number of distinct points (rows) of X."""
    return len(np.unique(X, axis=0))


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
        raise UsageError(
            f"--k-min {k_min}..--k-max {k_max}: the data has only {n_distinct} distinct "
            f"customer point(s), so at most {max(n_distinct - 1, 0)} segments; "
            "lower --k-min or add data"
        )
    return list(range(k_min, top + 1))


def fit_kmeans(X: np.ndarray, k: int, n_init: int, seed: int) -> np.ndarray:
    """Return the centres of a seeded K-means fit with k clusters."""
    from sklearn.cluster import KMeans  # imported here: the CLI answers bad input without it

    model = KMeans(n_clusters=k, n_init=n_init, random_state=seed, algorithm="lloyd")
    return model.fit(X).cluster_centers_


def score_labels(
    X: np.ndarray,
    labels: np.ndarray,
    centers: np.ndarray,
    min_segment_share: float,
    silhouette_sample_size: int,
    seed: int,
) -> KScore:
    """Return the scores of one labelling (silhouette over a seeded sample when X is larger)."""
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    k = len(centers)
    sizes = np.bincount(labels, minlength=k)
    smallest_share = float(sizes.min() / len(labels))
    inertia = float(((X - centers[labels]) ** 2).sum())
    if len(np.unique(labels)) < 2:
        return KScore(k, None, None, None, inertia, smallest_share, False)
    db = float(davies_bouldin_score(X, labels))
    ch = float(calinski_harabasz_score(X, labels))
    sample = silhouette_sample_size if len(X) > silhouette_sample_size else None
    try:
        sil = float(silhouette_score(X, labels, sample_size=sample, random_state=seed))
    except ValueError:  # the sample held a single segment
        sil = None
    eligible = smallest_share >= min_segment_share and (sizes > 0).all()
    return KScore(k, db, sil, _finite(ch), inertia, smallest_share, bool(eligible))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def choose_k(scores: list[KScore], metric: str) -> tuple[int, list[str]]:
    """Return the chosen k and any warnings: best metric among eligible k, ties to the smaller k."""
    warnings: list[str] = []
    pool = [s for s in scores if s.eligible]
    if not pool:
        pool = scores
        if len(scores) > 1:
            warnings.append(
                "no k gives every segment the minimum share of customers; "
                "k was chosen among all candidates"
            )
    sign = -1.0 if metric in MAXIMISED else 1.0
    rated = [(sign * getattr(s, metric), s.k) for s in pool if getattr(s, metric) is not None]
    chosen = min(rated)[1] if rated else min(s.k for s in pool)
    return chosen, warnings + _edge_warnings(scores, chosen, metric)


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
