"""CLV columns and intervals (docs/clv.md): next_order_by, churn risk and the 90% intervals.

The intervals are checked three ways: against Monte-Carlo draws from the same asymptotic
normal (an independent propagation), by their coverage of the true total on data simulated
from known parameters, and by their widening on subsamples.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from segmint.clv import bgnbd, orders
from segmint.clv._inputs import distinct_rows
from segmint.clv.gamma_gamma import fit_gamma_gamma
from segmint.clv.intervals import Z
from segmint.clv.per_customer import (
    Fitted,
    ModelInputs,
    customer_values,
    expected_values,
    lifetime_value,
    next_order_days,
    segment_intervals,
)

R, ALPHA, A, B = 0.243, 4.414, 0.793, 2.426  # Hardie's CDNOW BG/NBD estimates (weeks)
P, Q, GAMMA = 6.0, 4.0, 15.0
AS_OF = dt.date(2024, 1, 1)


def simulate(n: int, seed: int) -> ModelInputs:
    """Return n customers drawn from BG/NBD and Gamma-Gamma, times in whole days / 7."""
    rng = np.random.default_rng(seed)
    T = rng.integers(7, 365, n) / 7.0
    rate, dropout = rng.gamma(R, 1 / ALPHA, n), rng.beta(A, B, n)
    x, t_x, t = np.zeros(n), np.zeros(n), np.zeros(n)
    buying = np.ones(n, dtype=bool)
    while buying.any():
        idx = np.flatnonzero(buying)
        t[idx] += rng.exponential(1 / rate[idx])
        inside = t[idx] < T[idx]
        bought = idx[inside]
        x[bought] += 1
        t_x[bought] = np.floor(t[bought] * 7) / 7
        buying[idx[~inside]] = False
        buying[bought[rng.random(len(bought)) < dropout[bought]]] = False
    nu = rng.gamma(Q, 1 / GAMMA, n)
    orders_ = np.maximum(x, 1)
    m_x = np.where(x > 0, rng.gamma(P * orders_, 1 / (nu * orders_)), np.nan)
    return ModelInputs(x, t_x, T, m_x)


def true_total(inputs: ModelInputs, horizon_weeks: float) -> float:
    """Return the total CLV at the true parameters: Σ E[orders] × E[order value]."""
    expected = bgnbd.expected_orders(
        (R, ALPHA, A, B), horizon_weeks, inputs.x, inputs.t_x, inputs.T
    )
    fitted = fit_gamma_gamma([1.0, 1.0], [1.0, 2.0]).with_params((P, Q, GAMMA))
    return float(expected @ expected_values(fitted, inputs.x, inputs.repeat_spend))


def test_intervals_cover_the_true_total_about_90_percent_of_the_time() -> None:
    horizon_days = 364
    covered = []
    for seed in range(80):
        inputs = simulate(1500, seed)
        result = lifetime_value(inputs, horizon_days, None, AS_OF, model="bg-nbd")
        low, high = result.summary["totals"]["clv_total_interval"]
        covered.append(low <= true_total(inputs, horizon_days / 7) <= high)
    # 80 intervals at 90%: a binomial standard error of 3.4 points.
    assert 0.78 <= np.mean(covered) <= 0.99


def test_delta_intervals_agree_with_draws_from_the_same_normal() -> None:
    inputs = simulate(3000, 7)
    result = lifetime_value(inputs, 364, None, AS_OF, model="bg-nbd")
    u = result.uncertainty
    rng = np.random.default_rng(0)
    order_draws = rng.multivariate_normal(
        np.log(u.fitted.orders.params), u.fitted.orders.log_covariance, 400
    )
    value_draws = rng.multivariate_normal(
        np.log(u.fitted.value.params), u.fitted.value.log_covariance, 400
    )
    totals = []
    for order_log, value_log in zip(order_draws, value_draws, strict=True):
        drawn = Fitted(u.fitted.orders.with_params(np.exp(order_log)),
                       u.fitted.value.with_params(np.exp(value_log)), "")  # fmt: skip
        values = customer_values(drawn, inputs, 364, None, AS_OF)
        totals.append(np.nansum(values["clv_364d"]))
    low, high = result.summary["totals"]["clv_total_interval"]
    drawn_low, drawn_high = np.quantile(totals, [0.05, 0.95])
    assert low == pytest.approx(drawn_low, rel=0.02)
    assert high == pytest.approx(drawn_high, rel=0.02)


def test_intervals_widen_as_the_data_shrink() -> None:
    inputs = simulate(8000, 3)
    widths = []
    for n in (8000, 2000, 500):
        part = ModelInputs(inputs.x[:n], inputs.t_x[:n], inputs.T[:n], inputs.m_x[:n])
        totals = lifetime_value(part, 364, None, AS_OF, model="bg-nbd").summary["totals"]
        low, high = totals["clv_total_interval"]
        assert low < totals["clv_total"] < high
        widths.append((high - low) / totals["clv_total"])
    assert widths[0] < widths[1] < widths[2]
    # About 1/sqrt(n): a quarter of the customers, about twice the relative width.
    assert 1.5 < widths[1] / widths[0] < 2.7


def test_segment_intervals_are_each_segments_own_and_sum_consistently() -> None:
    inputs = simulate(4000, 11)
    result = lifetime_value(inputs, 364, None, AS_OF, model="bg-nbd")
    labels = (inputs.x > 0).astype(np.int64)  # one-time buyers, repeat buyers
    intervals = segment_intervals(result, inputs, labels, 2)
    values = result.columns["clv_364d"].to_numpy()
    for segment, (low, high) in enumerate(intervals):
        total = values[labels == segment].sum()
        assert low < total < high
        # The delta method on ln(total): the total is the geometric mean of the bounds.
        assert np.sqrt(low * high) == pytest.approx(total, rel=1e-9)
    spread = [np.log(high / low) / (2 * Z) for low, high in intervals]
    assert all(s > 0 for s in spread)


def test_next_order_by_is_the_first_day_with_an_even_chance() -> None:
    inputs = simulate(400, 5)
    fit = orders.fit("bg-nbd", inputs.x, inputs.t_x, inputs.T)
    rows = distinct_rows(inputs.x, inputs.t_x, inputs.T)
    days = next_order_days(fit, rows.x, rows.t_x, rows.T, 90)
    every_day = np.arange(1, 181)
    for i in range(len(rows)):
        chance = 1 - fit.p_no_order(every_day / 7, rows.x[i], rows.t_x[i], rows.T[i])
        reached = np.flatnonzero(chance >= 0.5)
        if len(reached) == 0:
            assert np.isnan(days[i])
        else:
            assert days[i] == every_day[reached[0]]
    assert np.isnan(days).any() and np.isfinite(days).any()
    fitted = Fitted(fit, fit_gamma_gamma(inputs.x, inputs.m_x), "")
    columns = customer_values(fitted, inputs, 90, None, AS_OF)
    dates = columns["next_order_by"]
    first = np.flatnonzero(np.isfinite(days[rows.inverse]))[0]
    assert dates[first] == AS_OF + dt.timedelta(days=int(days[rows.inverse][first]))
    assert dates.isna().sum() == np.isnan(days[rows.inverse]).sum()


def _strict_json(value: object) -> str:
    import json

    return json.dumps(value, allow_nan=False)


@pytest.mark.parametrize("model", ["auto", "pareto-nbd", "mbg-nbd", "bg-nbd"])
def test_identical_customers_give_finite_figures_or_a_reason(model: str) -> None:
    # 40 customers with the same history cannot show how customers differ: the fit has no
    # interior maximum, which is said, and nothing in the summary is NaN.
    inputs = ModelInputs(np.full(40, 2.0), np.full(40, 5.0), np.full(40, 10.0), np.full(40, 30.0))
    result = lifetime_value(inputs, 365, None, AS_OF, model=model)
    _strict_json(result.summary)
    if result.summary["enabled"]:
        assert result.summary["model"]["converged"] is False
        assert result.summary["totals"]["clv_total_interval"] is None
        assert "no interval" in result.summary["interval"]["reason"]
        assert np.isfinite(result.columns.drop(columns="next_order_by").to_numpy(float)).all()
    else:
        assert result.summary["reason"]


def test_one_customer_and_one_time_buyers_only_give_a_reason() -> None:
    one = ModelInputs(np.array([3.0]), np.array([4.0]), np.array([9.0]), np.array([25.0]))
    result = lifetime_value(one, 365, None, AS_OF)
    _strict_json(result.summary)
    assert result.summary["enabled"] is False and "cannot be fitted" in result.summary["reason"]
    once = ModelInputs(np.zeros(30), np.zeros(30), np.arange(1.0, 31.0), np.full(30, np.nan))
    result = lifetime_value(once, 365, None, AS_OF)
    assert result.summary["enabled"] is False
    assert "repeat purchase" in result.summary["reason"]


def test_auto_says_which_model_it_kept_and_why() -> None:
    from segmint.clv.per_customer import fit_orders

    # Identical customers: neither Pareto/NBD nor MBG/NBD has an interior maximum.
    same = distinct_rows(np.full(40, 2.0), np.full(40, 5.0), np.full(40, 10.0))
    fitted, why = fit_orders("auto", same)
    assert fitted.name == "pareto-nbd" and not fitted.converged
    assert "MBG/NBD's has no interior maximum either, so it is kept" in why
    # Customers drawn from a model: Pareto/NBD converges and is the choice, for the reasons
    # of docs/clv-evidence.md.
    inputs = simulate(3000, 2)
    fitted, why = fit_orders("auto", distinct_rows(inputs.x, inputs.t_x, inputs.T))
    assert fitted.name == "pareto-nbd" and fitted.converged
    assert why.startswith("Pareto/NBD, chosen by --clv-model auto: a customer can stop")


@pytest.mark.parametrize(
    "params",
    [(0.55, 10.6, 0.6, 11.7), (0.9, 4.7, 1.15, 24.3), (0.5, 100, 0.5, 1), (0.3, 2, 2, 40),
     (0.5, 10, 1e8, 1e8)],
)  # fmt: skip
def test_prepared_p_alive_equals_the_modules_for_any_parameters(params) -> None:
    # The intervals evaluate P(alive) of the same rows at several parameter values through
    # rows prepared once (OrderFit.alive_function); it must be the module's P(alive).
    from segmint.clv import paretonbd

    rng = np.random.default_rng(0)
    x = rng.integers(0, 30, 3000).astype(float)
    T = rng.integers(1, 400, 3000) / 7
    t_x = np.where(x > 0, np.floor(rng.random(3000) * T * 7) / 7, 0.0)
    prepared = paretonbd.alive_of_rows(x, t_x, T)
    np.testing.assert_allclose(prepared(params), paretonbd.p_alive(params, x, t_x, T),
                               rtol=1e-12, atol=1e-15)  # fmt: skip
