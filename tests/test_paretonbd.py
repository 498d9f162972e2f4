"""Pareto/NBD order model against quadrature, hand formulas, simulation and the CDNOW fit.

The CDNOW inputs are built here with pandas as in test_clv.py (calibration to 1997-09-30, an
order is a customer-day, time in weeks). The published fit is from Fader & Hardie, "A Note on
Deriving the Pareto/NBD Model and Related Expressions" (2005): r = 0.553, alpha = 10.58,
s = 0.606, beta = 11.67, LL = −9594.98. Every integral the module computes by series or by
its own quadrature is checked here against scipy.integrate.quad of the integral as written.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad
from scipy.optimize import minimize

from helpers import SHARED_DATA
from segmint.clv import orders, paretonbd
from segmint.clv._inputs import distinct_rows
from segmint.clv._mle import maximize

DATA = SHARED_DATA / "cdnow_sample.csv"
pytestmark = pytest.mark.shared_data
CALIBRATION_END = pd.Timestamp("1997-09-30")

# Fader & Hardie's CDNOW estimates, used where a test needs realistic parameters.
HARDIE = (0.553, 10.58, 0.606, 11.67)


# --- reference integrals by scipy quad --------------------------------------------------


def quad_log_integral(lo: float, hi: float, q: float, p: float, alpha: float, beta: float) -> float:
    """Return ln ∫_lo^hi (1+τ/alpha)^−q (1+τ/beta)^−p dτ (hi may be inf) by scipy quad.

    The integral is taken in w = ln(1 + τ/m), m = min(alpha, beta), where the log-integrand
    is concave: split at geometric distances from its maximum (found on a grid), scaled by
    the maximum, and cut where it is 90 below it.
    """
    m = min(alpha, beta)

    def log_integrand(w):
        tau = m * np.expm1(w)
        return np.log(m) + w - q * np.log1p(tau / alpha) - p * np.log1p(tau / beta)

    w_lo = math.log1p(lo / m)
    w_hi = math.log1p(hi / m) if math.isfinite(hi) else w_lo + 600.0
    grid = np.concatenate([[w_lo], w_lo + np.geomspace(1e-14, w_hi - w_lo, 20001)])
    values = log_integrand(grid)
    top = int(np.argmax(values))
    below = np.flatnonzero(values[top:] < values[top] - 90.0)
    end = grid[top + below[0]] if len(below) else w_hi
    assert len(below) or math.isfinite(hi), "reference: integrand does not fall off"
    peak = grid[top]
    cuts = {w_lo, end, peak}
    cuts.update(c for k in range(-32, 12) for c in (peak - 2.0**k, peak + 2.0**k))
    cuts = sorted(c for c in cuts if w_lo <= c <= end)
    # No sliver narrower than rounding allows quad to resolve.
    cuts = [c for i, c in enumerate(cuts) if i == 0 or c - cuts[i - 1] > 1e-11 * (1 + abs(c))]
    scale = float(values[top])
    inside = grid <= end
    rough = np.trapezoid(np.exp(values[inside] - scale), grid[inside])
    parts = [
        quad(lambda w: math.exp(log_integrand(w) - scale), a, b, epsabs=1e-16 * rough,
             epsrel=1e-13, limit=200)[0]
        for a, b in zip(cuts[:-1], cuts[1:], strict=True)
    ]  # fmt: skip
    return scale + math.log(math.fsum(parts))


def log_tail(u: float, q: float, p: float, alpha: float, beta: float, excess: float) -> float:
    """Return the module's ln F(u) for one point."""
    return float(paretonbd._log_tail(np.array([u]), q, p, alpha, beta, excess)[0][0])


