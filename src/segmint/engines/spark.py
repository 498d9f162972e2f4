"""The cleaning and feature stages on Apache Spark, from the same SQL as DuckDB (issue 8).

`SparkConnection` offers the small part of DuckDB's connection API that
`features.clean.clean` and `features.build.customer_features` use (execute, then fetchone,
fetchall or df), and runs every statement through `spark_sql.to_spark`. So the cleaning
rules and feature definitions exist once, in the DuckDB SQL, and Spark runs their
transpilation. Column roles, date and number formats are detected as for DuckDB, on the
files' first rows read by DuckDB; the lines themselves are read and processed by Spark.

Not there yet (see docs/design.md): `--engine spark` on the command line, the model stage in
Spark, products and customers files, and inputs DuckDB rewrites first (cp1252, UTF-16,
whitespace-aligned columns).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from segmint.engines.spark_sql import to_spark
from segmint.errors import UsageError

SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",  # timestamps as written, as DuckDB reads them
    "spark.sql.ansi.enabled": "false",  # a failed cast is NULL, as TRY_CAST in DuckDB
    "spark.ui.showConsoleProgress": "false",
}


def local_session(master: str = "local[*]", conf: dict[str, str] | None = None) -> Any:
    """Return a Spark session (local by default) configured as the transpiled SQL needs."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName("segmint")
    for key, value in {**SESSION_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


class SparkResult:
    """The rows of one statement, fetched as DuckDB's relation methods would give them."""

    def __init__(self, frame: Any) -> None:
        self.frame = frame

    def fetchone(self) -> tuple | None:
        rows = self.frame.take(1)
        return tuple(rows[0]) if rows else None

    def fetchall(self) -> list[tuple]:
        return [tuple(row) for row in self.frame.collect()]

    def df(self) -> pd.DataFrame:
        return self.frame.toPandas()


class SparkConnection:
    """Run DuckDB-dialect statements on Spark; tables become cached temporary views."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def execute(self, sql: str) -> SparkResult:
        statement = to_spark(sql)
        frame = self.spark.sql(statement)
        if statement.startswith("CREATE OR REPLACE TEMPORARY VIEW"):
            self.spark.table(statement.split()[5]).cache()
        return SparkResult(frame)


def spark_features(
    spark: Any, sources: Sequence[str | Path], **settings: Any
) -> tuple[Any, pd.DataFrame]:
    """Return the cleaning outcome and the per-customer features of files, computed by Spark."""
    import duckdb

    from segmint.features.build import customer_features
    from segmint.features.clean import clean
    from segmint.io.inputs import open_lines
    from segmint.settings import Settings

    config = Settings.create(**settings)
    if config.products_file or config.customers_file:
        raise UsageError("the Spark engine does not read products or customers files yet")
    paths = [str(s) for s in sources]
    with tempfile.TemporaryDirectory(prefix="segmint-") as workdir, duckdb.connect() as con:
        lines = open_lines(con, paths, config, Path(workdir))
        frames = [_read(spark, source) for source in lines.sources]
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame, allowMissingColumns=True)
    union.createOrReplaceTempView(lines.relation)
    engine = SparkConnection(spark)
    cleaned = clean(engine, lines, config)
    customers = customer_features(
        engine, cleaned.as_of, lines.has("quantity"), lines.has("category")
    )
    return cleaned, customers


def _read(spark: Any, source: Any) -> Any:
    """Return a source's rows as a Spark DataFrame whose columns are all text."""
    from pyspark.sql import functions as F

    if source.kind == "parquet":
        frame = spark.read.parquet(source.name)
        return frame.select([F.col(c).cast("string").alias(c) for c in frame.columns])
    if source.kind != "csv" or source.name.endswith(".gz"):
        raise UsageError(f"{source.name}: the Spark engine reads plain CSV and Parquet files")
    reader = spark.read.option("header", True).option("inferSchema", False)
    reader = reader.option("sep", source.delimiter or ",").option("encoding", "UTF-8")
    frame = reader.csv(source.name)
    if tuple(frame.columns) != source.columns:
        raise UsageError(f"{source.name}: Spark reads other columns than DuckDB; not supported yet")
    return frame
