"""MBG/NBD (segmint.clv.mbgnbd) against hand-computed formulas and the published CDNOW fit.

The CDNOW inputs are built here with pandas, independently of Segmint's feature SQL, as in
tests/test_clv.py (Fader, Hardie & Lee): calibration to 1997-09-30, an order is a
customer-day, time in weeks. The published MBG/NBD estimates on them are r = 0.525,
alpha = 6.183, a = 0.891, b = 1.614 (BTYDplus, and lifetimes' ModifiedBetaGeoFitter tests).
Simulation checks of the same formulas are in tests/test_clv_simulation.py.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from helpers import SHARED_DATA
from segmint.clv import mbgnbd, orders
from segmint.clv._mle import maximize

DATA = SHARED_DATA / "cdnow_sample.csv"
pytestmark = pytest.mark.shared_data
CALIBRATION_END = pd.Timestamp("1997-09-30")

# The published estimates, used where a test needs realistic parameters without fitting.
PUBLISHED = (0.525, 6.183, 0.891, 1.614)


# --- CDNOW inputs, computed with pandas ---------------------------------------------------


@pytest.fixture(scope="module")
def cdnow() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the calibration period's x, t_x, T (weeks) per customer."""
    if not DATA.exists():
        pytest.skip(f"the CDNOW sample is not at {DATA}")
    lines = pd.read_csv(DATA, dtype=str)
    assert len(lines) == 6919 and lines["customer_id"].nunique() == 2357
    lines["date"] = pd.to_datetime(lines["date"], format="%Y%m%d")
    lines["amount"] = lines["amount"].astype(float)
    lines = lines[lines["date"] <= CALIBRATION_END]
    # One order per customer-day, as in Fader, Hardie & Lee.
    orders_ = lines.groupby(["customer_id", "date"], as_index=False)["amount"].sum()
    dates = orders_.sort_values(["customer_id", "date"]).groupby("customer_id")["date"]
    first, last = dates.min(), dates.max()
    x = (dates.size() - 1).to_numpy(dtype=float)
    t_x = ((last - first).dt.days / 7).to_numpy()
    T = ((CALIBRATION_END - first).dt.days / 7).to_numpy()
    return x, t_x, T


@pytest.fixture(scope="module")
def cdnow_fit(cdnow: tuple[np.ndarray, np.ndarray, np.ndarray]) -> orders.OrderFit:
    """Return the MBG/NBD fit of the calibration period."""
    return orders.fit("mbg-nbd", *cdnow)


# --- Per-customer scalar formulas, written from the paper ---------------------------------


def scalar_log_likelihood(params: tuple[float, ...], x: float, t_x: float, T: float) -> float:
    """Return ln L of one customer: alive through T, or dropped out right after t_x (t_x = 0
    when x = 0), each branch in logs so that hundreds of purchases cannot underflow."""
    r, alpha, a, b = params
    t_x = t_x if x > 0 else 0.0

    def log_beta(p: float, q: float) -> float:
        return math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q)

    common = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha) - log_beta(a, b)
    alive = log_beta(a, b + x + 1) - (r + x) * math.log(alpha + T)
    dropped = log_beta(a + 1, b + x) - (r + x) * math.log(alpha + t_x)
    top = max(alive, dropped)
    return common + top + math.log(math.exp(alive - top) + math.exp(dropped - top))


def scalar_p_alive(params: tuple[float, ...], x: float, t_x: float, T: float) -> float:
    """Return 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))."""
    r, alpha, a, b = params
    t_x = t_x if x > 0 else 0.0
    return 1.0 / (1.0 + a / (b + x) * ((alpha + T) / (alpha + t_x)) ** (r + x))


def scalar_expected_orders(
    params: tuple[float, ...], t: float, x: float, t_x: float, T: float
) -> float:
    """Return E[Y(t) | x, t_x, T] as printed: (a+b+x)/(a−1) [1 − ((α+T)/(α+T+t))^(r+x)
    2F1(r+x, b+x+1; a+b+x; t/(α+T+t))] P(alive), without Euler's transformation (fine for
    moderate x)."""
    r, alpha, a, b = params
    z = t / (alpha + T + t)
    power = ((alpha + T) / (alpha + T + t)) ** (r + x)
    bracket = 1.0 - power * float(hyp2f1(r + x, b + x + 1, a + b + x, z))
    return (a + b + x) / (a - 1) * bracket * scalar_p_alive(params, x, t_x, T)


