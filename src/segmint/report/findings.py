"""Key findings for the executive summary: sentences written from measured figures.

Each rule returns a sentence or None (when its figure does not exist in this data); the
first six that apply are kept, in the table's order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from segmint.report import format as fmt

Finding = Callable[[dict, pd.DataFrame], "str | None"]
MAX_FINDINGS = 6
# "Lapsing": a segment whose time since the last order is high against the base.
LAPSING = "high"


def _top_revenue_segment(summary: dict, customers: pd.DataFrame) -> str | None:
    top = max(summary["segments"], key=lambda s: (s["revenue_share"], -s["id"]))
    return (
        f"{top['name']}, {fmt.pct(top['share'])} of customers, bring "
        f"{fmt.pct(top['revenue_share'])} of revenue."
    )


def _concentration(summary: dict, customers: pd.DataFrame) -> str | None:
    rows = {round(r["top_share"], 2): r for r in summary["revenue_concentration"]}
    top20, top1 = rows[0.2], rows[0.01]
    return (
        f"The top 20% of customers ({fmt.whole(top20['customers'])}) bring "
        f"{fmt.pct(top20['revenue_share'])} of revenue; the top 1% bring "
        f"{fmt.pct(top1['revenue_share'])}."
    )


def _one_time_buyers(summary: dict, customers: pd.DataFrame) -> str | None:
    once = customers["frequency"] == 1
    if not once.any():
        return None
    median_days = float(np.median(customers.loc[once, "recency_days"]))
    return (
        f"{fmt.pct(once.mean())} of customers ({fmt.whole(once.sum())}) bought only once and "
        f"have not come back; half of them ordered more than {fmt.whole(median_days)} days "
        "before the as-of date."
    )


def _median_recency(summary: dict, customers: pd.DataFrame) -> str | None:
    median_days = float(np.median(customers["recency_days"]))
    return (
        f"Half of all customers last ordered more than {fmt.whole(median_days)} days before "
        f"the as-of date ({summary['input']['as_of']})."
    )


def _lapsing_segments(summary: dict, customers: pd.DataFrame) -> str | None:
    lapsing = [s for s in summary["segments"] if s["traits"].get("recency_days") == LAPSING]
    if not lapsing:
        return None
    share = sum(s["share"] for s in lapsing)
    revenue = sum(s["revenue_share"] for s in lapsing)
    days = sum(s["recency_days_mean"] * s["customers"] for s in lapsing) / sum(
        s["customers"] for s in lapsing
    )
    names = ", ".join(s["name"] for s in lapsing)
    return (
        f"Lapsing segments ({names}) hold {fmt.pct(share)} of customers and brought "
        f"{fmt.pct(revenue)} of revenue; their last order was {fmt.whole(days)} days ago "
        "on average."
    )


def _largest_segment(summary: dict, customers: pd.DataFrame) -> str | None:
    largest = max(summary["segments"], key=lambda s: (s["customers"], -s["id"]))
    top = max(summary["segments"], key=lambda s: (s["revenue_share"], -s["id"]))
    if largest["id"] == top["id"]:
        return None
    return (
        f"The largest segment, {largest['name']}, is {fmt.pct(largest['share'])} of customers "
        f"but brings {fmt.pct(largest['revenue_share'])} of revenue."
    )


def _order_value_spread(summary: dict, customers: pd.DataFrame) -> str | None:
    overall = summary["totals"]["aov"]
    best = max(summary["segments"], key=lambda s: (s["aov_mean"], -s["id"]))
    if overall <= 0 or best["aov_mean"] < 1.5 * overall:
        return None
    return (
        f"{best['name']} place the biggest orders: {fmt.money(best['aov_mean'])} on average, "
        f"{best['aov_mean'] / overall:.1f}× the overall average order of {fmt.money(overall)}."
    )


FINDINGS: tuple[Finding, ...] = (
    _top_revenue_segment,
    _concentration,
    _one_time_buyers,
    _median_recency,
    _lapsing_segments,
    _largest_segment,
    _order_value_spread,
)


def key_findings(summary: dict, customers: pd.DataFrame) -> list[str]:
    """Return 3–6 sentences, each stating a figure measured in this run."""
    found = [text for rule in FINDINGS if (text := rule(summary, customers))]
    return found[:MAX_FINDINGS]
