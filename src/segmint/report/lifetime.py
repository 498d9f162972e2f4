"""The report's lifetime value section, from summary.json's `clv` (docs/clv.md)."""

from __future__ import annotations

from segmint.profile.naming import is_lapsing
from segmint.report import figures
from segmint.report import format as fmt
from segmint.report.document import Figures, Paragraph, Section, Table
from segmint.report.palette import segment_colour

# How parameters are written in the report.
SYMBOLS = {"alpha": "α", "beta": "β", "gamma": "γ"}


def lifetime_value_section(summary: dict, segments: list[dict]) -> Section:
    """Return the section: totals with their interval, the model and why, per-segment figures,
    what a lapsing segment's chance of being active means, and the fitted models."""
    clv = summary.get("clv") or {"enabled": False, "reason": "not computed by this run"}
    section = Section("clv", "Customer lifetime value")
    if not clv["enabled"]:
        return section.add(Paragraph(f"Lifetime value is not computed: {clv['reason']}."))
    horizon, totals = clv["horizon_days"], clv["totals"]
    section.add(
        Figures(
            (
                (f"Expected spend, next {horizon} days", fmt.money(totals["clv_total"])),
                ("90% interval", interval_text(totals.get("clv_total_interval"))),
                ("Mean chance a customer is still active", fmt.pct(totals["p_alive_mean"])),
                (f"Mean chance of no order in {horizon} days", fmt.pct(totals["p_no_order_mean"])),
                (
                    f"Likely lost (chance active below {fmt.pct(clv['likely_lost_below'])})",
                    fmt.whole(totals["likely_lost"]),
                ),
            )  # fmt: skip
        ),
        Paragraph(_method(clv, summary["totals"]["customers"])),
    )
    for text in lapsing_notes(segments, totals, clv["model"]):
        section.add(Paragraph(text))
    section.add(
        _segment_table(clv, segments),
        figures.clv_chart(summary),
        _model_table(clv),
    )
    return section


def interval_text(interval: list[float] | None) -> str:
    """Return an interval as 'lo – hi', or a dash when there is none."""
    if not interval:
        return "—"
    return f"{fmt.money(interval[0])} – {fmt.money(interval[1])}"


def _method(clv: dict, customers: int) -> str:
    model = clv["model"]
    discount = (
        f", discounted at {fmt.pct(clv['discount_rate'])} a year"
        if clv.get("discount_rate")
        else ", undiscounted"
    )
    interval = clv["interval"]
    interval_words = (
        f"The interval is a {fmt.pct(interval['level'])} interval from the uncertainty of the "
        f"fitted parameters ({interval['method']}); it does not cover chance in what each "
        "customer will do."
        if not interval.get("reason")
        else f"There is {interval['reason']}."
    )
    return (
        f"Expected spend per customer over the next {clv['horizon_days']} days (CLV"
        f"{discount}): the expected number of orders from the {model['title']} model times "
        "the expected order value from a Gamma-Gamma model, both fitted by maximum "
        f"likelihood on every customer ({fmt.whole(model['customers'])} customers, "
        f"{fmt.whole(model['distinct_rows'])} distinct histories). Model: {model['why']}. "
        "The chance of no order is the churn risk to filter on; the next order date is the "
        "day by which a customer has an even chance of having ordered again. " + interval_words
    )


def lapsing_notes(segments: list[dict], totals: dict, model: dict | None = None) -> list[str]:
    """Return why each segment named as lapsing shows a higher chance of being active than
    the customer base (an empty list when none does). `model`: summary.json's clv.model;
    when its fit has no interior maximum the chances hardly tell customers apart, and the
    note says that instead."""
    notes = []
    base = totals["p_alive_mean"]
    for s in segments:
        if not is_lapsing(s["name"]) or s["p_alive_mean"] <= base:
            continue
        if model is not None and not model["converged"]:
            notes.append(
                f"{s['name']}: its mean chance of being active ({fmt.pct(s['p_alive_mean'])}) "
                f"is above the customer base's ({fmt.pct(base)}), though its customers last "
                f"ordered {fmt.whole(s['recency_days_mean'])} days ago on average. The "
                f"{model['title']} fit has no interior maximum on this data (see the "
                "warnings), so its chances of being active hardly tell customers apart here: "
                "judge this segment by its recency, and read its churn risk "
                f"({fmt.pct(s['p_no_order_mean'])}) with care."
            )
            continue
        notes.append(
            f"{s['name']}: its mean chance of being active ({fmt.pct(s['p_alive_mean'])}) is "
            f"above the customer base's ({fmt.pct(base)}), though its customers last ordered "
            f"{fmt.whole(s['recency_days_mean'])} days ago on average. They ordered "
            f"{fmt.one(s['frequency_mean'])} times each on average, and a frequent buyer who "
            "has gone quiet is likelier to return than the base's many one-time buyers, whose "
            "chance falls steadily; the name compares recency with the base, the chance "
            "weighs recency against each customer's own buying rate. Their churn risk, "
            f"{fmt.pct(s['p_no_order_mean'])} with no order in the horizon, is the figure "
            "to act on."
        )
    return notes


def _segment_table(clv: dict, segments: list[dict]) -> Table:
    total = clv["totals"]["clv_total"]
    rows = tuple(
        (s["name"], fmt.whole(s["customers"]), fmt.pct(s["p_alive_mean"]),
         fmt.pct(s["p_no_order_mean"]), fmt.whole(s["likely_lost"]), fmt.money(s["clv_mean"]),
         fmt.money(s["clv_total"]), interval_text(s.get("clv_total_interval")),
         fmt.pct(s["clv_total"] / total if total else 0.0))
        for s in segments
    )  # fmt: skip
    return Table(
        ("segment", "customers", "mean chance active", "churn risk", "likely lost", "mean CLV",
         "total CLV", "90% interval", "share of CLV"),
        rows,
        "lrrrrrrrr",
        swatches=tuple(segment_colour(s["id"]) for s in segments),
        note=f"Churn risk: the mean chance of no order in the next {clv['horizon_days']} days.",
    )  # fmt: skip


def parameters_text(params: dict[str, float]) -> str:
    """Return fitted parameters as 'r 0.553, α 10.6, …'."""
    return ", ".join(f"{SYMBOLS.get(k, k)} {fmt.score(v)}" for k, v in params.items())


def _model_table(clv: dict) -> Table:
    model, value = clv["model"], clv["gamma_gamma"]
    edge = f" (at the edge: {', '.join(model['at_edge'])})" if model["at_edge"] else ""
    excluded = value.get("excluded_non_positive", 0)
    return Table(
        ("model", "parameters", "log-likelihood", "customers", "converged"),
        (
            (f"{model['title']} (orders, activity)", parameters_text(model["params"]),
             fmt.one(model["log_likelihood"]), fmt.whole(model["customers"]),
             ("yes" if model["converged"] else "no") + edge),
            ("Gamma-Gamma (order value)",
             parameters_text({k: value[k] for k in ("p", "q", "gamma")}),
             fmt.one(value["log_likelihood"]), fmt.whole(value["customers"]),
             "yes" if value["converged"] else "no"),
        ),
        "llrrl",
        note="Time in weeks. The Gamma-Gamma model is fitted on customers with repeat orders, "
        "from the mean net value of the orders after their first"
        + (
            f"; {fmt.whole(excluded)} repeat customer(s) whose repeat orders are worth nothing "
            "net are left out of it and valued at the population mean shrunk by their record"
            if excluded
            else ""
        )
        + ".",
    )  # fmt: skip