CUSTOMERS = [(0, 0.0, 10.0), (1, 4.0, 10.0), (3, 8.5, 12.0), (10, 30.0, 38.0), (2, 7.0, 7.0)]


def test_log_likelihood_matches_hand_computation() -> None:
    """Each customer's vectorised ln L equals the two-branch formula, at two parameter points."""
    for params in (PUBLISHED, (1.7, 2.5, 2.2, 0.6)):
        vectorised = mbgnbd.log_likelihood(params, *np.array(CUSTOMERS, dtype=float).T)
        for value, row in zip(vectorised, CUSTOMERS, strict=True):
            assert value == pytest.approx(scalar_log_likelihood(params, *row), rel=1e-13)


def test_log_likelihood_of_one_customer_by_hand() -> None:
    """(x, t_x, T) = (1, 4, 10) at r = alpha = 1, a = 2, b = 3, computed term by term.

    Γ(2) 1^1/Γ(1) = 1 times B(2, 5)/B(2, 3) = 2/5 over 11^2 (alive), plus
    B(3, 4)/B(2, 3) = 1/5 over 5^2 (dropped out at t_x = 4).
    """
    expected = math.log(0.4 / 121 + 0.2 / 25)
    assert mbgnbd.log_likelihood((1.0, 1.0, 2.0, 3.0), 1, 4.0, 10.0)[0] == pytest.approx(
        expected, rel=1e-14
    )


def test_one_time_buyers_t_x_is_ignored() -> None:
    """x = 0 means the last purchase is the first, at 0, whether t_x is passed as 0 or as T."""
    params = PUBLISHED
    for function in (mbgnbd.log_likelihood, mbgnbd.p_alive):
        assert function(params, 0, 10.0, 10.0)[0] == function(params, 0, 0.0, 10.0)[0]
    assert mbgnbd.expected_orders(params, 52, 0, 10.0, 10.0)[0] == pytest.approx(
        mbgnbd.expected_orders(params, 52, 0, 0.0, 10.0)[0], rel=1e-15
    )
    objective = mbgnbd.objective(*(np.array(v) for v in ([0.0], [10.0], [10.0], [1.0])))
    assert objective(np.log(params))[0] == -mbgnbd.log_likelihood(params, 0, 0.0, 10.0)[0]


def test_conditional_figures_match_the_formulas() -> None:
    """p_alive, E[Y(t)] (through Euler's transformation) and P(no order) equal the printed forms."""
    params = PUBLISHED
    x, t_x, T = np.array(CUSTOMERS, dtype=float).T
    np.testing.assert_allclose(
        mbgnbd.p_alive(params, x, t_x, T),
        [scalar_p_alive(params, *row) for row in CUSTOMERS],
        rtol=1e-13,
    )
    for t in (1.0, 39.0, 200.0):
        np.testing.assert_allclose(
            mbgnbd.expected_orders(params, t, x, t_x, T),
            [scalar_expected_orders(params, t, *row) for row in CUSTOMERS],
            rtol=1e-10,
        )
        r, alpha = params[:2]
        silent = ((alpha + T) / (alpha + T + t)) ** (r + x)
        np.testing.assert_allclose(
            mbgnbd.p_no_order(params, t, x, t_x, T),
            1 - mbgnbd.p_alive(params, x, t_x, T) * (1 - silent),
            rtol=1e-13,
        )


@pytest.mark.parametrize("t", [1.0, 39.0, 78.0, 300.0])
def test_expected_orders_new_is_b_over_a_minus_1_times_the_bracket(t: float) -> None:
    """E[X(t)] = b/(a−1) [1 − (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))] (the simulation tells b
    from b + 1; tests/test_clv_simulation.py)."""
    r, alpha, a, b = PUBLISHED
    bracket = 1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b + 1, a + b, t / (alpha + t))
    assert mbgnbd.expected_orders_new(PUBLISHED, t)[0] == pytest.approx(
        b / (a - 1) * bracket, rel=1e-10
    )
    # The same as a customer seen at 0 with no repeat purchase, alive with chance b/(a+b).
    assert mbgnbd.p_alive(PUBLISHED, 0, 0, 0)[0] == pytest.approx(b / (a + b), rel=1e-15)


