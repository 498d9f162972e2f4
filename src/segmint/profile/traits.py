"""How a segment compares with the whole customer base, trait by trait."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# A trait is high (low) when the segment's mean is above (below) the base's mean AND the
# segment sits at least this many standard deviations away on the log scale, where
# heavy-tailed money and counts are comparable. The first condition makes every name true
# of the segment's means; the second keeps "high" from meaning "a hair above average".
MIN_LOG_DISTANCE = 0.3

PROFILE_FEATURES = ("recency_days", "frequency", "monetary", "aov", "tenure_days", "return_rate")


@dataclass(frozen=True)
class Trait:
    """One feature of one segment against the base."""

    mean: float
    base_mean: float
    z: float  # distance on the log1p scale, in base standard deviations

    @property
    def level(self) -> str:
        if self.mean > self.base_mean and self.z >= MIN_LOG_DISTANCE:
            return "high"
        if self.mean < self.base_mean and self.z <= -MIN_LOG_DISTANCE:
            return "low"
        return "mid"


@dataclass(frozen=True)
class Moments:
    """A feature over a group of customers whose value is known: how many, the mean, the
    mean of log1p(max(x, 0)) and (for the whole base) its population standard deviation."""

    count: int
    mean: float
    log_mean: float
    log_sd: float = 0.0


def traits_from_moments(
    base: dict[str, Moments], segments: list[dict[str, Moments]]
) -> list[dict[str, Trait]]:
    """Return, per segment, its Trait for every feature of base (the definition of a trait).

    The moments come from the customers table (`segment_moments`) or from an engine's
    aggregates (Spark). A segment without a known value of a feature has no trait for it.
    """
    result: list[dict[str, Trait]] = [{} for _ in segments]
    for feature, whole in base.items():
        base_sd = whole.log_sd or 1.0
        for segment, moments in enumerate(segments):
            inside = moments.get(feature)
            if inside is None or not inside.count:
                continue
            z = (inside.log_mean - whole.log_mean) / base_sd
            result[segment][feature] = Trait(inside.mean, whole.mean, float(z))
    return result


def segment_traits(
    customers: pd.DataFrame,
    labels: np.ndarray,
    k: int,
    features: Sequence[str] = PROFILE_FEATURES,
) -> list[dict[str, Trait]]:
    """Return, per segment id, its Trait for every feature the data has.

    Missing values (interpurchase_days of one-time buyers) are left out of the means.
    """
    return traits_from_moments(*segment_moments(customers, labels, k, features))


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


def levels(traits: dict[str, Trait]) -> dict[str, str]:
    """Return feature → 'high' / 'mid' / 'low'."""
    return {feature: trait.level for feature, trait in traits.items()}
