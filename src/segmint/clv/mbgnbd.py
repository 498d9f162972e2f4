"""MBG/NBD model of repeat purchases (Batislam, Denizel & Filiztekin 2007).

As BG/NBD, but the customer may drop out after every purchase, the first one (at time 0)
included: while alive, a customer buys at a Poisson rate λ ~ Gamma(r, alpha) (alpha a rate);
right after each purchase they drop out with probability p ~ Beta(a, b). So a one-time buyer
is alive with probability below 1, falling with T. Per customer the data are x (repeat
purchases), t_x (time of the last purchase since the first; taken as 0 when x = 0, whatever
is passed) and T (time since the first purchase), all in weeks. Which model to choose and how
to read its figures is for users in docs/clv.md. With B the beta function and, for every
x ≥ 0,

    L(x, t_x, T) = B(a, b+x+1)/B(a, b) · Γ(r+x) alpha^r / (Γ(r) (alpha+T)^(r+x))
                 + B(a+1, b+x)/B(a, b) · Γ(r+x) alpha^r / (Γ(r) (alpha+t_x)^(r+x))

(alive through T, or dropped out right after the purchase at t_x), and

    P(alive | x, t_x, T) = 1 / (1 + a/(b+x) · ((alpha+T)/(alpha+t_x))^(r+x)),

    E[Y(t) | x, t_x, T]  = (a+b+x)/(a−1) · [1 − ((alpha+T)/(alpha+T+t))^(r+x)
                             · 2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))] · P(alive),

    P(no order in (T, T+t] | x, t_x, T) = 1 − P(alive) · (1 − ((alpha+T)/(alpha+T+t))^(r+x)),

    E[X(t)] = b/(a−1) · [1 − (alpha/(alpha+t))^r · 2F1(r, b+1; a+b; t/(alpha+t))].

Given alive at T, λ ~ Gamma(r+x, alpha+T) and p ~ Beta(a, b+x+1) (x+1 purchases survived)
independently, and a customer with (λ, p) alive at T buys (1 − e^(−λ p t))/p times in t on
average; the mean of that is (a+b+x)/(a−1) times the bracket. E[X(t)] is the same with
x = t_x = T = 0, where P(alive) = b/(a+b): the coefficient is b/(a−1) (as in lifetimes'
ModifiedBetaGeoFitter), not the (b+1)/(a−1) that also circulates, which the simulation tests
(tests/test_clv_simulation.py) reject by about a hundred standard errors. Every function is
vectorised over customers, works in log space and follows the interface of
segmint.clv.orders; `params` is (r, alpha, a, b).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, digamma, expit, gammaln

from segmint.clv import bgnbd
from segmint.clv._inputs import customers as _customers
from segmint.clv._inputs import floats as _floats
from segmint.clv._inputs import horizon as _horizon
from segmint.clv._mle import dot

PARAMS = ("r", "alpha", "a", "b")
Params = Sequence[float]


def start(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Return the fit's starting point: r = a = b = 1 and alpha the mean T."""
    mean_T = float(dot(weights, T)) / float(weights.sum())
    return np.array([1.0, mean_T if mean_T > 0 else 1.0, 1.0, 1.0])


def objective(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray
) -> _NegativeLogLikelihood:
    """Return the weighted mean negative log-likelihood over ln(params), with its gradient."""
    return _NegativeLogLikelihood(x, _last_purchase(x, t_x), T, weights)


def log_likelihood(params: Params, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
    """Return each customer's MBG/NBD log-likelihood (the module's L, in log space)."""
    x, t_x, T = _customers(x, t_x, T)
    r, alpha, a, b = params
    return (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + betaln(a, b + x + 1.0)
        - betaln(a, b)
        - (r + x) * np.log(alpha + T)
        + np.logaddexp(0.0, _log_odds_dead(params, x, _last_purchase(x, t_x), T))
    )


def expected_orders_new(params: Params, t: ArrayLike) -> np.ndarray:
    """Return E[X(t)], the expected repeat purchases in t weeks of a customer first buying at 0.

    It is the conditional expectation of a customer with x = t_x = T = 0, whose chance of
    being alive after the first purchase is b/(a+b); that makes b/(a−1) the coefficient.
    """
    t = _floats(t)
    zeros = np.zeros_like(t)
    return expected_orders(params, t, zeros, zeros, zeros)


def expected_orders(
    params: Params,
    t: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    alive: np.ndarray | None = None,
) -> np.ndarray:
    """Return E[Y(t) | x, t_x, T], the expected purchases in the next t weeks.

    (a+b+x)/(a−1) [1 − ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))]
    times P(alive): given alive at T the dropout probability is Beta(a, b+x+1), BG/NBD's with
    b + 1 for b, so the factor is segmint.clv.bgnbd.orders_if_alive at (r, alpha, a, b + 1)
    (with its stable evaluation and its fallback by integration).
    """
    x, t_x, T = _customers(x, t_x, T)
    t, x, t_x, T = np.broadcast_arrays(_horizon(t), x, t_x, T)
    r, alpha, a, b = params
    if_alive = bgnbd.orders_if_alive((r, alpha, a, b + 1.0), t, x, T)
    return if_alive * (p_alive(params, x, t_x, T) if alive is None else alive)


def expected_orders_if_alive(
    params: Params, t: np.ndarray, x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Return E[Y(t) | alive, x, T] by integrating over the dropout probability p ~
    Beta(a, b + x + 1) (segmint.clv.bgnbd.expected_orders_if_alive at b + 1)."""
    r, alpha, a, b = params
    return bgnbd.expected_orders_if_alive((r, alpha, a, b + 1.0), t, x, T)


def p_no_order(
    params: Params,
    t: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    alive: np.ndarray | None = None,
) -> np.ndarray:
    """Return P(no order in the next t weeks | x, t_x, T).

    A customer drops out only right after a purchase, so given alive it is BG/NBD's
    ((alpha+T)/(alpha+T+t))^(r+x) (segmint.clv.bgnbd.silent_if_alive); one who has dropped
    out makes none.
    """
    x, t_x, T = _customers(x, t_x, T)
    t, x, t_x, T = np.broadcast_arrays(_horizon(t), x, t_x, T)
    alive = p_alive(params, x, t_x, T) if alive is None else alive
    return 1.0 - alive * (1.0 - bgnbd.silent_if_alive(params, t, x, T))


def p_alive(params: Params, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
    """Return P(alive | x, t_x, T) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)).

    Below 1 for one-time buyers too (they may have dropped out right after buying), and
    falling with T for them. The odds of having dropped out are formed in log space and turned
    into a probability with the logistic function, so a huge power cannot overflow.
    """
    x, t_x, T = _customers(x, t_x, T)
    return expit(-_log_odds_dead(params, x, _last_purchase(x, t_x), T))


def _last_purchase(x: np.ndarray, t_x: np.ndarray) -> np.ndarray:
    """Return t_x with 0 for one-time buyers: their "last purchase" is the first, at time 0.

    BG/NBD never reads a one-time buyer's t_x, MBG/NBD does (they may drop out at 0), so a
    caller's convention for it (0, or T as some tools write) must not change the figures.
    """
    return np.where(x > 0, t_x, 0.0)


def _log_odds_dead(params: Params, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Return ln(a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)), the log-odds of having dropped out."""
    r, alpha, a, b = params
    # log1p of the gap, not a difference of logs: exact when t_x is close to T.
    return np.log(a) - np.log(b + x) + (r + x) * np.log1p((T - t_x) / (alpha + t_x))


