"""CLV models (BG/NBD, Gamma-Gamma) against published CDNOW results and per-customer formulas.

The CDNOW inputs are built here with pandas, independently of Segmint's feature SQL, following
Fader, Hardie & Lee: calibration to 1997-09-30, an order is a customer-day, time in weeks. The
published numbers are from Hardie's notes on BG/NBD (r, alpha, a, b, log-likelihood, E[X(78)],
the conditional expectation of one customer) and from "RFM and CLV" (p, q, gamma).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from helpers import SHARED_DATA
from segmint.clv import (
    GammaGammaParams,
    bgnbd,
    clv,
    conditional_expected_value,
    fit_gamma_gamma,
    gamma_gamma,
    orders,
)
from segmint.clv._inputs import distinct_rows
from segmint.clv._mle import LOG_LOWER, LOG_UPPER, maximize

DATA = SHARED_DATA / "cdnow_sample.csv"
pytestmark = pytest.mark.shared_data
CALIBRATION_END = pd.Timestamp("1997-09-30")


class BgNbdParams(NamedTuple):
    """BG/NBD parameters by name; a sequence, as segmint.clv.bgnbd's functions take them."""

    r: float
    alpha: float
    a: float
    b: float


# Hardie's estimates, used where a test needs realistic parameters without fitting.
HARDIE = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


class BgNbdFit(NamedTuple):
    """A BG/NBD fit: its parameters by name and how it ended (from segmint.clv.orders.fit)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    converged: bool
    iterations: int

    @property
    def params(self) -> BgNbdParams:
        return BgNbdParams(self.r, self.alpha, self.a, self.b)


def fit_bgnbd(x, t_x, T, weights=None) -> BgNbdFit:
    """Return the BG/NBD fit of segmint.clv.orders.fit with its parameters by name."""
    fit = orders.fit("bg-nbd", x, t_x, T, weights)
    return BgNbdFit(*fit.params, fit.log_likelihood, fit.converged, fit.iterations)


def p_alive(params, x, t_x, T):
    return bgnbd.p_alive(_params(params), x, t_x, T)


def conditional_expected_orders(params, t, x, t_x, T):
    return bgnbd.expected_orders(_params(params), t, x, t_x, T)


def expected_orders_new(params, t):
    return bgnbd.expected_orders_new(_params(params), t)


def _params(params) -> BgNbdParams:
    return params.params if isinstance(params, BgNbdFit) else params


# --- CDNOW inputs, computed with pandas ---------------------------------------------------


@pytest.fixture(scope="module")
def calibration_lines() -> pd.DataFrame:
    """Return the CDNOW sample's lines up to 1997-09-30, with parsed dates and amounts."""
    lines = pd.read_csv(DATA, dtype=str)
    assert len(lines) == 6919 and lines["customer_id"].nunique() == 2357
    lines["date"] = pd.to_datetime(lines["date"], format="%Y%m%d")
    lines["amount"] = lines["amount"].astype(float)
    return lines[lines["date"] <= CALIBRATION_END]


def customer_days(lines: pd.DataFrame) -> pd.DataFrame:
    """Return one row per customer-day (an order) with the day's summed amount, in date order."""
    orders = lines.groupby(["customer_id", "date"], as_index=False)["amount"].sum()
    return orders.sort_values(["customer_id", "date"], ignore_index=True)


