"""How a segment compares with the whole customer base, trait by trait."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segmint.measures.moments import PROFILE_FEATURES, Moments, segment_moments

__all__ = ["PROFILE_FEATURES", "Moments", "segment_moments"]

# A trait is high (low) when the segment's mean is above (below) the base's mean AND the
# segment sits at least this many standard deviations away on the log scale, where
# heavy-tailed money and counts are comparable. The first condition makes every name true
# of the segment's means; the second keeps "high" from meaning "a hair above average".
MIN_LOG_DISTANCE = 0.3


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


def levels(traits: dict[str, Trait]) -> dict[str, str]:
    """Return feature → 'high' / 'mid' / 'low'."""
    return {feature: trait.level for feature, trait in traits.items()}
