"""The profile's SQL aggregates (what the Spark engine runs) against the in-memory path."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pytest

from helpers import SHARED_DATA
from segmint import segment
from segmint.measures import sql as aggregates
from segmint.profile import summary as figures
from segmint.profile.traits import segment_traits, traits_from_moments

DATA = SHARED_DATA
pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def run():
    return segment(DATA / "cdnow_sample.csv", k=4, n_init=2)


@pytest.fixture()
def con(run):
    with duckdb.connect() as connection:
        connection.register("segmented", run.customers)
        yield connection


def test_traits_from_sql_moments_equal_the_in_memory_traits(run, con):
    customers, labels, k = run.customers, run.customers["segment_id"].to_numpy(), run.model.k_
    base, moments = aggregates.moments(con, "segmented", k, list(customers.columns))
    from_sql = traits_from_moments(base, moments)
    in_memory = segment_traits(customers, labels, k)
    assert [sorted(t) for t in from_sql] == [sorted(t) for t in in_memory]
    for a, b in zip(from_sql, in_memory, strict=True):
        for feature in a:
            assert a[feature].level == b[feature].level
            assert a[feature].mean == pytest.approx(b[feature].mean, rel=1e-12)
            assert a[feature].z == pytest.approx(b[feature].z, rel=1e-9, abs=1e-12)
    # interpurchase_days is missing for one-time buyers: left out of the counts
    assert base["tenure_days"].count == len(customers)


def test_groups_and_figures_from_sql_equal_the_in_memory_figures(run, con):
    customers, labels = run.customers, run.customers["segment_id"].to_numpy()
    everyone, groups = aggregates.groups(con, "segmented", run.model.k_)
    assert figures.totals_of(everyone) == pytest.approx(figures.totals(customers), rel=1e-12)
    for i, group in enumerate(groups):
        expected = figures.segment_figures(customers, labels, i)
        got = figures.figures_of(group, everyone.customers, everyone.revenue)
        assert got == pytest.approx(expected, rel=1e-12)


def test_rfm_concentration_and_clv_from_sql(run, con):
    customers = run.customers
    n, total = len(customers), math.fsum(customers["monetary"])
    rfm = figures.rfm_segments_of(aggregates.rfm_groups(con, "segmented"), n, total)
    expected = figures.rfm_segments(customers)
    assert [(r["name"], r["customers"]) for r in rfm] == [
        (r["name"], r["customers"]) for r in expected
    ]
    for got, want in zip(rfm, expected, strict=True):
        assert got["revenue_share"] == pytest.approx(want["revenue_share"], rel=1e-12)
    concentration = figures.concentration_of(
        n, lambda m: aggregates.top_revenue(con, "segmented", m), total
    )
    for got, want in zip(concentration, figures.revenue_concentration(customers), strict=True):
        assert got == pytest.approx(want, rel=1e-12)
    # The top 1% by hand: the ceil(0.01 n) largest spends.
    top = math.ceil(0.01 * n)
    by_hand = np.sort(customers["monetary"].to_numpy())[::-1][:top].sum() / total
    assert concentration[0]["revenue_share"] == pytest.approx(by_hand, rel=1e-12)
    everyone, per_segment = aggregates.clv_figures(
        con, "segmented", run.model.k_, "p_alive", "p_no_order_365d", "clv_365d", 0.3
    )
    totals = {k: v for k, v in run.summary["clv"]["totals"].items() if k in everyone}
    assert set(everyone) == set(totals) and everyone == pytest.approx(totals, rel=1e-12)
    for entry in run.summary["segments"]:
        expected = {key: entry[key] for key in per_segment[entry["id"]]}
        assert per_segment[entry["id"]] == pytest.approx(expected, rel=1e-12)
