"""Per-segment descriptions and strategies, each tied to a measured trait."""

from __future__ import annotations

from collections.abc import Callable

from segmint.profile.traits import Trait, levels

Figures = dict[str, float]

# (condition on trait levels, strategy text with {figures}); checked in order, the first
# four that hold are kept. A strategy only appears when its segment has the trait it names.
STRATEGY_RULES: tuple[tuple[Callable[[dict[str, str]], bool], str], ...] = (
    (
        lambda lv: lv["recency_days"] == "high" and lv["monetary"] == "high",
        "Win them back with a personal offer before they are gone: they spent {monetary:,.0f} each on average and last ordered {recency_days:.0f} days ago.",
    ),
    (
        lambda lv: lv["recency_days"] == "high" and lv["monetary"] != "high",
        "Send a low-cost reactivation sequence (email, no discounts first); stop paid retargeting for those who do not respond within {recency_days:.0f} days.",
    ),
    (
        lambda lv: lv["recency_days"] == "low" and lv["monetary"] == "high",
        "Reward them: early access, VIP service and referral invitations rather than discounts — they already spend {monetary:,.0f} each.",
    ),
    (
        lambda lv: lv["frequency"] == "high",
        "Offer a loyalty tier or subscription that fits their rhythm of {frequency:.1f} orders so far.",
    ),
    (
        lambda lv: lv["frequency"] == "low" and lv["recency_days"] != "high",
        "Drive the second order: an onboarding series with a time-limited incentive soon after the first purchase.",
    ),
    (
        lambda lv: lv.get("aov") == "high",
        "Recommend premium and complementary products: their orders average {aov:,.0f}.",
    ),
    (
        lambda lv: lv.get("aov") == "low",
        "Raise order value with bundles and free-shipping thresholds above their average order of {aov:,.0f}.",
    ),
    (
        lambda lv: lv.get("return_rate") == "high",
        "Look into returns ({return_rate:.0%} of their spend): sizing help or product information before the next campaign.",
    ),
    (
        lambda lv: lv["recency_days"] == "mid",
        "Re-engage with personalised recommendations before their gap since the last order ({recency_days:.0f} days) grows.",
    ),
)
FALLBACK_STRATEGIES = (
    "Test one message against a hold-out group and keep what lifts orders.",
    "Watch the segment's size and revenue share at each refresh.",
)


def strategies(
    traits: dict[str, Trait], top_category: str | None = None, *, aov: float | None = None
) -> list[str]:
    """Return 2–4 strategies for a segment, each backed by one of its traits.

    `aov` is the segment's revenue per order (summary.json's aov_mean), quoted as the
    value of its orders rather than the mean of per-customer averages.
    """
    level = levels(traits)
    figures = {f: t.mean for f, t in traits.items()}
    if aov is not None:
        figures["aov"] = aov
    chosen = [text.format(**figures) for rule, text in STRATEGY_RULES if rule(level)][:3]
    if top_category:
        chosen.append(f"Lead campaigns with {top_category}, their largest category by spend.")
    for text in FALLBACK_STRATEGIES:
        if len(chosen) >= 2:
            break
        chosen.append(text)
    return chosen[:4]


def describe(name: str, customers: int, share: float, traits: dict[str, Trait]) -> str:
    """Return one sentence with the segment's size and its figures against the average customer."""
    r, f, m = traits["recency_days"], traits["frequency"], traits["monetary"]
    # Without spend overall (every amount 0) there is no ratio to give.
    ratio = f", {m.mean / m.base_mean:.1f}× the average customer" if m.base_mean else ""
    return (
        f"{name}: {customers:,} customers ({share:.0%}) who last ordered {r.mean:.0f} days ago on "
        f"average (all customers: {r.base_mean:.0f}), placed {f.mean:.1f} orders "
        f"(all: {f.base_mean:.1f}) and spent {m.mean:,.2f} each{ratio}."
    )
