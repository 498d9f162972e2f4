"""Fit K-means for each candidate k, score each fit, and choose k
(docs/reference/model.md#choosing-k)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from segmint.errors import UsageError
from segmint.model.clusterboot import MIN_STABILITY, RESAMPLES, SegmentStability
from segmint.model.kmeans import squared_distances

MAXIMISED = ("silhouette", "calinski_harabasz")
# How people write each metric's name (the report and every message use these).
METRIC_LABELS = {
    "stable": "Davies-Bouldin among the k whose segments are all stable",
    "davies_bouldin": "Davies-Bouldin",
    "silhouette": "silhouette",
    "calinski_harabasz": "Calinski-Harabasz",
}


# Why a score can be undefined for a k (its value is then null, shown as "—" with this).
UNDEFINED = {
    "davies_bouldin": "needs at least 2 segments holding customers",
    "silhouette": "needs from 2 to n − 1 segments holding customers",
    "calinski_harabasz": "needs at least 2 segments holding customers",
    "stability": "needs a resample holding k distinct customers",
}


@dataclass(frozen=True)
class KScore:
    """The quality of one k's fit, computed over all customers with that k's labels; its
    segments' stability from the cluster-wise bootstrap (model/clusterboot.py)."""

    k: int
    davies_bouldin: float | None
    silhouette: float | None
    calinski_harabasz: float | None
    inertia: float
    smallest_share: float
    eligible: bool
    segment_stability: SegmentStability | None = None

    @property
    def stability(self) -> float | None:
        """The mean of the segments' mean Jaccard similarities (None: not measured)."""
        return None if self.segment_stability is None else self.segment_stability.overall

    def all_stable(self, min_stability: float) -> bool:
        """Whether every segment reaches min_stability."""
        return self.segment_stability is not None and self.segment_stability.all_stable(
            min_stability
        )

    def as_dict(self) -> dict:
        """The scores, each segment's stability, and under "undefined" the reason of each
        score that has no value."""
        scores = {
            "k": self.k,
            "davies_bouldin": self.davies_bouldin,
            "silhouette": self.silhouette,
            "calinski_harabasz": self.calinski_harabasz,
            "inertia": self.inertia,
            "smallest_share": self.smallest_share,
            "eligible": self.eligible,
            "stability": self.stability,
            "least_stable": None
            if self.segment_stability is None
            else self.segment_stability.least,
            "segment_stability": None
            if self.segment_stability is None
            else self.segment_stability.segments(),
        }
        undefined = {name: why for name, why in UNDEFINED.items() if scores[name] is None}
        return {**scores, "undefined": undefined}


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
    computed once, block by block, and shared by every labelling; a block's distances are
    summed per segment with numpy's (pairwise) sum over each segment's columns, not a
    matrix product with an indicator matrix: BLAS's product changes its last bits with its
    thread count, which another run in the same process may have set
    (tests/test_concurrency.py).
    """
    n = len(X)
    encoded = [np.unique(labels, return_inverse=True)[1].reshape(-1) for labels in labelings]
    counts = [np.bincount(codes) for codes in encoded]
    usable = [2 <= len(c) <= n - 1 for c in counts]
    members = [
        [np.flatnonzero(codes == j) for j in range(len(c))] if ok else None
        for codes, c, ok in zip(encoded, counts, usable, strict=True)
    ]
    totals = [0.0] * len(labelings)
    for start in range(0, n, SILHOUETTE_BLOCK):
        block = slice(start, start + SILHOUETTE_BLOCK)
        distances = np.sqrt(squared_distances(X, X[block])).T  # block × n
        for i, columns in enumerate(members):
            if columns is None:
                continue
            sums = np.stack([distances[:, c].sum(axis=1) for c in columns], axis=1)
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


def choose_k(
    scores: list[KScore], metric: str, min_stability: float = MIN_STABILITY
) -> tuple[int, list[str]]:
    """Return the chosen k and any warnings: the best metric among eligible k, ties to the
    smaller k. `stable`: the best Davies-Bouldin among the eligible k whose every segment
    reaches min_stability; when none does, among the most stable eligible k (the largest
    least-stable segment)."""
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
        pool, note = _stable_pool(pool, min_stability)
        warnings += note
        metric = "davies_bouldin"
    sign = -1.0 if metric in MAXIMISED else 1.0
    rated = [(sign * getattr(s, metric), s.k) for s in pool if getattr(s, metric) is not None]
    chosen = min(rated)[1] if rated else min(s.k for s in pool)
    return chosen, warnings + _edge_warnings(scores, chosen, metric)


def _stable_pool(pool: list[KScore], min_stability: float) -> tuple[list[KScore], list[str]]:
    """Return the k of the pool whose segments are all stable (else the most stable) and a
    warning when none is."""
    stable = [s for s in pool if s.all_stable(min_stability)]
    if stable:
        return stable, []
    measured = [
        s for s in pool if s.segment_stability is not None and s.segment_stability.least is not None
    ]
    if not measured:
        return pool, [
            "the segments' stability could not be measured for any k (too few distinct "
            "customers in the resamples); k was chosen by Davies-Bouldin alone"
        ]
    best = max(s.segment_stability.least for s in measured)  # type: ignore[union-attr]
    ks = [s for s in measured if s.segment_stability.least == best]  # type: ignore[union-attr]
    return ks, [
        f"no k has every segment stable (mean bootstrap Jaccard similarity of at least "
        f"{min_stability:g}, --min-stability); k was chosen among the most stable, whose least "
        f"stable segment scores {best:.2f}"
    ]


def fragile_warning(score: KScore, min_stability: float, metric: str, fixed: bool) -> list[str]:
    """Warn when segments of the delivered k fall below min_stability (the chosen k's score
    row describes the delivered segments)."""
    found = score.segment_stability
    if found is None:
        return []
    fragile = [j for j in found.jaccard if j is None or j < min_stability]
    if not fragile:
        return []
    n, k = len(fragile), score.k
    hint = ""
    if not fixed and metric != "stable":
        hint = "; --select stable chooses k among those whose segments are all stable"
    return [
        f"{n} of the {k} segments {'is' if n == 1 else 'are'} fragile (mean bootstrap Jaccard "
        f"similarity below {min_stability:g} over {RESAMPLES} resamples): they may be drawn "
        f"differently by the next refresh; treat them as provisional{hint}"
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
