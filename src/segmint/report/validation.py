"""The holdout validation report: predicted against actual orders, by calibration repeat orders."""

from __future__ import annotations

from segmint.report import format as fmt
from segmint.report.charts import Chart, Line, LinePanel
from segmint.report.document import Figures, Paragraph, Report, Section, Table
from segmint.report.palette import NEUTRAL, segment_colour


def build_validation_report(summary: dict) -> Report:
    """Return the document of a holdout validation (segmint validate) from its summary."""
    cal, hold, err = summary["calibration"], summary["holdout"], summary["errors"]
    fit = summary["bgnbd"]
    groups = summary["by_repeat_orders"]
    subtitle = (
        f"{', '.join(fmt.file_name(f) for f in summary['files'])} · calibration {cal['start']} – {cal['end']} · "
        f"holdout {hold['start']} – {hold['end']} ({fmt.whole(summary['holdout_days'])} days)"
    )
    overview = Section("summary", "Predicted and actual orders").add(
        Figures(
            (
                ("Customers compared", fmt.whole(summary["customers"])),
                ("Orders predicted in the holdout", fmt.one(err["total_predicted"])),
                ("Orders placed in the holdout", fmt.whole(err["total_actual"])),
                ("Error of the total", fmt.pct(err["total_error_share"])),
                ("Mean absolute error per customer", fmt.score(err["mae"])),
                ("Correlation per customer", fmt.score(err["correlation"])),
            )
        ),
        Paragraph(
            "The BG/NBD model was fitted on the calibration period only; each of its customers' "
            "expected orders over the holdout is compared with the orders they actually placed "
            f"there. Root mean squared error per customer: {fmt.score(err['rmse'])}. "
            "Customers whose first order falls in the holdout are not compared (the model "
            f"knows nothing of them): {fmt.whole(summary['new_in_holdout'])}."
        ),
    )
    chart = Chart(
        "holdout-by-repeat-orders",
        "Holdout orders by repeat orders in the calibration period",
        (
            LinePanel(
                title="",
                x_title="repeat orders in the calibration period",
                y_title="mean orders in the holdout per customer",
                lines=(
                    Line(
                        "actual",
                        list(range(len(groups))),
                        [g["actual_mean"] for g in groups],
                        NEUTRAL,
                        markers=True,
                    ),
                    Line(
                        "predicted (BG/NBD)",
                        list(range(len(groups))),
                        [g["predicted_mean"] for g in groups],
                        segment_colour(0),
                        dashed=True,
                        markers=True,
                    ),
                ),  # fmt: skip
                integer_x=True,
            ),
        ),
        caption="Customers grouped by their repeat orders before the holdout "
        f"({', '.join(g['repeat_orders'] for g in groups)}); the last group holds the rest.",
    )
    rows = tuple(
        (g["repeat_orders"], fmt.whole(g["customers"]), fmt.score(g["predicted_mean"]),
         fmt.score(g["actual_mean"]))
        for g in groups
    )  # fmt: skip
    by_group = Section("by-repeat-orders", "By repeat orders in the calibration period").add(
        chart,
        Table(("repeat orders", "customers", "predicted mean", "actual mean"), rows, "rrrr"),
    )
    model = Section("model", "Model").add(
        Table(
            ("parameter", "value"),
            (
                ("r", fmt.score(fit["r"], 4)),
                ("α", fmt.score(fit["alpha"], 4)),
                ("a", fmt.score(fit["a"], 4)),
                ("b", fmt.score(fit["b"], 4)),
                ("log-likelihood", fmt.one(fit["log_likelihood"])),
                ("converged", "yes" if fit["converged"] else "no"),
            ),
            "lr",
            note="BG/NBD (Fader, Hardie & Lee 2005), maximum likelihood, time in weeks.",
        ),  # fmt: skip
    )
    return Report(
        "Lifetime value model: holdout validation",
        subtitle,
        [overview, by_group, model],
        sources="validation.json and validation.csv",
    )
