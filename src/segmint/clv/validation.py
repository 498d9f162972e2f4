"""Hold-out validation of the order models: fit each on the calibration period, predict the holdout.

The log's last `holdout_days` days (up to the latest kept line) are hidden; every order model
of segmint.clv.orders is fitted on the customers of the calibration period (as_of = end −
holdout_days) and each customer's expected orders over the holdout (the conditional
expectation) is compared with the orders they actually placed in it. Customers whose first
order falls in the holdout are not in the comparison: the models know nothing of them.

Besides the per-customer errors, each model gets the tracking curve of Fader & Hardie:
cumulative repeat orders of the calibration customers week by week through calibration and
holdout, actual against Σ_i E[X(t − first order_i)], and the AUC with which P(alive) and
P(an order in the holdout) rank the customers who did order in the holdout.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

from segmint.clv import orders
from segmint.clv._inputs import distinct_rows
from segmint.clv.per_customer import DAYS_PER_WEEK
from segmint.errors import InputError, UsageError
from segmint.features.build import REPEAT_VALUE, customer_features
from segmint.features.clean import clean
from segmint.io.connection import connect, input_errors
from segmint.io.inputs import open_lines
from segmint.settings import Settings

if TYPE_CHECKING:
    from segmint.clv.orders import OrderFit

# Calibration repeat orders are grouped 0, 1, …, up to this; more are one group ("7+").
TOP_GROUP = 7

# When a fit runs off to a limit (every customer buying at the same rate, or stopping with
# the same chance), its expectations may not be computable in floating point.
DEGENERATE = (
    "the fit degenerates on this data (a parameter runs to its limit: customers do not "
    "differ enough in how often they buy or how soon they stop), so its predictions are "
    "not finite numbers"
)


def column_of(model: str) -> str:
    """Return the validation.csv column of a model's predicted holdout orders."""
    return "predicted_" + model.replace("-", "_")


@dataclass(frozen=True)
class Validation:
    """Per-customer predictions and actual holdout orders, by group, with the error figures;
    `fits` holds the models that could be fitted, by name."""

    customers: pd.DataFrame
    by_repeat_orders: pd.DataFrame
    summary: dict
    fits: dict[str, OrderFit] = field(default_factory=dict)


@dataclass(frozen=True)
class CalibrationLog:
    """What validation reads from the log: the calibration customers' features, everyone's
    holdout orders, and the repeat orders of the calibration customers per day."""

    files: list[str]
    start: dt.date
    calibration_end: dt.date
    end: dt.date
    features: pd.DataFrame
    holdout_orders: pd.Series  # by customer_id, every customer with a holdout order
    repeat_orders_per_day: np.ndarray  # index: days since start, through `end`


