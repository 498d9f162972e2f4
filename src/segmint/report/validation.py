"""The holdout validation report: each order model's predicted against actual orders, the
tracking of cumulative repeat orders through calibration and holdout, and by repeat orders."""

from __future__ import annotations

from segmint.report import format as fmt
from segmint.report.charts import Chart, Line, LinePanel, Mark
from segmint.report.document import Figures, Paragraph, Report, Section, Table
from segmint.report.palette import NEUTRAL, segment_colour

LABELS = {"pareto-nbd": "Pareto/NBD", "mbg-nbd": "MBG/NBD", "bg-nbd": "BG/NBD"}
PARAMETER_LABELS = {"alpha": "α", "beta": "β"}
REFERENCES = (
    "Pareto/NBD: Schmittlein, Morrison & Colombo (1987); BG/NBD: Fader, Hardie & Lee (2005); "
    "MBG/NBD: Batislam, Denizel & Filiztekin (2007). Maximum likelihood, time in weeks."
)
# A tracking curve further than this share from the actual repeat orders at the calibration's
# end (data the model was fitted on) is pointed out in words.
TRACKING_GAP = 0.2
# Why a model's P(alive) can rank next-period buyers worse than chance, said when it does.
LOW_P_ALIVE = {
    "bg-nbd": "BG/NBD lets a customer stop only right after a repeat order, so it counts "
    "every customer without one as certainly alive, though they are the least likely to buy",
}


def label(name: str) -> str:
    """Return the printed name of an order model (Pareto/NBD for pareto-nbd)."""
    return LABELS.get(name, name)


def build_validation_report(summary: dict) -> Report:
    """Return the document of a holdout validation (segmint validate) from its summary."""
    cal, hold = summary["calibration"], summary["holdout"]
    files = ", ".join(fmt.file_name(f) for f in summary["files"])
    subtitle = (
        f"{files} · calibration {cal['start']} – {cal['end']} · "
        f"holdout {hold['start']} – {hold['end']} ({fmt.whole(summary['holdout_days'])} days)"
    )
    return Report(
        "Lifetime value models: holdout validation",
        subtitle,
        [
            overview(summary),
            models_section(summary),
            tracking_section(summary),
            groups_section(summary),
        ],  # fmt: skip
        sources="validation.json and validation.csv",
    )


def _colours(summary: dict) -> dict[str, str]:
    """Return each model's colour: by its place in the list, the same in every chart."""
    return {m["name"]: segment_colour(i) for i, m in enumerate(summary["models"])}


def _best(summary: dict) -> dict | None:
    return next((m for m in summary["models"] if m["name"] == summary["best_by_mae"]), None)


def overview(summary: dict) -> Section:
    """Return the summary section: headline figures of the best model and what they mean."""
    best = _best(summary)
    actual = next((m["errors"]["total_actual"] for m in summary["models"] if m["errors"]), None)
    items = [
        ("Customers compared", fmt.whole(summary["customers"])),
        ("Orders placed in the holdout", fmt.whole(actual)),
    ]
    if best is not None:
        err = best["errors"]
        items += [
            ("Best model by mean absolute error", label(best["name"])),
            (f"Orders predicted by {label(best['name'])}", fmt.one(err["total_predicted"])),
            ("Its mean absolute error per customer", fmt.score(err["mae"])),
            ("Its correlation per customer", fmt.score(err["correlation"])),
        ]
    return Section("summary", "Predicted and actual orders").add(
        Figures(tuple(items)), Paragraph(verdict(summary))
    )


