"""What the figures of a group of customers (a segment, or everyone) are made of."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

# The per-segment means of summary.json (`<feature>_mean`).
MEAN_FEATURES = ("recency_days", "frequency", "monetary", "tenure_days")
# The columns Group.of reads: select them before splitting a large table into groups.
GROUP_COLUMNS = ("monetary", "frequency", "recency_days", "tenure_days")


@dataclass(frozen=True)
class Group:
    """What the figures of a group of customers (a segment, or everyone) are made of."""

    customers: int
    revenue: float
    orders: int
    means: dict[str, float]

    @classmethod
    def of(cls, customers: pd.DataFrame) -> Group:
        """Return the group of the rows of a customers table."""
        return cls(
            len(customers),
            math.fsum(customers["monetary"]),
            int(customers["frequency"].sum()),
            {f: float(customers[f].mean()) for f in MEAN_FEATURES},
        )


def spend_ranking(monetary: np.ndarray) -> np.ndarray:
    """Return customers' spend from the highest to the lowest (ties in a stable order)."""
    return np.sort(np.asarray(monetary, dtype=np.float64), kind="stable")[::-1]
