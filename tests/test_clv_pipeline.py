"""CLV through segment() (CONTRACT §7): the feature SQL's model inputs against the published
CDNOW results, per-customer and per-segment columns against recomputations, and when CLV is
absent and why.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import write_csv
from segmint import segment
from segmint.clv.per_customer import LIKELY_LOST_BELOW

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CDNOW = DATA / "cdnow_sample.csv"


def sig3(value: float) -> float:
    """Return value rounded to 3 significant digits."""
    return float(f"{value:.3g}")


@pytest.fixture(scope="module")
def calibration():
    # Fader, Hardie & Lee's calibration period: 1997-01-01 to 1997-09-30 (39 weeks).
    # 273 days = 39 weeks: the horizon of Hardie's conditional expectation.
    return segment(CDNOW, as_of="1997-09-30", k=3, n_init=2, clv_horizon_days=273)


def test_bgnbd_through_the_pipeline_matches_the_published_fit(calibration):
    fit = calibration.summary["clv"]["bgnbd"]
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4.
    assert [sig3(fit[p]) for p in ("r", "alpha", "a", "b")] == [0.243, 4.41, 0.793, 2.43]
    assert fit["alpha"] == pytest.approx(4.414, abs=5e-4)
    assert fit["b"] == pytest.approx(2.426, abs=5e-4)
    assert fit["log_likelihood"] == pytest.approx(-9582.4, abs=0.05)
    assert fit["converged"]


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
    assert list(table.columns[-4:]) == [
        "p_alive",
        "expected_orders_273d",
        "expected_aov",
        "clv_273d",
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
    from segmint.clv.bgnbd import BgNbdParams
    from segmint.clv.gamma_gamma import GammaGammaParams
    from segmint.clv.per_customer import _fit_warnings

    # No dropout (a → 0) and no spread of order values (q → ∞), as on a synthetic log.
    orders = BgNbdParams(92.7, 984.7, 9e-6, 76308.0, converged=False)
    values = GammaGammaParams(1.77, 135412.8, 5.3e7, converged=False)
    said = _fit_warnings(orders, values)
    assert len(said) == 2
    assert "almost no customers stopping" in said[0] and "1.2e-10" in said[0]
    assert "close to the population mean" in said[1]
    # A fit that converged says nothing; one that failed elsewhere says so plainly.
    assert _fit_warnings(BgNbdParams(0.24, 4.4, 0.79, 2.4, converged=True),
                         GammaGammaParams(6.0, 4.0, 15.0, converged=True)) == []  # fmt: skip
    failed = _fit_warnings(BgNbdParams(0.24, 4.4, 0.79, 2.4, converged=False),
                           GammaGammaParams(6.0, 4.0, 15.0, converged=False))  # fmt: skip
    assert "BG/NBD likelihood maximisation did not converge" in failed[0]
    assert "Gamma-Gamma likelihood maximisation did not converge" in failed[1]


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
    result = segment(path, k=2, n_init=2)
    clv = result.summary["clv"]
    assert clv["enabled"] is True and clv["bgnbd"]["converged"] is False
    assert (
        np.isfinite(result.customers[["p_alive", "expected_orders_365d", "clv_365d"]]).all().all()
    )
    assert any("almost no customers stopping" in w for w in result.summary["warnings"])
    check = validate(path, holdout_days=60)
    assert np.isfinite(check.customers["predicted_orders"]).all()


def test_a_sampled_run_fits_the_models_on_the_md5_sample_and_scores_everyone(calibration):
    # 2,357 customers, a sample of 1,000: the models are those of a direct fit on exactly the
    # customers of the shared sample rule (as the Spark engine fits them).
    from segmint.clv.bgnbd import fit_bgnbd, p_alive
    from segmint.model.sampling import sample_positions

    sampled = segment(CDNOW, as_of="1997-09-30", k=3, n_init=2, clv_horizon_days=273,
                      sample_size=1000)  # fmt: skip
    table = sampled.customers
    assert sampled.summary["clv"]["fitted_on_customers"] == 1000
    assert calibration.summary["clv"]["fitted_on_customers"] == len(table)
    rows = sample_positions(table["customer_id"], 1000, 0)
    x = table["frequency"].to_numpy(float)[rows] - 1
    T = table["tenure_days"].to_numpy(float)[rows] / 7
    t_x = T - table["recency_days"].to_numpy(float)[rows] / 7
    direct = fit_bgnbd(x, t_x, T)
    fit = sampled.summary["clv"]["bgnbd"]
    for name in ("r", "alpha", "a", "b"):
        assert fit[name] == pytest.approx(getattr(direct, name), rel=1e-12)
    assert fit["r"] != pytest.approx(calibration.summary["clv"]["bgnbd"]["r"], rel=1e-4)
    # Every customer is scored with the sample's models.
    everyone_x = table["frequency"].to_numpy(float) - 1
    everyone_T = table["tenure_days"].to_numpy(float) / 7
    everyone_t = everyone_T - table["recency_days"].to_numpy(float) / 7
    np.testing.assert_allclose(
        table["p_alive"], p_alive(direct, everyone_x, everyone_t, everyone_T), rtol=1e-12
    )
