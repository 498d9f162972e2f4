"""Assemble the report document from summary.json, segments.parquet and model.json.

Sections follow the order a reader needs them: what happened, can I trust the data, who
the segments are, what to do, and how the model was chosen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmint.features.rfm import RFM_SEGMENT_NAMES
from segmint.model.selection import METRIC_LABELS
from segmint.report import figures
from segmint.report import format as fmt
from segmint.report.document import (
    Bullets,
    Callout,
    Figures,
    Paragraph,
    Report,
    Section,
    Table,
)
from segmint.report.findings import key_findings
from segmint.report.lifetime import interval_text, lifetime_value_section
from segmint.report.palette import segment_colour
from segmint.report.plan import HORIZONS, implementation_plan, segment_kpis
from segmint.rules.export import NO_RULE

# Below this share of a segment caught by its rules, the report says so plainly.
RULES_SHORT = 0.70


def build_report(summary: dict, customers: pd.DataFrame, model_json: dict) -> Report:
    """Return the report of a run; every figure comes from the three outputs given."""
    segments = sorted(summary["segments"], key=lambda s: s["id"])
    inp = summary["input"]
    subtitle = (
        f"{fmt.whole(summary['totals']['customers'])} customers, {len(segments)} segments · "
        f"{', '.join(fmt.file_name(f) for f in inp['files'])} · as of {inp['as_of']}"
    )
    return Report(
        "Customer segments",
        subtitle,
        [
            _executive_summary(summary, customers),
            _data_quality(summary),
            _overview(summary, segments),
            _concentration(summary, customers),
            _profiles(summary, customers),
            _segment_map(summary, customers, model_json),
            _rfm_grid(summary, customers),
            lifetime_value_section(summary, segments),
            _per_segment(summary, segments),
            _plan(summary, customers),
            _technical(summary, model_json),
        ],
    )


def _executive_summary(summary: dict, customers: pd.DataFrame) -> Section:
    inp, tot, sel = summary["input"], summary["totals"], summary["selection"]
    how = (
        f"fixed with --k = {sel['chosen_k']}"
        if sel.get("k_fixed")
        else f"chosen from k = {sel['k_range'][0]}–{sel['k_range'][1]} by {_metric(sel['metric'])}"
    )
    return Section("summary", "Executive summary").add(
        Figures(
            (
                ("Customers", fmt.whole(tot["customers"])),
                ("Orders", fmt.whole(tot["orders"])),
                ("Revenue", fmt.money(tot["revenue"])),
                ("Average order value", fmt.money(tot["aov"])),
                ("Period", f"{inp['period']['start'][:10]} – {inp['period']['end'][:10]}"),
                ("As of", inp["as_of"]),
            )
        ),
        Paragraph(f"Average order value is revenue ÷ orders. {sel['chosen_k']} segments, {how}."),
        Bullets(tuple(key_findings(summary, customers))),
    )


def _data_quality(summary: dict) -> Section:
    inp = summary["input"]
    read = inp["rows_read"]
    rows = [("read", fmt.whole(read), fmt.pct(1.0 if read else 0.0))]
    rows += [
        (f"dropped: {reason.replace('_', ' ')}", fmt.whole(n), fmt.pct(n / read if read else 0))
        for reason, n in inp["rows_dropped"].items()
    ]
    rows.append(
        ("used", fmt.whole(inp["rows_used"]), fmt.pct(inp["rows_used"] / read if read else 0))
    )
    mapping = tuple((role, column) for role, column in inp.get("columns", {}).items())
    return Section("data-quality", "Data quality").add(
        Table(("rows", "count", "share of rows read"), tuple(rows), "lrr"),
        Paragraph(
            f"Files: {', '.join(inp['files'])}. Dates read as {inp.get('date_format', 'detected')}; "
            f"orders from {inp['period']['start'][:10]} to {inp['period']['end'][:10]}."
        ),
        Table(("role", "column in the file"), mapping, "ll"),
    )


def _overview(summary: dict, segments: list[dict]) -> Section:
    headers = ["segment", "customers", "share", "revenue share", "average spend",
               "orders / year", "AOV", "avg. recency (days)", "primary categories"]  # fmt: skip
    attribute_columns = list(dict.fromkeys(c for s in segments for c in s.get("attributes", {})))
    headers += attribute_columns
    rows = []
    for s in segments:
        row = [s["name"], fmt.whole(s["customers"]), fmt.pct(s["share"]),
               fmt.pct(s["revenue_share"]), fmt.money(s["monetary_mean"]),
               fmt.one(s["orders_per_year"]), fmt.money(s["aov_mean"]),
               fmt.whole(s["recency_days_mean"]), ", ".join(s["top_categories"]) or "–"]  # fmt: skip
        for column in attribute_columns:
            mix = list(s.get("attributes", {}).get(column, {}).items())[:3]
            row.append(", ".join(f"{value} {fmt.pct(share)}" for value, share in mix) or "–")
        rows.append(tuple(row))
    days = summary["input"]["period_days"]
    section = Section("segments", "Segment overview")
    previous = summary.get("previous")
    if previous:
        parts = [
            f"kept from the previous run ({fmt.file_name(previous['folder'])}): "
            f"{', '.join(previous['persisted']) or 'none'}"
        ]
        if previous["appeared"]:
            parts.append(f"new: {', '.join(previous['appeared'])}")
        if previous["vanished"]:
            parts.append(f"no longer present: {', '.join(previous['vanished'])}")
        section.add(Paragraph("Segments " + "; ".join(parts) + "."))  # fmt: skip
    return section.add(
        Table(
            tuple(headers),
            tuple(rows),
            "lrrrrrrr" + "l" * (1 + len(attribute_columns)),
            swatches=tuple(segment_colour(s["id"]) for s in segments),
            note=f"Average spend is net spend per customer; orders / year is orders per customer "
            f"per year over the {fmt.whole(days)}-day period; AOV is the segment's revenue ÷ "
            "its orders; primary categories are its largest by spend.",
        )
    )


def _concentration(summary: dict, customers: pd.DataFrame) -> Section:
    rows = tuple(
        (f"top {r['top_share']:.0%}", fmt.whole(r["customers"]), fmt.pct(r["revenue_share"]))
        for r in summary["revenue_concentration"]
    )
    return Section("concentration", "Revenue concentration").add(
        Paragraph(
            "Customers ranked by net spend, highest first, against the share of revenue they "
            "bring; the further the curve sits above the diagonal, the more revenue depends on "
            "a few customers."
        ),
        figures.pareto_chart(customers, summary),
        Table(("customers by spend", "customers", "share of revenue"), rows, "lrr"),
        figures.segment_share_chart(summary),
    )


def _profiles(summary: dict, customers: pd.DataFrame) -> Section:
    cadence_rows = []
    for s in sorted(summary["segments"], key=lambda s: s["id"]):
        inside = customers.loc[customers["segment_id"] == s["id"], "interpurchase_days"]
        repeat = inside.dropna()
        cadence_rows.append(
            (
                s["name"],
                fmt.pct(len(repeat) / len(inside) if len(inside) else 0.0),
                fmt.whole(float(repeat.median())) if len(repeat) else fmt.MISSING,
            )
        )
    return Section("profiles", "Segment profiles").add(
        figures.profile_heatmap(customers, summary),
        figures.distribution_chart(customers, summary),
        figures.cadence_chart(customers, summary),
        Table(
            ("segment", "customers with 2+ orders", "median days between orders"),
            tuple(cadence_rows),
            "lrr",
        ),
    )


def _segment_map(summary: dict, customers: pd.DataFrame, model_json: dict) -> Section:
    chart, facts = figures.segment_map(customers, summary, model_json)
    shown = (
        f"all {fmt.whole(facts['customers'])} customers"
        if facts["points"] == facts["customers"]
        else f"a random sample of {fmt.whole(facts['points'])} of the "
        f"{fmt.whole(facts['customers'])} customers (seed {summary['seed']})"
    )
    loadings = "; ".join(
        f"{feature} {first:+.2f} / {second:+.2f}"
        for feature, (first, second) in facts["loadings"].items()
    )
    return Section("map", "Segment map").add(
        Paragraph(
            f"The clustering features, scaled as the model sees them, projected on their first "
            f"two principal components ({fmt.pct(sum(facts['explained']))} of the variance); "
            f"showing {shown}. Black crosses mark the segment centres. Loadings (first / "
            f"second component): {loadings}."
        ),
        chart,
    )


def _rfm_grid(summary: dict, customers: pd.DataFrame) -> Section:
    rows = tuple(
        (r["name"], fmt.whole(r["customers"]), fmt.pct(r["share"]), fmt.pct(r["revenue_share"]))
        for r in summary["rfm_segments"]
    )
    missing = [
        n for n in RFM_SEGMENT_NAMES if n not in {r["name"] for r in summary["rfm_segments"]}
    ]
    section = Section("rfm", "Classic RFM grid").add(
        Paragraph(
            "The textbook RFM segments, from quintile scores (5 = most recent, most frequent, "
            "highest spend), shown beside the K-means segments for comparison."
        ),
        figures.rfm_grid_chart(customers),
        Table(("RFM segment", "customers", "share", "revenue share"), rows, "lrrr"),
    )
    if missing:
        section.add(Paragraph(f"Not present in this data: {', '.join(missing)}."))
    return section


def _per_segment(summary: dict, segments: list[dict]) -> Section:
    tot = summary["totals"]
    section = Section("strategy", "Segments and strategies")
    for s in segments:
        compare = (
            ("days since last order", fmt.whole(s["recency_days_mean"]),
             fmt.whole(_mean(summary, "recency_days_mean"))),
            ("orders", fmt.one(s["frequency_mean"]), fmt.one(tot["orders_per_customer"])),
            ("spend", fmt.money(s["monetary_mean"]), fmt.money(tot["revenue_per_customer"])),
            ("average order value", fmt.money(s["aov_mean"]), fmt.money(tot["aov"])),
        )  # fmt: skip
        clv = summary.get("clv") or {}
        if clv.get("enabled"):
            horizon = clv["horizon_days"]
            compare += (
                ("chance still active", fmt.pct(s["p_alive_mean"]),
                 fmt.pct(clv["totals"]["p_alive_mean"])),
                (f"chance of no order in {horizon} days", fmt.pct(s["p_no_order_mean"]),
                 fmt.pct(clv["totals"]["p_no_order_mean"])),
                (f"expected spend, next {horizon} days", fmt.money(s["clv_mean"]),
                 fmt.money(clv["totals"]["clv_mean"])),
                (f"segment's expected spend, next {horizon} days (90% interval)",
                 f"{fmt.money(s['clv_total'])} ({interval_text(s.get('clv_total_interval'))})",
                 f"{fmt.money(clv['totals']['clv_total'])} "
                 f"({interval_text(clv['totals'].get('clv_total_interval'))})"),
            )  # fmt: skip
        sub = Section(f"segment-{s['id']}", s["name"]).add(
            Paragraph(s["description"] + stability_text(s.get("stability"))),
            Table(
                ("per customer", "this segment", "all customers"),
                compare,
                "lrr",
                swatches=(segment_colour(s["id"]),) * len(compare),
            ),  # fmt: skip
        )
        if s.get("rule_text") == NO_RULE:
            sub.add(Paragraph(
                "No CRM rule: the tree that imitates the segments never picks this one; "
                "upload its customers from audiences/ instead."
            ))  # fmt: skip
        elif "rule_text" in s:
            sub.add(Paragraph(
                f"As a CRM rule: {s['rule_text']} (catches {fmt.pct(s['rule_fidelity'])} of "
                "the segment; rules.sql and audiences/ hold it ready to use)."
            ))  # fmt: skip
        if s["top_categories"]:
            sub.add(Paragraph(f"Largest categories by spend: {', '.join(s['top_categories'])}."))
        for column, mix in s.get("attributes", {}).items():
            parts = ", ".join(f"{v} {fmt.pct(x)}" for v, x in list(mix.items())[:5])
            sub.add(Paragraph(f"{column}: {parts}."))
        sub.add(Paragraph("Strategy:"), Bullets(tuple(s["strategy"])))
        sub.add(Paragraph("KPIs to watch:"), Bullets(tuple(segment_kpis(s))))
        section.add(sub)
    return section


def _plan(summary: dict, customers: pd.DataFrame) -> Section:
    repeat = customers["interpurchase_days"].dropna()
    median_days = float(np.median(repeat)) if len(repeat) else None
    plan = implementation_plan(summary, median_days)
    section = Section("plan", "Implementation plan")
    for horizon, title in HORIZONS.items():
        section.add(Section(f"plan-{horizon}", title).add(Bullets(tuple(plan[horizon]))))
    return section


def _undefined_scores(rows: list[dict]) -> str:
    """Return the note saying why a score of the table is "—" (empty when none is)."""
    reasons: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        for metric, why in row.get("undefined", {}).items():
            reasons.setdefault((metric, why), []).append(row["k"])
    notes = [
        f"{METRIC_LABELS.get(metric, metric)} at k = {', '.join(map(str, ks))} {why}"
        for (metric, why), ks in reasons.items()
    ]
    return f"{fmt.MISSING}: undefined here; the " + "; the ".join(notes) + "." if notes else ""


def _technical(summary: dict, model_json: dict) -> Section:
    sel = summary["selection"]
    features = tuple(
        (f["name"], f["transform"], fmt.score(f["mean"], 4), fmt.score(f["scale"], 4))
        for f in model_json["features"]
    )
    scores = tuple(
        (
            f"{r['k']} (chosen)" if r["k"] == sel["chosen_k"] else str(r["k"]),
            fmt.score(r["davies_bouldin"]),
            fmt.score(r["silhouette"]),
            fmt.score(r["calinski_harabasz"], 1),
            fmt.score(r["inertia"], 1),
            fmt.pct(r["smallest_share"]),
            fmt.score(r.get("stability")),
            fmt.score(r.get("least_stable")),
            "yes" if r["eligible"] else "no",
        )
        for r in sel["scores"]
    )
    sample = sel["silhouette_sample_size"]
    section = Section("technical", "Technical details").add(
        Paragraph(
            f"Feature set '{summary['feature_set']}': each feature transformed as listed, then "
            "standard-scaled (mean and population standard deviation of this data). K-means "
            f"(scikit-learn, k-means++ with {sel['n_init']} starts, seed {summary['seed']}) for each k in "
            f"{sel['k_range'][0]}–{sel['k_range'][1]}{_sampling(sel, summary['seed'])}; the chosen k "
            f"{_selection_rule(sel)}. Silhouette on a seeded sample of at most {fmt.whole(sample)} customers. "
            f"Every customer belongs to its nearest centre.{_engine(summary)}"
        ),
        Paragraph(_stability_method(sel)),
        Table(("feature", "transform", "mean", "scale"), features, "llrr"),
        Table(
            (
                "k",
                "Davies-Bouldin",
                "silhouette",
                "Calinski-Harabasz",
                "inertia",
                "smallest share",
                "stability (mean)",
                "least stable segment",
                "eligible",
            ),
            scores,
            "rrrrrrrrl",
        ),  # fmt: skip
    )
    undefined = _undefined_scores(sel["scores"])
    if undefined:
        section.add(Paragraph(undefined))
    section.add(figures.selection_chart(summary))
    _refresh_details(section, summary)
    _rules_details(section, summary)
    for warning in summary.get("warnings", []):
        section.add(Callout(f"Warning: {warning}."))
    # In the order the run went through its stages (the CLV, fitted beside the profile and
    # the rules, last: its time is the wait for it).
    timings = tuple((stage, fmt.seconds(seconds)) for stage, seconds in summary["timings"].items())
    section.add(Table(("stage", "time"), timings, "lr"))
    versions = ", ".join(f"{name} {v}" for name, v in summary.get("versions", {}).items())
    section.add(Paragraph(f"Versions: {versions}. Generated {summary['generated_at']}."))
    return section


def _refresh_details(section: Section, summary: dict) -> None:
    """The refresh test: would a run a quarter earlier have drawn today's segments?"""
    refresh = summary["selection"].get("refresh")
    if refresh is None:
        return
    days = refresh["days"]
    if refresh["matched"] is None:
        section.add(Paragraph(f"Refresh test (a run {days} days earlier): not run, "
                              f"{refresh['skipped']}."))  # fmt: skip
        return
    k = len(refresh["segments"])
    names = {s["id"]: s["name"] for s in summary["segments"]}
    section.add(
        Paragraph(
            f"Refresh test: a run {days} days earlier (as of {refresh['as_of']}, on the "
            f"{fmt.whole(refresh['customers_then'])} customers who had ordered by then, with "
            f"the same settings and k = {k}), applied to today's customers, draws "
            f"{refresh['matched']} of today's {k} segments again (Jaccard similarity of at "
            f"least {refresh['min_stability']:g} with one of its segments): what a quarterly "
            "refresh would keep. A segment that does not come back may be new, or drawn "
            "differently from one quarter to the next."
        ),
        Table(
            ("segment", "Jaccard with the earlier run's closest segment", "comes back"),
            tuple(
                (names[s["segment"]], fmt.score(s["jaccard"], 2), "yes" if s["matched"] else "no")
                for s in refresh["segments"]
            ),
            "lrl",
        ),
    )


