"""The figures of summary.json (CONTRACT §5) that describe customers and segments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from segmint.features.rfm import RFM_SEGMENT_NAMES


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def totals(customers: pd.DataFrame) -> dict:
    """Return revenue, orders, customers and the ratios between them."""
    revenue = math.fsum(customers["monetary"])
    orders = int(customers["frequency"].sum())
    n = len(customers)
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
    inside = customers[labels == segment]
    if total_revenue is None:  # callers looping over segments pass it once
        total_revenue = math.fsum(customers["monetary"])
    revenue = math.fsum(inside["monetary"])
    orders = int(inside["frequency"].sum())
    return {
        "customers": len(inside),
        "share": _share(len(inside), len(customers)),
        "revenue": revenue,
        "revenue_share": _share(revenue, total_revenue),
        "recency_days_mean": float(inside["recency_days"].mean()),
        "frequency_mean": float(inside["frequency"].mean()),
        "monetary_mean": float(inside["monetary"].mean()),
        # The segment's revenue per order: the mean value of its orders.
        "aov_mean": _share(revenue, orders),
        "tenure_days_mean": float(inside["tenure_days"].mean()),
    }


CONCENTRATION_SHARES = (0.01, 0.10, 0.20, 0.50)


def spend_ranking(monetary: np.ndarray) -> np.ndarray:
    """Return customers' spend from the highest to the lowest (ties in a stable order)."""
    return np.sort(np.asarray(monetary, dtype=np.float64), kind="stable")[::-1]


def revenue_concentration(customers: pd.DataFrame) -> list[dict]:
    """Return the revenue share of the top 1, 10, 20 and 50% of customers by spend.

    The top p% are the ceil(p × n) customers who spent the most.
    """
    ranked = spend_ranking(customers["monetary"].to_numpy())
    total = math.fsum(ranked)
    rows = []
    for share in CONCENTRATION_SHARES:
        n = max(1, math.ceil(share * len(ranked) - 1e-9))
        rows.append(
            {
                "top_share": share,
                "customers": n,
                "revenue_share": _share(math.fsum(ranked[:n]), total),
            }
        )
    return rows


def orders_per_year(frequency_mean: float, period_days: float) -> float:
    """Return orders per customer per year over a period of period_days (at least one day)."""
    return frequency_mean * 365.25 / max(period_days, 1.0)


def rfm_segments(customers: pd.DataFrame) -> list[dict]:
    """Return the classic RFM segments present, in the map's order."""
    total_revenue = math.fsum(customers["monetary"])
    rows = []
    for name in RFM_SEGMENT_NAMES:
        inside = customers[customers["rfm_segment"] == name]
        if len(inside):
            rows.append(
                {
                    "name": name,
                    "customers": len(inside),
                    "share": _share(len(inside), len(customers)),
                    "revenue_share": _share(math.fsum(inside["monetary"]), total_revenue),
                }
            )
    return rows
