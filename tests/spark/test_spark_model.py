"""The model stage's full-data work in Spark equals the numpy/scikit-learn computation."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans

from helpers import SHARED_DATA
from segmint import segment
from segmint.engines import spark_model
from segmint.model.kmeans import nearest_centre
from segmint.model.selection import davies_bouldin_and_calinski_harabasz

pytestmark = [pytest.mark.spark, pytest.mark.shared_data]

DATA = SHARED_DATA


@pytest.fixture(scope="module")
def run(spark):
    result = segment(DATA / "cdnow_sample.csv", k=4, n_init=2, clv=False)
    table = result.customers[["customer_id", *result.model.features]]
    spark.createDataFrame(table).createOrReplaceTempView("customer_features")
    return result


def test_scaling_equals_the_models(spark, run):
    model = run.model
    measured = spark_model.scaling(spark, "customer_features", model.features, model.transforms_)
    mean, scale = measured.mean, measured.scale
    np.testing.assert_allclose(mean, model.mean_, rtol=1e-12)
    np.testing.assert_allclose(scale, model.scale_, rtol=1e-12)


def test_lloyd_labels_and_indices_equal_numpy_and_scikit_learn(spark, run):
    model = run.model
    columns = spark_model.scaled_columns(
        model.features, model.transforms_, model.mean_, model.scale_
    )
    spark.sql(
        "CREATE OR REPLACE TEMPORARY VIEW scaled AS SELECT customer_id, "
        + ", ".join(f"{c} AS s{i}" for i, c in enumerate(columns))
        + " FROM customer_features"
    )
    names = [f"s{i}" for i in range(len(columns))]
    X = model.scaled(run.customers)
    # Start from rough centres: the model's, moved; both sides refine them.
    start = model.centers_ + 0.3
    centers, iterations = spark_model.lloyd(spark, "scaled", names, start, tol=1e-10)
    expected = KMeans(4, init=start, n_init=1, tol=1e-10, algorithm="lloyd").fit(X)
    np.testing.assert_allclose(centers, expected.cluster_centers_, atol=1e-8)
    assert iterations > 1
    labels = spark.sql(spark_model.labelled("scaled", names, centers)).toPandas()
    assert (labels["segment_id"].to_numpy() == nearest_centre(X, centers)).all()
    db, ch = spark_model.davies_bouldin_and_calinski_harabasz(spark, "scaled", names, centers)
    want_db, want_ch = davies_bouldin_and_calinski_harabasz(X, nearest_centre(X, centers))
    assert db == pytest.approx(want_db, rel=1e-9)
    assert ch == pytest.approx(want_ch, rel=1e-9)
