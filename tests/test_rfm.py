"""RFM scores (quintiles, ties) and the RFM segment map (docs/reference/rfm.md)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

import segmint
from segmint.features.rfm import rfm_segment

# The documented map (docs/reference/rfm.md#map), transcribed: row R = 5..1, columns FM = 1..5.
DOCUMENTED_MAP = {
    5: ["New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Champions"],
    3: ["About to Sleep", "About to Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"],
    2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
    1: ["Lost", "Lost", "At Risk", "At Risk", "Can't Lose Them"],
}


def expected_segment(r: int, f: int, m: int) -> str:
    fm = math.floor((f + m) / 2 + 0.5)
    return DOCUMENTED_MAP[r][fm - 1]


@pytest.mark.parametrize("r", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("f", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5])
def test_rfm_segment_matches_the_documented_map(r: int, f: int, m: int) -> None:
    assert rfm_segment(r, f, m) == expected_segment(r, f, m)


def test_every_cell_of_the_map_is_reached_and_fm_rounds_half_up() -> None:
    cells = {
        (r, math.floor((f + m) / 2 + 0.5))
        for r in range(1, 6)
        for f in range(1, 6)
        for m in range(1, 6)
    }
    assert cells == {(r, fm) for r in range(1, 6) for fm in range(1, 6)}
    # FM rounds .5 up: (1, 2) → 2, (3, 4) → 4, (4, 5) → 5; (1, 1) → 1, (2, 4) → 3.
    assert rfm_segment(5, 1, 2) == "Potential Loyalists"  # R5, FM2
    assert rfm_segment(5, 1, 1) == "New Customers"  # R5, FM1
    assert rfm_segment(3, 3, 4) == "Loyal Customers"  # R3, FM4 (FM3 would be Need Attention)
    assert rfm_segment(4, 4, 5) == "Champions"  # R4, FM5 (FM4 would be Loyal Customers)
    assert rfm_segment(1, 2, 4) == "At Risk"  # R1, FM3
    assert rfm_segment(2, 5, 5) == "Can't Lose Them"
    assert rfm_segment(1, 1, 2) == "Lost"  # R1, FM2


def test_scores_by_hand_with_ties() -> None:
    # as_of 2024-01-31.
    # A: 1 order 01-31, 10          → R 0,  F 1, M 10
    # B: 1 order 01-21, 10          → R 10, F 1, M 10
    # C: 1 order 01-11, 20          → R 20, F 1, M 20
    # D: 2 orders 01-01, 01-31, 30+30 → R 0, F 2, M 60
    # E: 5 orders 01-01..01-05, 1 each → R 26, F 5, M 5
    # Recency sorted 0,0,10,20,26: q20=0, q40=6, q60=14, q80=21.2; score 1 + #{q: x < q}:
    #   0 → 4 (A and D alike), 10 → 3, 20 → 2, 26 → 1.
    # Frequency 1,1,1,2,5: q20=1, q40=1, q60=1.4, q80=2.6; score 1 + #{q: x > q}:
    #   1 → 1, 2 → 4, 5 → 5.
    # Monetary 5,10,10,20,60: q20=9, q40=10, q60=14, q80=28: 10 → 2 (A and B alike),
    #   20 → 4, 60 → 5, 5 → 1.
    # FM: A (1+2)/2+.5=2, B 2, C (1+4)/2+.5=3, D 5, E (5+1)/2+.5=3.5 → 3.
    rows = [
        ("A", "2024-01-31", 10),
        ("B", "2024-01-21", 10),
        ("C", "2024-01-11", 20),
        ("D", "2024-01-01", 30),
        ("D", "2024-01-31", 30),
    ] + [("E", f"2024-01-0{d}", 1) for d in range(1, 6)]
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    result = segmint.segment(frame, as_of="2024-01-31", k=2, n_init=2)
    got = result.customers.set_index("customer_id")
    expected = {
        "A": (4, 1, 2, "Potential Loyalists"),
        "B": (3, 1, 2, "About to Sleep"),
        "C": (2, 1, 4, "At Risk"),
        "D": (4, 4, 5, "Champions"),
        "E": (1, 5, 1, "At Risk"),
    }
    for c, (r, f, m, name) in expected.items():
        row = got.loc[c]
        assert (row["r_score"], row["f_score"], row["m_score"], row["rfm_segment"]) == (
            r,
            f,
            m,
            name,
        ), c


def numpy_scores(values: np.ndarray, lower_is_better: bool) -> np.ndarray:
    cuts = np.percentile(values, [20, 40, 60, 80])  # linear interpolation: numpy's default
    if lower_is_better:
        return 1 + (values[:, None] < cuts[None, :]).sum(axis=1)
    return 1 + (values[:, None] > cuts[None, :]).sum(axis=1)


def test_scores_match_numpy_percentiles_on_random_customers() -> None:
    # 300 customers; few distinct order counts and coarse amounts, so many ties.
    rng = np.random.default_rng(20240131)
    as_of = dt.date(2023, 12, 31)
    rows, truth = [], []
    for i in range(300):
        n_orders = 1 + int(rng.poisson(1.2))
        days = sorted(rng.choice(365, size=n_orders, replace=False))
        amounts = rng.choice([5.0, 10.0, 12.5, 20.0, 49.99], size=n_orders)
        cid = f"K{i:04d}"
        for day, amount in zip(days, amounts, strict=True):
            date = dt.date(2023, 1, 1) + dt.timedelta(days=int(day))
            rows.append((cid, date.isoformat(), f"{amount:.2f}"))
        last = dt.date(2023, 1, 1) + dt.timedelta(days=int(days[-1]))
        truth.append((cid, (as_of - last).days, n_orders, round(float(amounts.sum()), 2)))
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    result = segmint.segment(frame, as_of=as_of.isoformat(), k=2, n_init=2)

    expected = pd.DataFrame(truth, columns=["customer_id", "recency_days", "frequency", "monetary"])
    expected = expected.sort_values("customer_id").reset_index(drop=True)
    got = result.customers.sort_values("customer_id").reset_index(drop=True)
    assert list(got["customer_id"]) == list(expected["customer_id"])
    assert list(got["recency_days"]) == list(expected["recency_days"])
    assert list(got["frequency"]) == list(expected["frequency"])
    np.testing.assert_allclose(got["monetary"], expected["monetary"], atol=1e-9)

    r = numpy_scores(expected["recency_days"].to_numpy(float), lower_is_better=True)
    f = numpy_scores(expected["frequency"].to_numpy(float), lower_is_better=False)
    m = numpy_scores(expected["monetary"].to_numpy(float), lower_is_better=False)
    assert list(got["r_score"]) == list(r)
    assert list(got["f_score"]) == list(f)
    assert list(got["m_score"]) == list(m)
    assert list(got["rfm_segment"]) == [
        expected_segment(*scores) for scores in zip(r, f, m, strict=True)
    ]
    # Equal values, equal scores; and the scores do spread over 1..5 where values differ.
    for feature, score in (
        ("recency_days", "r_score"),
        ("frequency", "f_score"),
        ("monetary", "m_score"),
    ):
        assert (got.groupby(feature)[score].nunique() == 1).all()
    assert set(got["r_score"]) == {1, 2, 3, 4, 5}
    assert got["frequency"].duplicated().any() and got["monetary"].duplicated().any()