def bgnbd_inputs(lines: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return x, t_x and T (weeks) per customer, as in Fader, Hardie & Lee."""
    dates = customer_days(lines).groupby("customer_id")["date"]
    first, last = dates.min(), dates.max()
    x = (dates.size() - 1).to_numpy(dtype=float)
    t_x = ((last - first).dt.days / 7).to_numpy()
    T = ((CALIBRATION_END - first).dt.days / 7).to_numpy()
    return x, t_x, T


def gamma_gamma_inputs(lines: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return x and the mean value of the repeat orders of customers with x > 0."""
    orders = customer_days(lines)
    repeat_orders = orders[orders.groupby("customer_id").cumcount() > 0]
    per_customer = repeat_orders.groupby("customer_id")["amount"].agg(["size", "mean"])
    return per_customer["size"].to_numpy(dtype=float), per_customer["mean"].to_numpy()


@pytest.fixture(scope="module")
def cdnow(calibration_lines: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the calibration period's x, t_x, T."""
    return bgnbd_inputs(calibration_lines)


@pytest.fixture(scope="module")
def cdnow_fit(cdnow: tuple[np.ndarray, np.ndarray, np.ndarray]) -> BgNbdParams:
    """Return the BG/NBD fit of the calibration period."""
    return fit_bgnbd(*cdnow)


# --- Per-customer scalar formulas, written from the papers -------------------------------


def scalar_bgnbd_log_likelihood(params: BgNbdParams, x: float, t_x: float, T: float) -> float:
    """Return one customer's BG/NBD log-likelihood, eq. (6) term by term with math.lgamma."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_a1 = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)
    log_a2 = math.lgamma(a + b) + math.lgamma(b + x) - math.lgamma(b) - math.lgamma(a + b + x)
    log_a3 = -(r + x) * math.log(alpha + T)
    if x == 0:
        return log_a1 + log_a2 + log_a3
    log_a4 = math.log(a) - math.log(b + x - 1) - (r + x) * math.log(alpha + t_x)
    top = max(log_a3, log_a4)
    return log_a1 + log_a2 + top + math.log(math.exp(log_a3 - top) + math.exp(log_a4 - top))


def scalar_p_alive(params: BgNbdParams, x: float, t_x: float, T: float) -> float:
    """Return P(alive | x, t_x, T) by the paper's formula in plain floating point."""
    if x == 0:
        return 1.0
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    return 1.0 / (1.0 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))


def scalar_conditional_orders(
    params: BgNbdParams, t: float, x: float, t_x: float, T: float
) -> float:
    """Return E[Y(t) | x, t_x, T] by eq. (10) as printed (no Euler transformation)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + T + t)
    power = ((alpha + T) / (alpha + T + t)) ** (r + x)
    numerator = (a + b + x - 1) / (a - 1) * (1 - power * hyp2f1(r + x, b + x, a + b + x - 1, z))
    return numerator * scalar_p_alive(params, x, t_x, T)


def scalar_gamma_gamma_log_likelihood(params: GammaGammaParams, x: float, m_x: float) -> float:
    """Return one customer's Gamma-Gamma log density of m_x with math.lgamma."""
    p, q, gamma = params.p, params.q, params.gamma
    return (
        math.lgamma(p * x + q)
        - math.lgamma(p * x)
        - math.lgamma(q)
        + q * math.log(gamma)
        + (p * x - 1) * math.log(m_x)
        + p * x * math.log(x)
        - (p * x + q) * math.log(gamma + m_x * x)
    )


# --- BG/NBD against the published CDNOW results ------------------------------------------


def test_cdnow_inputs_match_the_paper(cdnow: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    """2,357 customers, 946 of them with repeat purchases in the calibration period."""
    x, t_x, T = cdnow
    assert len(x) == 2357
    assert np.count_nonzero(x) == 946


def test_bgnbd_fit_matches_hardie(cdnow_fit: BgNbdParams) -> None:
    """r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = −9582.4, to the published digits."""
    assert cdnow_fit.r == pytest.approx(0.243, abs=5e-4)
    assert cdnow_fit.alpha == pytest.approx(4.414, abs=5e-4)
    assert cdnow_fit.a == pytest.approx(0.793, abs=5e-4)
    assert cdnow_fit.b == pytest.approx(2.426, abs=5e-4)
    assert cdnow_fit.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    assert cdnow_fit.converged is True
    assert cdnow_fit.iterations > 0


def test_bgnbd_expectations_match_hardie(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray], cdnow_fit: BgNbdParams
) -> None:
    """E[X(78)] = 1.858 for a new customer; 1.226 in 39 weeks for x = 2, t_x = 30.43, T = 38.86."""
    assert expected_orders_new(cdnow_fit, 78)[0] == pytest.approx(1.858, abs=5e-4)
    x, t_x, T = cdnow
    # The published customer is in the data: first order 1997-01-01, last 213 days later.
    assert np.any((x == 2) & (t_x == 213 / 7) & (T == 272 / 7))
    expected = conditional_expected_orders(cdnow_fit, 39, 2, 213 / 7, 272 / 7)
    assert expected[0] == pytest.approx(1.226, abs=5e-4)


def test_fitted_log_likelihood_is_the_sum_of_per_customer_formulas(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray], cdnow_fit: BgNbdParams
) -> None:
    """The fit's LL and the vectorised per-customer LL agree with a Python loop over customers."""
    x, t_x, T = cdnow
    by_loop = [scalar_bgnbd_log_likelihood(cdnow_fit, *row) for row in zip(x, t_x, T, strict=True)]
    vectorised = bgnbd.log_likelihood(cdnow_fit.params, x, t_x, T)
    np.testing.assert_allclose(vectorised, by_loop, rtol=1e-12)
    assert cdnow_fit.log_likelihood == pytest.approx(math.fsum(by_loop), rel=1e-12)


