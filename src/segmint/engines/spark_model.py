"""The model stage's work over every customer, as Spark aggregations (issue 8).

K is chosen on a seeded sample collected to the driver with the same code as the DuckDB
engine; what must see every customer runs here, in SQL over the customer features view:
the scaling (mean and population standard deviation of each transformed feature), the
Lloyd iterations that refine the sample's centres, the assignment of every customer to
its nearest centre, and the Davies-Bouldin and Calinski-Harabasz indices of those labels.
Nothing per customer comes back to the driver.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from segmint.model.segment_model import Scaling
from segmint.model.selection import KScore


def transformed(feature: str, transform: str) -> str:
    """Return the SQL of a feature as the model transforms it (log1p of max(x, 0), or as is)."""
    value = f"CAST({feature} AS DOUBLE)"
    return f"ln(1 + greatest({value}, 0.0))" if transform == "log1p" else value


def scaled_columns(
    features: list[str], transforms: list[str], mean: np.ndarray, scale: np.ndarray
) -> list[str]:
    """Return the SQL of each scaled feature: (transformed − mean) / scale."""
    return [
        f"(({transformed(f, t)}) - {float(m)!r}) / {float(s)!r}"
        for f, t, m, s in zip(features, transforms, mean, scale, strict=True)
    ]


def scaling(spark: Any, view: str, features: list[str], transforms: list[str]) -> Scaling:
    """Return each transformed feature's mean, population standard deviation (1 where it is
    0) and scaled (min, max), in one pass over the view."""
    parts = []
    for f, t in zip(features, transforms, strict=True):
        x = transformed(f, t)
        parts += [f"avg({x})", f"stddev_pop({x})", f"min({x})", f"max({x})"]
    row = np.array(
        spark.sql(f"SELECT {', '.join(parts)} FROM {view}").collect()[0], dtype=np.float64
    )
    mean, scale = row[0::4], row[1::4]
    scale = np.where(scale > 0, scale, 1.0)
    # (x - mean) / scale is monotonic in x, so the scaled extremes are the raw ones, scaled.
    low, high = (row[2::4] - mean) / scale, (row[3::4] - mean) / scale
    return Scaling(mean, scale, np.stack([low, high], axis=1))


def label_sql(columns: list[str], centers: np.ndarray) -> str:
    """Return SQL giving the index of the nearest centre (ties: the lowest index)."""
    distances = [
        " + ".join(f"power(({c}) - {float(v)!r}, 2)" for c, v in zip(columns, centre, strict=True))
        for centre in centers
    ]
    array = f"array({', '.join(distances)})"
    return f"array_position({array}, array_min({array})) - 1"


def lloyd(
    spark: Any,
    view: str,
    columns: list[str],
    centers: np.ndarray,
    max_iter: int = 300,
    tol: float = 1e-4,
) -> tuple[np.ndarray, int]:
    """Return centres refined by Lloyd iterations over every customer, and the iterations run.

    Stops when the centres move less than tol × the mean feature variance in total (as
    scikit-learn's KMeans), or after max_iter. A centre left without customers stays put.
    """
    centers = np.array(centers, dtype=np.float64)
    k, d = centers.shape
    variance = spark.sql(
        f"SELECT {', '.join(f'var_pop({c})' for c in columns)} FROM {view}"
    ).collect()[0]
    threshold = tol * float(np.mean(np.array(variance, dtype=np.float64)))
    for iteration in range(1, max_iter + 1):
        sums = ", ".join(f"sum({c})" for c in columns)
        rows = spark.sql(
            f"SELECT label, count(*), {sums} FROM "
            f"(SELECT {label_sql(columns, centers)} AS label, * FROM {view}) GROUP BY label"
        ).collect()
        new = centers.copy()
        for row in rows:
            new[int(row[0])] = np.array(row[2:], dtype=np.float64) / row[1]
        shift = float(((new - centers) ** 2).sum())
        centers = new
        if shift <= threshold:
            return centers, iteration
    return centers, max_iter


def labelled(view: str, columns: list[str], centers: np.ndarray) -> str:
    """Return SQL selecting every row of view with its nearest centre as `segment_id`."""
    return f"SELECT *, {label_sql(columns, centers)} AS segment_id FROM {view}"


def davies_bouldin_and_calinski_harabasz(
    spark: Any, view: str, columns: list[str], centers: np.ndarray
) -> tuple[float, float]:
    """Return both indices of the nearest-centre labels (scikit-learn's definitions)."""
    rows_sql = f"SELECT segment_id, {', '.join(f'{c} AS x{i}' for i, c in enumerate(columns))} FROM ({labelled(view, columns, centers)})"
    d = len(columns)
    stats = spark.sql(
        f"SELECT segment_id, count(*), {', '.join(f'avg(x{i})' for i in range(d))} "
        f"FROM ({rows_sql}) GROUP BY segment_id ORDER BY segment_id"
    ).collect()
    ids = [int(r[0]) for r in stats]
    sizes = np.array([r[1] for r in stats], dtype=np.float64)
    centroids = np.array([r[2:] for r in stats], dtype=np.float64)
    k, n = len(ids), float(sizes.sum())
    cases = " ".join(
        f"WHEN {i} THEN sqrt({' + '.join(f'power(x{j} - {float(centroids[row, j])!r}, 2)' for j in range(d))})"
        for row, i in enumerate(ids)
    )
    spread_rows = spark.sql(
        f"SELECT segment_id, avg(dist), sum(dist * dist) FROM "
        f"(SELECT segment_id, CASE segment_id {cases} END AS dist FROM ({rows_sql})) "
        "GROUP BY segment_id ORDER BY segment_id"
    ).collect()
    spread = np.array([r[1] for r in spread_rows], dtype=np.float64)
    within = float(sum(r[2] for r in spread_rows))
    gaps = np.sqrt(((centroids[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2))
    if k < 2 or np.allclose(spread, 0) or np.allclose(gaps, 0):
        db = 0.0
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (spread[:, None] + spread[None, :]) / gaps
        ratio[np.isinf(ratio) | np.isnan(ratio)] = 0.0
        np.fill_diagonal(ratio, 0.0)
        db = float(ratio.max(axis=1).mean())
    mean = (centroids * sizes[:, None]).sum(axis=0) / n
    between = float((sizes * ((centroids - mean) ** 2).sum(axis=1)).sum())
    ch = 1.0 if within == 0 else between * (n - k) / (within * (k - 1))
    return db, ch if math.isfinite(ch) else float("nan")


def revenue_by_segment(
    spark: Any, view: str, columns: list[str], centers: np.ndarray
) -> np.ndarray:
    """Return the revenue (sum of monetary) of each nearest-centre segment."""
    rows = spark.sql(
        f"SELECT segment_id, sum(CAST(monetary AS DECIMAL(38, 12))) "
        f"FROM ({labelled(view, columns, centers)}) GROUP BY segment_id"
    ).collect()
    revenue = np.zeros(len(centers))
    for segment, value in rows:
        revenue[int(segment)] = float(value or 0)
    return revenue


def scores(
    spark: Any, view: str, columns: list[str], centers: np.ndarray, min_share: float
) -> KScore:
    """Return the scores of the nearest-centre labels over every customer (no silhouette)."""
    k = len(centers)

    def centre(j: int) -> str:
        cases = " ".join(f"WHEN {i} THEN {float(v)!r}" for i, v in enumerate(centers[:, j]))
        return f"CASE segment_id {cases} END"

    distance = " + ".join(f"power(({c}) - {centre(j)}, 2)" for j, c in enumerate(columns))
    rows = spark.sql(
        f"SELECT segment_id, count(*), sum({distance}) "
        f"FROM ({labelled(view, columns, centers)}) GROUP BY segment_id"
    ).collect()
    sizes = np.zeros(k)
    inertia = 0.0
    for segment, size, within in rows:
        sizes[int(segment)] = size
        inertia += float(within)
    smallest_share = float(sizes.min() / sizes.sum())
    if (sizes > 0).sum() < 2:
        return KScore(k, None, None, None, inertia, smallest_share, False)
    db, ch = davies_bouldin_and_calinski_harabasz(spark, view, columns, centers)
    eligible = smallest_share >= min_share and bool((sizes > 0).all())
    return KScore(k, db, None, ch if math.isfinite(ch) else None, inertia, smallest_share,
                  eligible)  # fmt: skip