def _rules_details(section: Section, summary: dict) -> None:
    """The CRM rules' fidelity at every depth tried and per segment, and where they fall short."""
    rules = summary.get("rules")
    if not rules:
        return
    section.add(
        Paragraph(
            "CRM rules: a decision tree (scikit-learn, seeded) imitates the segments from the "
            "clustering features in their own units; the smallest depth from 2 to 5 reaching "
            f"90% fidelity is kept (here {rules['max_depth']}). Fidelity is the share of "
            "customers whom the exported rules (rules.json, rules.sql) put in their own segment."
        ),
        Table(
            ("tree depth", "fidelity"),
            tuple(
                (
                    f"{d['depth']} (kept)" if d["depth"] == rules["max_depth"] else str(d["depth"]),
                    fmt.pct(d["fidelity"]),
                )
                for d in rules["depths"]
            ),  # fmt: skip
            "rr",
        ),
        Table(
            ("segment", "caught by its rules"),
            tuple((s["name"], fmt.pct(s["rule_fidelity"])) for s in summary["segments"]),
            "lr",
            swatches=tuple(segment_colour(s["id"]) for s in summary["segments"]),
        ),
    )
    short = [s for s in summary["segments"] if s["rule_fidelity"] < RULES_SHORT]
    for s in short:
        section.add(
            Callout(
                f"The rules catch only {fmt.pct(s['rule_fidelity'])} of {s['name']}: in a CRM, "
                "this segment is better uploaded as a list (audiences/) than rebuilt from rules."
            )
        )


