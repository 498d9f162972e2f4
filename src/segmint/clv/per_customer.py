"""CLV of every customer and segment (CONTRACT §7): the models' inputs from the features table.

x = frequency − 1 (repeat orders), t_x = days from the first to the last order / 7,
T = days from the first order to as_of / 7 (= tenure_days / 7), and for Gamma-Gamma the mean
net value of the repeat orders, m_x = repeat_value / x (repeat_value: the net value of every
order but the first, returns included, from the features query).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from segmint.clv.value import clv

if TYPE_CHECKING:  # the models import scipy (0.3 s): loaded when fitted, or by segmint.preload
    from segmint.clv.bgnbd import BgNbdParams
    from segmint.clv.gamma_gamma import GammaGammaParams

DAYS_PER_WEEK = 7.0
# CLV is on by default when at least this many customers have repeat orders.
MIN_REPEAT_CUSTOMERS = 20
# A customer whose probability of being alive is below this is counted as likely lost.
LIKELY_LOST_BELOW = 0.3


# When the BG/NBD fit runs off to a limit (every customer buying at the same rate, or
# stopping with the same chance), its expectations cannot be evaluated in floating point.
DEGENERATE = (
    "the BG/NBD fit degenerates on this data (a parameter runs to its limit: customers do "
    "not differ enough in how often they buy or how soon they stop), so expected orders "
    "cannot be computed"
)


def column_names(horizon_days: int) -> dict[str, str]:
    """Return the per-customer CLV columns, by role, for a horizon in days."""
    return {
        "p_alive": "p_alive",
        "expected_orders": f"expected_orders_{horizon_days}d",
        "expected_aov": "expected_aov",
        "clv": f"clv_{horizon_days}d",
    }


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

    def subset(self, rows: np.ndarray) -> ModelInputs:
        """Return the inputs of the customers at positions rows."""
        return ModelInputs(self.x[rows], self.t_x[rows], self.T[rows], self.m_x[rows])


@dataclass(frozen=True)
class LifetimeValue:
    """The CLV columns of the per-customer table, summary.json's `clv`, and warnings."""

    columns: pd.DataFrame
    summary: dict
    warnings: list[str]


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


@dataclass(frozen=True)
class Fitted:
    """The two fitted models."""

    orders: BgNbdParams
    value: GammaGammaParams


def fit_models(inputs: ModelInputs) -> Fitted | str:
    """Return the fitted BG/NBD and Gamma-Gamma models, or why they cannot be fitted."""
    from segmint.clv.bgnbd import fit_bgnbd
    from segmint.clv.gamma_gamma import fit_gamma_gamma

    try:
        return Fitted(fit_bgnbd(inputs.x, inputs.t_x, inputs.T),
                      fit_gamma_gamma(inputs.x, inputs.m_x))  # fmt: skip
    except ValueError as exc:
        return f"the models cannot be fitted to this data ({exc})"


def customer_values(
    models: Fitted, inputs: ModelInputs, horizon_days: int, discount_rate: float | None
) -> pd.DataFrame:
    """Return the CLV columns of customers: P(alive), expected orders and value, CLV."""
    from segmint.clv.bgnbd import conditional_expected_orders, p_alive
    from segmint.clv.gamma_gamma import conditional_expected_value

    horizon_weeks = horizon_days / DAYS_PER_WEEK
    alive = p_alive(models.orders, inputs.x, inputs.t_x, inputs.T)
    orders = conditional_expected_orders(
        models.orders, horizon_weeks, inputs.x, inputs.t_x, inputs.T
    )
    value = conditional_expected_value(models.value, inputs.x, inputs.m_x)
    names = column_names(horizon_days)
    return pd.DataFrame(
        {
            names["p_alive"]: alive,
            names["expected_orders"]: orders,
            names["expected_aov"]: value,
            names["clv"]: clv(orders, value, horizon_weeks, discount_rate),
        }
    )


