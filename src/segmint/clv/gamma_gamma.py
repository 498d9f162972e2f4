"""Gamma-Gamma model of spend per order (Fader, Hardie & Lee 2005, "RFM and CLV").

Each order's value is Gamma(p, ν) with ν ~ Gamma(q, gamma) across customers, independent of
how often the customer buys. Per customer the data are x (repeat purchases) and m_x (the mean
value of those x orders); only customers with x > 0 and m_x > 0 carry information.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from segmint.clv._inputs import weights_of
from segmint.clv._mle import dot, maximize, warm_start


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters, how the fit ended, and which customers entered it."""

    p: float
    q: float
    gamma: float
    log_likelihood: float = float("nan")
    converged: bool = False
    iterations: int = 0
    customers: int = 0
    excluded_non_positive: int = 0
    log_covariance: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def params(self) -> tuple[float, float, float]:
        return (self.p, self.q, self.gamma)

    def with_params(self, params: ArrayLike) -> GammaGammaParams:
        """Return these parameters replaced (for intervals by the delta method)."""
        p, q, gamma = (float(v) for v in np.asarray(params, dtype=float))
        return replace(self, p=p, q=q, gamma=gamma)

    def as_dict(self) -> dict[str, float | bool | int]:
        """Return the fields as a plain dict (JSON-ready), without the covariance."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "log_covariance"}


def fit_gamma_gamma(
    x: ArrayLike, m_x: ArrayLike, weights: ArrayLike | None = None
) -> GammaGammaParams:
    """Return the maximum-likelihood Gamma-Gamma parameters for customers (x, m_x).

    `weights` counts how many customers each row stands for (default 1 each). Customers with
    x = 0 have no repeat order to learn from and are left out silently; customers with x > 0
    but m_x <= 0 (their repeat orders are worth nothing net: returns outweigh purchases) are
    outside the model's support, so they are left out and counted in
    `excluded_non_positive`. Raises ValueError on invalid input and when fewer than 2
    customers remain.
    """
    x, m_x = _customers(x, m_x)
    w = weights_of(weights, x.shape)
    repeat = (x > 0) & (w > 0)
    if np.any(~np.isfinite(m_x[repeat])):
        raise ValueError("Gamma-Gamma m_x must be finite for customers with x > 0")
    usable = repeat & (m_x > 0)
    excluded = int(round(float(w[repeat & ~usable].sum())))
    customers = int(round(float(w[usable].sum())))
    if customers < 2:
        raise ValueError(
            "Gamma-Gamma needs at least 2 customers with repeat purchases of positive mean value; "
            f"found {customers}"
        )
    x, m_x, w = x[usable], m_x[usable], np.ascontiguousarray(w[usable], dtype=float)
    start = np.array([1.0, 1.0, float(dot(w, m_x)) / float(w.sum())])
    objective = _NegativeLogLikelihood(x, m_x, w)
    start = warm_start(lambda at: _NegativeLogLikelihood(x[at], m_x[at], w[at]), len(x), start)
    fit = maximize(objective, start, float(w.sum()))
    p, q, gamma = (float(v) for v in fit.params)
    return GammaGammaParams(
        p, q, gamma, fit.log_likelihood, fit.converged, fit.iterations, customers, excluded,
        fit.log_covariance,
    )  # fmt: skip


def log_likelihood(params: GammaGammaParams, x: ArrayLike, m_x: ArrayLike) -> np.ndarray:
    """Return each customer's log density of m_x given x (x > 0, m_x > 0)."""
    x, m_x = _customers(x, m_x)
    p, q, gamma = params.p, params.q, params.gamma
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1.0) * np.log(m_x)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m_x * x)
    )


def conditional_expected_value(
    params: GammaGammaParams, x: ArrayLike, m_x: ArrayLike
) -> np.ndarray:
    """Return E[M | x, m_x], the expected value of a customer's future order.

    x > 0: the posterior mean (gamma + m_x x) p / (p x + q − 1), a weighted average of the
    customer's own mean and the population mean. x = 0 (one-time buyers): the population mean
    p gamma / (q − 1). When q <= 1 the population mean is infinite, so one-time buyers (and
    any customer with p x + q − 1 <= 0) get nan rather than an arbitrary number: the caller
    must decide. m_x <= 0 with x > 0 is outside the model; it is taken as 0, i.e. the prior
    shrunk by the customer's evidence of spending nothing.
    """
    x, m_x = _customers(x, m_x)
    p, q, gamma = params.p, params.q, params.gamma
    repeat = x > 0
    spend = np.where(repeat, np.maximum(np.nan_to_num(m_x, nan=0.0), 0.0), 0.0)
    denominator = p * x + q - 1.0
    value = np.divide(
        (gamma + spend * x) * p, denominator, where=denominator > 0, out=np.full(x.shape, np.nan)
    )
    return value


class _NegativeLogLikelihood:
    """Mean negative log-likelihood of customers (x, m_x) and its gradient in ln(p, q, gamma).

    LL = ln Γ(px+q)/(Γ(px)Γ(q)) + q ln gamma + (px−1) ln m_x + px ln x − (px+q) ln(gamma+m_x x).
    The gamma functions depend on x alone and are computed once per distinct x; per customer
    there remains one log and one division.
    """

    def __init__(self, x: np.ndarray, m_x: np.ndarray, weight: np.ndarray):
        self.distinct_x, self.x_index = np.unique(x, return_inverse=True)
        self.customers_per_x = np.bincount(self.x_index, weights=weight).astype(float)
        self.x, self.spend, self.weight = x, m_x * x, weight
        self.wx = weight * x
        self.log_spend = float(dot(self.wx, np.log(self.spend)))
        self.log_m_x = float(dot(weight, np.log(m_x)))
        self.total = float(weight.sum())

    def __call__(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, gamma = np.exp(log_params)
        xs, count = self.distinct_x, self.customers_per_x
        px = p * xs
        log_total = np.log(gamma + self.spend)
        x_log_total = dot(self.wx, log_total)
        sum_log_total = dot(self.weight, log_total)
        ll = (
            dot(count, gammaln(px + q) - gammaln(px))
            + self.total * (q * np.log(gamma) - gammaln(q))
            + p * (self.log_spend - x_log_total)
            - q * sum_log_total
            - self.log_m_x
        )
        digamma_px_q = digamma(px + q)
        grad_p = dot(count * xs, digamma_px_q - digamma(px)) + self.log_spend - x_log_total
        grad_q = (
            dot(count, digamma_px_q) - sum_log_total + self.total * (np.log(gamma) - digamma(q))
        )
        grad_gamma = self.total * q / gamma - dot(
            p * self.wx + q * self.weight, 1.0 / (gamma + self.spend)
        )
        grad = np.array([grad_p * p, grad_q * q, grad_gamma * gamma])
        return -ll / self.total, -grad / self.total


def _customers(x: ArrayLike, m_x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Return x and m_x as float arrays of one shape, or raise ValueError if x is invalid."""
    x, m_x = np.broadcast_arrays(
        np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(m_x, dtype=float))
    )
    if np.any(~np.isfinite(x)) or np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("Gamma-Gamma x (repeat purchases) must be whole numbers >= 0")
    return x, m_x