@dataclass(frozen=True)
class Customers:
    """The calibration customers' model inputs (weeks) and what they did in the holdout."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    first_day: np.ndarray  # days from the log's start to each customer's first order
    actual: np.ndarray  # orders in the holdout


@dataclass(frozen=True)
class Tracking:
    """The points of the tracking curve (days since the log's start, each point's last day)
    and the actual cumulative repeat orders of the calibration customers up to each."""

    days: np.ndarray
    actual: np.ndarray
    first_day_counts: np.ndarray  # customers by day of first order (days since the start)

    def weeks(self) -> list[float]:
        """Return each point's weeks since the log's start (its last day included)."""
        return [_number((day + 1) / DAYS_PER_WEEK) for day in self.days]

    def predicted(self, fit: OrderFit) -> np.ndarray:
        """Return Σ over customers of E[X(point − first order)], the expected cumulative
        repeat orders at each point.

        E[X] depends only on the lag in days, so it is computed once per lag and the sum over
        customers is a convolution with the number of customers per first-order day.
        """
        lags = np.arange(int(self.days.max()) + 1, dtype=float)
        per_lag = fit.expected_orders_new(lags / DAYS_PER_WEEK)
        cumulative = np.convolve(self.first_day_counts, per_lag)[: len(lags)]
        return cumulative[self.days]


@dataclass(frozen=True)
class ModelResult:
    """One model's comparison: its fit (None if it failed), per-customer predictions, its
    summary entry and tracking curve (None where it cannot be computed)."""

    name: str
    fit: OrderFit | None
    predicted: np.ndarray | None
    entry: dict
    tracking: list[float] | None


def validate(
    source: Any,
    holdout_days: int,
    progress: Any = None,
    models: Sequence[str] = orders.MODEL_NAMES,
    **settings: Any,
) -> Validation:
    """Return the holdout validation of a log (a path, a list of paths, or a frame) by every
    order model in `models`."""
    if holdout_days < 1:
        raise UsageError(f"--holdout-days {holdout_days}: must be at least 1")
    config = Settings.create(**settings)
    if config.as_of is not None:
        raise UsageError("--as-of does not apply to validate: the holdout ends at the last line")
    log = read_log(source, holdout_days, config, progress)
    customers = customer_inputs(log)
    if not np.any(customers.x > 0):
        raise InputError(
            f"{', '.join(log.files)}: no customer has a repeat order before "
            f"{log.calibration_end}; the models cannot be fitted (choose fewer --holdout-days)"
        )
    tracking = tracking_points(log, customers)
    results = []
    for name in models:
        if progress:
            progress(f"Fitting {name} and predicting the holdout")
        results.append(compare_model(name, customers, holdout_days / DAYS_PER_WEEK, tracking))
    if all(r.predicted is None for r in results):
        reasons = "; ".join(f"{r.name}: {r.entry['reason']}" for r in results)
        raise InputError(f"{', '.join(log.files)}: no order model can be validated ({reasons})")
    table = customer_table(log.features["customer_id"], customers, results)
    groups = by_repeat_orders(table, [r.name for r in results])
    summary = build_summary(log, holdout_days, table, groups, results, tracking)
    fits = {r.name: r.fit for r in results if r.fit is not None}
    return Validation(table, groups, summary, fits)


def read_log(source: Any, holdout_days: int, config: Settings, progress: Any) -> CalibrationLog:
    """Return the calibration customers, the holdout orders and the daily repeat orders of
    a log whose last holdout_days days are the holdout."""
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
        start = cleaned.period_start.date()
        features = customer_features(con, calibration_end, False, False)
        features.pop(REPEAT_VALUE)
        return CalibrationLog(
            files=[s.name for s in lines.sources],
            start=start,
            calibration_end=calibration_end,
            end=end,
            features=features,
            holdout_orders=_holdout_orders(con),
            repeat_orders_per_day=_repeat_orders_per_day(con, start, (end - start).days),
        )


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


def _repeat_orders_per_day(
    con: duckdb.DuckDBPyConnection, start: dt.date, last_day: int
) -> np.ndarray:
    """Return the repeat orders of the calibration customers on each day 0…last_day since start.

    Every order of a calibration customer (calibration: clean_orders; holdout: the kept lines
    after as_of, per order key) but their first, the earliest by (time, order key) as in the
    features, so the count up to the calibration end is Σ x.
    """
    frame = con.execute(
        f"""
        WITH orders AS (
            SELECT customer_id, order_key, first_ts AS ts
            FROM clean_orders WHERE NOT is_return
            UNION ALL
            SELECT customer_id, order_key, min(ts) AS ts
            FROM classified_lines
            WHERE drop_reason = 'after_as_of' AND NOT is_return
              AND customer_id IN (SELECT customer_id FROM clean_orders)
            GROUP BY customer_id, order_key
        ),
        ranked AS (
            SELECT ts, row_number() OVER (PARTITION BY customer_id ORDER BY ts, order_key) AS k
            FROM orders
        )
        SELECT date_diff('day', DATE '{start.isoformat()}', CAST(ts AS DATE)) AS day,
               count(*) AS orders
        FROM ranked WHERE k > 1 GROUP BY day
        """
    ).df()
    per_day = np.zeros(last_day + 1, dtype=np.int64)
    per_day[frame["day"].to_numpy(dtype=np.int64)] = frame["orders"].to_numpy(dtype=np.int64)
    return per_day


def customer_inputs(log: CalibrationLog) -> Customers:
    """Return the calibration customers' x, t_x, T (weeks), first-order days and holdout orders.

    x = frequency − 1, t_x = (tenure − recency) / 7, T = tenure / 7 (docs: the CLV inputs).
    """
    features = log.features
    frequency = features["frequency"].to_numpy(dtype=np.float64)
    tenure = features["tenure_days"].to_numpy(dtype=np.float64)
    recency = features["recency_days"].to_numpy(dtype=np.float64)
    calibration_days = (log.calibration_end - log.start).days
    actual = log.holdout_orders.reindex(features["customer_id"]).fillna(0).to_numpy()
    return Customers(
        x=frequency - 1,
        t_x=(tenure - recency) / DAYS_PER_WEEK,
        T=tenure / DAYS_PER_WEEK,
        first_day=(calibration_days - tenure).astype(np.int64),
        actual=actual.astype(np.int64),
    )


def tracking_points(log: CalibrationLog, customers: Customers) -> Tracking:
    """Return the tracking curve's points, with the actual cumulative repeat orders at each.

    A point ends every 7th day from the log's start, plus the calibration's and the log's last
    days where those fall inside a week: the chart then shows exactly where the fit stopped.
    """
    last = len(log.repeat_orders_per_day) - 1
    calibration_last = (log.calibration_end - log.start).days
    days = np.union1d(np.arange(6, last + 1, 7), [calibration_last, last]).astype(np.int64)
    cumulative = np.cumsum(log.repeat_orders_per_day)
    counts = np.bincount(customers.first_day, minlength=calibration_last + 1).astype(float)
    return Tracking(days, cumulative[days], counts)


def compare_model(
    name: str, customers: Customers, holdout_weeks: float, tracking: Tracking
) -> ModelResult:
    """Return one model's fit, predictions and summary entry; a fit that fails (ValueError) or
    predicts non-finite numbers is kept with its reason, and without figures."""
    entry: dict[str, Any] = {"name": name, "params": None, "log_likelihood": None,
                             "converged": None, "at_edge": None, "errors": None,
                             "auc_p_alive": None, "auc_p_order": None, "reason": None}  # fmt: skip
    try:
        fit = orders.fit(name, customers.x, customers.t_x, customers.T)
    except ValueError as exc:
        return ModelResult(name, None, None, {**entry, "reason": f"cannot be fitted ({exc})"},
                           None)  # fmt: skip
    entry.update(params=_finite_dict(fit.values), log_likelihood=_finite(fit.log_likelihood),
                 converged=bool(fit.converged), at_edge=list(fit.at_edge))  # fmt: skip
    predicted, alive, ordering = _predictions(fit, customers, holdout_weeks)
    curve = tracking.predicted(fit)
    finite = all(np.isfinite(v).all() for v in (predicted, alive, ordering, curve))
    if not finite:
        return ModelResult(name, fit, None, {**entry, "reason": DEGENERATE}, None)
    ordered = customers.actual > 0
    entry.update(
        errors=errors(predicted, customers.actual.astype(float)),
        auc_p_alive=auc(alive, ordered),
        auc_p_order=auc(ordering, ordered),
    )
    return ModelResult(name, fit, predicted, entry, [float(v) for v in curve])


def _predictions(
    fit: OrderFit, customers: Customers, holdout_weeks: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return each customer's expected holdout orders, P(alive) and P(an order in the holdout).

    Computed once per distinct (x, t_x, T): a log's customers share far fewer rows.
    """
    rows = distinct_rows(customers.x, customers.t_x, customers.T)
    x, t_x, T = rows.x, rows.t_x, rows.T
    with np.errstate(all="ignore"):  # non-finite results are caught by the caller
        predicted = fit.expected_orders(holdout_weeks, x, t_x, T)
        alive = fit.p_alive(x, t_x, T)
        ordering = 1.0 - fit.p_no_order(holdout_weeks, x, t_x, T)
    return predicted[rows.inverse], alive[rows.inverse], ordering[rows.inverse]


