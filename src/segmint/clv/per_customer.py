"""CLV of every customer and segment (docs/clv.md): the models' inputs from the features table.

x = frequency − 1 (repeat orders), t_x = days from the first to the last order / 7,
T = days from the first order to as_of / 7 (= tenure_days / 7), and for Gamma-Gamma the mean
net value of the repeat orders, m_x = repeat_value / x (repeat_value: the net value of every
order but the first, returns included, from the features query). Every customer enters the
fits: the order models see each distinct (x, t_x, T) row once with the number of customers it
stands for, and every per-customer figure is computed per distinct row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from segmint.clv._inputs import DistinctRows, distinct_rows, distinct_values
from segmint.clv.value import clv

if TYPE_CHECKING:  # the models import scipy (0.3 s): loaded when fitted, or by segmint.preload
    from segmint.clv.gamma_gamma import GammaGammaParams
    from segmint.clv.orders import OrderFit

DAYS_PER_WEEK = 7.0
# CLV is on by default when at least this many customers have repeat orders.
MIN_REPEAT_CUSTOMERS = 20
# A customer whose probability of being alive is below this is counted as likely lost.
LIKELY_LOST_BELOW = 0.3
MODEL_TITLES = {"pareto-nbd": "Pareto/NBD", "mbg-nbd": "MBG/NBD", "bg-nbd": "BG/NBD"}
# next_order_by: the chance of another order must reach this within twice the horizon.
NEXT_ORDER_CHANCE = 0.5

# Why `auto` is Pareto/NBD (the measurements are in docs/clv.md, "Choosing the model").
AUTO_WHY = (
    "Pareto/NBD, chosen by --clv-model auto: a customer can stop buying at any time, so the "
    "chance that a one-time buyer is still active falls as their only order recedes; on "
    "held-out periods of real logs it predicted repeat orders at least as well as MBG/NBD "
    "and better than BG/NBD (docs/clv.md)"
)
AUTO_FALLBACK_WHY = (
    "MBG/NBD, chosen by --clv-model auto because the Pareto/NBD fit {problem} while the "
    "MBG/NBD fit converged; like Pareto/NBD it lets one-time buyers stop buying"
)
AUTO_KEPT_WHY = (
    "Pareto/NBD, chosen by --clv-model auto; its fit {problem} on this data and MBG/NBD's has "
    "no interior maximum either, so it is kept (see the warnings)"
)
CHOSEN_WHY = "{title}, chosen with --clv-model {name}"

# When a fit runs off to a limit (every customer buying at the same rate, or stopping with
# the same chance), its expectations cannot be evaluated in floating point.
DEGENERATE = (
    "the {title} fit degenerates on this data (a parameter runs to its limit: customers do "
    "not differ enough in how often they buy or how soon they stop), so expected orders "
    "cannot be computed"
)


def column_names(horizon_days: int) -> dict[str, str]:
    """Return the per-customer CLV columns, by role, for a horizon in days."""
    return {
        "p_alive": "p_alive",
        "p_no_order": f"p_no_order_{horizon_days}d",
        "expected_orders": f"expected_orders_{horizon_days}d",
        "expected_aov": "expected_aov",
        "clv": f"clv_{horizon_days}d",
        "next_order_by": "next_order_by",
    }


def audience_columns(clv_summary: dict) -> list[str]:
    """Return the CLV columns an audience file carries after the contacts (docs/clv.md):
    none without CLV."""
    if not clv_summary.get("enabled"):
        return []
    names = column_names(clv_summary["horizon_days"])
    roles = ("p_alive", "p_no_order", "expected_orders", "clv", "next_order_by")
    return [names[role] for role in roles]


@dataclass(frozen=True)
class ModelInputs:
    """Each customer's x, t_x and T (weeks), and m_x where x > 0 (NaN elsewhere)."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    m_x: np.ndarray

    @classmethod
    def of(cls, customers: pd.DataFrame, repeat_value: np.ndarray) -> ModelInputs:
        """Return the inputs of the customers of a features table (days → weeks)."""
        frequency = customers["frequency"].to_numpy(dtype=np.float64)
        tenure = customers["tenure_days"].to_numpy(dtype=np.float64)
        recency = customers["recency_days"].to_numpy(dtype=np.float64)
        x = frequency - 1
        repeat = np.asarray(repeat_value, dtype=np.float64)
        m_x = np.full(len(x), np.nan)
        np.divide(repeat, x, out=m_x, where=x > 0)
        return cls(x, (tenure - recency) / DAYS_PER_WEEK, tenure / DAYS_PER_WEEK, m_x)

    @property
    def repeat_customers(self) -> int:
        return int(np.count_nonzero(self.x > 0))

    @property
    def repeat_spend(self) -> np.ndarray:
        """Return x · max(m_x, 0): the net value of the repeat orders, 0 when it is not positive."""
        return np.where(self.x > 0, self.x * np.maximum(np.nan_to_num(self.m_x), 0.0), 0.0)


