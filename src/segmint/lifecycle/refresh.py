"""The refresh test: would a run made a quarter earlier have drawn today's segments?

The customers are segmented again as of REFRESH_DAYS before as_of (their features computed
from the orders up to then; the customers with no order by then left out), with the same
settings and today's k, as a run a quarter ago would have. Both models then label today's
customers (today's features): each of today's segments is compared with the most similar
segment of the earlier model by the Jaccard similarity, and it is matched when that
reaches --min-stability (docs/stability.md). Comparing the two models on the same
customers measures whether the segments themselves come back, not whether customers kept
their behaviour (a customer who lapsed belongs in another segment either way).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segmint.errors import SegmintError
from segmint.model.clusterboot import best_jaccard
from segmint.model.sampling import sample_positions
from segmint.model.segment_model import SegmentModel

REFRESH_DAYS = 90
# The log must hold at least this many days of orders before the earlier date.
MIN_HISTORY_DAYS = 90
TOO_SHORT = (
    f"the log holds less than {REFRESH_DAYS + MIN_HISTORY_DAYS} days of orders up to the as-of date"
)


def refresh_date(start: dt.datetime | dt.date, as_of: dt.date) -> dt.date | None:
    """Return the earlier date of the refresh test, or None when the log is too short."""
    earlier = as_of - dt.timedelta(days=REFRESH_DAYS)
    first = start.date() if isinstance(start, dt.datetime) else start
    return earlier if (earlier - first).days >= MIN_HISTORY_DAYS else None


@dataclass(frozen=True)
class EarlierFit:
    """The model fitted as of the earlier date (or why there is none)."""

    as_of: dt.date | None
    customers: int = 0  # with an order by the earlier date
    model: SegmentModel | None = None
    skipped: str | None = None


def refit_earlier(
    earlier: pd.DataFrame | None,
    as_of: dt.date | None,
    model: SegmentModel,
    why_not: str = "",
    customers: int | None = None,
) -> EarlierFit:
    """Fit the model's settings with today's k on the customers as of the earlier date
    (their stability is not measured: resamples=0). With more of them than the model's
    sample_size, on their seeded sample (model.sampling), as the Spark engine does: the
    fit a run would start from, without refining it on every customer. `customers`: how
    many there were, when `earlier` is already that sample."""
    if earlier is None or as_of is None:
        return EarlierFit(None, skipped=why_not)
    customers = len(earlier) if customers is None else customers
    if len(earlier) > model.sample_size:
        earlier = earlier.iloc[
            sample_positions(earlier["customer_id"], model.sample_size, model.seed)
        ]
    refit = SegmentModel(**{**model.get_params(), "k": model.k_, "resamples": 0})
    try:
        refit.fit(earlier)
    except SegmintError as exc:  # e.g. fewer distinct customers then than k
        return EarlierFit(as_of, customers, skipped=str(exc))
    return EarlierFit(as_of, customers, refit)


def refresh_summary(
    fit: EarlierFit, customers: pd.DataFrame, labels: np.ndarray, k: int, min_stability: float
) -> dict:
    """Return the summary's `refresh`: per segment of today, its best Jaccard similarity to
    a segment of the earlier model, both models labelling today's customers."""
    summary = {
        "days": REFRESH_DAYS,
        "as_of": None if fit.as_of is None else fit.as_of.isoformat(),
        "customers_then": fit.customers,
        "min_stability": min_stability,
        "skipped": fit.skipped,
        "segments": [],
        "matched": None,
    }
    if fit.model is None:
        return summary
    jaccard = best_jaccard(labels, fit.model.predict(customers), k, k)
    segments = [
        {"segment": i, "jaccard": float(j), "matched": bool(j >= min_stability)}
        for i, j in enumerate(jaccard)
    ]
    return summary | {"segments": segments, "matched": sum(s["matched"] for s in segments)}
