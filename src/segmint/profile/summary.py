"""The figures of summary.json (docs/reference/outputs.md#summary-json) that describe customers
and segments."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from segmint.features.rfm import RFM_SEGMENT_NAMES
from segmint.measures.groups import GROUP_COLUMNS, MEAN_FEATURES, Group, spend_ranking
from segmint.strict_json import finite_or_none

__all__ = ["GROUP_COLUMNS", "MEAN_FEATURES", "Group", "spend_ranking"]


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def totals(customers: pd.DataFrame) -> dict:
    """Return revenue, orders, customers and the ratios between them."""
    return totals_of(Group.of(customers))


def totals_of(everyone: Group) -> dict:
    """Return revenue, orders, customers and the ratios between them, of the whole base."""
    revenue, orders, n = everyone.revenue, everyone.orders, everyone.customers
    return {
        "revenue": revenue,
        "orders": orders,
        "customers": n,
        "aov": _share(revenue, orders),  # revenue ÷ orders, not a mean of per-customer averages
        "revenue_per_customer": _share(revenue, n),
        "orders_per_customer": _share(orders, n),
    }


def segment_figures(
    customers: pd.DataFrame, labels: np.ndarray, segment: int, total_revenue: float | None = None
) -> dict:
    """Return one segment's size, revenue and mean behaviour."""
    if total_revenue is None:  # callers looping over segments pass it once
        total_revenue = math.fsum(customers["monetary"])
    return figures_of(Group.of(customers[labels == segment]), len(customers), total_revenue)


def figures_of(segment: Group, all_customers: int, total_revenue: float) -> dict:
    """Return one segment's size, revenue and mean behaviour from its Group (a segment
    without customers, as scoring new data can leave one, has no means: None)."""
    means = {name: finite_or_none(value) for name, value in segment.means.items()}
    return {
        "customers": segment.customers,
        "share": _share(segment.customers, all_customers),
        "revenue": segment.revenue,
        "revenue_share": _share(segment.revenue, total_revenue),
        "recency_days_mean": means["recency_days"],
        "frequency_mean": means["frequency"],
        "monetary_mean": means["monetary"],
        # The segment's revenue per order: the mean value of its orders.
        "aov_mean": _share(segment.revenue, segment.orders),
        "tenure_days_mean": means["tenure_days"],
    }


CONCENTRATION_SHARES = (0.01, 0.10, 0.20, 0.50)


def revenue_concentration(customers: pd.DataFrame) -> list[dict]:
    """Return the revenue share of the top 1, 10, 20 and 50% of customers by spend.

    The top p% are the ceil(p × n) customers who spent the most.
    """
    ranked = spend_ranking(customers["monetary"].to_numpy())
    return concentration_of(len(ranked), lambda n: math.fsum(ranked[:n]), math.fsum(ranked))


def top_customers(share: float, customers: int) -> int:
    """Return how many customers the top `share` of a base of `customers` is: ceil(share × n)."""
    return max(1, math.ceil(share * customers - 1e-9))


def concentration_of(
    customers: int, top_revenue: Callable[[int], float], total_revenue: float
) -> list[dict]:
    """Return the concentration rows, given the revenue of the top n spenders for any n."""
    rows = []
    for share in CONCENTRATION_SHARES:
        n = top_customers(share, customers)
        rows.append(
            {
                "top_share": share,
                "customers": n,
                "revenue_share": _share(top_revenue(n), total_revenue),
            }
        )
    return rows


def orders_per_year(frequency_mean: float | None, period_days: float) -> float | None:
    """Return orders per customer per year over a period of period_days (at least one day);
    None for a segment without customers."""
    if frequency_mean is None:
        return None
    return frequency_mean * 365.25 / max(period_days, 1.0)


def rfm_segments(customers: pd.DataFrame) -> list[dict]:
    """Return the classic RFM segments present, in the map's order."""
    # Codes in order of first appearance, then each group's spend as one slice of a stable
    # sort (fsum is exact, so the order inside a group does not matter anyway).
    codes, names = pd.factorize(customers["rfm_segment"], sort=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    spend = customers["monetary"].to_numpy(dtype=np.float64)[order]
    groups = {
        name: (int(bounds[i + 1] - bounds[i]), math.fsum(spend[bounds[i] : bounds[i + 1]]))
        for i, name in enumerate(names)
    }
    return rfm_segments_of(groups, len(customers), math.fsum(customers["monetary"]))


def rfm_segments_of(
    groups: dict[str, tuple[int, float]], all_customers: int, total_revenue: float
) -> list[dict]:
    """Return the RFM segments present (name → customers, revenue), in the map's order."""
    rows = []
    for name in RFM_SEGMENT_NAMES:
        size, revenue = groups.get(name, (0, 0.0))
        if size:
            rows.append(
                {
                    "name": name,
                    "customers": size,
                    "share": _share(size, all_customers),
                    "revenue_share": _share(revenue, total_revenue),
                }
            )
    return rows