# (u, q, p, alpha, beta): ordinary customers, x = 500, alpha = beta (exactly and to 1e-12),
# ratios 1e6 either way, z → 1 (beta, s → 1e8 on a short history), the box's corners.
TAIL_CASES = [
    (0.0, 0.553, 1.606, 10.58, 11.67),
    (30.0, 3.553, 1.606, 10.58, 11.67),
    (1 / 7, 12.553, 1.606, 10.58, 11.67),
    (37.0, 500.553, 1.606, 10.58, 11.67),
    (0.1, 500.553, 1.606, 10.58, 11.67),
    (1000.0, 2.5, 1.7, 3.0, 3.0),
    (5.0, 2.5, 1.7, 3.0, 3.0 * (1 + 1e-12)),
    (5.0, 2.5, 1.7, 3.0 * (1 + 1e-12), 3.0),
    (0.0, 1.5, 1.6, 1e6, 1.0),
    (3.0, 1.5, 1.6, 1.0, 1e6),
    (2.0, 20.5, 1.6, 1e6, 1.0),
    (0.0, 0.553, 1e8 + 1, 10.58, 1e8),
    (4.0, 2.553, 1e8 + 1, 10.58, 1e8),
    (0.0, 5.0, 1.0 + 1e-8, 1e8, 1e-8),
    (1.0, 1.0 + 1e-8, 1.0 + 1e-8, 1e-8, 1e8),
    (52.0, 1e8 + 3, 1.5, 1e8, 1e8),
    (0.0, 2.0, 1e8 + 1, 1e-8, 1e8),
    (10.0, 1e8, 1.0 + 1e-8, 1e8, 1e-8),
    (0.5, 0.3, 2.0, 1e-3, 40.0),
    # q ≈ 1 (a flat stretch in w) before a double-exponential fall: panels must stay narrow
    (1.0, 1.0057, 2.5e7 + 1, 0.49, 1e8),
    (0.0, 1.0, 2.5e7 + 1, 0.93, 7.3e7),
    (100.0, 1.00001, 3168.9, 0.69, 1.4e6),
]


@pytest.mark.parametrize("u, q, p, alpha, beta", TAIL_CASES)
def test_tail_integral_matches_quad(u: float, q: float, p: float, alpha: float, beta: float):
    """ln F(u) = ln ∫_u^∞ (1+τ/alpha)^−q (1+τ/beta)^−p dτ to 1e-11 (relative error of F)."""
    expected = quad_log_integral(u, math.inf, q, p, alpha, beta)
    assert log_tail(u, q, p, alpha, beta, q + p - 1.0) == pytest.approx(expected, abs=1e-11)


def test_tail_cases_cover_series_and_quadrature() -> None:
    """The cases above reach both evaluations of F: the series and, for z near 1, quadrature."""
    z = [abs(a - b) / (max(a, b) + u) for u, _, _, a, b in TAIL_CASES]
    assert min(z) == 0.0 and sum(v <= paretonbd.Z_SERIES for v in z) >= 8
    assert sum(v > paretonbd.Z_SERIES for v in z) >= 6 and max(z) > 1 - 1e-12


def test_tail_with_equal_scales_has_a_closed_form() -> None:
    """alpha = beta: F(u) = (alpha+u) (1+u/alpha)^−(q+p) / (q+p−1), also for q+p−1 = 2e-8."""
    for u, q, s, alpha in [(0.0, 1e-8, 1e-8, 5.0), (3.0, 2.5, 0.7, 3.0), (7.0, 500.5, 0.6, 9.0)]:
        excess = q + s
        exact = math.log(alpha + u) - (q + s + 1) * math.log1p(u / alpha) - math.log(excess)
        assert log_tail(u, q, s + 1.0, alpha, alpha, excess) == pytest.approx(exact, abs=1e-13)