def test_closed_form_and_integral_over_dropout_agree() -> None:
    """The fallback used where hyp2f1 overflows gives the closed form where both work, to the
    six or so digits of its 64-point quadrature (ample for a figure reported to a few)."""
    params = PUBLISHED
    x, t_x, T = np.array(CUSTOMERS, dtype=float).T
    for t in (1.0, 52.0, 300.0):
        horizon = np.full(len(x), t)
        integrated = mbgnbd.expected_orders_if_alive(params, horizon, x, T)
        closed = mbgnbd.expected_orders(params, t, x, t_x, T) / mbgnbd.p_alive(params, x, t_x, T)
        np.testing.assert_allclose(integrated, closed, rtol=1e-5)


def test_a_equal_to_one_is_the_limit_from_both_sides() -> None:
    """At a = 1 the expectation is 0/0; the value must sit between a = 1 ∓ 1e-4."""
    below, at, above = (
        mbgnbd.expected_orders((0.525, 6.183, a, 1.614), 39.0, 3, 20.0, 38.0)[0]
        for a in (1 - 1e-4, 1.0, 1 + 1e-4)
    )
    assert min(below, above) <= at <= max(below, above)
    assert at == pytest.approx((below + above) / 2, rel=1e-6)


# --- CDNOW ----------------------------------------------------------------------------------


def test_cdnow_fit_matches_the_published_estimates(cdnow_fit: orders.OrderFit) -> None:
    """r = 0.525, alpha = 6.18, a = 0.891, b = 1.61 to the 3 significant digits published."""
    values = cdnow_fit.values
    assert values["r"] == pytest.approx(0.525, abs=5e-4)
    assert values["alpha"] == pytest.approx(6.18, abs=5e-3)
    assert values["a"] == pytest.approx(0.891, abs=5e-4)
    assert values["b"] == pytest.approx(1.61, abs=5e-3)
    assert cdnow_fit.converged and cdnow_fit.at_edge == ()
    assert (cdnow_fit.customers, cdnow_fit.distinct_rows) == (2357, 1016)
    assert cdnow_fit.log_likelihood == pytest.approx(-9582.14, abs=0.01)
    assert cdnow_fit.log_covariance is not None


def test_fitted_log_likelihood_is_the_sum_of_per_customer_formulas(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray], cdnow_fit: orders.OrderFit
) -> None:
    """The reported LL is the loop-summed hand formula, and moving any parameter lowers it."""
    by_loop = math.fsum(
        scalar_log_likelihood(cdnow_fit.params, *row) for row in zip(*cdnow, strict=True)
    )
    assert cdnow_fit.log_likelihood == pytest.approx(by_loop, rel=1e-12)
    for i in range(4):
        for factor in (0.99, 1.01):
            moved = list(cdnow_fit.params)
            moved[i] *= factor
            assert mbgnbd.log_likelihood(moved, *cdnow).sum() < cdnow_fit.log_likelihood


