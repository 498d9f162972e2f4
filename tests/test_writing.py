"""Writing the per-customer CSV (with polars) and the audiences (with DuckDB): every value
reads back exactly, and the audiences are what pandas' to_csv writes."""

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
def test_csv_reads_back_as_the_table(tmp_path, rows):
    """Every number reads back as the same double, missing ones as empty cells; text is
    quoted where needed; a formula-like id gets a leading '."""
    frame = _awkward_table(max(rows, 1)).iloc[:rows]
    write_csv(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "t.csv")
    back = pd.read_csv(
        tmp_path / "t.csv", dtype={"customer_id": str, "name": str},
        keep_default_na=False, na_values={"value": [""]},
    )  # fmt: skip
    assert list(back.columns) == list(frame.columns)
    assert len(back) == rows
    expected_ids = ["'" + c if c[:1] in "=+-@" else c for c in frame["customer_id"]]
    assert list(back["customer_id"]) == expected_ids
    assert np.array_equal(back["value"].to_numpy(float), frame["value"].to_numpy(), equal_nan=True)
    assert list(back["segment_id"]) == list(frame["segment_id"])
    assert set(back["name"]) <= {"Loyal, Big"}


def test_csv_bytes_of_a_small_table(tmp_path):
    table = pa.table(
        {
            "customer_id": ["a,b", "=1", "-2", 'say "hi"', "x"],
            "segment_name": ["@risk", "Lost", "Lost", "Lost", "Lost"],
            "frequency": [1, 2, 3, 4, 5],
            "monetary": [68.0, 2e-06, None, -0.5, 1e20],
        }
    )
    write_csv(table, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == (
        "customer_id,segment_name,frequency,monetary\n"
        '"a,b",\'@risk,1,68.0\n'
        "'=1,Lost,2,2e-6\n"
        "'-2,Lost,3,\n"
        '"say ""hi""",Lost,4,-0.5\n'
        "x,Lost,5,1e+20\n"
    )


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