# (t_x, T, q, p, alpha, beta): T ≫ t_x, T − t_x tiny against the time scales (F(t_x) and
# F(T) nearly equal: direct quadrature), x = 500, equal scales, box edges.
INTEGRAL_CASES = [
    (0.1, 1000.0, 1.553, 1.606, 10.58, 11.67),
    (30.0, 31.0, 2.553, 1.606, 10.58, 11.67),
    (100.0, 100 + 1 / 7, 1.553, 1.606, 10.58, 11.67),
    (37.0, 38.86, 500.553, 1.606, 10.58, 11.67),
    (0.0, 52.0, 0.553, 1.606, 3.0, 3.0),
    (2.0, 9.0, 2.5, 1.7, 1e6, 1.0),
    (5.0, 5.5, 1.553, 1e8 + 1, 10.58, 1e8),
    (10.0, 10 + 1 / 7, 1.5, 1.6, 1e8, 1e8),
    (0.0, 30.0, 1e-8, 1.0 + 1e-8, 1.0, 1e8),
    (3.0, 40.0, 1e8 + 2, 1.6, 1e8, 1e-8),
]


@pytest.mark.parametrize("t_x, T, q, p, alpha, beta", INTEGRAL_CASES)
def test_integral_between_purchases_matches_quad(t_x, T, q, p, alpha, beta) -> None:
    """ln Ĩ = ln ∫_{t_x}^{T} (1+τ/alpha)^−q (1+τ/beta)^−p dτ to 1e-10 (relative error of Ĩ)."""
    expected = quad_log_integral(t_x, T, q, p, alpha, beta)
    got = paretonbd._log_integral(t_x, T, q, p, alpha, beta, q + p - 1.0)[0]
    assert got == pytest.approx(expected, abs=1e-10)


def test_integral_cases_cover_difference_and_direct_quadrature() -> None:
    """The cases above reach both ways of forming Ĩ: F(t_x) − F(T), and direct quadrature
    where F(T) is within e^−D_DIRECT of F(t_x)."""
    gaps = [
        log_tail(T, q, p, a, b, q + p - 1.0) - log_tail(t_x, q, p, a, b, q + p - 1.0)
        for t_x, T, q, p, a, b in INTEGRAL_CASES
    ]
    assert sum(g > -paretonbd.D_DIRECT for g in gaps) >= 3
    assert sum(g <= -paretonbd.D_DIRECT for g in gaps) >= 5


def test_tail_is_continuous_where_series_hands_over_to_quadrature() -> None:
    """On either side of z = Z_SERIES (series, then quadrature) F agrees to 2e-13."""
    q, p, m, M = 3.5, 1.6, 1.0, 50.0
    u = (M - m) / paretonbd.Z_SERIES - M  # where z = Z_SERIES
    sides = (u * (1 + 1e-14), u * (1 - 1e-14))
    assert [(M - m) / (M + v) > paretonbd.Z_SERIES for v in sides] == [False, True]
    below, above = (log_tail(v, q, p, m, M, q + p - 1.0) for v in sides)
    assert below == pytest.approx(above, abs=2e-13)


def test_integral_is_zero_at_t_x_equal_to_T() -> None:
    """A customer whose last order is today has no room to have died between: Ĩ = 0."""
    assert paretonbd._log_integral(5.0, 5.0, 2.5, 1.6, 10.0, 12.0, 3.1)[0] == -math.inf


@pytest.mark.parametrize(
    "u, q, p, alpha, beta",
    [
        (3.0, 2.553, 1.606, 10.58, 11.67),
        (0.0, 500.553, 1.606, 11.67, 10.58),
        (2.0, 0.7, 2.5, 1.0, 1e4),  # quadrature with an interior maximum (q < 1)
        (1.0, 3.5, 1e6, 10.0, 1e6),  # quadrature, steep
    ],
)
def test_tail_partials_match_finite_differences(u, q, p, alpha, beta) -> None:
    """The partials of ln F in (q, p, alpha, beta) equal central differences (relative 1e-7)."""
    point = np.array([q, p, alpha, beta])
    _, grad = paretonbd._log_tail(np.array([u]), q, p, alpha, beta, q + p - 1.0)
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6 * point[i]
        up, down = point + step, point - step
        excess_up, excess_down = q + p - 1.0 + step[0] + step[1], q + p - 1.0 - step[0] - step[1]
        numeric = (log_tail(u, *up, excess_up) - log_tail(u, *down, excess_down)) / (2 * step[i])
        assert grad[i, 0] == pytest.approx(numeric, rel=1e-7, abs=1e-9)


