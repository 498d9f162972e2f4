"""Pareto/NBD model of repeat purchases (Schmittlein, Morrison & Colombo 1987).

While alive, a customer buys at a Poisson rate λ ~ Gamma(r, alpha); their lifetime is
exponential with rate μ ~ Gamma(s, beta), independent of λ. Per customer the data are x
(repeat purchases), t_x (time of the last purchase since the first; 0 for x = 0) and T (time
since the first purchase), in weeks. The user-facing rules are in docs/clv.md. The functions
follow the interface of segmint.clv.orders; `params` is (r, alpha, s, beta).

Formulas (Fader & Hardie, "A Note on Deriving the Pareto/NBD Model and Related Expressions",
2005), written with the integral of the note's A_0 term instead of its 2F1 expressions:

    L = Γ(r+x)/Γ(r) α^r β^s [(α+T)^−(r+x) (β+T)^−s + s I],
    I = ∫_{t_x}^{T} (α+τ)^−(r+x) (β+τ)^−(s+1) dτ,
    P(alive) = (α+T)^−(r+x) (β+T)^−s / [(α+T)^−(r+x) (β+T)^−s + s I],
    E[Y(t) | data] = P(alive) (r+x)(β+T) / ((α+T)(s−1)) [1 − ((β+T)/(β+T+t))^(s−1)],
    E[X(t)] = r β / (α (s−1)) [1 − (β/(β+t))^(s−1)],
    P(no order in t | data) = 1 − P(alive) ∫_0^t (r+x)/(α+T) ((α+T)/(α+T+u))^(r+x+1)
                                               ((β+T)/(β+T+u))^s du.

The last: a customer alive at T with rates (λ, μ) orders in (T, T+t] if an order comes before
both death and T+t, with chance ∫_0^t λ e^−(λ+μ)u du; given the data and alive at T,
λ ~ Gamma(r+x, α+T) and μ ~ Gamma(s, β+T) are independent, and E[λ e^−λu] E[e^−μu] is the
integrand above. At s = 1 the expectations take their limits (logarithms) continuously.

Numerical method. Every integral above is of f(τ) = (1+τ/α)^−q (1+τ/β)^−p (the powers of α
and β are taken out, so that huge exponents meet log1p of small numbers, not logs of huge
ones), and I = α^−q β^−p [F(t_x) − F(T)] with F(u) = ∫_u^∞ f, q + p > 1. With m = min(α, β),
M = max(α, β) and a_m, a_M their exponents, substituting τ = (M+u)/y − M and applying Euler's
transformation gives

    F(u) = (m+u) (1+u/m)^−a_m (1+u/M)^−a_M / (q+p−1) · 2F1(1, a_M; a_m+a_M; z),
    z = (M−m)/(M+u) in [0, 1),

whose terms (a_M)_n/(a_m+a_M)_n z^n are positive with ratios below z: the series is summed
in double precision with no cancellation, and its derivatives in a_M, a_m+a_M and z (for the
analytic gradient) accumulate in the same loop. scipy's hyp2f1 is not used: it overflows or
is silently wrong for customers with hundreds of purchases.

For z > Z_SERIES (m ≪ M and u ≪ M, e.g. a fit running to the edge of the parameter box) the
series would need ~37/(1−z) terms. F(u) is then ∫_u^{τ1} f + F(τ1), with τ1 where z = Z_SERIES
(series), and the first part is Gauss-Legendre quadrature in w = ln(1 + τ/m): there the
log-integrand ψ(w) = (1−a_m) w − a_M ln(1 + τ/M) is concave, so panels are laid out from its
maximum outwards, each as wide as the local slope and curvature allow a bounded fall of ψ,
until ψ has fallen 45 below its maximum (what is left is below e^−45 of the integral, by
concavity). The same quadrature computes I directly when F(t_x) and F(T) are too close for
their difference (T − t_x small against the time scales): I/F(t_x) = 1 − e^d is then formed
from d = ln F(T) − ln F(t_x) only when d < −D_DIRECT.

In a fit, F depends on a customer only through (x, t_x) and (x, T), and times are whole days
/ 7, so F is computed on those distinct pairs (tens of thousands for millions of customers)
and gathered; the series is summed over all pairs at once, dropping each pair as it converges.
The gradient in ln(r, alpha, s, beta) is analytic: the series carries the derivatives of its
terms in a_M, a_m + a_M and z, the quadrature the moments ln(1+τ/m), ln(1+τ/M), τ/(m+τ) and
τ/(M+τ) of its integrand. Each customer's weights on ln F(t_x), ln F(T) and ln B (the alive
branch, B = (1+T/α)^−(r+x) (1+T/β)^−s) are summed per pair before they meet those partials.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, expit, gammaln

from segmint.clv._inputs import customers as _customers
from segmint.clv._inputs import floats as _floats
from segmint.clv._inputs import horizon as _horizon
from segmint.clv._mle import dot

PARAMS = ("r", "alpha", "s", "beta")
Params = Sequence[float]

# The series is used up to this z (at most ~190 terms); above it, quadrature plus the series
# from the point where z = Z_SERIES. 0.8 balances the two's cost on skewed alpha/beta.
Z_SERIES = 0.8
# A series stops when its next term (times its index, for the derivatives) is below this
# fraction of the sum, times (1 − z) for the geometric tail.
_SERIES_TOLERANCE = 1e-17
# I = F(t_x) − F(T) by difference only when F(T)/F(t_x) < e^−D_DIRECT: the difference then
# loses at most ~2 digits to cancellation; closer pairs are integrated directly.
D_DIRECT = 0.02
_DIRECT_SHARE = -np.expm1(-D_DIRECT)
# Quadrature: 16 Gauss-Legendre nodes per panel; a panel lets ψ fall by about _PANEL_FALL and
# spans at most _PANEL_WIDTH in w (ψ's singularities are π away from the real axis);
# integration stops where ψ is _TRUNCATION below its maximum. With these, F agrees with
# 30-digit quadrature to 2e-15 relative on random parameters across the box (at most 19 panels).
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(16)
_NODES, _WEIGHTS = (_NODES + 1.0) / 2.0, _WEIGHTS / 2.0
_PANEL_FALL = 12.0
_PANEL_WIDTH = 2.0
_TRUNCATION = 45.0
_MAX_PANELS = 200
# Odd 64-bit multipliers mixing the columns' bits into one hash (_distinct).
_HASH_MULTIPLIERS = (
    0x9E3779B97F4A7C15,
    0xC2B2AE3D27D4EB4F,
    0x165667B19E3779F9,
    0xD6E8FEB86659FD93,
    0xFF51AFD7ED558CCD,
    0xC4CEB9FE1A85EC53,
)
# Rows of partials in (q, p, alpha, beta) in the order of PARAMS (q = r + x, p = s + 1).
_BY_PARAM = [0, 2, 1, 3]
# exp() of more than this would overflow; such customers are alive beyond doubt.
_MAX_EXP = 700.0
# Purchase counts up to this get ln Γ(r+x)/Γ(r) as a cumulative sum of logs.
_RISING_MAX = 1_000_000


# --- the public interface ---------------------------------------------------------------


def start(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Return the fit's starting point: r = s = 1 and alpha = beta = the mean T."""
    mean_T = float(dot(weights, T)) / float(weights.sum())
    scale = mean_T if mean_T > 0 else 1.0
    return np.array([1.0, scale, 1.0, scale])


