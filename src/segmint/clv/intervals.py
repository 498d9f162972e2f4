"""90% intervals of total CLV from the parameters' uncertainty (docs/clv.md, "Intervals").

The fitted parameters' logarithms are asymptotically normal with the inverse observed
information as covariance (segmint.clv._mle). A total T = D Σ_i O_i V_i (D the discount
factor, O_i the customer's expected orders, V_i the expected value of their orders) is
positive, so the delta method is applied to ln T: sd = sqrt(g' Σ g) with g the gradient of
ln T in ln(params), and the interval is T · exp(±1.645 sd). The order model and Gamma-Gamma
are fitted separately, so their covariance is block-diagonal. O's derivatives come from
forward differences per distinct (x, t_x, T) row; V's are analytic. With fewer customers the
information is smaller and the intervals wider.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from segmint.clv._inputs import DistinctRows
from segmint.clv.value import discount_factor

if TYPE_CHECKING:
    from segmint.clv.orders import OrderFit
    from segmint.clv.per_customer import Fitted, ModelInputs, Uncertainty

INTERVAL_LEVEL = 0.9
INTERVAL_METHOD = (
    "delta method: the fitted parameters' logarithms taken as normal with the inverse "
    "observed information as covariance, propagated to the logarithm of each total"
)
Z = 1.6448536269514722  # the standard normal's 95% quantile: a two-sided 90% interval
_STEP = 1e-4  # in ln(params), for the forward differences of the expected orders


def orders_gradient(
    fit: OrderFit,
    rows: DistinctRows,
    horizon_weeks: float,
    orders: np.ndarray | None = None,
    alive_at: Callable[[Sequence[float]], np.ndarray] | None = None,
) -> np.ndarray | None:
    """Return d E[orders] / d ln(param) per distinct row (rows × params), None without a
    covariance (a fit without an interior maximum).

    Forward differences from `orders` (the rows' expected orders at the fit, computed here
    when not given): one evaluation per parameter. Their error, of the order of the step
    (1e-4 of each parameter), is far below the spread they measure. `alive_at`: the rows'
    params → P(alive) (OrderFit.alive_function), when the caller has it.
    """
    if fit.log_covariance is None:
        return None
    history = (rows.x, rows.t_x, rows.T)
    if orders is None:
        orders = fit.expected_orders(horizon_weeks, *history)
    alive_at = alive_at or fit.alive_function(*history)
    centre = np.log(np.asarray(fit.params))
    columns = []
    for i in range(len(centre)):
        step = np.zeros(len(centre))
        step[i] = _STEP
        moved = fit.with_params(np.exp(centre + step))
        alive = alive_at(moved.params)
        columns.append((moved.expected_orders(horizon_weeks, *history, alive) - orders) / _STEP)
    return np.stack(columns, axis=1)


def group_intervals(
    u: Uncertainty, inputs: ModelInputs, labels: np.ndarray, groups: int
) -> tuple[list[list[float] | None], str | None]:
    """Return the 90% interval [lo, hi] of each group's total CLV (labels 0..groups−1), and
    why there is none (None when there are intervals)."""
    inverse = u.rows.inverse
    return weighted_group_intervals(
        u.fitted, u.horizon_weeks, u.discount_rate, u.orders[inverse],
        None if u.orders_gradient is None else u.orders_gradient[inverse],
        inputs.x, np.ones(len(inputs.x)), inputs.repeat_spend, labels, groups,
    )  # fmt: skip


def weighted_group_intervals(
    fitted: Fitted,
    horizon_weeks: float,
    discount_rate: float | None,
    orders: np.ndarray,
    orders_gradient: np.ndarray | None,
    x: np.ndarray,
    count: np.ndarray,
    spend: np.ndarray,
    labels: np.ndarray,
    groups: int,
) -> tuple[list[list[float] | None], str | None]:
    """Return each group's 90% total CLV interval from items that each stand for `count`
    customers with the same (x, t_x, T): their expected orders and its gradient, and the
    sum of their repeat orders' net value (`spend`, each customer's clipped at 0)."""
    value_fit = fitted.value
    if orders_gradient is None or value_fit.log_covariance is None:
        which = "order model" if orders_gradient is None else "Gamma-Gamma"
        return [None] * groups, (
            f"no interval: the {which} fit has no interior maximum (a parameter ran to the "
            "edge of its range), so its uncertainty is not measured"
        )
    p, q, gamma = value_fit.params
    denominator = p * x + q - 1.0
    known = denominator > 0  # where the expected order value is finite (as in the CLV column)
    labels, count, spend, denominator = (
        labels[known],
        count[known],
        spend[known],
        denominator[known],
    )
    orders, orders_gradient = orders[known], orders_gradient[known]
    value = (gamma * count + spend) * p / denominator  # summed over the item's customers
    value_gradient = np.stack(
        [
            value * (q - 1.0) / denominator,
            -value * q / denominator,
            p * gamma * count / denominator,
        ],
        axis=1,
    )
    factor = discount_factor(horizon_weeks, discount_rate)

    def per_group(values: np.ndarray) -> np.ndarray:
        return factor * np.bincount(labels, weights=values, minlength=groups)

    total = per_group(orders * value)
    gradient_orders = np.stack([per_group(orders_gradient[:, j] * value)
                                for j in range(orders_gradient.shape[1])], axis=1)  # fmt: skip
    gradient_value = np.stack([per_group(orders * value_gradient[:, j]) for j in range(3)], axis=1)
    variance = np.einsum("gi,ij,gj->g", gradient_orders, fitted.orders.log_covariance,
                         gradient_orders) + np.einsum(
        "gi,ij,gj->g", gradient_value, value_fit.log_covariance, gradient_value)  # fmt: skip
    intervals: list[list[float] | None] = []
    for g in range(groups):
        if not total[g] > 0 or not np.isfinite(variance[g]) or variance[g] < 0:
            intervals.append(None)
            continue
        spread = Z * np.sqrt(variance[g]) / total[g]
        intervals.append([float(total[g] * np.exp(-spread)), float(total[g] * np.exp(spread))])
    return intervals, None


def total_interval(
    u: Uncertainty, inputs: ModelInputs, inside: np.ndarray
) -> tuple[list[float] | None, str | None]:
    """Return the 90% interval of the total CLV of the customers `inside`, and why none."""
    labels = np.where(inside, 0, 1)
    intervals, reason = group_intervals(u, inputs, labels, 2)
    return intervals[0], reason
