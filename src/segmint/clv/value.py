"""Customer lifetime value over a horizon: expected orders times expected order value."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

WEEKS_PER_YEAR = 365.25 / 7


def clv(
    expected_orders: ArrayLike,
    expected_value: ArrayLike,
    horizon_weeks: float,
    annual_discount_rate: float | None = None,
) -> np.ndarray:
    """Return each customer's expected spend over the horizon, discounted if a rate is given.

    Undiscounted: expected orders × expected value per order (the two models are independent,
    so the expectation of the product is the product of the expectations).

    Discounted, an approximation: the orders are taken as spread uniformly over the horizon
    and discounted continuously at δ = ln(1 + annual_discount_rate) per year, which multiplies
    the undiscounted value by the mean discount factor (1 − e^(−δH)) / (δH), H the horizon in
    years (365.25 days). It is exact for a constant purchase rate and slightly overstates the
    value of customers whose expected purchases fall off over the horizon. A rate of 0 gives
    factor 1; a rate must be > −1.
    """
    value = np.asarray(expected_orders, dtype=float) * np.asarray(expected_value, dtype=float)
    factor = discount_factor(horizon_weeks, annual_discount_rate)
    return value if factor == 1.0 else value * factor


def discount_factor(horizon_weeks: float, annual_discount_rate: float | None) -> float:
    """Return the mean discount factor over the horizon (1 without a rate); see `clv`."""
    if not np.isfinite(horizon_weeks) or horizon_weeks < 0:
        raise ValueError("the CLV horizon must be finite and non-negative")
    if annual_discount_rate is None:
        return 1.0
    if not np.isfinite(annual_discount_rate) or annual_discount_rate <= -1:
        raise ValueError("the annual discount rate must be a finite number > -1")
    discount_horizon = float(np.log1p(annual_discount_rate) * horizon_weeks / WEEKS_PER_YEAR)
    if discount_horizon == 0:
        return 1.0
    return float(-np.expm1(-discount_horizon) / discount_horizon)