def verdict(summary: dict) -> str:
    """Return the plain-words paragraph: which model predicts best and by how much."""
    best, models = _best(summary), summary["models"]
    scored = [m for m in models if m["errors"]]
    text = (
        "Every order model is fitted on the calibration period only; each customer's expected "
        "orders over the holdout are compared with the orders they placed there. Customers "
        f"whose first order falls in the holdout ({fmt.whole(summary['new_in_holdout'])} here) "
        "are not compared: the models know nothing of them."
    )
    if best is None:
        return text
    err, others = best["errors"], [m for m in scored if m is not best]
    text += (
        f" {label(best['name'])} predicts the holdout best, with a mean absolute error of "
        f"{fmt.score(err['mae'])} orders per customer"
    )
    if others:
        text += " (" + ", ".join(
            f"{label(m['name'])} {fmt.score(m['errors']['mae'])}" for m in others
        ) + ")"  # fmt: skip
    text += (
        f". It predicted {fmt.one(err['total_predicted'])} orders in total against "
        f"{fmt.whole(err['total_actual'])} placed ({_signed_pct(err['total_error_share'])}), "
        f"and its per-customer predictions correlate with the actual orders at "
        f"{fmt.score(err['correlation'])}. Its P(alive) ranks the customers who ordered in the "
        f"holdout above those who did not with an AUC of {fmt.score(best['auc_p_alive'])}, its "
        f"P(an order in the holdout) with {fmt.score(best['auc_p_order'])} (0.5 is chance)."
    )
    if not best["converged"]:
        text += " Its fit did not converge: read its figures with care."
    return text + _low_auc_note(scored) + _tracking_note(summary) + _failed_note(models)


def _signed_pct(share: float | None) -> str:
    return fmt.pct(share) if share is None or share < 0 else "+" + fmt.pct(share)


def _low_auc_note(models: list[dict]) -> str:
    """Return a sentence for the models whose P(alive) ranks worse than chance, with why."""
    low = [m for m in models if m["auc_p_alive"] is not None and m["auc_p_alive"] < 0.5]
    if not low:
        return ""
    names = ", ".join(label(m["name"]) for m in low)
    why = "; ".join(LOW_P_ALIVE[m["name"]] for m in low if m["name"] in LOW_P_ALIVE)
    return f" P(alive) of {names} ranks worse than chance" + (f": {why}." if why else ".")


def _tracking_note(summary: dict) -> str:
    """Return a sentence for the models whose tracking curve misses the actual repeat orders
    by more than TRACKING_GAP at the calibration's end: data the models fitted, so their
    mean customer is not these customers, whatever their per-customer figures."""
    tracking = summary["tracking"]
    end = calibration_end_index(summary)
    actual = tracking["actual"][end]
    off = [
        (name, tracking[name][end])
        for name in (m["name"] for m in summary["models"])
        if tracking.get(name) is not None and actual > 0
        and abs(tracking[name][end] / actual - 1) > TRACKING_GAP
    ]  # fmt: skip
    if not off:
        return ""
    expected = ", ".join(f"{label(name)} {fmt.whole(value)}" for name, value in off)
    return (
        f" At the end of the calibration the customers had placed {fmt.whole(actual)} repeat "
        f"orders, where the tracking curves expect {expected}: those fits describe a "
        "population buying at another pace than these customers, so their forecasts for new "
        "customers and for the base as a whole are unreliable here."
    )


def _failed_note(models: list[dict]) -> str:
    failed = [m for m in models if m["reason"]]
    return "".join(f" {label(m['name'])} is not compared: {m['reason']}." for m in failed)


def models_section(summary: dict) -> Section:
    """Return the table of every model's figures and the table of their parameters."""
    best = summary["best_by_mae"]
    rows = []
    for m in summary["models"]:
        err = m["errors"] or {}
        name = label(m["name"]) + (" (best by MAE)" if m["name"] == best else "")
        rows.append((
            name, fmt.one(err.get("total_predicted")), _signed_pct(err.get("total_error_share")),
            fmt.score(err.get("mae")), fmt.score(err.get("rmse")),
            fmt.score(err.get("correlation")), fmt.score(m["auc_p_alive"]),
            fmt.score(m["auc_p_order"]),
        ))  # fmt: skip
    failed = "; ".join(f"{label(m['name'])}: {m['reason']}" for m in summary["models"]
                       if m["reason"])  # fmt: skip
    figures = Table(
        ("model", "orders predicted", "error of the total", "MAE", "RMSE", "correlation",
         "AUC P(alive)", "AUC P(order)"),
        tuple(rows),
        "lrrrrrrr",
        swatches=tuple(_colours(summary).values()),
        note="Per customer: mean absolute and root mean squared error of the predicted holdout "
        "orders, and their correlation with the actual ones. AUC: how well P(alive) and "
        "P(an order in the holdout) rank the customers who ordered in the holdout (1 perfect, "
        "0.5 chance)." + (f" Not compared: {failed}." if failed else ""),
    )  # fmt: skip
    return Section("models", "The models compared").add(figures, parameters_table(summary))