class _NegativeLogLikelihood:
    """Mean negative log-likelihood of weighted customers and its gradient in ln(r, alpha, a, b).

    LL = ln Γ(r+x)/Γ(r) + r ln alpha + ln B(a, b+x+1)/B(a, b) − (r+x) ln(alpha+T) + ln(1 + e^d),
    d = ln(a/(b+x)) + (r+x) ln((alpha+T)/(alpha+t_x)) the log-odds of "dropped out after t_x"
    against "still alive", for every customer (t_x = 0 when x = 0). Terms that depend only on x
    are computed once per distinct x, of which real data have few; each row needs two logs, a
    log1p of e^d and a logistic.
    """

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weight: np.ndarray):
        self.distinct_x, index = np.unique(x, return_inverse=True)
        self.x_index = index.reshape(-1)
        self.weight_per_x = np.bincount(
            self.x_index, weights=weight, minlength=len(self.distinct_x)
        )
        self.total = float(weight.sum())
        self.x, self.t_x, self.T, self.weight = x, t_x, T, weight
        self.weighted_x = weight * x
        self.silence = T - t_x

    def __call__(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(log_params)
        xs, per_x = self.distinct_x, self.weight_per_x
        w, wx = self.weight, self.weighted_x

        # Per distinct x: ln Γ(r+x)/Γ(r) + ln B(a, b+x+1)/B(a, b), its derivatives, ln(a/(b+x)).
        ll_x = gammaln(r + xs) - gammaln(r) + betaln(a, b + xs + 1.0) - betaln(a, b)
        d_r_x = digamma(r + xs) - digamma(r)
        d_a_x = digamma(a + b) - digamma(a + b + xs + 1.0)
        d_b_x = digamma(b + xs + 1.0) - digamma(b) + d_a_x
        log_odds_x = np.log(a) - np.log(b + xs)

        log_T = np.log(alpha + self.T)
        inverse_last = 1.0 / (alpha + self.t_x)
        gap = np.log1p(self.silence * inverse_last)  # ln((alpha+T)/(alpha+t_x))
        log_odds = log_odds_x[self.x_index] + (r + self.x) * gap
        weighted_log_T = dot(w, log_T)
        ll = (
            dot(per_x, ll_x)
            + r * np.log(alpha) * self.total
            - r * weighted_log_T
            - dot(wx, log_T)
            + dot(w, np.logaddexp(0.0, log_odds))
        )

        # Weight of each customer's "dropped out after t_x" branch in its likelihood.
        w_drop = w * expit(log_odds)
        inverse_T = 1.0 / (alpha + self.T)
        inverse_gap = self.silence * inverse_last * inverse_T  # 1/(alpha+t_x) − 1/(alpha+T)
        grad_r = dot(per_x, d_r_x) + np.log(alpha) * self.total - weighted_log_T + dot(w_drop, gap)
        grad_alpha = (
            r * self.total / alpha
            - dot(w * r + wx, inverse_T)
            - dot(w_drop * (r + self.x), inverse_gap)
        )
        drop_per_x = np.bincount(self.x_index, weights=w_drop, minlength=len(xs))
        grad_a = dot(per_x, d_a_x) + drop_per_x.sum() / a
        grad_b = dot(per_x, d_b_x) - dot(drop_per_x, 1.0 / (b + xs))
        grad = np.array([grad_r * r, grad_alpha * alpha, grad_a * a, grad_b * b])
        return -ll / self.total, -grad / self.total