@dataclass(frozen=True)
class Fitted:
    """The fitted order model, why it was chosen, and the fitted Gamma-Gamma model."""

    orders: OrderFit
    value: GammaGammaParams
    why: str


@dataclass(frozen=True)
class Uncertainty:
    """What the per-segment intervals need once the segments are final (segment_intervals):
    the distinct rows' expected orders and their derivatives in ln(order params)."""

    rows: DistinctRows
    orders: np.ndarray
    orders_gradient: np.ndarray
    fitted: Fitted
    horizon_weeks: float
    discount_rate: float | None


@dataclass(frozen=True)
class LifetimeValue:
    """The CLV columns of the per-customer table, summary.json's `clv`, and warnings."""

    columns: pd.DataFrame
    summary: dict
    warnings: list[str]
    uncertainty: Uncertainty | None = field(default=None, repr=False)


def absent(reason: str) -> LifetimeValue:
    """Return the outcome of a run without CLV, saying why."""
    return LifetimeValue(pd.DataFrame(), {"enabled": False, "reason": reason}, [])


def why_not(repeat_customers: int, setting: bool | None) -> str | None:
    """Return why CLV is not computed (None when it is): turned off, or too few repeat buyers."""
    if setting is False:
        return "turned off (--no-clv)"
    if repeat_customers == 0:
        return (
            "no customer has a repeat order (everyone bought once), so nothing can be learnt "
            "about how often customers buy again or stop buying"
        )
    if setting is None and repeat_customers < MIN_REPEAT_CUSTOMERS:
        return (
            f"only {repeat_customers} customer(s) have repeat orders; at least "
            f"{MIN_REPEAT_CUSTOMERS} are needed by default (force it with --clv)"
        )
    return None


def fit_orders(setting: str, rows: DistinctRows) -> tuple[OrderFit, str]:
    """Return the order model of `--clv-model` fitted to every customer, and why it is the one.

    `auto` is Pareto/NBD; when its fit fails or runs to the edge of its parameter range and
    the MBG/NBD fit converges, MBG/NBD. Raises ValueError when the model cannot be fitted.
    """
    from segmint.clv import orders  # scipy: loaded when the CLV runs (segmint.preload warms it)

    if setting != "auto":
        fitted = orders.fit_rows(setting, rows)
        return fitted, CHOSEN_WHY.format(title=MODEL_TITLES[setting], name=setting)
    try:
        pareto = orders.fit_rows("pareto-nbd", rows)
    except ValueError as exc:
        pareto, problem = None, f"failed ({exc})"
    else:
        if pareto.converged:
            return pareto, AUTO_WHY
        problem = "has no interior maximum (a parameter runs off to a limit)"
    try:
        modified = orders.fit_rows("mbg-nbd", rows)
    except ValueError:
        modified = None
    if modified is not None and (modified.converged or pareto is None):
        return modified, AUTO_FALLBACK_WHY.format(problem=problem)
    if pareto is None:
        raise ValueError(problem)
    return pareto, AUTO_KEPT_WHY.format(problem=problem)


