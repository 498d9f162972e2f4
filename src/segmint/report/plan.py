"""What to watch per segment and what to do when: rules as data, applied to measured traits.

A segment's traits are its levels (high / mid / low against the whole base) from
summary.json; every rule names the trait it needs, so no action appears for a segment type
that is not in the data (no win-back campaign without a lapsing segment).
"""

from __future__ import annotations

from collections.abc import Callable

from segmint.report import format as fmt

Levels = dict[str, str]
Condition = Callable[[Levels], bool]


def lapsing(lv: Levels) -> bool:
    return lv.get("recency_days") == "high"


def valuable_active(lv: Levels) -> bool:
    return lv.get("recency_days") == "low" and lv.get("monetary") == "high"


def lapsing_valuable(lv: Levels) -> bool:
    return lapsing(lv) and lv.get("monetary") == "high"


def lapsing_low_value(lv: Levels) -> bool:
    return lapsing(lv) and lv.get("monetary") != "high"


def few_orders_active(lv: Levels) -> bool:
    return lv.get("frequency") == "low" and not lapsing(lv)


def frequent(lv: Levels) -> bool:
    return lv.get("frequency") == "high"


def small_orders(lv: Levels) -> bool:
    return lv.get("aov") == "low"


def many_returns(lv: Levels) -> bool:
    return lv.get("return_rate") == "high"


# (condition, KPI text with {segment figures}); every KPI that holds is listed.
KPI_RULES: tuple[tuple[Condition, str], ...] = (
    (lapsing, "Reactivation rate: the share who order again within 60 days of a campaign."),
    (lapsing, "Days since the last order (now {recency_days_mean:,.0f} on average)."),
    (valuable_active, "Retention: the share still ordering at the next refresh."),
    (few_orders_active, "Second-order rate: the share placing a second order within 90 days."),
    (frequent, "Orders per customer per year (now {orders_per_year:,.1f})."),
    (small_orders, "Average order value (now {aov_mean:,.2f}) and items per order."),
    (many_returns, "Return rate, by value."),
)
ALWAYS_KPI = (
    "Size (now {customers:,} customers) and share of revenue (now {revenue_share:.1%}) "
    "at each refresh."
)

# (horizon, condition on a segment, action with {names} of the segments it holds for).
PLAN_RULES: tuple[tuple[str, Condition, str], ...] = (
    ("short", lapsing_valuable,
     "Win back {names} with a personal offer, against a 10% hold-out group."),
    ("short", lapsing_low_value,
     "Move {names} to a low-cost reactivation email sequence; stop paid retargeting for "
     "those who do not respond."),
    ("short", valuable_active,
     "Start a VIP programme for {names}: early access, service and referral invitations "
     "rather than discounts."),
    ("short", few_orders_active,
     "Set up an onboarding series that drives the second order for {names}."),
    ("medium", frequent, "Offer a loyalty tier or subscription to {names}."),
    ("medium", small_orders,
     "Test bundles and free-shipping thresholds to raise order value for {names}."),
    ("medium", many_returns, "Reduce returns for {names} with sizing help and product detail."),
    ("long", lapsing,
     "Track how many customers drift into {names} at each refresh and act earlier on those "
     "who do."),
)  # fmt: skip
# Actions every plan holds: the first of its horizon, or the last.
PLAN_FIRST = {
    "short": "Load segments.csv into the CRM and tag every customer with their segment; keep a "
    "hold-out group in every campaign so that its effect can be measured.",
}
PLAN_LAST = {
    "medium": "Review the first campaigns against their hold-out groups and keep what lifted "
    "orders and revenue.",
}
HORIZONS = {
    "short": "Short term (0–3 months)",
    "medium": "Medium term (3–6 months)",
    "long": "Long term (6–12 months)",
}


def segment_kpis(segment: dict) -> list[str]:
    """Return the KPIs to watch for one summary.json segment."""
    lv = segment["traits"]
    texts = [text for rule, text in KPI_RULES if rule(lv)] + [ALWAYS_KPI]
    return [text.format(**segment) for text in texts]


def refresh_cadence(median_interpurchase_days: float | None) -> str:
    """Return how often to refit: monthly for fast buyers, quarterly otherwise."""
    if median_interpurchase_days is not None and median_interpurchase_days < 45:
        return "every month"
    return "every quarter"


def implementation_plan(
    summary: dict, median_interpurchase_days: float | None
) -> dict[str, list[str]]:
    """Return horizon → actions, built from the segments present in this run."""
    plan: dict[str, list[str]] = {h: [PLAN_FIRST[h]] if h in PLAN_FIRST else [] for h in HORIZONS}
    for horizon, rule, text in PLAN_RULES:
        held = [s["name"] for s in summary["segments"] if rule(s["traits"])]
        if held:
            plan[horizon].append(text.format(names=_join(held)))
    for horizon, text in PLAN_LAST.items():
        plan[horizon].append(text)
    plan["long"].append(_refresh_advice(summary, median_interpurchase_days))
    plan["long"].append(moves_to_watch(summary))
    plan["long"].append(_monitoring_advice(summary))
    return plan


def _refresh_advice(summary: dict, median_days: float | None) -> str:
    cadence = refresh_cadence(median_days)
    rhythm = (
        f"the median repeat customer orders every {fmt.whole(median_days)} days"
        if median_days is not None
        else "few customers order more than once"
    )
    return (
        f"Refresh the segments {cadence} ({rhythm}) with the same settings and seed and "
        "--previous pointing at this run, so that lasting segments keep their names; score "
        "new customers with model.json in between, and run segmint compare on two runs to "
        "see who moved."
    )


def moves_to_watch(summary: dict) -> str:
    """Return which moves between segments to watch at each refresh, from the segments present."""
    valuable = [s["name"] for s in summary["segments"] if valuable_active(s["traits"])]
    at_risk = [s["name"] for s in summary["segments"] if lapsing(s["traits"])]
    previous = summary.get("previous") or {}
    since = ""
    if previous.get("moves"):
        since = " Since the previous run: " + "; ".join(previous["moves"][:3]) + "."
    if valuable and at_risk:
        watch = (
            f"Moves to watch: customers leaving {_join(valuable)} for {_join(at_risk)} "
            "(the revenue at stake)."
        )
    elif at_risk:
        watch = f"Moves to watch: customers moving into {_join(at_risk)}."
    else:
        watch = "Moves to watch: customers whose segment changes between refreshes."
    return watch + since


def _monitoring_advice(summary: dict) -> str:
    lapsing_share = sum(s["share"] for s in summary["segments"] if lapsing(s["traits"]))
    top20 = next(r for r in summary["revenue_concentration"] if round(r["top_share"], 2) == 0.2)
    chosen = summary["selection"]["chosen_k"]
    db = next(r for r in summary["selection"]["scores"] if r["k"] == chosen)["davies_bouldin"]
    return (
        "Monitor at each refresh: every segment's size and revenue share, the share of "
        f"customers in lapsing segments (now {fmt.pct(lapsing_share)}), the top 20%'s share "
        f"of revenue (now {fmt.pct(top20['revenue_share'])}) and the Davies-Bouldin index "
        f"(now {fmt.score(db)}); a large change in any of them calls for a look before the "
        "next campaign."
    )


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
