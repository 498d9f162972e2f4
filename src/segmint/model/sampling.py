"""The seeded sample of customers k is chosen on: one rule, for every engine.

With more than `sample_size` customers, the sample is the `sample_size` customers that come
first in the order of md5('<seed>|<customer_id>') (ties, which need an md5 collision, by
id). The order is SQL that DuckDB and Spark evaluate alike, so the DuckDB engine (on the
table in memory) and the Spark engine (on a table it never collects) pick the same
customers for the same seed, whatever the row order or partitioning.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pyarrow as pa


def sample_order(seed: int) -> str:
    """Return the SQL ORDER BY expressions of the sample rule (DuckDB's dialect)."""
    return f"md5(concat('{int(seed)}', '|', customer_id)), customer_id"


def sample_positions(customer_ids: Sequence[object], size: int, seed: int) -> np.ndarray:
    """Return the sorted row positions of the sample among customer_ids."""
    try:  # ids are text: converted in C, not one Python str() per customer
        ids = pa.array(np.asarray(customer_ids, dtype=object), pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        ids = pa.array([str(c) for c in customer_ids], pa.string())
    table = pa.table({"customer_id": ids, "position": np.arange(len(ids), dtype=np.int64)})
    with duckdb.connect() as con:
        con.register("customers", table)
        rows = con.execute(
            f"SELECT position FROM customers ORDER BY {sample_order(seed)} LIMIT {int(size)}"
        ).fetchnumpy()["position"]
    return np.sort(np.asarray(rows, dtype=np.int64))
