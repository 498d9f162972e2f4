"""The Spark engine runs the transpiled DuckDB SQL and finds the same customers, to the cent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmint import segment
from segmint.engines.spark import spark_features

pytestmark = pytest.mark.spark

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
DATASETS = ["online_retail_sample.csv", "cdnow_sample.csv", "zeotap/Transactions.csv"]
MONEY = ("monetary", "aov", "avg_unit_price")


@pytest.mark.parametrize("name", DATASETS)
def test_spark_features_equal_duckdb_features(spark, name):
    duck = segment(DATA / name, k=3, n_init=2, clv=False)
    cleaned, customers = spark_features(spark, [DATA / name])
    summary = duck.summary["input"]
    assert cleaned.rows_read == summary["rows_read"]
    assert cleaned.rows_used == summary["rows_used"]
    assert cleaned.rows_dropped == summary["rows_dropped"]
    assert cleaned.as_of.isoformat() == summary["as_of"]
    expected = duck.customers.drop(columns=["segment_id", "segment_name"])
    got = customers.drop(columns=["repeat_value"])[expected.columns]
    assert got["customer_id"].tolist() == expected["customer_id"].tolist()
    for column in expected.columns:
        a, b = expected[column], got[column]
        if pd.api.types.is_float_dtype(a):
            both = a.notna() & b.notna()
            assert (a.isna() == b.isna()).all(), column
            if column in MONEY:  # money to the cent
                assert (a[both].round(2) == b[both].round(2)).all(), column
            np.testing.assert_allclose(b[both], a[both], rtol=1e-12, err_msg=column)
        else:
            assert a.tolist() == b.tolist(), column