def test_direct_integral_partials_match_finite_differences() -> None:
    """The quadrature of Ĩ over a short interval has the right partials too."""
    point = np.array([2.553, 1.606, 10.58, 11.67])
    lo, hi = 30.0, 30.2

    def value(v: np.ndarray) -> float:
        return float(paretonbd._log_integral_direct(lo, hi, *v)[0][0])

    grad = paretonbd._log_integral_direct(lo, hi, *point)[1][:, 0]
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6 * point[i]
        numeric = (value(point + step) - value(point - step)) / (2 * step[i])
        assert grad[i] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


# --- per-customer formulas --------------------------------------------------------------


def log_likelihood_by_hand(params: tuple[float, ...], x: int, t_x: float, T: float) -> float:
    """Return one customer's LL from the note's formula as written, with quad for the integral."""
    r, alpha, s, beta = params
    integral = quad(
        lambda tau: (alpha + tau) ** -(r + x) * (beta + tau) ** -(s + 1.0), t_x, T,
        epsabs=0, epsrel=1e-13,
    )[0]  # fmt: skip
    alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
    return (
        math.lgamma(r + x)
        - math.lgamma(r)
        + r * math.log(alpha)
        + s * math.log(beta)
        + math.log(alive + s * integral)
    )


@pytest.mark.parametrize(
    "x, t_x, T",
    [(0, 0.0, 38.86), (1, 2.0, 30.0), (2, 30.43, 38.86), (7, 35.0, 36.0), (4, 20.0, 20.0)],
)
def test_log_likelihood_by_hand(x: int, t_x: float, T: float) -> None:
    """Each customer's LL equals the note's L(r, alpha, s, beta | x, t_x, T) to 1e-12."""
    expected = log_likelihood_by_hand(HARDIE, x, t_x, T)
    assert paretonbd.log_likelihood(HARDIE, x, t_x, T)[0] == pytest.approx(expected, abs=1e-12)


def test_one_time_buyers_last_purchase_is_their_first() -> None:
    """For x = 0 the model reads t_x as 0 whatever is passed (there is no later purchase)."""
    for function in (paretonbd.log_likelihood, paretonbd.p_alive):
        assert function(HARDIE, 0, 7.0, 20.0)[0] == function(HARDIE, 0, 0.0, 20.0)[0]


def test_p_alive_is_a_probability_and_falls_for_one_time_buyers() -> None:
    """P(alive) is in [0, 1]; a one-time buyer's falls as time passes without an order, and a
    repeat buyer's falls with the silence since the last order."""
    T = np.linspace(0.0, 200.0, 401)
    once = paretonbd.p_alive(HARDIE, 0, 0, T)
    assert once[0] == 1.0 and np.all(np.diff(once) < 0) and once[-1] < 0.2
    silence = paretonbd.p_alive(HARDIE, 3, np.linspace(50.0, 0.0, 101), 50.0)
    assert np.all(np.diff(silence) < 0) and silence[0] == 1.0
    grid = np.array([(x, t_x, T) for x in (0, 1, 5, 50) for t_x in (0, 10, 30) for T in (30, 60)])
    alive = paretonbd.p_alive(HARDIE, *grid.T)
    assert np.all((alive >= 0) & (alive <= 1))


def test_customer_with_500_purchases_is_finite() -> None:
    """x = 500: finite LL equal to quad, P(alive) in [0, 1], 0 <= E <= the rate kept for t."""
    x, t_x, T = 500, 37.0, 38.86
    ll = paretonbd.log_likelihood(HARDIE, x, t_x, T)[0]
    r, alpha, s, beta = HARDIE
    log_i = quad_log_integral(t_x, T, r + x, s + 1.0, alpha, beta)
    branches = np.logaddexp(
        -(r + x) * math.log1p(T / alpha) - s * math.log1p(T / beta),
        math.log(s / beta) + log_i,
    )
    by_hand = math.lgamma(r + x) - math.lgamma(r) - x * math.log(alpha) + branches
    assert ll == pytest.approx(by_hand, abs=1e-10)
    assert 0.0 <= paretonbd.p_alive(HARDIE, x, t_x, T)[0] <= 1.0
    assert paretonbd.p_alive(HARDIE, x, 1.0, 38.86)[0] < 1e-100  # a long silence after 500
    expected = paretonbd.expected_orders(HARDIE, 39.0, x, t_x, T)[0]
    assert 0.0 < expected < (r + x) / (alpha + T) * 39.0
    silent = paretonbd.p_no_order(HARDIE, 39.0, x, t_x, T)[0]
    assert 0.0 <= silent <= 1.0


