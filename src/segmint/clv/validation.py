"""Hold-out validation of the BG/NBD model: fit on the calibration period, predict the holdout.

The log's last `holdout_days` days (up to the latest kept line) are hidden; the model is fitted
on the customers of the calibration period (as_of = end − holdout_days) and each one's
expected orders over the holdout (the conditional expectation) is compared with the orders
they actually placed in it. Customers whose first order falls in the holdout are not in the
comparison: the model knows nothing of them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from segmint.clv.bgnbd import conditional_expected_orders, fit_bgnbd
from segmint.clv.per_customer import DAYS_PER_WEEK, DEGENERATE, ModelInputs
from segmint.errors import InputError, UsageError
from segmint.features.build import REPEAT_VALUE, customer_features
from segmint.features.clean import clean
from segmint.io.inputs import open_lines
from segmint.settings import Settings

# Calibration repeat orders are grouped 0, 1, …, up to this; more are one group ("7+").
TOP_GROUP = 7


@dataclass(frozen=True)
class Validation:
    """Per-customer predictions and actual holdout orders, by group, with the error figures."""

    customers: pd.DataFrame
    by_repeat_orders: pd.DataFrame
    summary: dict

    def write(self, out_dir: str | Path) -> Path:
        """Write validation.json, validation.csv (per customer) and the validation report."""
        import pyarrow as pa

        from segmint.io.outputs import write_csv, write_json, write_staged
        from segmint.report.validation import build_validation_report
        from segmint.report.writer import write_document

        def fill(staging: Path) -> None:
            write_json(self.summary, staging / "validation.json")
            write_csv(pa.Table.from_pandas(self.customers, preserve_index=False),
                      staging / "validation.csv")  # fmt: skip
            write_document(staging, build_validation_report(self.summary), "validation")

        return write_staged(Path(out_dir), fill)


def validate(source: Any, holdout_days: int, progress: Any = None, **settings: Any) -> Validation:
    """Return the holdout validation of a log (a path, a list of paths, or a frame)."""
    from segmint.pipeline import connect, input_errors

    if holdout_days < 1:
        raise UsageError(f"--holdout-days {holdout_days}: must be at least 1")
    config = Settings.create(**settings)
    if config.as_of is not None:
        raise UsageError("--as-of does not apply to validate: the holdout ends at the last line")
    inputs = list(source) if isinstance(source, (list, tuple)) else [source]
    with (
        tempfile.TemporaryDirectory(prefix="segmint-") as workdir,
        connect(config, Path(workdir)) as con,
        input_errors(inputs),
    ):
        if progress:
            progress("Reading and cleaning the whole log")
        lines = open_lines(con, inputs, config, Path(workdir))
        end = clean(con, lines, config).period_end.date()
        calibration_end = end - dt.timedelta(days=holdout_days)
        calibrated = dataclasses.replace(config, as_of=calibration_end)
        if progress:
            progress(f"Calibrating up to {calibration_end}, holdout to {end}")
        try:
            cleaned = clean(con, lines, calibrated)
        except InputError:
            raise InputError(
                f"{lines.name}: --holdout-days {holdout_days} leaves no calibration period "
                f"(the log ends {end}); choose fewer days"
            ) from None
        features = customer_features(con, calibration_end, False, False)
        actual = _holdout_orders(con)
    inputs_ = ModelInputs.of(features, features.pop(REPEAT_VALUE).to_numpy())
    if inputs_.repeat_customers == 0:
        raise InputError(
            f"{lines.name}: no customer has a repeat order before {calibration_end}; "
            "the model cannot be fitted (choose fewer --holdout-days)"
        )
    if progress:
        progress("Fitting BG/NBD and predicting the holdout")
    params = fit_bgnbd(inputs_.x, inputs_.t_x, inputs_.T)
    predicted = conditional_expected_orders(
        params, holdout_days / DAYS_PER_WEEK, inputs_.x, inputs_.t_x, inputs_.T
    )
    if not np.isfinite(predicted).all():
        raise InputError(f"{lines.name}: {DEGENERATE}")
    table = pd.DataFrame(
        {
            "customer_id": features["customer_id"],
            "repeat_orders": inputs_.x.astype("int64"),
            "t_x_weeks": inputs_.t_x,
            "T_weeks": inputs_.T,
            "predicted_orders": predicted,
        }
    )
    table["actual_orders"] = (
        table["customer_id"].map(actual).fillna(0).astype("int64")
        if len(actual)
        else np.zeros(len(table), dtype="int64")
    )
    groups = by_repeat_orders(table)
    summary = {
        "files": [s.name for s in lines.sources],
        "holdout_days": holdout_days,
        "calibration": {
            "start": cleaned.period_start.date().isoformat(),
            "end": calibration_end.isoformat(),
        },  # fmt: skip
        "holdout": {
            "start": (calibration_end + dt.timedelta(days=1)).isoformat(),
            "end": end.isoformat(),
        },  # fmt: skip
        "customers": len(table),
        "new_in_holdout": int(len(set(actual.index) - set(table["customer_id"]))),
        "bgnbd": params.as_dict(),
        "errors": errors(table["predicted_orders"].to_numpy(), table["actual_orders"].to_numpy()),
        "by_repeat_orders": groups.to_dict(orient="records"),
    }
    return Validation(table, groups, summary)


def _holdout_orders(con: duckdb.DuckDBPyConnection) -> pd.Series:
    """Return each customer's orders in the holdout: the lines dropped as after_as_of.

    Those lines passed every earlier rule (a row counts under the first rule that drops it),
    so they are the holdout's kept lines; returns are not orders.
    """
    frame = con.execute(
        """
        SELECT customer_id, count(DISTINCT order_key) AS orders
        FROM classified_lines
        WHERE drop_reason = 'after_as_of' AND NOT is_return
        GROUP BY customer_id
        """
    ).df()
    return frame.set_index("customer_id")["orders"]


def by_repeat_orders(table: pd.DataFrame) -> pd.DataFrame:
    """Return mean predicted and actual holdout orders by calibration repeat orders (0…7+)."""
    group = table["repeat_orders"].clip(upper=TOP_GROUP)
    out = (
        table.assign(group=group)
        .groupby("group")
        .agg(
            customers=("customer_id", "size"),
            predicted_mean=("predicted_orders", "mean"),
            actual_mean=("actual_orders", "mean"),
        )
        .reset_index()
    )
    out["repeat_orders"] = [
        f"{g}+" if g == TOP_GROUP and (table["repeat_orders"] > TOP_GROUP).any() else str(g)
        for g in out["group"]
    ]
    return out[["repeat_orders", "customers", "predicted_mean", "actual_mean"]]


def errors(predicted: np.ndarray, actual: np.ndarray) -> dict:
    """Return the error figures of per-customer predictions against actual counts."""
    diff = predicted - actual
    total_predicted, total_actual = math.fsum(predicted), math.fsum(actual)
    correlation = (
        float(np.corrcoef(predicted, actual)[0, 1])
        if len(actual) > 1 and actual.std() > 0 and predicted.std() > 0
        else None
    )
    return {
        "mae": float(np.abs(diff).mean()),
        "rmse": float(np.sqrt((diff**2).mean())),
        "total_predicted": total_predicted,
        "total_actual": total_actual,
        "total_error_share": (
            (total_predicted - total_actual) / total_actual if total_actual else None
        ),
        "correlation": correlation,
    }