def customer_table(
    ids: pd.Series, customers: Customers, results: list[ModelResult]
) -> pd.DataFrame:
    """Return validation.csv: one row per calibration customer, a predicted column per model
    (empty for a model that could not be validated)."""
    table = pd.DataFrame(
        {
            "customer_id": ids.to_numpy(),
            "repeat_orders": customers.x.astype("int64"),
            "t_x_weeks": customers.t_x,
            "T_weeks": customers.T,
            "actual_orders": customers.actual,
        }
    )
    for result in results:
        missing = np.full(len(table), np.nan)
        table[column_of(result.name)] = missing if result.predicted is None else result.predicted
    return table


def by_repeat_orders(table: pd.DataFrame, models: Sequence[str]) -> pd.DataFrame:
    """Return the customers, mean actual and mean predicted holdout orders (one column per
    model) by calibration repeat orders (0…7+)."""
    group = table["repeat_orders"].clip(upper=TOP_GROUP)
    means = {column_of(m): (column_of(m), "mean") for m in models}
    out = (
        table.assign(group=group)
        .groupby("group")
        .agg(customers=("customer_id", "size"), actual_mean=("actual_orders", "mean"), **means)
        .reset_index()
    )
    out["repeat_orders"] = [
        f"{g}+" if g == TOP_GROUP and (table["repeat_orders"] > TOP_GROUP).any() else str(g)
        for g in out["group"]
    ]
    return out[["repeat_orders", "customers", "actual_mean", *means]]