def degenerate(columns: pd.DataFrame, horizon_days: int) -> bool:
    """Return whether P(alive) or the expected orders are not finite for some customer."""
    names = column_names(horizon_days)
    finite = np.isfinite(columns[[names["p_alive"], names["expected_orders"]]].to_numpy())
    return not finite.all()


def lifetime_value(
    inputs: ModelInputs,
    horizon_days: int,
    discount_rate: float | None = None,
    fit_rows: np.ndarray | None = None,
) -> LifetimeValue:
    """Fit BG/NBD and Gamma-Gamma, score every customer; return the CLV columns and summary.

    The models are fitted to the customers at fit_rows when given (the model stage's seeded
    sample, as the Spark engine does: four parameters each, and the fit's cost no longer
    grows with the log), else to every customer.
    """
    fitted = inputs if fit_rows is None else inputs.subset(fit_rows)
    models = fit_models(fitted)
    if isinstance(models, str):
        return absent(models)
    columns = customer_values(models, inputs, horizon_days, discount_rate)
    if degenerate(columns, horizon_days):
        return absent(DEGENERATE)
    totals = segment_clv(columns, np.ones(len(columns), dtype=bool), horizon_days)
    blank = bool(columns[column_names(horizon_days)["expected_aov"]].isna().any())
    summary, warnings = describe_fit(models, inputs.repeat_customers, horizon_days,
                                     discount_rate, totals, blank)  # fmt: skip
    summary["fitted_on_customers"] = len(fitted.x)
    return LifetimeValue(columns, summary, warnings)


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
    warnings = _fit_warnings(models.orders, models.value)
    if models.value.excluded_non_positive:
        warnings.append(
            f"{models.value.excluded_non_positive:,} customer(s) whose repeat orders are worth "
            "nothing net (returns) are left out of the Gamma-Gamma fit"
        )
    if blank_values:
        warnings.append(
            "the Gamma-Gamma fit gives q ≤ 1 (no finite mean order value): the expected "
            "order value and CLV of one-time buyers are left blank"
        )
    summary = {
        "enabled": True,
        "horizon_days": horizon_days,
        "discount_rate": discount_rate,
        "repeat_customers": repeat_customers,
        "likely_lost_below": LIKELY_LOST_BELOW,
        "bgnbd": models.orders.as_dict(),
        "gamma_gamma": models.value.as_dict(),
        "totals": totals,
    }
    return summary, warnings


def segment_clv(columns: pd.DataFrame, inside: np.ndarray, horizon_days: int) -> dict:
    """Return a group's mean P(alive), mean and total CLV, and its likely-lost customers."""
    names = column_names(horizon_days)
    alive = columns[names["p_alive"]].to_numpy()[inside]
    value = columns[names["clv"]].to_numpy()[inside]
    known = value[np.isfinite(value)]
    return {
        "p_alive_mean": float(alive.mean()) if len(alive) else 0.0,
        "clv_mean": math.fsum(known) / len(known) if len(known) else None,
        "clv_total": math.fsum(known),
        "likely_lost": int(np.count_nonzero(alive < LIKELY_LOST_BELOW)),
    }


def _fit_warnings(orders_model: BgNbdParams, value_model: GammaGammaParams) -> list[str]:
    """Say what a fit that ran to the edge of its parameter range means for the reader."""
    warnings = []
    dropout = orders_model.a / (orders_model.a + orders_model.b)
    if not orders_model.converged and dropout < 1e-3:
        warnings.append(
            "the data shows almost no customers stopping (the BG/NBD fit puts the chance of "
            f"dropping out after an order at {dropout:.1e}): P(alive) is about 1 for everyone"
        )
    elif not orders_model.converged:
        warnings.append(
            "the BG/NBD likelihood maximisation did not converge (a parameter ran to the edge "
            "of its range): read P(alive) and expected orders with care"
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
