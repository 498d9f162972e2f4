"""Writing the per-customer CSV in parts and the audiences with DuckDB: the same bytes as
writing at once, and as pandas' to_csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from segmint.io.outputs import write_csv
from segmint.rules.export import audience_files, write_audiences


def _awkward_table(n: int) -> pd.DataFrame:
    """Text that needs quoting, formula-like ids, missing and tiny numbers."""
    rng = np.random.default_rng(3)
    ids = [f"c{i:05d}" for i in range(n)]
    for i, text in zip(
        range(0, n, max(n // 6, 1)),
        ["a,b", 'say "hi"', "=1+2", "two\nlines", " x "],
        strict=False,
    ):
        ids[i] = text
    values = rng.normal(size=n) * 10.0 ** rng.integers(-9, 9, n)
    values[::7] = np.nan
    return pd.DataFrame(
        {"customer_id": ids, "segment_id": np.arange(n) % 3, "value": values, "name": "Loyal, Big"}
    )


@pytest.mark.parametrize("rows", [0, 1, 2, 5, 1001])
def test_csv_written_in_parts_is_the_csv_written_at_once(tmp_path, rows):
    table = pa.Table.from_pandas(_awkward_table(max(rows, 1)), preserve_index=False)
    table = table.slice(0, rows)
    write_csv(table, tmp_path / "one.csv", parts=1)
    write_csv(table, tmp_path / "three.csv", parts=3)
    assert (tmp_path / "three.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.csv", "three.csv"]  # no parts left
    back = pd.read_csv(tmp_path / "three.csv", dtype={"customer_id": str}, keep_default_na=False)
    assert len(back) == rows


def test_audiences_are_what_pandas_would_write(tmp_path):
    customers = _awkward_table(300)
    contacts = pd.DataFrame(
        {
            "customer_id": customers["customer_id"][::2],
            "email": [f"p{i}@x.org" for i in range(150)],
            "phone": ["+44 20, ext. 7" if i % 5 else None for i in range(150)],
        }
    )
    names = ["Champions", "At Risk", "Lost"]
    write_audiences(tmp_path, customers, names, contacts)
    merged = customers[["customer_id", "segment_id"]].merge(contacts, on="customer_id", how="left")
    for segment_id, file_name in enumerate(audience_files(names)):
        inside = merged[merged["segment_id"] == segment_id].drop(columns="segment_id")
        expected = inside.to_csv(index=False, lineterminator="\n")
        assert (tmp_path / "audiences" / file_name).read_text() == expected