def test_figures_are_vectorised_over_customers_and_horizons() -> None:
    """Arrays in give one value per customer, equal to the one-customer-at-a-time values."""
    x, t_x, T = synthetic_customers(40, seed=11)
    t = np.linspace(1.0, 80.0, len(x))
    for function, args in (
        (paretonbd.log_likelihood, (x, t_x, T)),
        (paretonbd.p_alive, (x, t_x, T)),
        (paretonbd.expected_orders, (t, x, t_x, T)),
        (paretonbd.p_no_order, (t, x, t_x, T)),
    ):
        all_at_once = function(HARDIE, *args)
        one_by_one = [function(HARDIE, *row)[0] for row in zip(*args, strict=True)]
        np.testing.assert_allclose(all_at_once, one_by_one, rtol=1e-14, atol=1e-300)
    horizons = np.array([1.0, 10.0, 100.0])
    one_customer = paretonbd.p_no_order(HARDIE, horizons, 2, 30.43, 38.86)
    assert one_customer.shape == (3,) and np.all(np.diff(one_customer) < 0)


def test_p_no_order_is_a_falling_probability() -> None:
    """P(no order in t) is 1 at t = 0, in [0, 1], and falls as the horizon grows."""
    t = np.concatenate([[0.0], np.geomspace(1e-3, 1e4, 200)])
    for x, t_x, T in [(0, 0.0, 0.0), (0, 0.0, 30.0), (2, 30.43, 38.86), (30, 38.0, 38.86)]:
        silent = paretonbd.p_no_order(HARDIE, t, x, t_x, T)
        assert silent[0] == 1.0
        assert np.all((silent >= 0) & (silent <= 1)) and np.all(np.diff(silent) <= 0)
        assert np.all(np.diff(silent[t <= 100]) < 0)
        # For ever, a customer buys again only if alive and buying before dying.
        assert silent[-1] > 1.0 - paretonbd.p_alive(HARDIE, x, t_x, T)[0]


def test_expected_orders_new_matches_the_integral_of_the_rate() -> None:
    """E[X(t)] = (r/alpha) ∫_0^t (beta/(beta+u))^s du: the mean rate times the chance alive."""
    r, alpha, s, beta = HARDIE
    for t in (0.5, 13.0, 52.0, 78.0, 520.0):
        integral = quad(lambda u: (beta / (beta + u)) ** s, 0, t, epsabs=0, epsrel=1e-13)[0]
        assert paretonbd.expected_orders_new(HARDIE, t)[0] == pytest.approx(
            r / alpha * integral, rel=1e-12
        )
    # A customer seen at T = 0 is a new customer.
    assert paretonbd.expected_orders(HARDIE, 52.0, 0, 0, 0)[0] == pytest.approx(
        paretonbd.expected_orders_new(HARDIE, 52.0)[0], rel=1e-14
    )


def test_expected_orders_match_the_conditional_integral() -> None:
    """E[Y(t) | data] = P(alive) (r+x)/(alpha+T) ∫_0^t ((beta+T)/(beta+T+u))^s du."""
    r, alpha, s, beta = HARDIE
    x, t_x, T, t = 2, 30.43, 38.86, 39.0
    integral = quad(lambda u: ((beta + T) / (beta + T + u)) ** s, 0, t, epsrel=1e-13)[0]
    alive = paretonbd.p_alive(HARDIE, x, t_x, T)[0]
    assert paretonbd.expected_orders(HARDIE, t, x, t_x, T)[0] == pytest.approx(
        alive * (r + x) / (alpha + T) * integral, rel=1e-12
    )