def test_fit_is_a_maximum_of_the_per_customer_likelihood(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray], cdnow_fit: BgNbdParams
) -> None:
    """Moving any parameter by ±1% lowers the loop-summed likelihood: the fit is a maximum."""
    x, t_x, T = cdnow
    for name in ("r", "alpha", "a", "b"):
        for factor in (0.99, 1.01):
            moved = BgNbdParams(
                **{**_bgnbd_values(cdnow_fit), name: getattr(cdnow_fit, name) * factor}
            )
            moved_ll = math.fsum(
                scalar_bgnbd_log_likelihood(moved, *row) for row in zip(x, t_x, T, strict=True)
            )
            assert moved_ll < cdnow_fit.log_likelihood


def _bgnbd_values(params: BgNbdParams) -> dict[str, float]:
    """Return r, alpha, a, b of params as a dict."""
    return {name: getattr(params, name) for name in ("r", "alpha", "a", "b")}


@pytest.mark.parametrize(
    "x, t_x, T",
    [(0, 0.0, 38.86), (1, 2.0, 30.0), (2, 30.43, 38.86), (7, 35.0, 36.0), (25, 20.0, 39.0)],
)
@pytest.mark.parametrize("t", [1.0, 39.0, 78.0])
def test_vectorised_expectations_match_the_paper_formulas(
    x: int, t_x: float, T: float, t: float
) -> None:
    """p_alive and E[Y(t) | x, t_x, T] agree with eq. (10) as printed, evaluated per customer."""
    assert p_alive(HARDIE, x, t_x, T)[0] == pytest.approx(
        scalar_p_alive(HARDIE, x, t_x, T), rel=1e-12
    )
    vectorised = conditional_expected_orders(HARDIE, t, x, t_x, T)[0]
    assert vectorised == pytest.approx(scalar_conditional_orders(HARDIE, t, x, t_x, T), rel=1e-9)


@pytest.mark.parametrize("t", [0.5, 13.0, 52.0, 78.0, 520.0])
def test_expected_orders_new_matches_eq_7(t: float) -> None:
    """E[X(t)] agrees with (a+b−1)/(a−1) [1 − (alpha/(alpha+t))^r 2F1(r, b; a+b−1; t/(alpha+t))]."""
    r, alpha, a, b = HARDIE.r, HARDIE.alpha, HARDIE.a, HARDIE.b
    paper = (
        (a + b - 1)
        / (a - 1)
        * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    )
    assert expected_orders_new(HARDIE, t)[0] == pytest.approx(paper, rel=1e-10)


