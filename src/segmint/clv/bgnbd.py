"""BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005, "Counting your customers").

While alive, a customer buys at a Poisson rate λ ~ Gamma(r, alpha); after each purchase they
drop out with probability p ~ Beta(a, b). Per customer the data are x (repeat purchases),
t_x (time of the last purchase since the first) and T (time since the first purchase), all
times in weeks. Every function is vectorised over customers and works in log space, so that
one-time buyers (x = 0) and customers with hundreds of purchases are equally safe.
The functions follow the interface of segmint.clv.orders; `params` is (r, alpha, a, b).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

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


def objective(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray):
    """Return the weighted mean negative log-likelihood over ln(params), with its gradient."""
    return _NegativeLogLikelihood(x, np.where(x > 0, t_x, 0.0), T, weights)


def log_likelihood(params: Params, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
    """Return each customer's BG/NBD log-likelihood (eq. 6 of the paper, in log space)."""
    x, t_x, T = _customers(x, t_x, T)
    r, alpha, a, b = params
    return (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + betaln(a, b + x)
        - betaln(a, b)
        + np.logaddexp(-(r + x) * np.log(alpha + T), _log_dropout_term(params, x, t_x))
    )


def expected_orders_new(params: Params, t: ArrayLike) -> np.ndarray:
    """Return E[X(t)], the expected repeat purchases in t weeks of a new customer (eq. 7).

    It is the conditional expectation of a customer with x = t_x = T = 0.
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
    """Return E[Y(t) | x, t_x, T], the expected purchases in the next t weeks (eq. 10)."""
    x, t_x, T = _customers(x, t_x, T)
    t, x, t_x, T = np.broadcast_arrays(_horizon(t), x, t_x, T)
    if_alive = orders_if_alive(params, t, x, T)
    return if_alive * (p_alive(params, x, t_x, T) if alive is None else alive)


def orders_if_alive(params: Params, t: np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Return E[Y(t) | alive at T, x, T]: eq. (10) without its P(alive) factor.

    The paper's ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x−1; z) is evaluated through
    Euler's transformation as (1−z)^(a−1) 2F1(a+b−1−r, a−1; a+b+x−1; z), z = t/(alpha+T+t):
    the same number, but a product of two moderate factors where the original multiplies a
    vanishing power by a huge 2F1 for customers with hundreds of purchases. At a = 1 the
    formula is a removable 0/0; a is then moved by 1e-7, far below what the data can tell.
    MBG/NBD's is this one with b + 1 for b (segmint.clv.mbgnbd).
    """
    r, alpha, a, b = params
    a = a if abs(a - 1.0) > 1e-7 else 1.0 + 1e-7
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
    return expected_if_alive


# Gauss-Legendre nodes on (0, 1) for the integral over the dropout probability's quantiles.
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(64)
_NODES, _WEIGHTS = (_NODES + 1.0) / 2.0, _WEIGHTS / 2.0