# Helpers ------------------------------------------------------------------------------


def _metric(name: str) -> str:
    return METRIC_LABELS.get(name, name)


def _sampling(sel: dict, seed: int) -> str:
    if not sel.get("sampled"):
        return ", fitted on every customer"
    return (
        f", fitted on a seeded sample of {fmt.whole(sel['sample_size'])} customers (seed "
        f"{seed}) and scored over every customer by nearest centre; the chosen k's centres "
        "are then refined on every customer, and its row of the table scores those final "
        "segments"
    )


def _engine(summary: dict) -> str:
    engine = summary.get("engine")
    if not engine:
        return ""
    return (
        f" Computed on Apache Spark {engine['spark_version']} (master {engine['master']}): "
        "the per-customer tables are folders of part files written by Spark, and the charts "
        f"are drawn from the seeded sample of {fmt.whole(engine['sample_customers'])} customers."
    )


def _selection_rule(sel: dict) -> str:
    if sel.get("k_fixed"):
        return "was fixed by --k"
    verb = "minimises" if sel["metric"] in ("davies_bouldin", "stable") else "maximises"
    metric = "Davies-Bouldin" if sel["metric"] == "stable" else _metric(sel["metric"])
    rule = (
        f"{verb} {metric} among the k whose smallest segment holds at least "
        f"{fmt.pct(sel['min_segment_share'])} of customers"
        + (
            f" and at least {fmt.whole(sel['min_segment_size'])} of them"
            if sel.get("min_segment_size", 0) > 1
            else ""
        )
    )
    if sel["metric"] == "stable":
        rule += (
            f" and whose every segment is stable (mean Jaccard similarity of at least "
            f"{sel['min_stability']:g}): stability says which k a marketer can rely on, and "
            "Davies-Bouldin, whose differences between neighbouring k are often noise, "
            "decides among those"
        )
    return rule


