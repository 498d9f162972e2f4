"""Each profile feature's moments over a group of customers (in memory; the SQL of the same
figures is `measures.sql`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

PROFILE_FEATURES = ("recency_days", "frequency", "monetary", "aov", "tenure_days", "return_rate")


@dataclass(frozen=True)
class Moments:
    """A feature over a group of customers whose value is known: how many, the mean, the
    mean of log1p(max(x, 0)) and (for the whole base) its population standard deviation."""

    count: int
    mean: float
    log_mean: float
    log_sd: float = 0.0


def segment_moments(
    customers: pd.DataFrame,
    labels: np.ndarray,
    k: int,
    features: Sequence[str] = PROFILE_FEATURES,
) -> tuple[dict[str, Moments], list[dict[str, Moments]]]:
    """Return each feature's Moments over the customers table and per segment id."""
    base: dict[str, Moments] = {}
    segments: list[dict[str, Moments]] = [{} for _ in range(k)]
    # The customers grouped by segment, each group in table order: a group's values are
    # then a slice, the same values in the same order as a boolean mask would pick.
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    for feature in features:
        if feature not in customers:
            continue
        values = customers[feature].to_numpy(dtype=np.float64)
        known = ~np.isnan(values)
        logged = np.log1p(np.maximum(values, 0.0))
        if not known.any():
            continue
        base[feature] = Moments(
            int(known.sum()),
            float(values[known].mean()),
            float(logged[known].mean()),
            float(logged[known].std()),
        )
        values, known, logged = values[order], known[order], logged[order]
        for segment in range(k):
            inside = slice(bounds[segment], bounds[segment + 1])
            kept = known[inside]
            if kept.any():
                segments[segment][feature] = Moments(
                    int(kept.sum()),
                    float(values[inside][kept].mean()),
                    float(logged[inside][kept].mean()),
                )
    return base, segments