def test_s_equal_to_one_is_continuous() -> None:
    """At s = 1 the expectations are a 0/0 limit; s = 1 and 1 ± 1e-9 must agree."""
    for function, args in (
        (paretonbd.expected_orders_new, (52.0,)),
        (paretonbd.expected_orders, (52.0, 3, 20.0, 38.0)),
    ):
        below, at, above = (
            function((0.55, 10.58, s, 11.67), *args)[0] for s in (1 - 1e-9, 1, 1 + 1e-9)
        )
        assert below == pytest.approx(at, rel=1e-8) and above == pytest.approx(at, rel=1e-8)
        assert min(below, above) <= at <= max(below, above)


def weighted_simulation(x: int, t_x: float, T: float, t: float, n: int = 400_000):
    """Return P(alive), P(no order in t) and E[orders in t] given (x, t_x, T), by simulation.

    Customers are drawn from the model's definition (λ, μ, death time); each is weighted by
    the chance of the observed history given its λ and death time, λ^x e^(−λ min(death, T))
    for death > t_x, and future orders are averaged given λ and death (Rao-Blackwell).
    """
    r, alpha, s, beta = HARDIE
    rng = np.random.default_rng(20050101 + x)
    rate = rng.gamma(r, 1 / alpha, n)
    death = rng.exponential(1 / rng.gamma(s, 1 / beta, n))
    weight = rate**x * np.exp(-rate * np.minimum(death, T)) * (death > t_x)
    weight /= weight.sum()
    alive_for = np.clip(death - T, 0.0, t)
    return (
        weight @ (death > T),
        weight @ np.exp(-rate * alive_for),
        weight @ (rate * alive_for),
    )


@pytest.mark.parametrize("x, t_x, T", [(0, 0.0, 0.0), (0, 0.0, 30.0), (2, 25.0, 30.0)])
def test_conditional_figures_match_simulation(x: int, t_x: float, T: float) -> None:
    """P(alive), P(no order in 20 weeks) and E[orders] agree with the model simulated."""
    alive, silent, mean = weighted_simulation(x, t_x, T, 20.0)
    assert paretonbd.p_alive(HARDIE, x, t_x, T)[0] == pytest.approx(alive, abs=2e-3)
    assert paretonbd.p_no_order(HARDIE, 20.0, x, t_x, T)[0] == pytest.approx(silent, abs=1.5e-3)
    assert paretonbd.expected_orders(HARDIE, 20.0, x, t_x, T)[0] == pytest.approx(mean, rel=1e-2)


# --- the objective ----------------------------------------------------------------------


