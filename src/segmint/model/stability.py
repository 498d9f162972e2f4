"""Stability of a segmentation: do K-means fits on resampled customers agree?

For each k: RESAMPLES bootstrap samples of at most SAMPLE customers (drawn with
replacement, seeded); K-means (one k-means++ start) is fitted on each; every fit labels the
same reference customers (a seeded sample of at most SAMPLE) by nearest centre; the
stability is the mean adjusted Rand index over all pairs of fits. 1 means the same
segments every time; near 0, segments that depend on which customers happened to be there.
"""

from __future__ import annotations

import itertools

import numpy as np

RESAMPLES = 20
SAMPLE = 2000
# Below this, a k's segments are not reproducible enough to act on (the report warns).
STABLE = 0.75


def stability(
    X: np.ndarray, k: int, seed: int, resamples: int = RESAMPLES, size: int = SAMPLE
) -> float:
    """Return the mean pairwise adjusted Rand index of k-means fits on bootstrap samples."""
    from sklearn.metrics import adjusted_rand_score

    from segmint.model.selection import fit_kmeans, nearest_centre

    n = len(X)
    rng = np.random.default_rng([seed, k])
    reference = X[np.sort(rng.choice(n, size, replace=False))] if n > size else X
    labelings = []
    for b in range(resamples):
        drawn = X[rng.choice(n, min(n, size), replace=True)]
        if len(np.unique(drawn, axis=0)) < k:
            continue  # too few distinct customers in this sample for k segments
        centers = fit_kmeans(drawn, k, n_init=1, seed=seed + b)
        labelings.append(nearest_centre(reference, centers))
    if len(labelings) < 2:
        return float("nan")
    pairs = itertools.combinations(labelings, 2)
    return float(np.mean([adjusted_rand_score(a, b) for a, b in pairs]))
