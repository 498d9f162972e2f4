"""The Spark session and the connection that runs Segmint's DuckDB SQL on it (issue 8).

`SparkConnection` offers the small part of DuckDB's connection API that `features.clean`,
`features.build` and `measures.sql` use (execute, then fetchall or df), and
runs every statement through `spark_sql.to_spark`. So the cleaning rules and feature
definitions exist once, in the DuckDB SQL, and Spark runs their transpilation.
`engines.spark_run.SparkEngine` is the engine a run (`segmint.sequence`) uses.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
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


def local_session(master: str | None = "local[*]", conf: dict[str, str] | None = None) -> Any:
    """Return a Spark session configured as the transpiled SQL needs.

    master None: the master spark-submit was given when Segmint runs under it (its JVM is
    already up), else local[*].
    """
    from pyspark.sql import SparkSession

    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = "local[*]"
    builder = SparkSession.builder.appName("segmint")
    if master is not None:
        builder = builder.master(master)
    settings = dict(SESSION_CONF)
    if master is not None and master.startswith("local"):
        # The executors' Python workers run the CLV scoring with segmint's own functions:
        # locally, the interpreter that runs segmint (on a cluster, see the README).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # Spark's default of 200 shuffle partitions makes every aggregation of a local run
        # 200 tiny tasks; a few per core keeps the cores busy without that overhead.
        settings["spark.sql.shuffle.partitions"] = str(2 * (os.cpu_count() or 1))
    for key, value in {**settings, **(conf or {})}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def start_session(master: str | None = None, conf: dict[str, str] | None = None) -> Any:
    """Return a Spark session for a run, or raise UsageError saying what is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise UsageError(
            "--engine spark needs the spark extra: pip install 'segmint[spark]' "
            "(and a Java 17 runtime)"
        ) from None
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    # The JVM and its Python workers write their logs to stderr: started with stderr
    # pointing at a log file, they keep writing there, and the CLI's stderr stays for
    # Segmint's own progress and its one-line errors.
    log = Path(tempfile.gettempdir()) / f"segmint-spark-{os.getpid()}.log"
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(log, "ab") as sink:
            os.dup2(sink.fileno(), 2)
            session = local_session(master, conf)
    except Exception as exc:  # the JVM did not start: no Java, a bad master URL or setting
        detail = " ".join(str(exc).split())[:300]
        raise UsageError(f"--engine spark: Spark did not start ({detail}); see {log}") from None
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkResult:
    """The rows of one statement, fetched as DuckDB's relation methods would give them."""

    def __init__(self, frame: Any) -> None:
        self.frame = frame

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


# Encodings of delimited files (io.text.detect_encoding) that Spark's CSV reader takes as they
# are (Spark 4 has no windows-1252; UTF-16 needs options DuckDB's copy does not).
SPARK_CHARSETS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8"}


def read_source(spark: Any, source: Any) -> Any:
    """Return a source's rows as a Spark DataFrame whose columns are all text."""
    from pyspark.sql import functions as F

    if source.kind == "parquet":
        frame = spark.read.parquet(source.name)
        return frame.select([F.col(f"`{c}`").cast("string").alias(c) for c in frame.columns])
    if source.kind != "csv":
        raise UsageError(
            f"{source.name}: the Spark engine reads CSV/TSV (optionally .gz), Parquet and "
            "spark:TABLE inputs; save this one as CSV or Parquet"
        )
    charset = SPARK_CHARSETS.get(source.encoding)
    if charset is None or source.whitespace_aligned:
        kind = "whitespace-aligned" if source.whitespace_aligned else source.encoding.upper()
        raise UsageError(
            f"{source.name}: the Spark engine reads delimited text in UTF-8, and this file is "
            f"{kind}: save it as a UTF-8 CSV"
        )
    reader = spark.read.option("header", True).option("inferSchema", False)
    reader = reader.option("sep", source.delimiter or ",").option("encoding", charset)
    # A line with another number of fields than the header stops the run, as with DuckDB
    # (Spark's default would pad it with nulls).
    reader = reader.option("mode", "FAILFAST")
    frame = reader.csv(source.name)
    columns = [c.lstrip("\ufeff") for c in frame.columns]  # a UTF-8 byte-order mark
    if tuple(columns) != source.columns:
        raise UsageError(
            f"{source.name}: Spark reads other columns than DuckDB ({', '.join(columns[:5])}); "
            "save it as a plain UTF-8 CSV"
        )
    return frame.toDF(*columns)


def text_frame(spark: Any, frame: pd.DataFrame) -> Any:
    """Return a pandas frame of text (None for missing) as a Spark DataFrame of strings; an
    all-missing column keeps its string type (Spark cannot infer one from nothing)."""
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType([StructField(str(c), StringType()) for c in frame.columns])
    rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    return spark.createDataFrame(list(rows), schema=schema)
