"""Per-segment stability: does each segment come back when the customers are resampled?

Hennig's cluster-wise bootstrap (clusterboot, R package fpc; Hennig 2007, "Cluster-wise
assessment of cluster stability"): draw the customers again with replacement, as many as
there are; fit K-means with the same k on the draw; for each segment of the delivered
labelling, restricted to the customers drawn, take its Jaccard similarity to the most
similar segment of the refit. A segment's stability is the mean of that over the resamples:
below 0.5 it "dissolves", above 0.75 it is stable; the resamples where it reaches 0.5 are
the ones it "comes back" in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmint.model.kmeans import distinct_points, fit_kmeans, nearest_centre

RESAMPLES = 20
# A segment comes back in a resample when its best Jaccard similarity reaches this (Hennig).
RECOVERED = 0.5
# A segment is stable when its mean Jaccard similarity reaches this (--min-stability):
# Hennig reads 0.6–0.75 as "patterns, but which points belong is uncertain", and below
# 0.5 as a segment that dissolves. The `stable` rule chooses k among those whose every
# segment reaches it; the report calls a segment below it fragile.
MIN_STABILITY = 0.6


@dataclass(frozen=True)
class SegmentStability:
    """Each segment's mean best Jaccard similarity over the resamples, and how often it came
    back; None for a segment no resample drew a customer of."""

    jaccard: tuple[float | None, ...]
    recovered: tuple[int, ...]  # resamples in which the segment reached RECOVERED
    resamples: tuple[int, ...]  # resamples that drew a customer of the segment

    @property
    def overall(self) -> float | None:
        """The mean over the segments (each counts once, whatever its size)."""
        values = [j for j in self.jaccard if j is not None]
        return float(np.mean(values)) if values else None

    @property
    def least(self) -> float | None:
        """The smallest segment figure; None when a segment has none (it cannot be stable)."""
        if not self.jaccard or any(j is None for j in self.jaccard):
            return None
        return min(j for j in self.jaccard if j is not None)

    def all_stable(self, min_stability: float) -> bool:
        """Whether every segment's mean Jaccard similarity reaches min_stability."""
        least = self.least
        return least is not None and least >= min_stability

    def reordered(self, order: np.ndarray | list[int]) -> SegmentStability:
        """Return the figures of segments renumbered so that new segment j is old order[j]."""
        return SegmentStability(
            tuple(self.jaccard[i] for i in order),
            tuple(self.recovered[i] for i in order),
            tuple(self.resamples[i] for i in order),
        )

    def segments(self) -> list[dict]:
        """One entry per segment id: its mean Jaccard similarity, the resamples in which it
        came back and the resamples that drew a customer of it."""
        return [
            {"segment": i, "jaccard": j, "recovered": r, "resamples": n}
            for i, (j, r, n) in enumerate(
                zip(self.jaccard, self.recovered, self.resamples, strict=True)
            )
        ]


def best_jaccard(old: np.ndarray, new: np.ndarray, k_old: int, k_new: int) -> np.ndarray:
    """Return, for each old segment, the Jaccard similarity of the customers it holds to
    the new segment most similar to it (0 where it holds none), from one contingency table:
    |A ∩ B| / (|A| + |B| − |A ∩ B|)."""
    table = np.bincount(old * k_new + new, minlength=k_old * k_new).reshape(k_old, k_new)
    union = table.sum(axis=1)[:, None] + table.sum(axis=0)[None, :] - table
    with np.errstate(divide="ignore", invalid="ignore"):
        jaccard = np.where(union > 0, table / np.maximum(union, 1), 0.0)
    return jaccard.max(axis=1)


def segment_stability(
    X: np.ndarray, labels: np.ndarray, k: int, seed: int, resamples: int = RESAMPLES
) -> SegmentStability:
    """Return the cluster-wise bootstrap stability of the segments `labels` (0..k-1) of the
    rows of X: `resamples` draws of len(X) rows with replacement, K-means (k-means++, one
    start) on each draw, each drawn row labelled by the nearest centre of the refit."""
    return bootstrap_tally(X, labels, k, seed, range(resamples)).stability(k)


@dataclass(frozen=True)
class Tally:
    """Per draw (by number) that could be fitted: each segment's best Jaccard similarity,
    NaN where the draw held none of its customers. Tallies of disjoint draws add up, and
    the figures are summed in the draws' order, so any split gives the same bits."""

    best: dict[int, np.ndarray]

    def __add__(self, other: Tally) -> Tally:
        return Tally({**self.best, **other.best})

    def stability(self, k: int) -> SegmentStability:
        values = np.array([self.best[b] for b in sorted(self.best)]).reshape(-1, k)
        held = ~np.isnan(values)
        counted = held.sum(axis=0)
        totals = np.zeros(k)
        for row, mask in zip(values, held, strict=True):  # in the draws' order
            totals[mask] += row[mask]
        return SegmentStability(
            tuple(float(t / c) if c else None for t, c in zip(totals, counted, strict=True)),
            tuple(int(r) for r in (held & (np.nan_to_num(values) >= RECOVERED)).sum(axis=0)),
            tuple(int(c) for c in counted),
        )


def bootstrap_tally(
    X: np.ndarray,
    labels: np.ndarray,
    k: int,
    seed: int,
    draws: range,
    point: np.ndarray | None = None,
) -> Tally:
    """Return the tally of the given draws (numbered 0..resamples-1) of the cluster-wise
    bootstrap; any split of the draws gives the same total.

    Draw b takes len(X) rows with replacement with numpy's generator seeded by the b-th
    child of SeedSequence([seed, k]), and fits K-means with the b-th number of that
    sequence's generate_state as its seed. The draw is fitted as its distinct rows weighted
    by how often each was drawn: the same K-means problem as the draw with its repeats
    (k-means++ and Lloyd's steps weigh a row as that many copies), on about 63% of the rows.
    `point`: each row's distinct point (kmeans.distinct_points), when already known.
    """
    n = len(X)
    if point is None:
        point = distinct_points(X)  # a draw's distinct customers are counted in O(n)
    sequence = np.random.SeedSequence([seed, k])
    children = sequence.spawn(draws.stop) if draws.stop else []
    fit_seeds = sequence.generate_state(draws.stop) if draws.stop else []
    found: dict[int, np.ndarray] = {}
    for b in draws:
        copies = np.bincount(np.random.default_rng(children[b]).integers(0, n, size=n),
                             minlength=n)  # fmt: skip
        present = np.flatnonzero(copies)
        if np.count_nonzero(np.bincount(point[present])) < k:
            continue  # too few distinct customers drawn for k segments
        drawn = X[present]
        centers = fit_kmeans(drawn, k, n_init=1, seed=int(fit_seeds[b]),
                             weights=copies[present].astype(np.float64))  # fmt: skip
        old = labels[present]
        best = best_jaccard(old, nearest_centre(drawn, centers), k, k)
        best[np.bincount(old, minlength=k) == 0] = np.nan  # no customer of it drawn
        found[b] = best
    return Tally(found)