def synthetic_customers(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return x, t_x, T with whole-day times, one-time buyers, t_x = T and a 500-order buyer."""
    rng = np.random.default_rng(seed)
    x = np.minimum(rng.geometric(0.3, n) - 1, 60).astype(float)
    T = rng.integers(0, 365, n)
    t_x = np.where(x > 0, (rng.random(n) * (T + 1)).astype(int), 0)
    t_x[:5] = T[:5]
    x[:5] = np.maximum(x[:5], 1)
    return np.append(x, 500.0), np.append(t_x / 7, 37.0), np.append(T / 7, 38.86)


@pytest.mark.parametrize(
    "params",
    [
        HARDIE,
        (0.3, 2.0, 2.0, 40.0),  # alpha ≪ beta: F by quadrature near u = 0
        (2.0, 40.0, 0.5, 3.0),
        (0.5, 10.0, 1e6, 1e7),  # near the box: quadrature and direct Ĩ for most customers
        (1e-8, 1e8, 1e-8, 1e8),
        (1e8, 1e8, 1e8, 1e-8),
    ],
)
def test_objective_is_the_mean_ll_with_its_gradient(params: tuple[float, ...]) -> None:
    """The objective is the weighted mean −LL of the customers, and its analytic gradient in
    ln(params) equals central differences."""
    x, t_x, T = synthetic_customers(400, seed=7)
    rows = distinct_rows(x, t_x, T)
    objective = paretonbd.objective(rows.x, rows.t_x, rows.T, rows.weight)
    point = np.log(params)
    value, gradient = objective(point)
    expected = -paretonbd.log_likelihood(params, x, t_x, T).mean()
    assert value == pytest.approx(expected, rel=1e-13, abs=1e-13)
    step = 1e-5
    for i in range(4):
        shift = np.zeros(4)
        shift[i] = step
        numeric = (objective(point + shift)[0] - objective(point - shift)[0]) / (2 * step)
        assert gradient[i] == pytest.approx(numeric, rel=1e-6, abs=1e-7 * max(1.0, abs(value)))


def test_objective_is_finite_on_the_whole_box() -> None:
    """At every corner of the parameter box the objective, its gradient and every per-customer
    figure are finite (a fit may run to any of them)."""
    x, t_x, T = synthetic_customers(300, seed=3)
    rows = distinct_rows(x, t_x, T)
    objective = paretonbd.objective(rows.x, rows.t_x, rows.T, rows.weight)
    corners = np.array(np.meshgrid(*[[1e-8, 1e8]] * 4)).reshape(4, -1).T
    for params in corners:
        value, gradient = objective(np.log(params))
        assert np.isfinite(value) and np.all(np.isfinite(gradient))
        for figure in (
            paretonbd.p_alive(params, x, t_x, T),
            paretonbd.expected_orders(params, 52.0, x, t_x, T),
            paretonbd.p_no_order(params, 52.0, x, t_x, T),
        ):
            assert np.all(np.isfinite(figure))


# --- fits ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cdnow() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the CDNOW sample's x, t_x, T (weeks) for the calibration period to 1997-09-30."""
    if not DATA.exists():
        pytest.skip(f"the CDNOW sample is not at {DATA}")
    lines = pd.read_csv(DATA, dtype=str)
    lines["date"] = pd.to_datetime(lines["date"], format="%Y%m%d")
    lines["amount"] = lines["amount"].astype(float)
    lines = lines[lines["date"] <= CALIBRATION_END]
    days = lines.groupby(["customer_id", "date"], as_index=False)["amount"].sum()
    dates = days.sort_values(["customer_id", "date"]).groupby("customer_id")["date"]
    first, last = dates.min(), dates.max()
    x = (dates.size() - 1).to_numpy(dtype=float)
    t_x = ((last - first).dt.days / 7).to_numpy()
    T = ((CALIBRATION_END - first).dt.days / 7).to_numpy()
    assert len(x) == 2357 and np.count_nonzero(x) == 946
    return x, t_x, T


@pytest.fixture(scope="module")
def cdnow_fit(cdnow: tuple[np.ndarray, np.ndarray, np.ndarray]) -> orders.OrderFit:
    """Return the Pareto/NBD fit of the calibration period."""
    return orders.fit("pareto-nbd", *cdnow)


def test_cdnow_fit_matches_fader_hardie(cdnow_fit: orders.OrderFit) -> None:
    """r = 0.553, alpha = 10.58, s = 0.606, beta = 11.67, LL = −9594.98, to the published digits."""
    values = cdnow_fit.values
    assert values["r"] == pytest.approx(0.553, abs=5e-4)
    assert values["alpha"] == pytest.approx(10.58, abs=5e-3)
    assert values["s"] == pytest.approx(0.606, abs=5e-4)
    assert values["beta"] == pytest.approx(11.67, abs=5e-3)
    assert cdnow_fit.log_likelihood == pytest.approx(-9594.98, abs=5e-3)
    assert cdnow_fit.converged is True and cdnow_fit.at_edge == ()
    assert cdnow_fit.customers == 2357


def test_cdnow_fit_is_the_maximum_of_the_per_customer_likelihood(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray], cdnow_fit: orders.OrderFit
) -> None:
    """The reported LL is the sum of per-customer LLs at the fit, and moving any parameter by
    0.5% lowers it."""
    ll = paretonbd.log_likelihood(cdnow_fit.params, *cdnow).sum()
    assert cdnow_fit.log_likelihood == pytest.approx(ll, rel=1e-12)
    for i in range(4):
        for factor in (0.995, 1.005):
            moved = np.array(cdnow_fit.params)
            moved[i] *= factor
            assert paretonbd.log_likelihood(moved, *cdnow).sum() < ll


