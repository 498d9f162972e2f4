"""The transpiled date rules give Spark the same timestamps as DuckDB, on a small table."""

from __future__ import annotations

import duckdb
import pytest

from segmint.engines.spark_sql import to_spark
from segmint.io.formats import DATE_FAMILIES, _parse_any

pytestmark = pytest.mark.spark

VALUES = {
    "month_first": ["12/06/2010 10:08", "2/20/11 11:39", "2/20/69", "2/20/68", "1/1/2011",
                    "13/01/2011", "not a date"],
    "day_first": ["06/12/2010 10:08", "20/2/11 11:39", "31/12/99", "1/1/2011", "2011-01-01"],
    "iso": ["2010-12-06 10:08:00", "2010-12-06", "2010-12-06T10:08:00", "20101206", "junk"],
}  # fmt: skip


@pytest.mark.parametrize("family", sorted(VALUES))
def test_date_family_reads_the_same_in_both_engines(spark, family):
    expression = _parse_any("trim(d)", DATE_FAMILIES[family])
    rows = [(v,) for v in VALUES[family]]
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t (d VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?)", rows)
        expected = dict(con.execute(f"SELECT d, {expression} FROM t").fetchall())
    spark.createDataFrame(rows, "d string").createOrReplaceTempView("t")
    got = dict(spark.sql(to_spark(f"SELECT d, {expression} AS ts FROM t")).collect())
    assert got == expected
    assert any(v is not None for v in expected.values())