def objective(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray
) -> _NegativeLogLikelihood:
    """Return the weighted mean negative log-likelihood over ln(params), with its gradient."""
    return _NegativeLogLikelihood(x, np.where(x > 0, t_x, 0.0), T, weights)


def log_likelihood(params: Params, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
    """Return each customer's Pareto/NBD log-likelihood."""
    x, t_x, T = _inputs(x, t_x, T)
    r, alpha, s, beta = (float(v) for v in params)
    log_b, log_si = _log_branches(params, x, t_x, T)
    return _log_rate_terms(r, alpha, x)[0] + np.logaddexp(log_b, log_si)


def p_alive(params: Params, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
    """Return P(alive at T | x, t_x, T), the share of the likelihood's "alive at T" branch."""
    x, t_x, T = _inputs(x, t_x, T)
    log_b, log_si = _log_branches(params, x, t_x, T)
    with np.errstate(divide="ignore"):
        return np.exp(log_b - np.logaddexp(log_b, log_si))


def alive_of_rows(x: ArrayLike, t_x: ArrayLike, T: ArrayLike):
    """Return params → P(alive) of these customers, their (x, time) pairs grouped once.

    For callers that need P(alive) of the same customers at several parameter values (the
    intervals' derivatives): each call then costs one evaluation of F per pair, as a step
    of the fit does, instead of grouping the customers again.
    """
    x, t_x, T = _inputs(x, t_x, T)
    rows = _NegativeLogLikelihood(x, t_x, T, np.ones(len(x)))
    return rows.p_alive


def expected_orders(
    params: Params,
    t: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    alive: np.ndarray | None = None,
) -> np.ndarray:
    """Return E[Y(t) | x, t_x, T], the expected orders in the next t weeks.

    (r+x)/(alpha+T) (beta+T) [1 − ((beta+T)/(beta+T+t))^(s−1)] / (s−1) is written as
    (r+x)/(alpha+T) (beta+T) L h((s−1) L) with L = ln(1 + t/(beta+T)) and h(v) = (1 − e^−v)/v,
    which is continuous through s = 1 (h(0) = 1).
    """
    x, t_x, T = _inputs(x, t_x, T)
    t, x, t_x, T = np.broadcast_arrays(_horizon(t), x, t_x, T)
    r, alpha, s, beta = (float(v) for v in params)
    span = np.log1p(t / (beta + T))
    if_alive = (r + x) / (alpha + T) * (beta + T) * span * _relative_expm1((s - 1.0) * span)
    return if_alive * (p_alive(params, x, t_x, T) if alive is None else alive)


def expected_orders_new(params: Params, t: ArrayLike) -> np.ndarray:
    """Return E[X(t)], the expected repeat orders in (0, t] of a customer first buying at 0."""
    t = _horizon(t)
    r, alpha, s, beta = (float(v) for v in params)
    span = np.log1p(t / beta)
    return r / alpha * beta * span * _relative_expm1((s - 1.0) * span)


def p_no_order(
    params: Params,
    t: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    alive: np.ndarray | None = None,
) -> np.ndarray:
    """Return P(no order in the next t weeks | x, t_x, T).

    1 − P(alive) (r+x)/(alpha+T) J, J = ∫_0^t (1 + u/(alpha+T))^−(r+x+1) (1 + u/(beta+T))^−s du:
    the integral of the module docstring with the powers of alpha+T and beta+T taken out.
    """
    x, t_x, T = _inputs(x, t_x, T)
    t, x, t_x, T = np.broadcast_arrays(_horizon(t), x, t_x, T)
    r, alpha, s, beta = (float(v) for v in params)
    q = r + x
    log_j = _log_integral(np.zeros_like(t), t, q + 1.0, s, alpha + T, beta + T, q + s)
    buy_if_alive = np.exp(np.log(q) - np.log(alpha + T) + log_j)
    return 1.0 - (p_alive(params, x, t_x, T) if alive is None else alive) * buy_if_alive


# --- per-customer pieces ----------------------------------------------------------------


def _inputs(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> tuple[np.ndarray, ...]:
    """Return validated x, t_x, T with t_x = 0 for one-time buyers (their last order is the first)."""
    x, t_x, T = _customers(x, t_x, T)
    return x, np.where(x > 0, t_x, 0.0), T


def _log_branches(
    params: Params, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the logs of the likelihood's two branches without Γ(r+x)/Γ(r) alpha^−x.

    Alive at T: (1+T/alpha)^−(r+x) (1+T/beta)^−s. Died in (t_x, T]: (s/beta) Ĩ with
    Ĩ = ∫_{t_x}^{T} (1+τ/alpha)^−(r+x) (1+τ/beta)^−(s+1) dτ (−∞ when t_x = T).
    """
    r, alpha, s, beta = (float(v) for v in params)
    q = r + x
    log_alive = -q * np.log1p(T / alpha) - s * np.log1p(T / beta)
    log_i = _log_integral(t_x, T, q, s + 1.0, alpha, beta, q + s)
    return log_alive, np.log(s) - np.log(beta) + log_i


def _log_rate_terms(r: float, alpha: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ln Γ(r+x)/(Γ(r) alpha^x) = Σ_{k<x} ln((r+k)/alpha) and its r-derivative Σ 1/(r+k).

    As a sum of logs of ratios it keeps its absolute accuracy when r and alpha are huge (a
    fit running to the homogeneous limit), where gammaln(r+x) − gammaln(r) would lose ~1e-7.
    Counts beyond _RISING_MAX fall back to gammaln and digamma.
    """
    whole = x.astype(np.int64)
    top = int(whole.max(initial=0))
    if top > _RISING_MAX:
        return gammaln(r + x) - gammaln(r) - x * np.log(alpha), digamma(r + x) - digamma(r)
    k = np.arange(top, dtype=float)
    log_sums = np.concatenate([[0.0], np.cumsum(np.log((r + k) / alpha))])
    inverse_sums = np.concatenate([[0.0], np.cumsum(1.0 / (r + k))])
    return log_sums[whole], inverse_sums[whole]


def _relative_expm1(v: np.ndarray) -> np.ndarray:
    """Return (1 − e^−v)/v, 1 at v = 0 (accurate for tiny v through expm1)."""
    v = np.asarray(v, dtype=float)
    safe = np.where(v == 0.0, 1.0, v)
    return np.where(v == 0.0, 1.0, -np.expm1(-safe) / safe)


# --- the integral F and its pieces ------------------------------------------------------


def _log_integral(
    lo: ArrayLike,
    hi: ArrayLike,
    q: ArrayLike,
    p: ArrayLike,
    alpha: ArrayLike,
    beta: ArrayLike,
    excess: ArrayLike,
) -> np.ndarray:
    """Return ln ∫_lo^hi (1+τ/alpha)^−q (1+τ/beta)^−p dτ (−∞ where lo = hi).

    `excess` is q + p − 1 > 0, passed exactly (1 + tiny − 1 would lose it). F(lo) − F(hi) by
    a stable log difference, or by direct quadrature when F(hi) > e^−D_DIRECT F(lo).
    """
    lo, hi, q, p, alpha, beta, excess = np.broadcast_arrays(
        *(_floats(v) for v in (lo, hi, q, p, alpha, beta, excess))
    )
    columns = [np.concatenate([v, v]) for v in (lo, q, p, alpha, beta, excess)]
    columns[0] = np.concatenate([lo, hi])
    first, inverse = _distinct(columns)
    log_f = _log_tail(*(v[first] for v in columns))[0][inverse]
    n = len(lo)
    d = np.minimum(log_f[n:] - log_f[:n], 0.0)
    with np.errstate(divide="ignore"):
        log_i = log_f[:n] + np.log(-np.expm1(d))
    direct = (d > -D_DIRECT) & (hi > lo)
    if direct.any():
        log_i[direct] = _log_integral_direct(
            lo[direct], hi[direct], q[direct], p[direct], alpha[direct], beta[direct]
        )[0]
    return log_i


def _distinct(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Return the index of one row per distinct row of equal-length columns, and each row's
    distinct row: customers share x and whole-day times, so F is computed far fewer times.

    Rows are grouped by a 64-bit hash of their values' bits; if two different rows ever share
    a hash, every row is its own group (correct, only slower).
    """
    key = np.zeros(len(columns[0]), dtype=np.uint64)
    for column, multiplier in zip(columns, _HASH_MULTIPLIERS, strict=False):
        bits = np.ascontiguousarray(column + 0.0).view(np.uint64)  # + 0.0: −0.0 becomes 0.0
        key = (key ^ bits) * np.uint64(multiplier)
        key ^= key >> np.uint64(29)
    # A hash table (pandas' factorize) rather than a sort (np.unique): 0.08 s instead of 0.35 s
    # for 2.4M keys, and this runs in every call of p_alive, expected_orders and p_no_order.
    import pandas as pd

    inverse, distinct = pd.factorize(key)
    first = np.empty(len(distinct), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(key))[::-1]  # each key's first row
    if all(np.array_equal(column[first][inverse], column) for column in columns):
        return first, inverse
    every = np.arange(len(key))
    return every, every


def _log_integral_direct(lo, hi, q, p, alpha, beta) -> tuple[np.ndarray, np.ndarray]:
    """Return ln ∫_lo^hi (1+τ/alpha)^−q (1+τ/beta)^−p dτ by quadrature, with its partials."""
    lo, hi, q, p, alpha, beta = np.broadcast_arrays(
        *(_floats(v) for v in (lo, hi, q, p, alpha, beta))
    )
    low, a_m, a_M, m, M = _ordered(q, p, alpha, beta)
    w_lo, w_hi = np.log1p(lo / m), np.log1p(hi / m)
    log_i, grad = _quadrature(w_lo, w_hi, a_m, a_M, m, M)
    return log_i, _unordered(grad, low)


def _ordered(q, p, alpha, beta):
    """Return (alpha <= beta, a_m, a_M, m, M): the exponent and scale of the smaller and larger."""
    low = alpha <= beta
    return (
        low,
        np.where(low, q, p),
        np.where(low, p, q),
        np.where(low, alpha, beta),
        np.where(low, beta, alpha),
    )


def _unordered(grad: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Return partials in (a_m, a_M, m, M) rearranged to (q, p, alpha, beta)."""
    d_am, d_aM, d_m, d_M = grad
    return np.array(
        [
            np.where(low, d_am, d_aM),
            np.where(low, d_aM, d_am),
            np.where(low, d_m, d_M),
            np.where(low, d_M, d_m),
        ]
    )


def _log_tail(u, q, p, alpha, beta, excess) -> tuple[np.ndarray, np.ndarray]:
    """Return ln F(u) = ln ∫_u^∞ (1+τ/alpha)^−q (1+τ/beta)^−p dτ and its partials (q, p, alpha, beta).

    The series where z = |alpha − beta| / (max(alpha, beta) + u) <= Z_SERIES, else quadrature
    up to the point where z = Z_SERIES and the series beyond it.
    """
    u, q, p, alpha, beta, excess = np.broadcast_arrays(
        *(_floats(v) for v in (u, q, p, alpha, beta, excess))
    )
    low, a_m, a_M, m, M = _ordered(q, p, alpha, beta)
    z = (M - m) / (M + u)
    log_f = np.empty(len(u))
    grad = np.empty((4, len(u)))
    near = z <= Z_SERIES
    log_f[near], grad[:, near] = _tail_by_series(
        u[near], a_m[near], a_M[near], m[near], M[near], excess[near]
    )
    far = ~near
    if far.any():
        log_f[far], grad[:, far] = _tail_by_quadrature(
            u[far], a_m[far], a_M[far], m[far], M[far], excess[far]
        )
    return log_f, _unordered(grad, low)


def _tail_by_series(u, a_m, a_M, m, M, excess) -> tuple[np.ndarray, np.ndarray]:
    """Return ln F(u) and its partials in (a_m, a_M, m, M) by the transformed 2F1 series.

    ln F = ln(m+u) − a_m ln(1+u/m) − a_M ln(1+u/M) − ln(a_m+a_M−1) + ln 2F1(1, a_M; a_m+a_M; z).
    """
    z = (M - m) / (M + u)
    log_g, g_b, g_c, g_z = _hypergeometric(a_M, excess + 1.0, z)
    grow_m, grow_M = np.log1p(u / m), np.log1p(u / M)
    log_f = np.log(m + u) - a_m * grow_m - a_M * grow_M - np.log(excess) + log_g
    grad = np.array(
        [
            -grow_m - 1.0 / excess + g_c,
            -grow_M - 1.0 / excess + g_b + g_c,
            (m + a_m * u) / (m * (m + u)) - g_z / (M + u),
            a_M * u / (M * (M + u)) + g_z * (m + u) / (M + u) ** 2,
        ]
    )
    return log_f, grad


def _hypergeometric(b: np.ndarray, c: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return ln 2F1(1, b; c; z) and its partials in b, c and z, for c > b > 0, 0 <= z < 1.

    Term n is t_n = (b)_n/(c)_n z^n; d ln t_n/db = Σ_{k<n} 1/(b+k), d ln t_n/dc = −Σ_{k<n}
    1/(c+k), dt_n/dz = n t_n/z = n t_{n−1} (b+n−1)/(c+n−1). All sums run over the pairs not
    yet converged, which are dropped from the arrays as they converge.
    """
    n_all = len(z)
    out = [np.ones(n_all), np.zeros(n_all), np.zeros(n_all), np.zeros(n_all)]
    live = np.arange(n_all)
    b, c, z = b.copy(), c.copy(), z.copy()
    term, psi_b, psi_c = np.ones(n_all), np.zeros(n_all), np.zeros(n_all)
    sums = [np.ones(n_all), np.zeros(n_all), np.zeros(n_all), np.zeros(n_all)]
    limit = _SERIES_TOLERANCE * (1.0 - z)
    n = 0
    while len(live):
        ratio = (b + n) / (c + n)
        psi_b += 1.0 / (b + n)
        psi_c += 1.0 / (c + n)
        n += 1
        sums[3] += n * term * ratio
        term = term * ratio * z
        sums[0] += term
        sums[1] += term * psi_b
        sums[2] += term * psi_c
        done = term * n < limit * sums[0]
        if done.any():
            for total, part in zip(out, sums, strict=True):
                total[live[done]] = part[done]
            keep = ~done
            live = live[keep]
            b, c, z, term, psi_b, psi_c, limit = (
                v[keep] for v in (b, c, z, term, psi_b, psi_c, limit)
            )
            sums = [v[keep] for v in sums]
    g, g_b, g_c, g_z = out
    return np.log(g), g_b / g, -g_c / g, g_z / g


def _tail_by_quadrature(u, a_m, a_M, m, M, excess) -> tuple[np.ndarray, np.ndarray]:
    """Return ln F(u) and its partials (a_m, a_M, m, M) for z > Z_SERIES.

    F(u) = ∫_u^{τ1} f + F(τ1), τ1 = (M−m)/Z_SERIES − M (where z = Z_SERIES). Partials of each
    part hold its limits fixed: the terms from moving τ1 cancel between the two.
    """
    tau_1 = np.maximum((M - m) / Z_SERIES - M, u)
    log_q, grad_q = _quadrature(np.log1p(u / m), np.log1p(tau_1 / m), a_m, a_M, m, M)
    log_t, grad_t = _tail_by_series(tau_1, a_m, a_M, m, M, excess)
    log_f = np.logaddexp(log_q, log_t)
    grad = np.exp(log_q - log_f) * grad_q + np.exp(log_t - log_f) * grad_t
    return log_f, grad


def _quadrature(w_lo, w_hi, a_m, a_M, m, M) -> tuple[np.ndarray, np.ndarray]:
    """Return ln ∫ (1+τ/m)^−a_m (1+τ/M)^−a_M dτ over τ = m (e^w − 1), w in [w_lo, w_hi], and
    its partials in (a_m, a_M, m, M) (limits in τ fixed), by Gauss-Legendre quadrature in w.

    In w the integrand is m e^ψ, ψ(w) = (1−a_m) w − a_M ln(1 + τ/M), concave. Around its
    maximum w* (interior only if a_m < 1), ψ(w* + Δ) − ψ(w*) = (1−a_m) Δ − a_M ln(1 + ρ0 (e^Δ − 1))
    with ρ0 = (m+τ*)/(M+τ*), exact in relative terms however large the exponents.
    """
    peak = _peak(w_lo, w_hi, a_m, a_M, m, M)
    tau_peak = m * np.expm1(peak)
    rho0 = (m + tau_peak) / (M + tau_peak)
    sigma0 = tau_peak / (M + tau_peak)
    log_m_peak = np.log1p(tau_peak / M)
    owner, lo, hi = _panels(peak, w_lo, w_hi, a_m, a_M, rho0)
    delta = lo[:, None] + (hi - lo)[:, None] * _NODES
    a_m_, a_M_, rho0_ = a_m[owner, None], a_M[owner, None], rho0[owner, None]
    grow = np.expm1(delta)
    log_ratio = np.log1p(rho0_ * grow)
    value = np.exp((1.0 - a_m_) * delta - a_M_ * log_ratio) * (np.abs(hi - lo)[:, None] * _WEIGHTS)
    w = peak[owner, None] + delta
    to_M = (sigma0[owner, None] + rho0_ * grow) / (1.0 + rho0_ * grow)  # τ/(M+τ)
    n = len(peak)

    def total(values: np.ndarray) -> np.ndarray:  # per panel, then per integral
        return np.bincount(owner, weights=values.sum(axis=1), minlength=n)

    mass = total(value)
    empty = mass == 0.0  # w_lo = w_hi: nothing to integrate
    mass[empty] = 1.0
    mean_w = total(value * w) / mass
    mean_log_M = log_m_peak + total(value * log_ratio) / mass
    mean_to_m = total(value * -np.expm1(-w)) / mass
    mean_to_M = total(value * to_M) / mass
    log_peak = (1.0 - a_m) * peak - a_M * log_m_peak
    log_i = np.where(empty, -np.inf, np.log(m) + log_peak + np.log(mass))
    grad = np.array([-mean_w, -mean_log_M, a_m / m * mean_to_m, a_M / M * mean_to_M])
    return log_i, grad


def _peak(w_lo, w_hi, a_m, a_M, m, M) -> np.ndarray:
    """Return where ψ is largest on [w_lo, w_hi]: ψ' = (1−a_m) − a_M (m+τ)/(M+τ) = 0 if a_m < 1."""
    rising = a_m < 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(rising, (1.0 - a_m) / a_M, 0.5)
        # (m+τ)/(M+τ) = rho ⇔ m e^w (1 − rho) = rho (M − m)
        top = np.log(rho * (M - m)) - np.log(m * (1.0 - rho))
    top = np.where(rising & np.isfinite(top), top, -np.inf)
    return np.clip(top, w_lo, w_hi)


def _panels(peak, w_lo, w_hi, a_m, a_M, rho0) -> tuple[np.ndarray, ...]:
    """Return the quadrature panels (owner index, start, end) as offsets Δ from the peak.

    From the peak outwards on each side, a panel spans min(_PANEL_WIDTH, fall/|ψ'|,
    sqrt(2 fall/|ψ''|)) with fall = _PANEL_FALL, until the interval ends or ψ has fallen by
    _TRUNCATION: steep stretches get narrow panels, flat ones wide ones.
    """
    owners, starts, ends = [np.zeros(0, dtype=np.int64)], [np.zeros(0)], [np.zeros(0)]
    for side, end in ((1.0, w_hi - peak), (-1.0, w_lo - peak)):
        live = np.flatnonzero(side * end > 0)
        position = np.zeros(len(live))
        for _ in range(_MAX_PANELS):
            if not len(live):
                break
            a_m_, a_M_, r0 = a_m[live], a_M[live], rho0[live]
            grow = np.expm1(position)
            rho = r0 * (1.0 + grow) / (1.0 + r0 * grow)
            slope = np.abs((1.0 - a_m_) - a_M_ * rho)
            bend = a_M_ * rho * (1.0 - rho)
            with np.errstate(divide="ignore"):
                step = np.minimum(_PANEL_FALL / slope, np.sqrt(2.0 * _PANEL_FALL / bend))
            step = np.minimum(step, _PANEL_WIDTH)
            last = end[live]
            following = position + side * step
            following = np.where(side * (following - last) >= 0, last, following)
            owners.append(live)
            starts.append(position)
            ends.append(following)
            grow = np.expm1(following)
            fall = -((1.0 - a_m_) * following - a_M_ * np.log1p(r0 * grow))
            more = (following != last) & (fall < _TRUNCATION)
            live, position = live[more], following[more]
    return np.concatenate(owners), np.concatenate(starts), np.concatenate(ends)


# --- the fit's objective ----------------------------------------------------------------


class _NegativeLogLikelihood:
    """Mean negative log-likelihood of weighted customers and its gradient in ln(r, alpha, s, beta).

    ℓ = ln Γ(r+x)/Γ(r) − x ln alpha + ln(B + (s/beta) Ĩ), B = (1+T/alpha)^−(r+x) (1+T/beta)^−s,
    Ĩ = F(t_x) − F(T). F and B depend on a customer only through the pairs (x, t_x) and
    (x, T): they and their partials are computed once per distinct pair and gathered; the
    gradient's per-customer factors are summed per pair (bincount) before meeting them.
    """

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weight: np.ndarray):
        n = len(x)
        self.total = float(weight.sum())
        self.weight = weight
        self.distinct_x, x_index = np.unique(x, return_inverse=True)
        self.weight_per_x = np.bincount(x_index, weights=weight, minlength=len(self.distinct_x))
        times, time_index = np.unique(np.concatenate([t_x, T]), return_inverse=True)
        keys = np.concatenate([x_index, x_index]).astype(np.int64) * len(times) + time_index
        pair_keys, pair_index = np.unique(keys, return_inverse=True)
        self.pair_x = self.distinct_x[pair_keys // len(times)]
        self.pair_u = times[pair_keys % len(times)]
        self.at_t_x, self.at_T = pair_index[:n], pair_index[n:]
        self.n_pairs = len(pair_keys)
        self.x, self.t_x, self.T = x, t_x, T

    def __call__(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        """Return the weighted mean −LL at exp(log_params) and its gradient in log_params."""
        params = np.exp(log_params)
        r, alpha, s, beta = params
        q, u = r + self.pair_x, self.pair_u
        log_f, grad_f = _log_tail(u, q, s + 1.0, alpha, beta, q + s)
        grow_alpha, grow_beta = np.log1p(u / alpha), np.log1p(u / beta)
        log_b = -q * grow_alpha - s * grow_beta
        grad_b = np.array(
            [-grow_alpha, q * u / (alpha * (alpha + u)), -grow_beta, s * u / (beta * (beta + u))]
        )
        ll, to_f, to_b, died, grad_direct = self._customers(log_f, log_b, params)

        per_x, xs = self.weight_per_x, self.distinct_x
        log_rate, d_log_rate = _log_rate_terms(r, alpha, xs)
        value = dot(per_x, log_rate) + ll
        # grad_f is in (q, p, alpha, beta); the parameters are (r, alpha, s, beta).
        grad = dot(grad_f[_BY_PARAM], to_f) + dot(grad_b, to_b) + grad_direct
        grad[0] += dot(per_x, d_log_rate)
        grad[1] -= dot(per_x, xs) / alpha
        grad[2] += died / s
        grad[3] -= died / beta
        return -value / self.total, -grad * params / self.total

    def p_alive(self, params: Params) -> np.ndarray:
        """Return each customer's P(alive at T) = B / (B + (s/beta) Ĩ) at params: k / (share + k)
        in the terms of `_customers`, from F and B per pair."""
        r, alpha, s, beta = (float(v) for v in params)
        q, u = r + self.pair_x, self.pair_u
        log_f = _log_tail(u, q, s + 1.0, alpha, beta, q + s)[0]
        log_b = -q * np.log1p(u / alpha) - s * np.log1p(u / beta)
        f_t_x, b_T = log_f[self.at_t_x], log_b[self.at_T]
        share = -np.expm1(np.minimum(log_f[self.at_T] - f_t_x, 0.0))
        direct = np.flatnonzero((share < _DIRECT_SHARE) & (share > 0.0))
        if len(direct):
            log_i = _log_integral_direct(
                self.t_x[direct], self.T[direct], r + self.x[direct], s + 1.0, alpha, beta
            )[0]
            share[direct] = np.exp(log_i - f_t_x[direct])
        odds = b_T - (np.log(s) - np.log(beta)) - f_t_x  # ln(k)
        with np.errstate(divide="ignore"):
            return expit(odds - np.log(share))  # 1 where share = 0 (t_x = T)

    def _customers(self, log_f: np.ndarray, log_b: np.ndarray, params: np.ndarray):
        """Return the customers' weighted LL and what the gradient needs from them.

        With share = Ĩ/F(t_x) = 1 − F(T)/F(t_x) and k = B / ((s/beta) F(t_x)), a customer's
        ln(B + (s/beta) Ĩ) is ln((s/beta) F(t_x)) + ln(share + k); its derivative in ln F(t_x)
        is 1/(share + k), in ln F(T) −(1 − share)/(share + k), in ln B k/(share + k), and in
        ln(s/beta) share/(share + k) = P(died). Those weights are summed per pair. One
        expm1, one exp and one log per customer; no overflow: k's exponent is capped and
        customers past the cap (surely alive) get ln B.
        """
        r, alpha, s, beta = params
        log_sb = np.log(s) - np.log(beta)
        f_t_x, b_T = log_f[self.at_t_x], log_b[self.at_T]
        share = -np.expm1(np.minimum(log_f[self.at_T] - f_t_x, 0.0))
        direct = np.flatnonzero((share < _DIRECT_SHARE) & (share > 0.0))
        if len(direct):
            log_i, grad_i = _log_integral_direct(
                self.t_x[direct], self.T[direct], r + self.x[direct], s + 1.0, alpha, beta
            )
            share[direct] = np.exp(log_i - f_t_x[direct])
        odds = b_T - log_sb - f_t_x
        k = np.exp(np.minimum(odds, _MAX_EXP))
        denominator = share + k
        ll = f_t_x + log_sb + np.log(denominator)
        alive = np.flatnonzero(odds > _MAX_EXP)
        ll[alive] = b_T[alive]
        per_f = self.weight / denominator
        w_died, w_alive = per_f * share, per_f * k
        grad_direct = np.zeros(4)
        if len(direct):  # their Ĩ does not come from F(t_x) and F(T)
            grad_direct = dot(grad_i[_BY_PARAM], w_died[direct])
            per_f[direct] = 0.0
        n = self.n_pairs
        to_f = np.bincount(self.at_t_x, per_f, n) + np.bincount(self.at_T, per_f * (share - 1.0), n)
        to_b = np.bincount(self.at_T, w_alive, n)
        return float(dot(self.weight, ll)), to_f, to_b, float(w_died.sum()), grad_direct