def group_records(groups: pd.DataFrame, models: Sequence[str]) -> list[dict]:
    """Return validation.json's by_repeat_orders: each group with its predicted mean by model."""
    return [
        {
            "repeat_orders": row["repeat_orders"],
            "customers": int(row["customers"]),
            "actual_mean": float(row["actual_mean"]),
            "predicted_mean": {m: _finite(row[column_of(m)]) for m in models},
        }
        for row in groups.to_dict(orient="records")
    ]


def build_summary(
    log: CalibrationLog,
    holdout_days: int,
    table: pd.DataFrame,
    groups: pd.DataFrame,
    results: list[ModelResult],
    tracking: Tracking,
) -> dict:
    """Return validation.json: the periods, the customers, every model's figures, the best
    model by MAE, the tracking curves and the groups by repeat orders."""
    names = [r.name for r in results]
    entries = [r.entry for r in results]
    curves = {"week": tracking.weeks(), "actual": [int(v) for v in tracking.actual]}
    return {
        "files": log.files,
        "holdout_days": holdout_days,
        "calibration": {"start": log.start.isoformat(), "end": log.calibration_end.isoformat()},
        "holdout": {
            "start": (log.calibration_end + dt.timedelta(days=1)).isoformat(),
            "end": log.end.isoformat(),
        },  # fmt: skip
        "customers": len(table),
        "new_in_holdout": int(len(set(log.holdout_orders.index) - set(table["customer_id"]))),
        "models": entries,
        "best_by_mae": best_by_mae(entries),
        "tracking": curves | {r.name: r.tracking for r in results},
        "by_repeat_orders": group_records(groups, names),
    }


def best_by_mae(entries: list[dict]) -> str | None:
    """Return the name of the model with the lowest per-customer MAE (the first on a tie),
    None when no model has one."""
    scored = [e for e in entries if e["errors"] is not None and e["errors"]["mae"] is not None]
    return min(scored, key=lambda e: e["errors"]["mae"])["name"] if scored else None


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
        "correlation": _finite(correlation),
    }


def auc(score: np.ndarray, positive: np.ndarray) -> float | None:
    """Return the area under the ROC curve of score for the positives (None without both
    classes): the chance that a random positive scores above a random negative, ties half.

    Mann-Whitney: with average ranks, the positives' rank sum less its minimum, over n₁ n₀.
    """
    from scipy.stats import rankdata

    positive = np.asarray(positive, dtype=bool)
    n1 = int(positive.sum())
    n0 = len(positive) - n1
    if n1 == 0 or n0 == 0:
        return None
    ranks = rankdata(score)  # average ranks: a tie between classes counts half
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _finite(value: float | None) -> float | None:
    """Return value as a float, None when it is missing or not finite (strict JSON)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _finite_dict(values: dict[str, float]) -> dict[str, float | None]:
    return {k: _finite(v) for k, v in values.items()}


def _number(value: float) -> float | int:
    """Return value as an int when it is whole (weeks 1, 2, …), else rounded to 4 places."""
    return int(value) if float(value).is_integer() else round(float(value), 4)
