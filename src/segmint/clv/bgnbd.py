"""BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005, "Counting your customers").

While alive, a customer buys at a Poisson rate λ ~ Gamma(r, alpha); after each purchase they
drop out with probability p ~ Beta(a, b). Per customer the data are x (repeat purchases),
t_x (time of the last purchase since the first) and T (time since the first purchase), all
times in weeks. Every function is vectorised over customers and works in log space, so that
one-time buyers (x = 0) and customers with hundreds of purchases are equally safe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from segmint.clv._mle import maximize


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters and how the fit ended (defaults for parameters given by hand)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")
    converged: bool = False
    iterations: int = 0

    def as_dict(self) -> dict[str, float | bool | int]:
        """Return the fields as a plain dict (JSON-ready)."""
        return asdict(self)


def fit_bgnbd(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    aggregate: bool = True,
) -> BgNbdParams:
    """Return the maximum-likelihood BG/NBD parameters for customers (x, t_x, T) in weeks.

    `weights` counts how many customers each row stands for (default 1 each). With
    `aggregate`, identical rows are merged into one weighted row first: exact, and much
    faster on real data where times are whole days. Raises ValueError on invalid input and
    when no customer has a repeat purchase: the likelihood then keeps growing as r → 0 (or
    alpha → ∞), so no maximum exists and nothing can be learnt about dropping out.
    """
    x, t_x, T = _customers(x, t_x, T)
    w = np.ones_like(x) if weights is None else np.broadcast_to(_floats(weights), x.shape)
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError("BG/NBD weights must be finite and non-negative")
    if not np.any((x > 0) & (w > 0)):
        raise ValueError("BG/NBD needs at least one customer with a repeat purchase (x > 0)")
    if aggregate:
        x, t_x, T, w = aggregate_customers(x, t_x, T, w)
    total = float(w.sum())
    mean_T = float(w @ T) / total
    start = np.array([1.0, mean_T if mean_T > 0 else 1.0, 1.0, 1.0])
    fit = maximize(_NegativeLogLikelihood(x, t_x, T, w), start, total)
    r, alpha, a, b = (float(v) for v in fit.params)
    return BgNbdParams(r, alpha, a, b, fit.log_likelihood, fit.converged, fit.iterations)


def log_likelihood(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
    """Return each customer's BG/NBD log-likelihood (eq. 6 of the paper, in log space)."""
    x, t_x, T = _customers(x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    return (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + betaln(a, b + x)
        - betaln(a, b)
        + np.logaddexp(-(r + x) * np.log(alpha + T), _log_dropout_term(params, x, t_x))
    )


def expected_orders_new(params: BgNbdParams, t: ArrayLike) -> np.ndarray:
    """Return E[X(t)], the expected repeat purchases in t weeks of a new customer (eq. 7).

    It is the conditional expectation of a customer with x = t_x = T = 0.
    """
    t = _floats(t)
    zeros = np.zeros_like(t)
    return conditional_expected_orders(params, t, zeros, zeros, zeros)


def conditional_expected_orders(
    params: BgNbdParams, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """Return E[Y(t) | x, t_x, T], the expected purchases in the next t weeks (eq. 10).

    The paper's ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x−1; z) is evaluated through
    Euler's transformation as (1−z)^(a−1) 2F1(a+b−1−r, a−1; a+b+x−1; z), z = t/(alpha+T+t):
    the same number, but a product of two moderate factors where the original multiplies a
    vanishing power by a huge 2F1 for customers with hundreds of purchases. At a = 1 the
    formula is a removable 0/0; a is then moved by 1e-7, far below what the data can tell.
    """
    x, t_x, T = _customers(x, t_x, T)
    t = _floats(t)
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise ValueError("the horizon t must be finite and non-negative")
    r, alpha, b = params.r, params.alpha, params.b
    a = params.a if abs(params.a - 1.0) > 1e-7 else 1.0 + 1e-7
    t = np.broadcast_to(t, x.shape)
    z = t / (alpha + T + t)
    with np.errstate(invalid="ignore", over="ignore"):
        survivor = np.exp((a - 1.0) * np.log1p(-z)) * hyp2f1(
            a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z
        )
        expected_if_alive = (a + b + x - 1.0) / (a - 1.0) * (1.0 - survivor)
    lost = ~np.isfinite(expected_if_alive)
    if lost.any():  # parameters run to their limits: hyp2f1 overflows; integrate instead
        expected_if_alive = np.array(expected_if_alive, dtype=np.float64)
        expected_if_alive[lost] = expected_orders_if_alive(params, t[lost], x[lost], T[lost])
    return expected_if_alive * p_alive(params, x, t_x, T)


# Gauss-Legendre nodes on (0, 1) for the integral over the dropout probability's quantiles.
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(64)
_NODES, _WEIGHTS = (_NODES + 1.0) / 2.0, _WEIGHTS / 2.0


def expected_orders_if_alive(
    params: BgNbdParams, t: np.ndarray, x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Return E[Y(t) | alive, x, T] by integrating over the dropout probability p.

    Given the data and alive, λ ~ Gamma(r + x, alpha + T) and p ~ Beta(a, b + x) are
    independent, and a customer with (λ, p) buys (1 − e^(−λ p t)) / p times in t on
    average; over λ that is g(p) = (1 − ((alpha+T)/(alpha+T+p t))^(r+x)) / p. The mean of
    g over p is a 64-point Gauss-Legendre sum over p's quantiles (betaincinv), which stays
    finite where the closed form's hyp2f1 overflows (a, b or r, alpha very large).
    """
    from scipy.special import betaincinv

    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    total = np.zeros(len(x))
    for node, weight in zip(_NODES, _WEIGHTS, strict=True):
        p = betaincinv(a, b + x, node)
        rate = np.log1p(p * t / (alpha + T))
        total += weight * -np.expm1(-(r + x) * rate) / p
    return total


def p_alive(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
    """Return P(alive | x, t_x, T): 1 for x = 0, else 1 / (1 + a/(b+x−1) ((alpha+T)/(alpha+t_x))^(r+x)).

    One-time buyers are alive by the model's definition: a customer can only drop out right
    after a repeat purchase. The odds of having dropped out are formed in log space and turned
    into a probability with the logistic function, so a huge power cannot overflow.
    """
    x, t_x, T = _customers(x, t_x, T)
    log_odds_dead = _log_dropout_term(params, x, t_x) + (params.r + x) * np.log(params.alpha + T)
    return expit(-log_odds_dead)


def aggregate_customers(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the distinct (x, t_x, T) rows and the summed weight of each.

    t_x of one-time buyers is set to 0 first: their likelihood does not depend on it, so they
    collapse further without changing the fit. Rows are grouped by sorting one 64-bit hash of
    the three values (a third of the cost of sorting on three keys); should two different rows
    ever share a hash, the exact three-key sort is used instead.
    """
    t_x = np.where(x > 0, t_x, 0.0)
    # + 0.0 turns −0.0 into 0.0, so that equal numbers have equal bits.
    bits = [np.ascontiguousarray(v + 0.0).view(np.uint64) for v in (x, t_x, T)]
    key = bits[0] * np.uint64(0x9E3779B97F4A7C15)
    key ^= bits[1] * np.uint64(0xC2B2AE3D27D4EB4F)
    key ^= bits[2] * np.uint64(0x165667B19E3779F9)
    order = np.argsort(key)
    first = np.ones(len(x), dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    x, t_x, T = x[order], t_x[order], T[order]
    same = (x[1:] == x[:-1]) & (t_x[1:] == t_x[:-1]) & (T[1:] == T[:-1])
    if np.any(~first[1:] & ~same):
        order_exact = np.lexsort((T, t_x, x))
        x, t_x, T = x[order_exact], t_x[order_exact], T[order_exact]
        order = order[order_exact]
        first[1:] = (x[1:] != x[:-1]) | (t_x[1:] != t_x[:-1]) | (T[1:] != T[:-1])
    starts = np.flatnonzero(first)
    return x[starts], t_x[starts], T[starts], np.add.reduceat(weights[order], starts)


def _log_dropout_term(params: BgNbdParams, x: np.ndarray, t_x: np.ndarray) -> np.ndarray:
    """Return ln(δ_{x>0} a/(b+x−1) (alpha+t_x)^−(r+x)), −∞ for x = 0 (where b+x−1 may be ≤ 0)."""
    repeat = x > 0
    log_b_x = np.log(params.b + x - 1.0, where=repeat, out=np.full(x.shape, np.inf))
    return np.log(params.a) - log_b_x - (params.r + x) * np.log(params.alpha + t_x)


class _NegativeLogLikelihood:
    """Mean negative log-likelihood of weighted customers and its gradient in ln(r, alpha, a, b).

    LL = ln Γ(r+x)/Γ(r) + r ln alpha + ln B(a, b+x)/B(a, b) − (r+x) ln(alpha+T) + ln(1 + e^d),
    d = ln(a/(b+x−1)) + (r+x) ln((alpha+T)/(alpha+t_x)) for x > 0 (the log-odds of "dropped out
    after t_x" against "still alive"), no last term for x = 0. Terms that depend only on x are
    computed once per distinct x, of which real data have few; one-time buyers need one log
    each, repeat buyers two logs, a log1p of e^d and a logistic.
    """

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weight: np.ndarray):
        self.distinct_x, index = np.unique(x, return_inverse=True)
        self.weight_per_x = np.bincount(index, weights=weight, minlength=len(self.distinct_x))
        self.total = float(weight.sum())
        once, repeat = x == 0, x > 0
        self.once_T, self.once_weight = T[once], weight[once]
        self.x, self.t_x, self.T, self.weight = x[repeat], t_x[repeat], T[repeat], weight[repeat]
        self.x_index = index[repeat]
        self.weighted_x = self.weight * self.x

    def __call__(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(log_params)
        xs, per_x = self.distinct_x, self.weight_per_x
        w, wx = self.weight, self.weighted_x

        # Per distinct x: ln Γ(r+x)/Γ(r) + ln B(a, b+x)/B(a, b), its derivatives, ln(a/(b+x−1)).
        ll_x = gammaln(r + xs) - gammaln(r) + betaln(a, b + xs) - betaln(a, b)
        d_r_x = digamma(r + xs) - digamma(r)
        d_a_x = digamma(a + b) - digamma(a + b + xs)
        d_b_x = digamma(b + xs) - digamma(b) + d_a_x
        b_x = np.where(xs > 0, b + xs - 1.0, 1.0)
        log_odds_x = np.log(a) - np.log(b_x)

        once_log = np.log(alpha + self.once_T)
        once_inverse = self.once_weight @ (1.0 / (alpha + self.once_T))
        log_T = np.log(alpha + self.T)
        gap = log_T - np.log(alpha + self.t_x)
        log_odds = log_odds_x[self.x_index] + (r + self.x) * gap
        weighted_log_T = w @ log_T + self.once_weight @ once_log
        ll = (
            per_x @ ll_x
            + r * np.log(alpha) * self.total
            - r * weighted_log_T
            - wx @ log_T
            + w @ np.logaddexp(0.0, log_odds)
        )

        # Weight of each repeat buyer's "dropped out after t_x" branch in its likelihood.
        w_drop = w * expit(log_odds)
        inverse_T = 1.0 / (alpha + self.T)
        inverse_gap = 1.0 / (alpha + self.t_x) - inverse_T
        grad_r = per_x @ d_r_x + np.log(alpha) * self.total - weighted_log_T + w_drop @ gap
        grad_alpha = (
            r * self.total / alpha
            - r * once_inverse
            - (w * r + wx) @ inverse_T
            - (w_drop * (r + self.x)) @ inverse_gap
        )
        drop_per_x = np.bincount(self.x_index, weights=w_drop, minlength=len(xs))
        grad_a = per_x @ d_a_x + drop_per_x.sum() / a
        grad_b = per_x @ d_b_x - drop_per_x @ (1.0 / b_x)
        grad = np.array([grad_r * r, grad_alpha * alpha, grad_a * a, grad_b * b])
        return -ll / self.total, -grad / self.total


def _customers(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> tuple[np.ndarray, ...]:
    """Return x, t_x, T as float arrays of one shape, or raise ValueError if they are invalid."""
    x, t_x, T = np.broadcast_arrays(_floats(x), _floats(t_x), _floats(T))
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t_x)) and np.all(np.isfinite(T))):
        raise ValueError("BG/NBD inputs x, t_x and T must be finite")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("BG/NBD x (repeat purchases) must be whole numbers >= 0")
    if np.any(t_x < 0) or np.any(t_x > T):
        raise ValueError("BG/NBD times must satisfy 0 <= t_x <= T")
    return x, t_x, T


def _floats(values: ArrayLike) -> np.ndarray:
    """Return values as a float array (at least 1-D)."""
    return np.atleast_1d(np.asarray(values, dtype=float))