def parameters_table(summary: dict) -> Table:
    """Return each model's fitted parameters, log-likelihood and how its fit ended."""
    rows = []
    for m in summary["models"]:
        params = m["params"] or {}
        values = ", ".join(
            f"{PARAMETER_LABELS.get(k, k)} = {fmt.score(v, 4)}" for k, v in params.items()
        )
        if m["converged"] is None:
            ended = "–"
        elif m["converged"]:
            ended = "converged"
        else:
            ended = "not converged" + (
                f" ({', '.join(m['at_edge'])} at the edge)" if m["at_edge"] else ""
            )
        rows.append((label(m["name"]), values or fmt.MISSING, fmt.one(m["log_likelihood"]), ended))
    return Table(("model", "parameters", "log-likelihood", "fit"), tuple(rows), "llrl",
                 note=REFERENCES)  # fmt: skip


def tracking_section(summary: dict) -> Section:
    """Return the tracking chart: actual and predicted cumulative repeat orders by week."""
    tracking, colours = summary["tracking"], _colours(summary)
    weeks = tracking["week"]
    lines = [Line("actual", weeks, tracking["actual"], NEUTRAL)]
    lines += [
        Line(label(name), weeks, tracking[name], colours[name], dashed=True)
        for name in colours
        if tracking.get(name) is not None
    ]
    end = calibration_end_index(summary)
    panel = LinePanel(
        title="",
        x_title="weeks since the log's first order",
        y_title="cumulative repeat orders",
        lines=tuple(lines),
        marks=(Mark(weeks[end], tracking["actual"][end], "end of calibration"),),
    )
    chart = Chart(
        "tracking-cumulative-orders",
        "Cumulative repeat orders, week by week",
        (panel,),
        caption="Every order but each customer's first, of the "
        f"{fmt.whole(summary['customers'])} customers who first ordered in the calibration "
        "period. A model's curve sums, over those customers, the repeat orders it expects of a "
        f"new customer in the time since their first order. Up to week {weeks[end]} the models "
        "saw the orders; after it, the curves are forecasts.",
    )  # fmt: skip
    return Section("tracking", "Tracking through calibration and holdout").add(chart)


def calibration_end_index(summary: dict) -> int:
    """Return the tracking point at the calibration's last day."""
    import datetime as dt

    cal = summary["calibration"]
    days = (dt.date.fromisoformat(cal["end"]) - dt.date.fromisoformat(cal["start"])).days + 1
    weeks = summary["tracking"]["week"]
    return min(range(len(weeks)), key=lambda i: abs(weeks[i] * 7 - days))


def groups_section(summary: dict) -> Section:
    """Return the chart and table of mean holdout orders by calibration repeat orders."""
    groups, colours = summary["by_repeat_orders"], _colours(summary)
    x = list(range(len(groups)))
    lines = [Line("actual", x, [g["actual_mean"] for g in groups], NEUTRAL, markers=True)]
    scored = [n for n in colours if all(g["predicted_mean"][n] is not None for g in groups)]
    lines += [
        Line(label(n), x, [g["predicted_mean"][n] for g in groups], colours[n], dashed=True,
             markers=True)
        for n in scored
    ]  # fmt: skip
    chart = Chart(
        "holdout-by-repeat-orders",
        "Holdout orders by repeat orders in the calibration period",
        (
            LinePanel(
                title="",
                x_title="repeat orders in the calibration period",
                y_title="mean orders in the holdout per customer",
                lines=tuple(lines),
                integer_x=True,
            ),
        ),
        caption="Customers grouped by their repeat orders before the holdout "
        f"({', '.join(g['repeat_orders'] for g in groups)}); the last group holds the rest.",
    )
    rows = tuple(
        (g["repeat_orders"], fmt.whole(g["customers"]), fmt.score(g["actual_mean"]),
         *(fmt.score(g["predicted_mean"][n]) for n in colours))
        for g in groups
    )  # fmt: skip
    headers = ("repeat orders", "customers", "actual mean",
               *(f"{label(n)} predicted mean" for n in colours))  # fmt: skip
    return Section("by-repeat-orders", "By repeat orders in the calibration period").add(
        chart, Table(headers, rows, "r" * len(headers))
    )