def fit_models(
    setting: str, order_rows: DistinctRows, value_rows: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> Fitted | str:
    """Return the fitted order and Gamma-Gamma models, or why they cannot be fitted.

    order_rows: every customer's distinct (x, t_x, T) rows; value_rows: (x, m_x, weights),
    every repeat customer's distinct values (segmint.clv._inputs).
    """
    from segmint.clv.gamma_gamma import (
        fit_gamma_gamma,  # scipy: loaded when the CLV runs (segmint.preload warms it)
    )

    try:
        order_fit, why = fit_orders(setting, order_rows)
        return Fitted(order_fit, fit_gamma_gamma(*value_rows), why)
    except ValueError as exc:
        return f"the models cannot be fitted to this data ({exc})"


def next_order_days(
    fit: OrderFit,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    horizon_days: int,
    alive: np.ndarray | None = None,
    silent_by_horizon: np.ndarray | None = None,
) -> np.ndarray:
    """Return the whole days after as_of by which the chance of another order reaches 50%.

    NaN where it stays below 50% within twice the horizon. The chance grows with time, so
    the first such day is found by bisection over whole days (about 10 evaluations), in the
    first horizon or the second as the chance at the horizon says. `alive` and
    `silent_by_horizon` (P(alive), P(no order within the horizon)): when already computed.
    """
    alive = fit.p_alive(x, t_x, T) if alive is None else alive
    if silent_by_horizon is None:
        silent_by_horizon = fit.p_no_order(horizon_days / DAYS_PER_WEEK, x, t_x, T, alive)
    by_horizon = 1.0 - silent_by_horizon >= NEXT_ORDER_CHANCE
    limit = 2 * horizon_days
    reached = by_horizon.copy()
    later = np.flatnonzero(~by_horizon)
    if len(later):
        silent = fit.p_no_order(limit / DAYS_PER_WEEK, x[later], t_x[later], T[later], alive[later])
        reached[later] = 1.0 - silent >= NEXT_ORDER_CHANCE
    # The chance at `low` is below 50%, and at `high` it is not.
    low = np.where(by_horizon, 0, horizon_days).astype(np.int64)
    high = np.where(by_horizon, horizon_days, limit).astype(np.int64)
    open_ = reached & (high - low > 1)
    while open_.any():
        rows = np.flatnonzero(open_)
        middle = (low[rows] + high[rows]) // 2
        silent = fit.p_no_order(middle / DAYS_PER_WEEK, x[rows], t_x[rows], T[rows], alive[rows])
        hit = 1.0 - silent >= NEXT_ORDER_CHANCE
        high[rows[hit]] = middle[hit]
        low[rows[~hit]] = middle[~hit]
        open_ = reached & (high - low > 1)
    return np.where(reached, high.astype(np.float64), np.nan)


def expected_values(value: GammaGammaParams, x: np.ndarray, spend: np.ndarray) -> np.ndarray:
    """Return E[value of an order] per customer from x and the repeat orders' net value.

    (gamma + spend) p / (p x + q − 1): the Gamma-Gamma posterior mean for a repeat buyer, the
    population mean p gamma / (q − 1) for a one-time buyer (spend 0). A repeat buyer whose
    repeat orders are worth nothing net (spend 0, left out of the fit) gets the population
    mean shrunk by their evidence of x orders worth nothing. NaN where the mean is infinite
    (p x + q ≤ 1).
    """
    p, q, gamma = value.p, value.q, value.gamma
    denominator = p * x + q - 1.0
    return np.divide((gamma + spend) * p, denominator, where=denominator > 0,
                     out=np.full(x.shape, np.nan))  # fmt: skip


def customer_values(
    models: Fitted,
    inputs: ModelInputs,
    horizon_days: int,
    discount_rate: float | None,
    as_of: dt.date,
    rows: DistinctRows | None = None,
) -> pd.DataFrame:
    """Return the CLV columns of customers: P(alive), P(no order), expected orders and value,
    CLV and the next order's date, computed once per distinct (x, t_x, T) row."""
    rows = rows or distinct_rows(inputs.x, inputs.t_x, inputs.T)
    return _customer_columns(models, inputs, horizon_days, discount_rate, as_of, rows)[0]


def _customer_columns(
    models: Fitted,
    inputs: ModelInputs,
    horizon_days: int,
    discount_rate: float | None,
    as_of: dt.date,
    rows: DistinctRows,
) -> tuple[pd.DataFrame, np.ndarray, Callable[[Sequence[float]], np.ndarray]]:
    """Return the CLV columns, and for the intervals the distinct rows' expected orders and
    their params → P(alive)."""
    horizon_weeks = horizon_days / DAYS_PER_WEEK
    fit = models.orders
    history = (rows.x, rows.t_x, rows.T)
    alive_at = fit.alive_function(*history)
    alive = alive_at(fit.params)
    orders = fit.expected_orders(horizon_weeks, *history, alive)
    silent = fit.p_no_order(horizon_weeks, *history, alive)
    days = next_order_days(fit, *history, horizon_days, alive, silent)
    value = expected_values(models.value, inputs.x, inputs.repeat_spend)
    per_customer = orders[rows.inverse]
    names = column_names(horizon_days)
    columns = pd.DataFrame(
        {
            names["p_alive"]: alive[rows.inverse],
            names["p_no_order"]: silent[rows.inverse],
            names["expected_orders"]: per_customer,
            names["expected_aov"]: value,
            names["clv"]: clv(per_customer, value, horizon_weeks, discount_rate),
            names["next_order_by"]: dates_after(as_of, days[rows.inverse]),
        }
    )
    return columns, orders, alive_at


def dates_after(as_of: dt.date, days: np.ndarray) -> pd.Series:
    """Return as_of + days as a date column (Arrow date32), empty where days is NaN."""
    import pyarrow as pa

    epoch_day = (as_of - dt.date(1970, 1, 1)).days
    known = np.isfinite(days)
    values = np.where(known, days, 0).astype(np.int64) + epoch_day
    array = pa.array(values.astype(np.int32), type=pa.int32(), mask=~known).cast(pa.date32())
    return pd.Series(pd.arrays.ArrowExtensionArray(array))


def degenerate(columns: pd.DataFrame, horizon_days: int) -> bool:
    """Return whether P(alive), P(no order) or the expected orders are not finite somewhere."""
    names = column_names(horizon_days)
    roles = ("p_alive", "p_no_order", "expected_orders")
    finite = np.isfinite(columns[[names[r] for r in roles]].to_numpy(dtype=np.float64))
    return not finite.all()


def lifetime_value(
    inputs: ModelInputs,
    horizon_days: int,
    discount_rate: float | None,
    as_of: dt.date,
    model: str = "auto",
) -> LifetimeValue:
    """Fit the order model and Gamma-Gamma on every customer, score every customer; return
    the CLV columns, the summary and what the per-segment intervals need.

    The models' sums over customers are numpy's own loops (`clv._mle.dot`), never BLAS: the
    same bits whatever BLAS's thread count, and no BLAS threads waiting on each other (a
    300,000-customer CLV stage took 7.1 s with BLAS on two threads, 3.6 s on one).
    """
    from segmint.clv.intervals import (  # scipy: loaded when the CLV runs (segmint.preload warms it)
        orders_gradient,
        total_interval,
    )

    rows = distinct_rows(inputs.x, inputs.t_x, inputs.T)
    models = fit_models(model, rows, distinct_values(inputs.x, inputs.m_x))
    if isinstance(models, str):
        return absent(models)
    columns, orders, alive_at = _customer_columns(
        models, inputs, horizon_days, discount_rate, as_of, rows
    )
    title = MODEL_TITLES[models.orders.name]
    if degenerate(columns, horizon_days):
        return absent(DEGENERATE.format(title=title))
    horizon_weeks = horizon_days / DAYS_PER_WEEK
    gradient = orders_gradient(models.orders, rows, horizon_weeks, orders, alive_at)
    uncertainty = Uncertainty(rows, orders, gradient,
                              models, horizon_weeks, discount_rate)  # fmt: skip
    everyone = np.ones(len(columns), dtype=bool)
    totals = segment_clv(columns, everyone, horizon_days)
    interval, reason = total_interval(uncertainty, inputs, everyone)
    totals["clv_total_interval"] = interval
    blank = bool(columns[column_names(horizon_days)["expected_aov"]].isna().any())
    summary, warnings = describe_fit(models, inputs.repeat_customers, horizon_days,
                                     discount_rate, totals, blank)  # fmt: skip
    summary["interval"]["reason"] = reason
    return LifetimeValue(columns, summary, warnings, uncertainty)


def describe_fit(
    models: Fitted,
    repeat_customers: int,
    horizon_days: int,
    discount_rate: float | None,
    totals: dict,
    blank_values: bool,
) -> tuple[dict, list[str]]:
    """Return summary.json's `clv` and the warnings of a fit (blank_values: some expected
    order values are NaN)."""
    from segmint.clv.intervals import (  # scipy: loaded when the CLV runs (segmint.preload warms it)
        INTERVAL_LEVEL,
        INTERVAL_METHOD,
    )

    warnings = _fit_warnings(models.orders, models.value)
    if models.value.excluded_non_positive:
        warnings.append(
            f"{models.value.excluded_non_positive:,} repeat customer(s) whose repeat orders are "
            "worth nothing net (returns) are left out of the Gamma-Gamma fit"
        )
    if blank_values:
        warnings.append(
            "the Gamma-Gamma fit gives q ≤ 1 (no finite mean order value): the expected "
            "order value and CLV of one-time buyers are left blank"
        )
    fit = models.orders
    summary = {
        "enabled": True,
        "horizon_days": horizon_days,
        "discount_rate": discount_rate,
        "repeat_customers": repeat_customers,
        "likely_lost_below": LIKELY_LOST_BELOW,
        "model": {
            "name": fit.name,
            "title": MODEL_TITLES[fit.name],
            "why": models.why,
            "params": fit.values,
            "log_likelihood": fit.log_likelihood,
            "converged": fit.converged,
            "at_edge": list(fit.at_edge),
            "iterations": fit.iterations,
            "customers": fit.customers,
            "distinct_rows": fit.distinct_rows,
        },
        "gamma_gamma": models.value.as_dict(),
        "interval": {"level": INTERVAL_LEVEL, "method": INTERVAL_METHOD, "reason": None},
        "totals": totals,
    }
    return summary, warnings


def segment_clv(columns: pd.DataFrame, inside: np.ndarray, horizon_days: int) -> dict:
    """Return a group's mean P(alive) and P(no order), mean and total CLV, and its likely-lost
    customers."""
    names = column_names(horizon_days)
    alive = columns[names["p_alive"]].to_numpy()[inside]
    silent = columns[names["p_no_order"]].to_numpy()[inside]
    value = columns[names["clv"]].to_numpy()[inside]
    known = value[np.isfinite(value)]
    return {
        "p_alive_mean": float(alive.mean()) if len(alive) else 0.0,
        "p_no_order_mean": float(silent.mean()) if len(silent) else 0.0,
        "clv_mean": float(np.sum(known)) / len(known) if len(known) else None,
        "clv_total": float(np.sum(known)),
        "likely_lost": int(np.count_nonzero(alive < LIKELY_LOST_BELOW)),
    }


def segment_intervals(
    lifetime: LifetimeValue, inputs: ModelInputs, labels: np.ndarray, k: int
) -> list[list[float] | None]:
    """Return the 90% interval of each segment's total CLV (None where there is none)."""
    from segmint.clv.intervals import (
        group_intervals,  # scipy: loaded when the CLV runs (segmint.preload warms it)
    )

    if lifetime.uncertainty is None:
        return [None] * k
    return group_intervals(lifetime.uncertainty, inputs, np.asarray(labels), k)[0]


def _fit_warnings(orders_model: OrderFit, value_model: GammaGammaParams) -> list[str]:
    """Say what a fit that ran to the edge of its parameter range means for the reader."""
    warnings = []
    title = MODEL_TITLES[orders_model.name]
    if not orders_model.converged:
        where = (
            f"ran to the edge of its parameter range ({', '.join(orders_model.at_edge)})"
            if orders_model.at_edge
            else "has no interior maximum (its parameters run off towards a limit)"
        )
        warnings.append(
            f"the {title} fit {where}: the history is too short or too uniform to tell "
            "customers apart in how often they buy or how soon they stop; read P(alive) and "
            "expected orders with care, and no interval is given"
        )
    if not value_model.converged and value_model.q > 1e3:
        warnings.append(
            "customers' order values barely differ from one another (the Gamma-Gamma fit's q "
            "runs to its limit): the expected order value is close to the population mean"
        )
    elif not value_model.converged:
        warnings.append(
            "the Gamma-Gamma likelihood maximisation did not converge (a parameter ran to the "
            "edge of its range): read the expected order values with care"
        )
    return warnings