def _stability_method(sel: dict) -> str:
    """The paragraph that says how each segment's stability is measured."""
    customers = (
        f"the seeded sample of {fmt.whole(sel['sample_size'])} customers k is chosen on"
        if sel.get("sampled")
        else "the customers"
    )
    return (
        f"Stability of each segment (Hennig's cluster-wise bootstrap): {customers} are drawn "
        f"again with replacement {sel['resamples']} times, K-means is fitted on each draw "
        "(one k-means++ start), and each segment's Jaccard similarity to the most similar "
        "segment of the refit, over the customers drawn, is averaged. 1 means the segment "
        "comes back with the same customers every time; it comes back in a resample when "
        "it reaches 0.5, and below 0.5 on average it dissolves. A segment is stable from "
        f"{sel['min_stability']:g} (--min-stability); the table shows the mean over a k's "
        "segments and its least stable segment."
    )


def stability_text(stability: dict | None) -> str:
    """The segment card's sentence on its stability ("" when it was not measured)."""
    if stability is None or stability.get("jaccard") is None:
        return ""
    value, back, of = stability["jaccard"], stability["recovered"], stability["resamples"]
    if stability["stable"]:
        return (
            f" Stable: {value:.2f} — this segment comes back in {back} of {of} resamples of "
            "the customers."
        )
    return (
        f" Fragile: {value:.2f} — it comes back in {back} of {of} resamples of the "
        "customers; treat it as provisional."
    )


def _mean(summary: dict, key: str) -> float:
    segments = summary["segments"]
    total = sum(s["customers"] for s in segments)
    return sum(s[key] * s["customers"] for s in segments) / total if total else 0.0