def test_expectations_are_vectorised_over_customers_and_horizons(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """Arrays in give one value per customer, equal to the one-customer-at-a-time values."""
    x, t_x, T = (values[:50] for values in cdnow)
    all_at_once = conditional_expected_orders(HARDIE, 52.0, x, t_x, T)
    one_by_one = [
        conditional_expected_orders(HARDIE, 52.0, *row)[0] for row in zip(x, t_x, T, strict=True)
    ]
    np.testing.assert_allclose(all_at_once, one_by_one, rtol=1e-14)
    horizons = np.array([1.0, 10.0, 100.0])
    np.testing.assert_allclose(
        expected_orders_new(HARDIE, horizons), [expected_orders_new(HARDIE, h)[0] for h in horizons]
    )


def test_analytic_gradient_matches_finite_differences(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """The BG/NBD objective's gradient in ln(r, alpha, a, b) equals central differences."""
    objective = bgnbd.objective(*cdnow, np.ones(len(cdnow[0])))
    point = np.log([0.5, 3.0, 1.5, 4.0])  # away from the optimum, so the gradient is not ~0
    value, gradient = objective(point)
    step = 1e-6
    for i in range(4):
        shift = np.zeros(4)
        shift[i] = step
        numeric = (objective(point + shift)[0] - objective(point - shift)[0]) / (2 * step)
        assert gradient[i] == pytest.approx(numeric, rel=1e-5, abs=1e-9)
    by_loop = math.fsum(
        scalar_bgnbd_log_likelihood(BgNbdParams(*np.exp(point)), *row)
        for row in zip(*cdnow, strict=True)
    )
    assert value == pytest.approx(-by_loop / len(cdnow[0]), rel=1e-12)


# --- BG/NBD aggregation and weights ------------------------------------------------------


def test_distinct_rows_merge_identical_customers_and_map_each_back() -> None:
    """Identical (x, t_x, T) rows become one row whose weight sums theirs; `inverse` maps back."""
    x = np.array([2.0, 0.0, 2.0, 0.0, 2.0])
    t_x = np.array([3.0, 0.0, 3.0, 0.0, 3.0])
    T = np.array([10.0, 10.0, 10.0, 10.0, 11.0])
    rows = distinct_rows(x, t_x, T, np.array([1.0, 1.0, 1.0, 1.0, 2.0]))
    merged = sorted(
        zip(*(v.tolist() for v in (rows.x, rows.t_x, rows.T, rows.weight)), strict=True)
    )
    assert merged == [(0.0, 0.0, 10.0, 2.0), (2.0, 3.0, 10.0, 2.0), (2.0, 3.0, 11.0, 2.0)]
    np.testing.assert_array_equal(rows.x[rows.inverse], x)
    np.testing.assert_array_equal(rows.T[rows.inverse], T)


def test_aggregated_and_weighted_fits_equal_the_plain_fit(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray], cdnow_fit: BgNbdParams
) -> None:
    """Merging identical customers, or passing counts as weights, changes nothing but speed."""
    x, t_x, T = cdnow
    objective = bgnbd.objective(x, t_x, T, np.ones(len(x)))
    plain_result = maximize(objective, bgnbd.start(x, t_x, T, np.ones(len(x))), len(x))
    plain = BgNbdFit(*plain_result.params, plain_result.log_likelihood, True, 0)
    rows = pd.DataFrame({"x": x, "t_x": np.where(x > 0, t_x, 0.0), "T": T})
    counted = rows.value_counts().reset_index()
    assert len(counted) < len(rows) / 2  # real data repeat a lot; that is the point
    weighted = fit_bgnbd(counted["x"], counted["t_x"], counted["T"], weights=counted["count"])
    for fit in (cdnow_fit, weighted):
        for name in ("r", "alpha", "a", "b", "log_likelihood"):
            assert getattr(fit, name) == pytest.approx(getattr(plain, name), rel=1e-6)


# --- BG/NBD edge cases ---------------------------------------------------------------------


def test_no_repeat_purchases_raises() -> None:
    """With x = 0 for all, the likelihood grows without bound as r → 0: a clear error instead."""
    with pytest.raises(ValueError, match="at least one customer with a repeat purchase"):
        fit_bgnbd([0, 0, 0], [0, 0, 0], [5.0, 10.0, 20.0])


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
        fit_bgnbd(x, t_x, T)


def test_three_customers_fit_matches_their_likelihood() -> None:
    """A tiny data set still fits; its reported LL is the loop-summed LL at the returned values."""
    x, t_x, T = [0, 1, 3], [0.0, 2.0, 5.0], [6.0, 6.0, 6.0]
    fit = fit_bgnbd(x, t_x, T)
    by_loop = math.fsum(
        scalar_bgnbd_log_likelihood(fit.params, *row) for row in zip(x, t_x, T, strict=True)
    )
    assert fit.log_likelihood == pytest.approx(by_loop, rel=1e-12)
    start = BgNbdParams(1.0, 6.0, 1.0, 1.0)
    assert fit.log_likelihood > math.fsum(
        scalar_bgnbd_log_likelihood(start, *row) for row in zip(x, t_x, T, strict=True)
    )


def test_identical_customers_reach_the_homogeneous_maximum_and_are_not_converged() -> None:
    """50 copies of (x=2, t_x=5, T=10) cannot show heterogeneity: the best mixture is a point mass.

    The homogeneous likelihood λ^2 (1−p) [(1−p) e^(−10λ) + p e^(−5λ)] peaks at about
    λ = 0.3185, p = 0.3725 with ln L = −5.0396367 (grid search); the fit must approach it from
    below as r, alpha → ∞ and say it has not converged (no interior maximum).
    """
    fit = fit_bgnbd([2] * 50, [5.0] * 50, [10.0] * 50)
    assert fit.converged is False
    assert -5.0396367 * 50 - 1e-3 < fit.log_likelihood < -5.0396366 * 50
    assert fit.r / fit.alpha == pytest.approx(0.3185, rel=1e-2)
    assert fit.a / (fit.a + fit.b) == pytest.approx(0.3725, rel=1e-2)


def test_customer_with_500_repeat_purchases_is_finite() -> None:
    """Hundreds of purchases: finite LL (equal to the loop formula), p_alive in [0, 1], bounded E."""
    x, t_x, T = 500.0, 37.0, 38.86
    ll = bgnbd.log_likelihood(HARDIE, x, t_x, T)[0]
    assert np.isfinite(ll) and ll == pytest.approx(
        scalar_bgnbd_log_likelihood(HARDIE, x, t_x, T), rel=1e-12
    )
    alive = p_alive(HARDIE, x, t_x, T)[0]
    assert 0.0 <= alive <= 1.0
    assert alive == pytest.approx(scalar_p_alive(HARDIE, x, t_x, T), rel=1e-12)
    # A long silence after 500 purchases: dead, without overflow in ((alpha+T)/(alpha+t_x))^500.
    assert p_alive(HARDIE, x, 1.0, 38.86)[0] == pytest.approx(0.0, abs=1e-300)
    expected = conditional_expected_orders(HARDIE, 39.0, x, t_x, T)[0]
    # Never more than the posterior mean rate (r+x)/(alpha+T) kept for 39 weeks without dropout.
    assert 0.0 < expected < (HARDIE.r + x) / (HARDIE.alpha + T) * 39.0
    fit = fit_bgnbd([0, 1, 3, 500], [0.0, 2.0, 5.0, 37.0], [6.0, 6.0, 6.0, 38.86])
    assert np.isfinite(fit.log_likelihood)


def test_a_equal_to_one_is_the_limit_from_both_sides() -> None:
    """At a = 1 eq. (10) is 0/0; the value must sit between a = 1 ∓ 1e-4."""
    below, at, above = (
        conditional_expected_orders(BgNbdParams(0.243, 4.414, a, 2.426), 39.0, 3, 20.0, 38.0)[0]
        for a in (1 - 1e-4, 1.0, 1 + 1e-4)
    )
    assert min(below, above) <= at <= max(below, above)
    assert at == pytest.approx((below + above) / 2, rel=1e-6)


def test_p_alive_and_expectation_behave(cdnow: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    """p_alive is 1 for one-time buyers and within [0, 1]; E rises with x at t_x = T."""
    x, t_x, T = cdnow
    alive = p_alive(HARDIE, x, t_x, T)
    assert np.all(alive[x == 0] == 1.0)
    assert np.all((alive >= 0) & (alive <= 1))
    assert alive[x > 0].min() < 0.1  # some repeat buyers have clearly left
    counts = np.arange(0, 60, dtype=float)
    rising = conditional_expected_orders(HARDIE, 39.0, counts, 30.0, 30.0)
    assert np.all(np.diff(rising) > 0)


# --- Gamma-Gamma ----------------------------------------------------------------------------


def test_gamma_gamma_matches_the_paper_with_duplicate_lines(
    calibration_lines: pd.DataFrame,
) -> None:
    """Every line read, CDNOW's same-day duplicates included: p = 6.25, q = 3.74, gamma = 15.44."""
    fit = fit_gamma_gamma(*gamma_gamma_inputs(calibration_lines))
    assert fit.p == pytest.approx(6.25, abs=5e-3)
    assert fit.q == pytest.approx(3.74, abs=5e-3)
    assert fit.gamma == pytest.approx(15.44, abs=5e-3)
    assert fit.customers == 946 and fit.excluded_non_positive == 0
    assert fit.converged is True
    assert fit.as_dict()["customers"] == 946


def test_gamma_gamma_without_duplicate_lines(calibration_lines: pd.DataFrame) -> None:
    """Exact duplicate rows dropped (9 in the calibration period): p = 6.276, q = 3.742, gamma = 15.350."""
    unique_lines = calibration_lines.drop_duplicates()
    assert len(calibration_lines) - len(unique_lines) == 9
    fit = fit_gamma_gamma(*gamma_gamma_inputs(unique_lines))
    assert fit.p == pytest.approx(6.276, abs=5e-4)
    assert fit.q == pytest.approx(3.742, abs=5e-4)
    assert fit.gamma == pytest.approx(15.350, abs=5e-4)
    assert fit.customers == 946
    assert fit.converged is True


def test_gamma_gamma_log_likelihood_matches_per_customer_formula(
    calibration_lines: pd.DataFrame,
) -> None:
    """The fit's LL, and the vectorised one, equal a Python loop over customers."""
    x, m_x = gamma_gamma_inputs(calibration_lines)
    fit = fit_gamma_gamma(x, m_x)
    by_loop = [scalar_gamma_gamma_log_likelihood(fit, *row) for row in zip(x, m_x, strict=True)]
    np.testing.assert_allclose(gamma_gamma.log_likelihood(fit, x, m_x), by_loop, rtol=1e-12)
    assert fit.log_likelihood == pytest.approx(math.fsum(by_loop), rel=1e-12)


def test_gamma_gamma_gradient_matches_finite_differences(calibration_lines: pd.DataFrame) -> None:
    """The Gamma-Gamma objective's gradient in ln(p, q, gamma) equals central differences."""
    x, m_x = gamma_gamma_inputs(calibration_lines)
    objective = gamma_gamma._NegativeLogLikelihood(x, m_x, np.ones(len(x)))
    point = np.log([2.0, 5.0, 30.0])
    _, gradient = objective(point)
    step = 1e-6
    for i in range(3):
        shift = np.zeros(3)
        shift[i] = step
        numeric = (objective(point + shift)[0] - objective(point - shift)[0]) / (2 * step)
        assert gradient[i] == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_non_positive_means_are_excluded_and_counted(calibration_lines: pd.DataFrame) -> None:
    """Customers with m_x <= 0 leave the fit unchanged and are counted; x = 0 is left out silently."""
    x, m_x = gamma_gamma_inputs(calibration_lines)
    reference = fit_gamma_gamma(x, m_x)
    fit = fit_gamma_gamma(np.append(x, [3, 1, 0]), np.append(m_x, [0.0, -12.5, 0.0]))
    assert fit.excluded_non_positive == 2
    assert fit.customers == 946
    assert fit.p == reference.p and fit.q == reference.q and fit.gamma == reference.gamma


@pytest.mark.parametrize(
    "x, m_x",
    [([0, 0, 0], [0.0, 0.0, 0.0]), ([2, 0, 1], [20.0, 0.0, -3.0]), ([2], [20.0])],
)
def test_gamma_gamma_needs_two_usable_customers(x: list[float], m_x: list[float]) -> None:
    """Fewer than 2 customers with x > 0 and m_x > 0: a ValueError the caller can show."""
    with pytest.raises(ValueError, match="at least 2 customers"):
        fit_gamma_gamma(x, m_x)


def test_gamma_gamma_identical_customers_are_not_converged() -> None:
    """Identical spend shows no variation, so no interior maximum exists; the fit says so."""
    fit = fit_gamma_gamma([2, 2, 2], [10.0, 10.0, 10.0])
    assert fit.converged is False
    assert fit.customers == 3


def test_conditional_expected_value_by_hand() -> None:
    """p = 6, q = 4, gamma = 15: x = 2, m_x = 40 → (15 + 80)·6/(12 + 3) = 38; x = 0 → 6·15/3 = 30."""
    params = GammaGammaParams(p=6.0, q=4.0, gamma=15.0)
    values = conditional_expected_value(params, [2, 0, 500], [40.0, 0.0, 40.0])
    assert values[0] == pytest.approx(38.0, rel=1e-12)
    assert values[1] == pytest.approx(30.0, rel=1e-12)
    # 500 orders: (15 + 20000)·6/(3000 + 3) ≈ own mean 40, barely shrunk toward 30.
    assert values[2] == pytest.approx(20015 * 6 / 3003, rel=1e-12)
    # m_x <= 0 with x > 0 counts as spending nothing: gamma·p/(p x + q − 1) = 90/15.
    assert conditional_expected_value(params, 2, -5.0)[0] == pytest.approx(6.0, rel=1e-12)


def test_population_mean_is_nan_when_q_is_at_most_one() -> None:
    """q <= 1 makes p gamma/(q − 1) infinite: one-time buyers get nan, repeat buyers a number."""
    params = GammaGammaParams(p=2.0, q=0.8, gamma=10.0)
    values = conditional_expected_value(params, [0, 3], [0.0, 25.0])
    assert np.isnan(values[0])
    assert values[1] == pytest.approx((10 + 75) * 2 / (6 + 0.8 - 1), rel=1e-12)
    assert np.isnan(conditional_expected_value(GammaGammaParams(0.1, 0.5, 10.0), 1, 25.0)[0])


# --- CLV -----------------------------------------------------------------------------------


def test_clv_undiscounted_is_orders_times_value() -> None:
    """No rate: the plain product; a rate of 0 changes nothing."""
    values = clv([1.5, 0.0, 2.0], [40.0, 30.0, 10.0], horizon_weeks=52)
    np.testing.assert_allclose(values, [60.0, 0.0, 20.0])
    np.testing.assert_allclose(clv([1.5], [40.0], 52, annual_discount_rate=0.0), [60.0])


def test_clv_discount_over_one_year_by_hand() -> None:
    """10% a year over exactly one year: factor (1 − 1/1.1)/ln 1.1 = 0.953824."""
    one_year_in_weeks = 365.25 / 7
    value = clv([2.0], [50.0], one_year_in_weeks, annual_discount_rate=0.10)[0]
    assert value == pytest.approx(100.0 * (1 - 1 / 1.1) / math.log(1.1), rel=1e-12)
    assert value == pytest.approx(95.3824, abs=1e-4)
    # Two years discount more than one.
    assert clv([2.0], [50.0], 2 * one_year_in_weeks, 0.10)[0] < value


@pytest.mark.parametrize("rate", [-1.0, -2.0, float("nan")])
def test_clv_rejects_impossible_rates(rate: float) -> None:
    """A rate of −100% or less (or nan) has no discount factor."""
    with pytest.raises(ValueError, match="discount rate"):
        clv([1.0], [1.0], 52, annual_discount_rate=rate)


def test_integral_over_dropout_equals_the_closed_form() -> None:
    # Where scipy's hyp2f1 is fine, the quantile quadrature gives the same expectation.
    from segmint.clv.bgnbd import expected_orders_if_alive

    x = np.array([0.0, 2.0, 7.0, 50.0])
    t_x = np.array([0.0, 30.43, 20.0, 37.0])
    T = np.array([38.86, 38.86, 30.0, 38.0])
    closed = conditional_expected_orders(HARDIE, 39.0, x, t_x, T)
    integral = expected_orders_if_alive(HARDIE, np.full(4, 39.0), x, T) * p_alive(HARDIE, x, t_x, T)
    np.testing.assert_allclose(integral, closed, rtol=1e-5)


def test_parameters_at_their_limits_give_the_limiting_expectations() -> None:
    x = np.array([0.0, 2.0, 7.0])
    t_x = np.array([0.0, 30.0, 20.0])
    T = np.array([38.0, 38.0, 30.0])
    # r, alpha -> infinity, a -> 0: every customer buys at rate r/alpha and never stops.
    poisson = BgNbdParams(4483249.45, 69390267.8, 1.2454e-05, 134224.46)
    got = conditional_expected_orders(poisson, 52.0, x, t_x, T)
    np.testing.assert_allclose(got, 52.0 * (poisson.r + x) / (poisson.alpha + T), rtol=1e-4)
    # a, b -> infinity: every customer stops after an order with the same chance p0.
    fixed = BgNbdParams(0.1196, 0.9418, 2861065.5, 11211611.4)
    got = conditional_expected_orders(fixed, 52.0, x, t_x, T)
    p0 = fixed.a / (fixed.a + fixed.b + x)
    alive_mean = (1 - ((fixed.alpha + T) / (fixed.alpha + T + p0 * 52.0)) ** (fixed.r + x)) / p0
    np.testing.assert_allclose(got, alive_mean * p_alive(fixed, x, t_x, T), rtol=1e-3)
    assert np.isfinite(got).all()


@pytest.mark.parametrize(
    ("short_of_the_edge", "converged"), [(5e-4, False), (0.009, False), (0.02, True), (1.0, True)]
)
def test_a_maximum_within_one_percent_of_the_box_is_not_converged(
    short_of_the_edge: float, converged: bool
) -> None:
    # Where a likelihood flattens out towards the box, L-BFGS-B may stop a little short of it
    # and report success; within EDGE of the box counts as on it (as at either end).
    for edge, sign in ((LOG_UPPER, -1.0), (LOG_LOWER, 1.0)):
        best = np.array([edge + sign * short_of_the_edge, 0.5])

        def objective(x: np.ndarray, best: np.ndarray = best) -> tuple[float, np.ndarray]:
            return float(np.sum((x - best) ** 2)), 2 * (x - best)

        fit = maximize(objective, np.exp([0.0, 0.0]), 10)
        np.testing.assert_allclose(np.log(fit.params), best, atol=1e-6)
        assert fit.converged is converged