def test_analytic_gradient_matches_finite_differences(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """The objective's gradient in ln(r, alpha, a, b) equals central differences, on CDNOW and
    on rows with unequal weights, and its value is the weighted mean −LL."""
    x, t_x, T = cdnow
    weights = 1.0 + np.arange(len(x)) % 5
    for w in (np.ones(len(x)), weights):
        objective = mbgnbd.objective(x, t_x, T, w)
        for point in (np.log([0.3, 3.0, 1.5, 4.0]), np.log([2.0, 20.0, 0.4, 0.7])):
            value, gradient = objective(point)
            step = 1e-6
            for i in range(4):
                shift = np.zeros(4)
                shift[i] = step
                numeric = (objective(point + shift)[0] - objective(point - shift)[0]) / (2 * step)
                assert gradient[i] == pytest.approx(numeric, rel=1e-5, abs=1e-9)
            per_customer = mbgnbd.log_likelihood(np.exp(point), x, t_x, T)
            assert value == pytest.approx(-(w @ per_customer) / w.sum(), rel=1e-12)


def test_weighted_and_unmerged_fits_equal_the_plain_fit(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray], cdnow_fit: orders.OrderFit
) -> None:
    """Counts passed as weights, or every customer as its own row, change nothing but speed."""
    x, t_x, T = cdnow
    rows = pd.DataFrame({"x": x, "t_x": np.where(x > 0, t_x, 0.0), "T": T})
    counted = rows.value_counts().reset_index()
    assert len(counted) < len(rows) / 2  # real data repeat a lot; that is the point
    weighted = orders.fit(
        "mbg-nbd", counted["x"], counted["t_x"], counted["T"], weights=counted["count"]
    )
    ones = np.ones(len(x))
    unmerged = maximize(mbgnbd.objective(x, t_x, T, ones), mbgnbd.start(x, t_x, T, ones), len(x))
    np.testing.assert_allclose(weighted.params, cdnow_fit.params, rtol=1e-6)
    np.testing.assert_allclose(unmerged.params, cdnow_fit.params, rtol=1e-6)
    assert weighted.log_likelihood == pytest.approx(cdnow_fit.log_likelihood, rel=1e-10)
    assert unmerged.log_likelihood == pytest.approx(cdnow_fit.log_likelihood, rel=1e-10)


