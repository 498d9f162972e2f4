"""The DuckDB SQL transpiled to Spark SQL (issue 8), checked without Spark: every statement the
feature stages run on the shared datasets parses as Spark SQL and keeps no DuckDB-only function."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sqlglot

from helpers import SHARED_DATA
from segmint.engines.spark_sql import to_spark
from segmint.features.build import customer_features
from segmint.features.clean import clean
from segmint.io.inputs import open_lines
from segmint.settings import Settings

DATA = SHARED_DATA
pytestmark = pytest.mark.shared_data
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
DATASETS = ["online_retail_sample.csv", "cdnow_sample.csv", "zeotap/Transactions.csv"]


class Recorder:
    """A DuckDB connection that also keeps every statement run through it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con, self.statements = con, []

    def execute(self, sql: str):
        self.statements.append(sql)
        return self.con.execute(sql)

    def sql(self, sql: str):
        self.statements.append(sql)
        return self.con.sql(sql)


@pytest.mark.parametrize("name", DATASETS)
def test_every_statement_of_the_feature_stages_reads_as_spark_sql(name, tmp_path):
    with duckdb.connect() as con:
        config = Settings.create()
        lines = open_lines(con, [DATA / name], config, tmp_path)
        recorder = Recorder(con)
        cleaned = clean(recorder, lines, config)
        customer_features(recorder, cleaned.as_of, lines.has("quantity"), lines.has("category"))
    assert len(recorder.statements) >= 8
    for statement in recorder.statements:
        spark = to_spark(statement)
        assert sqlglot.parse_one(spark, read="spark") is not None
        upper = spark.upper()
        for function in ("TRY_STRPTIME(", "QUANTILE_CONT(", "ARG_MIN(", "ISFINITE("):
            assert function not in upper, (function, statement[:200])


@pytest.mark.parametrize(
    ("duckdb_format", "java_pattern"),
    [
        ("%Y%m%d", "yyyyMMdd"),
        ("%d/%m/%Y %H:%M", "d/M/yyyy H:m"),
        ("%m/%d/%y %I:%M %p", "M/d/yy h:m a"),
        ("%Y-%m-%d %H:%M:%S", "yyyy-M-d H:m:s"),
    ],
)
def test_try_strptime_becomes_try_to_timestamp_with_the_java_pattern(duckdb_format, java_pattern):
    sql = f"SELECT try_strptime(trim(d), '{duckdb_format}') AS ts FROM t"
    assert to_spark(sql) == f"SELECT TRY_TO_TIMESTAMP(TRIM(d), '{java_pattern}') AS ts FROM t"


def test_the_other_rewrites():
    assert to_spark("SELECT quantile_cont(r, [0.2, 0.4]) AS q FROM t") == (
        "SELECT PERCENTILE(r, ARRAY(0.2, 0.4)) AS q FROM t"
    )
    assert to_spark("SELECT arg_min(a, (t, k)) AS m FROM x") == (
        "SELECT MIN_BY(a, STRUCT(t, k)) AS m FROM x"
    )
    assert to_spark("CREATE OR REPLACE TEMP TABLE x AS SELECT 1 AS a") == (
        "CREATE OR REPLACE TEMPORARY VIEW x AS SELECT 1 AS a"
    )


def test_two_digit_years_pivot_in_the_source_sql():
    """DuckDB reads %y as 1969-2068, Spark's yy as 2000-2099: the source SQL says which."""
    from segmint.io.formats import _parse_one

    expression = _parse_one("d", "%m/%d/%y")
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT d, {expression} FROM (VALUES ('2/20/69'), ('2/20/68'), ('12/6/10')) t(d) "
            "ORDER BY d"
        ).fetchall()
    assert [(d, ts.year) for d, ts in rows] == [("12/6/10", 2010), ("2/20/68", 2068),
                                                ("2/20/69", 1969)]  # fmt: skip
    spark = to_spark(f"SELECT {expression} AS ts FROM t")
    assert "YEAR(TRY_TO_TIMESTAMP(d, 'M/d/yy')) >= 2069" in spark
    assert "INTERVAL '100' YEAR" in spark


def test_the_transpiled_feature_sql_matches_its_snapshot(tmp_path):
    """The Spark SQL of every statement on the Online Retail sample, as reviewed. A change to
    the source SQL or to sqlglot shows here; regenerate with SEGMINT_UPDATE_SNAPSHOTS=1 and
    read the diff."""
    import os

    with duckdb.connect() as con:
        config = Settings.create()
        lines = open_lines(con, [DATA / "online_retail_sample.csv"], config, tmp_path)
        recorder = Recorder(con)
        cleaned = clean(recorder, lines, config)
        customer_features(recorder, cleaned.as_of, lines.has("quantity"), lines.has("category"))
    text = "\n\n".join(f"{to_spark(s)};" for s in recorder.statements) + "\n"
    snapshot = SNAPSHOTS / "spark_sql_online_retail.sql"
    if os.environ.get("SEGMINT_UPDATE_SNAPSHOTS"):
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(text, encoding="utf-8")
    assert text == snapshot.read_text(encoding="utf-8")
