"""report.md: the run's summary as Markdown (charts come with the HTML report)."""

from __future__ import annotations


def _money(x: float) -> str:
    return f"{x:,.2f}"


def _pct(x: float) -> str:
    return f"{x:.1%}"


def render_markdown(summary: dict) -> str:
    """Return the Markdown report of a run, every figure taken from summary."""
    inp, tot, sel = summary["input"], summary["totals"], summary["selection"]
    out = [
        "# Customer segments",
        "",
        "## Executive summary",
        "",
        f"- **{tot['customers']:,}** customers placed **{tot['orders']:,}** orders worth "
        f"**{_money(tot['revenue'])}** between {inp['period']['start'][:10]} and "
        f"{inp['period']['end'][:10]} (as of {inp['as_of']}).",
        f"- Average order value: **{_money(tot['aov'])}** (revenue ÷ orders); "
        f"revenue per customer: {_money(tot['revenue_per_customer'])}.",
        f"- **{sel['chosen_k']}** segments, chosen by {sel['metric'].replace('_', '-')}.",
    ]
    for seg in sorted(summary["segments"], key=lambda s: -s["revenue_share"])[:3]:
        out.append(
            f"- {seg['name']}: {_pct(seg['share'])} of customers bring "
            f"{_pct(seg['revenue_share'])} of revenue."
        )
    out += ["", "## Data quality", "", "| | rows |", "|---|---:|"]
    out.append(f"| read | {inp['rows_read']:,} |")
    out.append(f"| used | {inp['rows_used']:,} |")
    for reason, n in inp["rows_dropped"].items():
        out.append(f"| dropped: {reason.replace('_', ' ')} | {n:,} |")
    mapping = ", ".join(f"{role} = `{col}`" for role, col in inp["columns"].items())
    out += ["", f"Columns: {mapping}. Dates read as: {inp['date_format']}.", ""]
    out += [
        "## Segments",
        "",
        "| segment | customers | share | revenue share | avg spend | orders | AOV | recency (days) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for seg in summary["segments"]:
        out.append(
            f"| {seg['name']} | {seg['customers']:,} | {_pct(seg['share'])} | "
            f"{_pct(seg['revenue_share'])} | {_money(seg['monetary_mean'])} | "
            f"{seg['frequency_mean']:.1f} | {_money(seg['aov_mean'])} | {seg['recency_days_mean']:.0f} |"
        )
    for seg in summary["segments"]:
        out += ["", f"### {seg['name']}", "", seg["description"], ""]
        if seg["top_categories"]:
            out += [f"Top categories: {', '.join(seg['top_categories'])}.", ""]
        for column, mix in seg.get("attributes", {}).items():
            parts = ", ".join(f"{v} {_pct(s)}" for v, s in list(mix.items())[:5])
            out += [f"{column}: {parts}.", ""]
        out += [f"- {s}" for s in seg["strategy"]]
    out += [
        "",
        "## Model",
        "",
        f"Features: {', '.join(summary['features'])} ({summary['feature_set']} set), "
        "log1p for days, counts and money, then standard scaling; K-means "
        f"(seed {summary['seed']}). k range {sel['k_range'][0]}–{sel['k_range'][1]}, "
        f"minimum segment share {_pct(sel['min_segment_share'])}.",
        "",
        "| k | Davies-Bouldin | silhouette | Calinski-Harabasz | inertia | smallest share | eligible |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in sel["scores"]:
        mark = " **(chosen)**" if row["k"] == sel["chosen_k"] else ""
        out.append(
            f"| {row['k']}{mark} | {_num(row['davies_bouldin'])} | {_num(row['silhouette'])} | "
            f"{_num(row['calinski_harabasz'], 1)} | {_num(row['inertia'], 1)} | "
            f"{_pct(row['smallest_share'])} | {'yes' if row['eligible'] else 'no'} |"
        )
    for warning in summary.get("warnings", []):
        out += ["", f"> Warning: {warning}"]
    return "\n".join(out) + "\n"


def _num(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"