def test_p_alive_and_expectation_behave(cdnow: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    """p_alive is within (0, 1), below 1 for one-time buyers; E rises with x at t_x = T."""
    x, t_x, T = cdnow
    alive = mbgnbd.p_alive(PUBLISHED, x, t_x, T)
    assert np.all((alive > 0) & (alive < 1))
    assert alive[x == 0].max() < 0.6  # with b/(a+b) = 0.64 at T = 0, and falling
    counts = np.arange(0, 60, dtype=float)
    rising = mbgnbd.expected_orders(PUBLISHED, 39.0, counts, 30.0, 30.0)
    assert np.all(np.diff(rising) > 0)


# --- Edge cases -----------------------------------------------------------------------------


def test_one_time_buyers_p_alive_falls_with_T() -> None:
    """A one-time buyer may have dropped out at once: P(alive) starts at b/(a+b) and falls."""
    r, alpha, a, b = PUBLISHED
    T = np.linspace(0.0, 200.0, 101)
    alive = mbgnbd.p_alive(PUBLISHED, np.zeros_like(T), np.zeros_like(T), T)
    assert alive[0] == pytest.approx(b / (a + b), rel=1e-15)
    assert np.all(np.diff(alive) < 0)
    assert alive[-1] < 0.3
    silent = mbgnbd.p_no_order(PUBLISHED, 52.0, np.zeros_like(T), np.zeros_like(T), T)
    assert np.all(np.diff(silent) > 0)  # the longer the silence, the likelier it goes on


def test_customer_with_500_repeat_purchases_is_finite() -> None:
    """Hundreds of purchases: finite LL (the hand formula's), p_alive in [0, 1], bounded E."""
    x, t_x, T = 500.0, 37.0, 38.86
    ll = mbgnbd.log_likelihood(PUBLISHED, x, t_x, T)[0]
    assert np.isfinite(ll)
    assert ll == pytest.approx(scalar_log_likelihood(PUBLISHED, x, t_x, T), rel=1e-12)
    alive = mbgnbd.p_alive(PUBLISHED, x, t_x, T)[0]
    assert 0.0 <= alive <= 1.0
    assert alive == pytest.approx(scalar_p_alive(PUBLISHED, x, t_x, T), rel=1e-12)
    # A long silence after 500 purchases: dead, without overflow in ((alpha+T)/(alpha+t_x))^500.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mbgnbd.p_alive(PUBLISHED, x, 1.0, 38.86)[0] == pytest.approx(0.0, abs=1e-300)
        expected = mbgnbd.expected_orders(PUBLISHED, 39.0, x, t_x, T)[0]
    # Never more than the posterior mean rate (r+x)/(alpha+T) kept for 39 weeks without dropout.
    r, alpha = PUBLISHED[:2]
    assert 0.0 < expected < (r + x) / (alpha + T) * 39.0
    integrated = mbgnbd.expected_orders_if_alive(
        PUBLISHED, np.array([39.0]), np.array([x]), np.array([T])
    )[0]
    assert expected == pytest.approx(integrated * alive, rel=1e-5)
    fit = orders.fit("mbg-nbd", [0, 1, 3, 500], [0.0, 2.0, 5.0, 37.0], [6.0, 6.0, 6.0, 38.86])
    assert np.isfinite(fit.log_likelihood) and np.all(np.isfinite(fit.params))


def test_identical_customers_end_without_nan() -> None:
    """50 copies of (x=2, t_x=5, T=10) cannot show heterogeneity: the best mixture is a point
    mass, at p = 0 here: the homogeneous
    ln L = 2 ln λ + 2 ln(1−p) + ln((1−p) e^(−10λ) + p e^(−5λ)) falls with p at λ = 0.2, where it
    is 2 ln 0.2 − 2. The fit must approach that from below,
    say it has not converged, and leave finite figures, without a NaN or warning on the way."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = orders.fit("mbg-nbd", [2] * 50, [5.0] * 50, [10.0] * 50)
        figures = [
            fit.p_alive(2, 5.0, 10.0),
            fit.p_no_order(52.0, 2, 5.0, 10.0),
            fit.expected_orders(52.0, 2, 5.0, 10.0),
            fit.expected_orders_new(52.0),
        ]
    assert fit.converged is False
    assert np.all(np.isfinite(fit.params)) and np.isfinite(fit.log_likelihood)
    assert all(np.all(np.isfinite(f)) for f in figures)
    ceiling = 2 * math.log(0.2) - 2
    # 1e-6: ln Γ(r+x)/Γ(r) + r ln(alpha/(alpha+T)) cancels terms of 1e8 near the box's edge.
    assert ceiling - 1e-3 < fit.log_likelihood / 50 < ceiling + 1e-6
    r, alpha, a, b = fit.params
    assert r / alpha == pytest.approx(0.2, rel=1e-2)
    assert a / (a + b) < 1e-3


def test_no_repeat_purchases_raises() -> None:
    """With x = 0 for all nothing can be learnt about buying again: a clear error."""
    with pytest.raises(ValueError, match="at least one customer with a repeat purchase"):
        orders.fit("mbg-nbd", [0, 0, 0], [0, 0, 0], [5.0, 10.0, 20.0])


@pytest.mark.parametrize(
    "x, t_x, T",
    [
        ([1, -1], [1, 0], [2, 2]),
        ([1.5, 1], [1, 1], [2, 2]),
        ([1, 1], [3, 1], [2, 2]),
        ([1], [np.nan], [2]),
    ],
)
def test_invalid_inputs_raise(x: list[float], t_x: list[float], T: list[float]) -> None:
    """Negative or fractional x, t_x > T and non-finite times are rejected at the door."""
    with pytest.raises(ValueError, match="order model"):
        mbgnbd.log_likelihood(PUBLISHED, x, t_x, T)
    with pytest.raises(ValueError, match="order model"):
        orders.fit("mbg-nbd", x, t_x, T)


def test_vectorised_over_customers_and_horizons(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """All customers at once equal one at a time; horizons are vectorised too."""
    x, t_x, T = (values[:50] for values in cdnow)
    all_at_once = mbgnbd.expected_orders(PUBLISHED, 52.0, x, t_x, T)
    one_by_one = [
        mbgnbd.expected_orders(PUBLISHED, 52.0, *row)[0] for row in zip(x, t_x, T, strict=True)
    ]
    np.testing.assert_allclose(all_at_once, one_by_one, rtol=1e-14)
    horizons = np.array([1.0, 10.0, 100.0])
    np.testing.assert_allclose(
        mbgnbd.expected_orders_new(PUBLISHED, horizons),
        [mbgnbd.expected_orders_new(PUBLISHED, h)[0] for h in horizons],
    )