def test_weighted_and_unweighted_fits_are_equal(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray], cdnow_fit: orders.OrderFit
) -> None:
    """One row per customer with weight 1 fits the same as the collapsed, weighted rows."""
    x, t_x, T = cdnow
    ones = np.ones(len(x))
    plain = maximize(paretonbd.objective(x, t_x, T, ones), paretonbd.start(x, t_x, T, ones), len(x))
    np.testing.assert_allclose(plain.params, cdnow_fit.params, rtol=1e-5)
    assert plain.log_likelihood == pytest.approx(cdnow_fit.log_likelihood, abs=1e-6)
    assert cdnow_fit.distinct_rows < len(x)


def test_identical_customers_approach_the_homogeneous_maximum() -> None:
    """50 copies of (x=2, t_x=5, T=10) show no heterogeneity: the supremum is a point mass.

    With fixed λ, μ the likelihood is λ^2 [e^(−10(λ+μ)) + μ/(λ+μ) (e^(−5(λ+μ)) − e^(−10(λ+μ)))];
    its maximum (by Nelder-Mead here) is the best any mixture can do. The fit must end, finite,
    within 1e-3 below it.
    """

    def homogeneous_ll(point: np.ndarray) -> float:
        rate, death = np.exp(point)
        both = rate + death
        inner = np.exp(-10 * both) + death / both * (np.exp(-5 * both) - np.exp(-10 * both))
        return 2 * math.log(rate) + math.log(inner)

    best = minimize(lambda p: -homogeneous_ll(p), [math.log(0.2), math.log(0.01)],
                    method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14})  # fmt: skip
    supremum = 50 * max(-best.fun, 2 * math.log(0.2) - 2)  # μ → 0 is the limit λ = 0.2
    fit = orders.fit("pareto-nbd", [2] * 50, [5.0] * 50, [10.0] * 50)
    assert np.all(np.isfinite(fit.params)) and math.isfinite(fit.log_likelihood)
    assert supremum - 1e-3 < fit.log_likelihood <= supremum + 1e-9
    assert fit.converged is False or fit.at_edge == ()


@pytest.mark.parametrize(
    "x, t_x, T",
    [
        ([0, 1, 3, 2, 0, 5], [0, 2, 9, 4, 0, 9.5], [10.0] * 6),  # everyone has the same T
        ([1, 2, 3], [6.0, 6.0, 6.0], [6.0] * 3),  # everyone bought last today
        ([0, 0, 1], [0.0, 0.0, 1 / 7], [0.0, 1 / 7, 1 / 7]),  # a single week of history
    ],
)
def test_degenerate_data_fits_end_finite(x: list, t_x: list, T: list) -> None:
    """Data without an interior maximum: the fit ends, everything it reports is finite, and a
    parameter on the box's edge means not converged."""
    fit = orders.fit("pareto-nbd", x, t_x, T)
    assert np.all(np.isfinite(fit.params)) and math.isfinite(fit.log_likelihood)
    assert fit.log_likelihood == pytest.approx(
        paretonbd.log_likelihood(fit.params, x, t_x, T).sum(), rel=1e-12
    )
    assert not (fit.at_edge and fit.converged)
    for figure in (fit.p_alive(x, t_x, T), fit.p_no_order(52.0, x, t_x, T),
                   fit.expected_orders(52.0, x, t_x, T), fit.expected_orders_new(52.0)):  # fmt: skip
        assert np.all(np.isfinite(figure))
