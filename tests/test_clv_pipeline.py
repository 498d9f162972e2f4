"""CLV through segment() (docs/clv.md): the feature SQL's model inputs against the published
CDNOW results, per-customer and per-segment columns against recomputations, and when CLV is
absent and why.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import SHARED_DATA, write_csv
from segmint import segment
from segmint.clv.per_customer import LIKELY_LOST_BELOW

DATA = SHARED_DATA
pytestmark = pytest.mark.shared_data
CDNOW = DATA / "cdnow_sample.csv"


def sig3(value: float) -> float:
    """Return value rounded to 3 significant digits."""
    return float(f"{value:.3g}")


@pytest.fixture(scope="module")
def calibration():
    # Fader, Hardie & Lee's calibration period: 1997-01-01 to 1997-09-30 (39 weeks).
    # 273 days = 39 weeks: the horizon of Hardie's conditional expectation.
    return segment(CDNOW, as_of="1997-09-30", k=3, n_init=2, clv_horizon_days=273,
                   clv_model="bg-nbd")  # fmt: skip


@pytest.fixture(scope="module")
def default_model():
    # The same calibration with the default order model (auto).
    return segment(CDNOW, as_of="1997-09-30", k=3, n_init=2, clv_horizon_days=273)


def test_bgnbd_through_the_pipeline_matches_the_published_fit(calibration):
    model = calibration.summary["clv"]["model"]
    assert model["name"] == "bg-nbd" and "--clv-model bg-nbd" in model["why"]
    assert model["customers"] == 2357 and model["distinct_rows"] < 2357
    fit = {**model["params"], "log_likelihood": model["log_likelihood"],
           "converged": model["converged"]}  # fmt: skip
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4.
    assert [sig3(fit[p]) for p in ("r", "alpha", "a", "b")] == [0.243, 4.41, 0.793, 2.43]
    assert fit["alpha"] == pytest.approx(4.414, abs=5e-4)
    assert fit["b"] == pytest.approx(2.426, abs=5e-4)
    assert fit["log_likelihood"] == pytest.approx(-9582.4, abs=0.05)
    assert fit["converged"]


def test_the_default_model_is_pareto_nbd_with_the_published_fit(default_model):
    model = default_model.summary["clv"]["model"]
    assert model["name"] == "pareto-nbd" and "auto" in model["why"]
    # Fader & Hardie's note on the Pareto/NBD: r 0.553, alpha 10.58, s 0.606, beta 11.67,
    # LL -9594.98 on the same calibration period.
    params = model["params"]
    assert [sig3(params[p]) for p in ("r", "alpha", "s", "beta")] == [0.553, 10.6, 0.606, 11.7]
    assert round(params["alpha"], 2) == 10.58 and round(params["beta"], 2) == 11.67
    assert model["log_likelihood"] == pytest.approx(-9594.98, abs=0.005)
    assert model["converged"] and model["at_edge"] == []
    assert model["customers"] == 2357
    # Its one-time buyers are not all alive: the chance falls with the time since the order.
    table = default_model.customers
    once = table[table["frequency"] == 1].sort_values("tenure_days")
    assert once["p_alive"].max() < 1
    assert np.all(np.diff(once.groupby("tenure_days")["p_alive"].first().to_numpy()) < 0)


def test_mbgnbd_through_the_pipeline_matches_the_published_fit():
    result = segment(CDNOW, as_of="1997-09-30", k=3, n_init=2, clv_model="mbg-nbd")
    params = result.summary["clv"]["model"]["params"]
    # Batislam, Denizel & Filiztekin's MBG/NBD on CDNOW: r 0.525, alpha 6.18, a 0.891, b 1.61.
    assert [sig3(params[p]) for p in ("r", "alpha", "a", "b")] == [0.525, 6.18, 0.891, 1.61]


def test_gamma_gamma_through_the_pipeline_with_default_cleaning(calibration):
    # The default cleaning drops 9 identical same-day lines in the calibration period.
    fit = calibration.summary["clv"]["gamma_gamma"]
    assert fit["customers"] == 946 and fit["excluded_non_positive"] == 0
    assert fit["p"] == pytest.approx(6.276, abs=5e-4)
    assert fit["q"] == pytest.approx(3.742, abs=5e-4)
    assert fit["gamma"] == pytest.approx(15.350, abs=5e-4)
    # Duplicates come before after_as_of in the rules: the file's 21 count (PROVENANCE.md).
    assert calibration.summary["input"]["rows_dropped"]["duplicate"] == 21


def test_gamma_gamma_with_duplicates_kept_matches_the_paper():
    result = segment(CDNOW, as_of="1997-09-30", k=3, n_init=2, keep_duplicates=True)
    fit = result.summary["clv"]["gamma_gamma"]
    # "RFM and CLV" (2005): p = 6.25, q = 3.74, gamma = 15.44 on 946 customers.
    assert (sig3(fit["p"]), sig3(fit["q"]), round(fit["gamma"], 2)) == (6.25, 3.74, 15.44)
    assert fit["customers"] == 946


def test_hardies_customer_expects_1_226_orders_in_39_weeks(calibration):
    # x = 2, t_x = 30.43, T = 38.86 weeks: 3 orders, first 272 days before as_of, last 213
    # days after the first (recency 59).
    table = calibration.customers
    same = table[
        (table["frequency"] == 3) & (table["tenure_days"] == 272) & (table["recency_days"] == 59)
    ]
    assert len(same) >= 1
    assert same["expected_orders_273d"].round(3).unique().tolist() == [1.226]


def test_clv_columns_and_segment_figures_recomputed(calibration):
    table, summary = calibration.customers, calibration.summary
    assert list(table.columns[-6:]) == [
        "p_alive",
        "p_no_order_273d",
        "expected_orders_273d",
        "expected_aov",
        "clv_273d",
        "next_order_by",
    ]
    np.testing.assert_allclose(
        table["clv_273d"], table["expected_orders_273d"] * table["expected_aov"], rtol=1e-12
    )
    assert table["p_alive"].between(0, 1).all()
    # BG/NBD: a customer can drop out only after a repeat order, so one-time buyers are alive.
    assert (table.loc[table["frequency"] == 1, "p_alive"] == 1).all()
    for entry in summary["segments"]:
        inside = table[table["segment_id"] == entry["id"]]
        assert entry["p_alive_mean"] == pytest.approx(inside["p_alive"].mean(), rel=1e-12)
        assert entry["p_no_order_mean"] == pytest.approx(
            inside["p_no_order_273d"].mean(), rel=1e-12
        )
        assert entry["clv_total"] == pytest.approx(inside["clv_273d"].sum(), rel=1e-12)
        assert entry["clv_mean"] == pytest.approx(inside["clv_273d"].mean(), rel=1e-12)
        assert entry["likely_lost"] == int((inside["p_alive"] < LIKELY_LOST_BELOW).sum())
    assert summary["clv"]["totals"]["clv_total"] == pytest.approx(
        math.fsum(table["clv_273d"]), rel=1e-12
    )
    assert (
        sum(e["likely_lost"] for e in summary["segments"])
        == (summary["clv"]["totals"]["likely_lost"])
    )


def cdnow_customers(once: int, repeat: int) -> pd.DataFrame:
    """CDNOW lines of its first `once` one-day customers and first `repeat` repeat buyers."""
    lines = pd.read_csv(CDNOW, dtype=str)
    days = lines.groupby("customer_id")["date"].nunique()
    chosen = list(days[days == 1].index[:once]) + list(days[days > 1].index[:repeat])
    return lines[lines["customer_id"].isin(chosen)]


def test_repeat_order_value_excludes_the_first_order(tmp_path):
    # Customer A: orders of 10 (first), 30 and 50, and a return of -20 → repeat value
    # (30 + 50 - 20) / 2 = 30. The expected order value of a repeat buyer is the Gamma-Gamma
    # posterior mean (gamma + m_x x) p / (p x + q - 1), recomputed here from the fitted p, q, gamma.
    a = pd.DataFrame(
        [["A", "19970105", "1", "10"], ["A", "19970301", "2", "30"],
         ["A", "19970601", "3", "50"], ["A", "19970610", "-1", "-20"]],
        columns=["customer_id", "date", "quantity", "amount"],
    )  # fmt: skip
    path = tmp_path / "a.csv"
    pd.concat([cdnow_customers(100, 100), a]).to_csv(path, index=False)
    result = segment(path, k=2, n_init=2)
    fit = result.summary["clv"]["gamma_gamma"]
    row = result.customers.set_index("customer_id").loc["A"]
    assert row["frequency"] == 3 and row["monetary"] == 70
    p, q, gamma = fit["p"], fit["q"], fit["gamma"]
    assert row["expected_aov"] == pytest.approx((gamma + 30 * 2) * p / (p * 2 + q - 1), rel=1e-12)


def test_discount_rate_scales_clv_by_the_mean_discount_factor():
    plain = segment(CDNOW, k=3, n_init=2).customers
    discounted = segment(CDNOW, k=3, n_init=2, discount_rate=0.1).customers
    # Orders spread over 365 days, discounted continuously at ln(1.1) a year.
    delta_h = math.log(1.1) * 365 / 365.25
    factor = (1 - math.exp(-delta_h)) / delta_h
    np.testing.assert_allclose(discounted["clv_365d"], plain["clv_365d"] * factor, rtol=1e-12)
    np.testing.assert_array_equal(discounted["p_alive"], plain["p_alive"])


def one_order_each(tmp_path: Path, repeat: int = 0) -> Path:
    """Write 40 one-order CDNOW customers and `repeat` of its repeat buyers."""
    path = tmp_path / "a.csv"
    cdnow_customers(40, repeat).to_csv(path, index=False)
    return path


def test_everyone_bought_once_gives_no_clv_and_says_why(tmp_path):
    result = segment(one_order_each(tmp_path), k=2, n_init=2)
    clv = result.summary["clv"]
    assert clv["enabled"] is False and "everyone bought once" in clv["reason"]
    assert "p_alive" not in result.customers.columns
    assert "clv_total" not in result.summary["segments"][0]
    # Asking for it explicitly does not change the answer: there is nothing to fit.
    forced = segment(one_order_each(tmp_path), k=2, n_init=2, clv=True)
    assert forced.summary["clv"]["enabled"] is False


def test_clv_default_needs_20_repeat_customers_and_can_be_forced_or_turned_off(tmp_path):
    few = segment(one_order_each(tmp_path, repeat=5), k=2, n_init=2)
    assert few.summary["clv"]["enabled"] is False
    assert "only 5 customer(s) have repeat orders" in few.summary["clv"]["reason"]
    forced = segment(one_order_each(tmp_path, repeat=5), k=2, n_init=2, clv=True)
    assert forced.summary["clv"]["enabled"] is True
    assert forced.summary["clv"]["gamma_gamma"]["customers"] == 5
    enough = segment(one_order_each(tmp_path, repeat=20), k=2, n_init=2)
    assert enough.summary["clv"]["enabled"] is True
    off = segment(one_order_each(tmp_path, repeat=20), k=2, n_init=2, clv=False)
    assert off.summary["clv"] == {"enabled": False, "reason": "turned off (--no-clv)"}


def test_one_time_buyers_expect_the_population_mean_order_value(calibration):
    table = calibration.customers
    fit = calibration.summary["clv"]["gamma_gamma"]
    population_mean = fit["p"] * fit["gamma"] / (fit["q"] - 1)
    once = table.loc[table["frequency"] == 1, "expected_aov"]
    np.testing.assert_allclose(once, population_mean, rtol=1e-12)
    # Every customer of the calibration period; 946 bought again.
    assert len(table) == 2357 and len(once) == 2357 - 946


def test_a_fit_at_the_edge_of_its_range_is_explained():
    from segmint.clv.gamma_gamma import GammaGammaParams
    from segmint.clv.orders import OrderFit
    from segmint.clv.per_customer import _fit_warnings

    def orders(converged: bool) -> OrderFit:
        at_edge = () if converged else ("s", "beta")
        return OrderFit("pareto-nbd", ("r", "alpha", "s", "beta"), (0.5, 10.0, 1e8, 1e8),
                        -100.0, converged, 10, at_edge, 50, 40)  # fmt: skip

    # No spread in dropout (s, beta → ∞) and none in order values (q → ∞).
    said = _fit_warnings(orders(False), GammaGammaParams(1.77, 135412.8, 5.3e7, converged=False))
    assert len(said) == 2
    assert "Pareto/NBD fit ran to the edge of its parameter range (s, beta)" in said[0]
    assert "no interval" in said[0]
    assert "close to the population mean" in said[1]
    # A fit that converged says nothing; one that failed elsewhere says so plainly.
    assert _fit_warnings(orders(True), GammaGammaParams(6.0, 4.0, 15.0, converged=True)) == []
    failed = _fit_warnings(orders(True), GammaGammaParams(6.0, 4.0, 15.0, converged=False))
    assert "Gamma-Gamma likelihood maximisation did not converge" in failed[0]


def test_a_fit_at_its_limits_still_gives_finite_clv_and_says_so(tmp_path):
    # Purchase days drawn uniformly for everyone: customers hardly differ, so the BG/NBD fit
    # runs off to its limits, where the closed form's hyp2f1 overflows; the expectations are
    # integrated instead, and the run says what the fit means.
    import random

    from segmint.clv.validation import validate

    rng = random.Random(1)
    rows = [
        [f"c{i}", f"2021-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
         f"{rng.uniform(1, 300):.2f}"]
        for i in range(60)
        for _ in range(rng.randint(1, 6))
    ]  # fmt: skip
    path = write_csv(tmp_path / "uniform.csv", ["customer_id", "date", "amount"], rows)
    result = segment(path, k=2, n_init=2, clv_model="bg-nbd")
    clv = result.summary["clv"]
    assert clv["enabled"] is True and clv["model"]["converged"] is False
    columns = ["p_alive", "p_no_order_365d", "expected_orders_365d", "clv_365d"]
    assert np.isfinite(result.customers[columns]).all().all()
    assert any(
        "BG/NBD fit" in w and "no interval is given" in w for w in result.summary["warnings"]
    )
    assert (
        clv["totals"]["clv_total_interval"] is None and "no interval" in clv["interval"]["reason"]
    )
    check = validate(path, holdout_days=60)
    predicted = [c for c in check.customers.columns if c.startswith("predicted_")]
    assert predicted and np.isfinite(check.customers[predicted]).all().all()


def test_a_sampled_run_still_fits_the_models_on_every_customer(calibration):
    # 2,357 customers, a sample of 1,000 for the model stage: the CLV models still see
    # everyone, so the fit is the unsampled one and equals a direct fit on all customers.
    from segmint.clv import bgnbd, orders

    sampled = segment(CDNOW, as_of="1997-09-30", k=3, n_init=2, clv_horizon_days=273,
                      sample_size=1000, clv_model="bg-nbd")  # fmt: skip
    table = sampled.customers
    model = sampled.summary["clv"]["model"]
    assert model["customers"] == len(table) == 2357
    assert model["params"] == calibration.summary["clv"]["model"]["params"]
    x = table["frequency"].to_numpy(float) - 1
    T = table["tenure_days"].to_numpy(float) / 7
    t_x = T - table["recency_days"].to_numpy(float) / 7
    direct = orders.fit("bg-nbd", x, t_x, T)
    assert model["distinct_rows"] == direct.distinct_rows == len(set(zip(x, t_x, T, strict=True)))
    for name, value in direct.values.items():
        assert model["params"][name] == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(table["p_alive"], bgnbd.p_alive(direct.params, x, t_x, T),
                               rtol=1e-12)  # fmt: skip