def expected_orders_if_alive(
    params: Params, t: np.ndarray, x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Return E[Y(t) | alive, x, T] by integrating over the dropout probability p.

    Given the data and alive, λ ~ Gamma(r + x, alpha + T) and p ~ Beta(a, b + x) are
    independent, and a customer with (λ, p) buys (1 − e^(−λ p t)) / p times in t on
    average; over λ that is g(p) = (1 − ((alpha+T)/(alpha+T+p t))^(r+x)) / p. The mean of
    g over p is a 64-point Gauss-Legendre sum over p's quantiles (betaincinv), which stays
    finite where the closed form's hyp2f1 overflows (a, b or r, alpha very large).
    """
    from scipy.special import betaincinv

    r, alpha, a, b = params
    total = np.zeros(len(x))
    for node, weight in zip(_NODES, _WEIGHTS, strict=True):
        p = betaincinv(a, b + x, node)
        rate = np.log1p(p * t / (alpha + T))
        total += weight * -np.expm1(-(r + x) * rate) / p
    return total


def p_no_order(
    params: Params,
    t: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    alive: np.ndarray | None = None,
) -> np.ndarray:
    """Return P(no order in the next t weeks | x, t_x, T): 1 − P(alive) (1 − silent_if_alive)."""
    x, t_x, T = _customers(x, t_x, T)
    t, x, t_x, T = np.broadcast_arrays(_horizon(t), x, t_x, T)
    alive = p_alive(params, x, t_x, T) if alive is None else alive
    return 1.0 - alive * (1.0 - silent_if_alive(params, t, x, T))


def silent_if_alive(params: Params, t: np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Return P(no order in the next t weeks | alive at T, x, T) = ((alpha+T)/(alpha+T+t))^(r+x).

    A customer drops out only right after a purchase, so one alive at T with rate λ makes no
    purchase in t with chance e^(−λt); over λ ~ Gamma(r + x, alpha + T) that is the power.
    A customer who has dropped out makes none. The same holds for MBG/NBD.
    """
    r, alpha = params[0], params[1]
    return np.exp(-(r + x) * np.log1p(t / (alpha + T)))


def p_alive(params: Params, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
    """Return P(alive | x, t_x, T): 1 for x = 0, else 1 / (1 + a/(b+x−1) ((alpha+T)/(alpha+t_x))^(r+x)).

    One-time buyers are alive by the model's definition: a customer can only drop out right
    after a repeat purchase. The odds of having dropped out are formed in log space and turned
    into a probability with the logistic function, so a huge power cannot overflow.
    """
    x, t_x, T = _customers(x, t_x, T)
    r, alpha = params[0], params[1]
    log_odds_dead = _log_dropout_term(params, x, t_x) + (r + x) * np.log(alpha + T)
    return expit(-log_odds_dead)


def _log_dropout_term(params: Params, x: np.ndarray, t_x: np.ndarray) -> np.ndarray:
    """Return ln(δ_{x>0} a/(b+x−1) (alpha+t_x)^−(r+x)), −∞ for x = 0 (where b+x−1 may be ≤ 0)."""
    repeat = x > 0
    r, alpha, a, b = params
    log_b_x = np.log(b + x - 1.0, where=repeat, out=np.full(x.shape, np.inf))
    return np.log(a) - log_b_x - (r + x) * np.log(alpha + t_x)


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
        once_inverse = dot(self.once_weight, 1.0 / (alpha + self.once_T))
        log_T = np.log(alpha + self.T)
        gap = log_T - np.log(alpha + self.t_x)
        log_odds = log_odds_x[self.x_index] + (r + self.x) * gap
        weighted_log_T = dot(w, log_T) + dot(self.once_weight, once_log)
        ll = (
            dot(per_x, ll_x)
            + r * np.log(alpha) * self.total
            - r * weighted_log_T
            - dot(wx, log_T)
            + dot(w, np.logaddexp(0.0, log_odds))
        )

        # Weight of each repeat buyer's "dropped out after t_x" branch in its likelihood.
        w_drop = w * expit(log_odds)
        inverse_T = 1.0 / (alpha + self.T)
        inverse_gap = 1.0 / (alpha + self.t_x) - inverse_T
        grad_r = dot(per_x, d_r_x) + np.log(alpha) * self.total - weighted_log_T + dot(w_drop, gap)
        grad_alpha = (
            r * self.total / alpha
            - r * once_inverse
            - dot(w * r + wx, inverse_T)
            - dot(w_drop * (r + self.x), inverse_gap)
        )
        drop_per_x = np.bincount(self.x_index, weights=w_drop, minlength=len(xs))
        grad_a = dot(per_x, d_a_x) + drop_per_x.sum() / a
        grad_b = dot(per_x, d_b_x) - dot(drop_per_x, 1.0 / b_x)
        grad = np.array([grad_r * r, grad_alpha * alpha, grad_a * a, grad_b * b])
        return -ll / self.total, -grad / self.total
