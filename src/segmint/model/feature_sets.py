"""Which features drive the clustering (docs/reference/model.md#feature-sets), and how each is
transformed (docs/reference/model.md#scaling)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from segmint.errors import UsageError
from segmint.features.build import COUNT_LIKE

RFM = ("recency_days", "frequency", "monetary")
VALUE = RFM + ("aov", "quantity", "avg_unit_price", "tenure_days")
# `full`: every numeric feature except the scores and interpurchase_days (null for one-time buyers).
FULL_EXCLUDED = ("r_score", "f_score", "m_score", "interpurchase_days")


def clustering_features(feature_set: str, available: Iterable[str]) -> list[str]:
    """Return the features of the named set that the data provides, in a stable order."""
    available = list(available)
    if feature_set == "rfm":
        wanted = list(RFM)
    elif feature_set == "value":
        wanted = [f for f in VALUE if f in available]
    elif feature_set == "full":
        base = [f for f in VALUE if f in available]
        extra = ["return_rate", "n_categories"] + [c for c in available if c.startswith("share_")]
        wanted = base + [f for f in extra if f in available]
    else:  # validated in Settings; a guard for direct callers
        raise UsageError(f"unknown feature set {feature_set!r}")
    return [f for f in wanted if f not in FULL_EXCLUDED]


def transform_of(feature: str, transform: str = "auto") -> str:
    """Return 'log1p' for the day, count and money features, 'none' for shares and rates."""
    if transform == "none":
        return "none"
    return "log1p" if feature in COUNT_LIKE else "none"


def apply_transform(values: np.ndarray, transform: str) -> np.ndarray:
    """Return values transformed as the model's feature says (log1p of max(x, 0), or unchanged)."""
    values = np.asarray(values, dtype=np.float64)
    if transform == "log1p":
        return np.log1p(np.maximum(values, 0.0))
    return values
