"""--customers: each segment described by the customers file's categorical columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import SHARED_DATA
from segmint import segment
from segmint.measures.attributes import describe_attributes

DATA = SHARED_DATA
pytestmark = pytest.mark.shared_data


def test_shares_per_segment_with_unknown_customers_and_ties_by_value():
    customers = pd.DataFrame({"customer_id": ["A", "B", "C", "D", "E"]})
    labels = np.array([0, 0, 1, 1, 1])
    attributes = pd.DataFrame({
        "customer_id": ["A", "B", "C", "E", "F"],
        "Region": ["EU", "US", "EU", "EU", "US"],
        "email": ["a@x", "b@x", "c@x", "e@x", "f@x"],  # an identifier: not described
    })  # fmt: skip
    assert describe_attributes(customers, labels, attributes, 2) == [
        {"Region": {"EU": 0.5, "US": 0.5}},
        {"Region": {"EU": 0.666667, "(unknown)": 0.333333}},
    ]


def test_zeotap_regions_per_segment_equal_a_pandas_crosstab():
    zeotap = DATA / "zeotap"
    result = segment(zeotap / "Transactions.csv", customers_file=str(zeotap / "Customers.csv"),
                     k=4, n_init=2, clv=False)  # fmt: skip
    regions = pd.read_csv(zeotap / "Customers.csv", dtype=str)[["CustomerID", "Region"]]
    joined = result.customers[["customer_id", "segment_id"]].merge(
        regions, left_on="customer_id", right_on="CustomerID", how="left"
    )
    table = pd.crosstab(joined["segment_id"], joined["Region"], normalize="index")
    for entry in result.summary["segments"]:
        shares = entry["attributes"]["Region"]
        expected = table.loc[entry["id"]]
        expected = expected[expected > 0]
        assert shares == pytest.approx(expected.round(6).to_dict(), abs=1e-6)
        assert list(shares.values()) == sorted(shares.values(), reverse=True)
