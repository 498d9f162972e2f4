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


def segment_traits(
    customers: pd.DataFrame,
    labels: np.ndarray,
    k: int,
    features: Sequence[str] = PROFILE_FEATURES,
) -> list[dict[str, Trait]]:
    """Return, per segment id, its Trait for every feature the data has.

    Missing values (interpurchase_days of one-time buyers) are left out of the means.
    """
    result: list[dict[str, Trait]] = [{} for _ in range(k)]
    for feature in features:
        if feature not in customers:
            continue
        values = customers[feature].to_numpy(dtype=np.float64)
        known = ~np.isnan(values)
        logged = np.log1p(np.maximum(values, 0.0))
        base_sd = logged[known].std() if known.any() else 0.0
        base_sd = base_sd or 1.0
        for segment in range(k):
            inside = (labels == segment) & known
            if not inside.any():
                continue
            z = (logged[inside].mean() - logged[known].mean()) / base_sd
            result[segment][feature] = Trait(
                float(values[inside].mean()), float(values[known].mean()), float(z)
            )
    return result


def levels(traits: dict[str, Trait]) -> dict[str, str]:
    """Return feature → 'high' / 'mid' / 'low'."""
    return {feature: trait.level for feature, trait in traits.items()}
