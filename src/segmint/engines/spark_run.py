"""The Spark engine (`--engine spark`): every customer kept in Spark (issue 8).

The stages and definitions are the DuckDB engine's (`segmint.sequence` runs both); what
this engine does differently:

- read: roles and formats are detected by DuckDB on the inputs' first rows; Spark reads
  the lines (CSV, Parquet, or a table of the session: `spark:TABLE`);
- clean and features: the DuckDB SQL of `features/`, transpiled (`SparkConnection`);
- model: the scaling over every customer in Spark; k chosen by `SegmentModel.fit` on a
  seeded sample collected to the driver (every customer when there are at most
  `sample_size`); Lloyd iterations over every customer in Spark from the sample's centres;
  labels, Davies-Bouldin and Calinski-Harabasz of the delivered labels in Spark;
- profile and summary: SQL aggregates (`measures.sql`) over the `segmented` view;
- CLV: the models fitted on distinct weighted rows grouped by Spark, every customer scored
  by Spark's executors;
- outputs: the per-customer table written by Spark (Parquet and CSV folders of part
  files); summary.json, model.json and the rules from aggregates and the sample; the
  report's charts from the sample.

Only aggregates and the sample come back to the driver.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from segmint.clv._inputs import distinct_rows, distinct_values
from segmint.clv.intervals import orders_gradient, weighted_group_intervals
from segmint.clv.per_customer import (
    DAYS_PER_WEEK,
    DEGENERATE,
    LIKELY_LOST_BELOW,
    MODEL_TITLES,
    Fitted,
    LifetimeValue,
    ModelInputs,
    absent,
    column_names,
    customer_values,
    describe_fit,
    fit_models,
    why_not,
)
from segmint.db import one_row
from segmint.engines import spark_model
from segmint.engines.spark import SparkConnection, read_source, text_frame
from segmint.engines.spark_sql import to_spark
from segmint.errors import InputError, UsageError
from segmint.features.build import (
    INTEGER_COLUMNS,
    REPEAT_VALUE,
    customer_features_query,
    earlier_features_query,
    segment_top_categories,
    tidy_types,
)
from segmint.features.clean import clean
from segmint.io.connection import input_errors
from segmint.io.inputs import open_lines
from segmint.lifecycle.compare import key_moves, matrix_of_pairs, segment_names
from segmint.measures import sql as aggregates
from segmint.measures.attributes import (
    UNKNOWN,
    attribute_shares,
    categorical_columns,
    load_customers,
)
from segmint.measures.groups import Group
from segmint.model.feature_sets import transform_of
from segmint.model.sampling import sample_order
from segmint.model.segment_model import SegmentModel, new_model, revenue_order
from segmint.model.selection import KScore
from segmint.result import SparkSegmentation
from segmint.rules.tree import Rules
from segmint.settings import Settings

SPARK_PREFIX = "spark:"
# Rows of a Spark table that DuckDB reads to find its columns' roles and formats.
TABLE_HEAD_ROWS = 100_000
# Settings the Spark engine does not take (yet): a one-line error rather than a silent no-op.
UNSUPPORTED = {
    "memory_limit": "--memory-limit",
    "threads": "--threads",
}
Progress = Callable[[str], None]


@contextmanager
def _spark_errors(inputs: list[str]) -> Iterator[None]:
    """Turn Spark's failures on the data (a malformed or unreadable file met while running)
    into an InputError; an AnalysisException means the SQL is wrong, a bug (traceback)."""
    try:
        from pyspark.errors import AnalysisException, PySparkException
    except ImportError:  # pragma: no cover - the spark extra installs it
        yield
        return
    try:
        yield
    except AnalysisException:
        raise
    except PySparkException as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        names = ", ".join(inputs)
        raise InputError(f"{names}: Spark cannot process it ({detail[:300]})", file=names) from None


class SparkEngine:
    """One run on a Spark session: every customer in Spark (the `customers` and `segmented`
    views), the seeded sample on the driver (see the module's doc and `engines.base.Engine`).

    DuckDB, on the driver, detects the inputs' roles and formats from their first rows and
    reads the --customers file, as the DuckDB engine does.
    """

    def __init__(self, spark: Any, inputs: list[str], config: Settings) -> None:
        self.spark = spark  # a session, or a function starting one (see segment_on_spark)
        self.input_names = list(inputs)
        self.config = config
        self.earlier: pd.DataFrame | None = None
        self.earlier_customers: int | None = None

    # resources and errors ---------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[None]:
        with tempfile.TemporaryDirectory(prefix="segmint-") as workdir, duckdb.connect() as con:
            self.workdir, self.con = Path(workdir), con
            yield

    @contextmanager
    def reading(self, inputs: Sequence[Any]) -> Iterator[None]:
        """DuckDB's errors (detection) and Spark's (reading, cleaning, the cached features)
        about the data become InputError; Spark reads lazily, and the features stage
        materialises every customer, so a later Spark error is a bug."""
        with input_errors(list(inputs)), _spark_errors(self.input_names):
            yield

    def watching(self, progress: Progress | None) -> Any:
        return nullcontext()

    # read → clean → features ------------------------------------------------------------

    def read(self, inputs: Sequence[Any], config: Settings, whole_encoding: bool) -> Any:
        spark = self.spark
        if callable(spark) and any(i.startswith(SPARK_PREFIX) for i in self.input_names):
            spark = spark()
        lines, self.spark = _open(spark, self.con, self.input_names, config, self.workdir)
        self.engine = SparkConnection(self.spark)
        return lines

    def read_again(self, error: Exception) -> bool:
        return False  # Spark reads the lines as DuckDB detected them; no second attempt

    def clean(self, lines: Any, config: Settings) -> Any:
        return clean(self.engine, lines, config)

    def features(
        self, cleaned: Any, lines: Any, config: Settings, earlier_as_of: dt.date | None
    ) -> None:
        query, dropped = customer_features_query(
            self.engine, cleaned.as_of, lines.has("quantity"), lines.has("category")
        )
        customers = _typed(self.spark.sql(to_spark(query)).drop(*dropped)).cache()
        customers.createOrReplaceTempView("customers")
        self.customers, self.n = customers, customers.count()
        if earlier_as_of is not None:
            self.earlier, self.earlier_customers = _earlier(
                self.engine, earlier_as_of, config, lines.has("category")
            )

    def load_customers(self, path: str | None) -> pd.DataFrame | None:
        """The customers file on the driver (one row per id), read by DuckDB on both engines."""
        return load_customers(self.con, path, self.workdir) if path else None

    # model ------------------------------------------------------------------------------

    def fit(self, config: Settings, progress: Progress | None) -> SegmentModel:
        model, sample = _fit(self.spark, self.engine, self.customers, self.n, config, progress)
        sample.pop(REPEAT_VALUE)
        self.sample = sample
        self.segmented = _segmented(self.customers, model)
        return model

    def assign(self, model: SegmentModel) -> None:
        raise UsageError("score: not supported by the Spark engine yet")

    def label(self, model: SegmentModel) -> None:
        self.segmented.unpersist()
        self.segmented = _segmented(self.customers, model)

    def name(self, model: SegmentModel) -> None:
        from pyspark.sql import functions as F

        names = F.array(*[F.lit(name) for name in model.names_])
        renamed = self.segmented.withColumn(
            "segment_name", F.element_at(names, (F.col("segment_id") + 1).cast("int"))
        )
        renamed.createOrReplaceTempView("segmented")
        self.segmented = renamed

    # aggregates -------------------------------------------------------------------------

    def moments(self, model: SegmentModel) -> tuple[dict, list[dict]]:
        return aggregates.moments(self.engine, "segmented", model.k_, self.segmented.columns)

    def groups(self, model: SegmentModel) -> tuple[Group, list[Group]]:
        return aggregates.groups(self.engine, "segmented", model.k_)

    def top_categories(self, model: SegmentModel) -> dict[int, list[str]]:
        return segment_top_categories(self.engine, "segmented")

    def attribute_shares(
        self, model: SegmentModel, attributes: pd.DataFrame
    ) -> list[dict[str, dict[str, float]]]:
        return _describe_attributes(self.spark, self.segmented, attributes, model.k_)

    def rfm_groups(self) -> dict[str, tuple[int, float]]:
        return aggregates.rfm_groups(self.engine, "segmented")

    def top_revenue(self, n: int) -> float:
        return aggregates.top_revenue(self.engine, "segmented", n)

    def moves_since(self, folder: str, model: SegmentModel) -> list[str]:
        return _moves_since(self.spark, folder, self.segmented, model.names_)

    @contextmanager
    def lifetime_value_meanwhile(
        self, config: Settings, as_of: dt.date
    ) -> Iterator[Callable[[SegmentModel], tuple[LifetimeValue, list[dict]]]]:
        """Yield a function computing the lifetime values in Spark when asked for."""

        def lifetime(model: SegmentModel) -> tuple[LifetimeValue, list[dict]]:
            self.segmented, value, per_segment = _lifetime_value(
                self.engine, self.segmented, model.k_, config, as_of
            )
            return value, per_segment

        yield lifetime

    # summary and result -----------------------------------------------------------------

    def warnings(self, model: SegmentModel) -> list[str]:
        size, n = len(self.sample), self.n
        if size >= n:
            return []
        return [
            f"k was chosen, and the report's charts and the CRM rules drawn, on a seeded sample "
            f"of {size:,} of the {n:,} customers; every customer's segment and the "
            "figures of summary.json are computed over all of them"
        ]

    def summary_block(self) -> dict:
        return {
            "name": "spark",
            "spark_version": self.spark.version,
            "master": self.spark.sparkContext.master,
            "sample_customers": len(self.sample),
            # Spark writes the per-customer table as folders of part files
            "customers_table": {"parquet": "segments.parquet/", "csv": "segments.csv/"},
        }

    def result(
        self,
        summary: dict,
        model: SegmentModel,
        model_json: dict,
        rules: Rules,
        contacts: pd.DataFrame | None,
        lifetime: LifetimeValue,
    ) -> SparkSegmentation:
        sample_table = self.sample.copy()
        sample_table.insert(1, "segment_id", model.labels_.astype("int64"))
        sample_table.insert(2, "segment_name", [model.names_[i] for i in model.labels_])
        return SparkSegmentation(
            self.segmented, sample_table, summary, model, model_json, rules, contacts
        )


def _open(
    spark: Any, con: Any, inputs: list[str], config: Settings, workdir: Path
) -> tuple[Any, Any]:
    """Return the inputs' Lines (detected by DuckDB) with `raw_lines` a view of Spark's rows,
    and the session (started here when `spark` is a function)."""
    detect: list[Any] = []
    for item in inputs:
        if item.startswith(SPARK_PREFIX):
            detect.append(_table(spark, item).limit(TABLE_HEAD_ROWS).toPandas())
        else:
            detect.append(item)
    lines = open_lines(con, detect, config, workdir)
    if callable(spark):
        spark = spark()
    frames = []
    for i, (item, source) in enumerate(zip(inputs, lines.sources, strict=True)):
        if item.startswith(SPARK_PREFIX):
            frames.append(_table(spark, item))
            lines.sources[i] = replace(source, name=item)
        else:
            frames.append(read_source(spark, source))
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame, allowMissingColumns=True)
    union.createOrReplaceTempView("raw_lines")
    if lines.products is not None:  # --products: the same join as DuckDB's, on Spark's views
        read_source(spark, lines.products).createOrReplaceTempView(lines.products.view)
    for statement in lines.statements:
        spark.sql(to_spark(statement))  # views of the lines: not cached (read once)
    return lines, spark


def _table(spark: Any, spec: str) -> Any:
    """Return a table of the session (spark:TABLE) with every column as text."""
    from pyspark.sql import functions as F

    name = spec[len(SPARK_PREFIX) :]
    if not name:
        raise InputError(f"{spec}: name a table after 'spark:'")
    if not spark.catalog.tableExists(name):
        raise InputError(f"{spec}: no such table in the Spark session")
    frame = spark.table(name)
    return frame.select([F.col(f"`{c}`").cast("string").alias(c) for c in frame.columns])


def _typed(frame: Any) -> Any:
    """Return the customers with the DuckDB engine's types (int64 counts, double measures)."""
    from pyspark.sql import functions as F

    integers = set(INTEGER_COLUMNS)
    columns = []
    for name, kind in frame.dtypes:
        if name in ("customer_id", "rfm_segment"):
            columns.append(F.col(name).cast("string"))
        elif name in integers:
            columns.append(F.col(name).cast("bigint"))
        elif kind != "string":
            columns.append(F.col(name).cast("double"))
        else:
            columns.append(F.col(name))
    return frame.select(columns)


def _fit(
    spark: Any, engine: SparkConnection, customers: Any, n: int, config: Settings, progress: Any
) -> tuple[SegmentModel, pd.DataFrame]:
    """Return the model (k chosen on the sample, centres refined on everyone) and the sample."""
    model = new_model(config, customers.columns)
    features = model.features
    transforms = [transform_of(f, config.transform) for f in features]
    scaling = spark_model.scaling(spark, "customers", features, transforms)
    scaled = spark_model.scaled_columns(features, transforms, scaling.mean, scaling.scale)
    sample = _sample(engine, n, config)
    min_share = model.min_share(n)

    def score_everyone(centers: np.ndarray) -> KScore:
        return spark_model.scores(spark, "customers", scaled, centers, min_share)

    model.fit_sample(sample, scaling, score_everyone if len(sample) < n else None, progress)
    if progress and len(sample) < n:
        progress(f"refining k = {model.k_} on all {n:,} customers (Spark)")
    centers = model.centers_
    if len(sample) < n:  # else the sample's fit already is K-means over every customer
        centers, _ = spark_model.lloyd(spark, "customers", scaled, centers)
    revenue = spark_model.revenue_by_segment(spark, "customers", scaled, centers)
    centers = centers[revenue_order(revenue)]
    final = spark_model.scores(spark, "customers", scaled, centers, min_share)
    return model.refined(centers, final, sample, n), sample


def _earlier(
    engine: SparkConnection, as_of: dt.date, config: Settings, has_category: bool
) -> tuple[pd.DataFrame, int]:
    """Return the customers' features as of the refresh test's earlier date (on the driver,
    the seeded sample of them, as a run on that date would have drawn it) and their number."""
    query = earlier_features_query(engine, as_of, has_category and config.feature_set == "full")
    engine.execute(f"CREATE OR REPLACE TEMP TABLE earlier_customers AS {query}")
    ((n,),) = engine.execute("SELECT count(*) FROM earlier_customers").fetchall()
    frame = engine.execute(
        f"SELECT * FROM earlier_customers "
        f"ORDER BY {sample_order(config.seed)} LIMIT {int(config.sample_size)}"
    ).df()
    frame["customer_id"] = frame["customer_id"].astype(object)
    return frame.sort_values("customer_id", kind="stable").reset_index(drop=True), int(n)


def _sample(engine: SparkConnection, n: int, config: Settings) -> pd.DataFrame:
    """Return the seeded sample of customers k is chosen on (`model.sampling`): everyone
    when there are at most sample_size."""
    query = "SELECT * FROM customers"
    if n > config.sample_size:
        query += f" ORDER BY {sample_order(config.seed)} LIMIT {int(config.sample_size)}"
    frame = engine.execute(query).df()
    return tidy_types(frame.sort_values("customer_id", kind="stable"))


def _segmented(customers: Any, model: SegmentModel) -> Any:
    """Return every customer with segment_id and segment_name (first columns after the id)."""
    from pyspark.sql import functions as F

    scaled = spark_model.scaled_columns(model.features, model.transforms_, model.mean_,
                                        model.scale_)  # fmt: skip
    label = spark_model.label_sql(scaled, model.centers_)
    frame = customers.withColumn("segment_id", F.expr(label).cast("bigint"))
    names = F.array(*[F.lit(name) for name in model.names_])
    frame = frame.withColumn(
        "segment_name", F.element_at(names, (F.col("segment_id") + 1).cast("int"))
    )
    rest = [c for c in customers.columns if c != "customer_id"]
    frame = frame.select("customer_id", "segment_id", "segment_name", *rest).cache()
    frame.createOrReplaceTempView("segmented")
    return frame


def _moves_since(spark: Any, folder: str, segmented: Any, names: list[str]) -> list[str]:
    """Return the key moves from an earlier run's folder (its segments.parquet, a file or
    Spark's folder of parts) to this run's customers, joined and counted by Spark."""
    from pyspark.sql import functions as F

    earlier = Path(folder)
    old_names = segment_names(json.loads((earlier / "summary.json").read_text(encoding="utf-8")))
    old = spark.read.parquet((earlier / "segments.parquet").absolute().as_uri())
    old = old.select("customer_id", F.col("segment_name").alias("segment_name_old"))
    new = segmented.select("customer_id", F.col("segment_name").alias("segment_name_new"))
    pairs = (
        old.join(new, "customer_id", "full_outer")
        .groupBy("segment_name_old", "segment_name_new").count()
        .toPandas().rename(columns={"count": "n"})
    )  # fmt: skip
    return key_moves(matrix_of_pairs(pairs, old_names, names))


def _describe_attributes(
    spark: Any, segmented: Any, attributes: pd.DataFrame, k: int
) -> list[dict[str, dict[str, float]]]:
    """Return, per segment, each categorical column of the customers file → {value: share},
    counted by Spark over every customer (shaped as the DuckDB engine's)."""
    from pyspark.sql import functions as F

    columns = categorical_columns(attributes)
    if not columns:
        return [{} for _ in range(k)]
    table = text_frame(spark, attributes[["customer_id", *columns]])
    joined = segmented.select("customer_id", "segment_id").join(table, "customer_id", "left")
    stacked = None
    for column in columns:
        counted = (
            joined.select("segment_id", F.coalesce(F.col(f"`{column}`"), F.lit(UNKNOWN)).alias("value"))
            .groupBy("segment_id", "value").count()
            .withColumn("column", F.lit(column))
        )  # fmt: skip
        stacked = counted if stacked is None else stacked.unionByName(counted)
    counts = stacked.toPandas().rename(columns={"count": "n"})
    return attribute_shares(counts, columns, k)


def _lifetime_value(
    engine: SparkConnection, segmented: Any, k: int, config: Settings, as_of: dt.date
) -> tuple[Any, LifetimeValue, list[dict]]:
    """Return the customers with their CLV columns, the run's LifetimeValue and each segment's
    CLV figures. The models are fitted on every customer, collapsed by Spark into distinct
    weighted rows; every customer is scored by Spark's executors with the same functions as
    the DuckDB engine."""
    nothing: list[dict] = [{} for _ in range(k)]
    history = "frequency - 1, tenure_days - recency_days, tenure_days"
    orders = engine.execute(
        f"SELECT {history}, count(*) FROM segmented GROUP BY {history} ORDER BY {history}"
    ).df()
    x, t_x, T, n = (orders[c].to_numpy(dtype=np.float64) for c in orders.columns)
    repeat = int(n[x > 0].sum())
    reason = why_not(repeat, config.clv)
    models: Fitted | str = (
        reason if reason is not None else _fit_everyone(engine, x, t_x, T, n, config)
    )
    if isinstance(models, str):
        return segmented.drop(REPEAT_VALUE), absent(models), nothing
    horizon, rate = config.clv_horizon_days, config.discount_rate
    names = column_names(horizon)
    intervals, why_none = _intervals(engine, models, k, horizon, rate)
    scored = _scored(segmented, models, horizon, rate, as_of).cache()
    scored.createOrReplaceTempView("segmented")
    finite = [
        f"{names[c]} BETWEEN -1e300 AND 1e300" for c in ("p_alive", "p_no_order", "expected_orders")
    ]
    nulls = " OR ".join(f"{names[c]} IS NULL" for c in ("p_alive", "p_no_order", "expected_orders"))
    bad, blank = one_row(
        engine.execute(
            f"SELECT count(CASE WHEN NOT ({' AND '.join(finite)}) OR {nulls} THEN 1 END), "
            f"count(CASE WHEN NOT ({names['expected_aov']} BETWEEN -1e300 AND 1e300) "
            f"OR {names['expected_aov']} IS NULL THEN 1 END) FROM segmented"
        )
    )
    if bad:
        scored.unpersist()
        return (
            segmented.drop(REPEAT_VALUE),
            absent(DEGENERATE.format(title=MODEL_TITLES[models.orders.name])),
            nothing,
        )
    segmented.unpersist()  # the scored table, now materialised, holds everything it had
    totals, per_segment = aggregates.clv_figures(
        engine, "segmented", k, names["p_alive"], names["p_no_order"], names["clv"],
        LIKELY_LOST_BELOW,
    )  # fmt: skip
    totals["clv_total_interval"] = intervals[k]
    for entry, interval in zip(per_segment, intervals[:k], strict=True):
        entry["clv_total_interval"] = interval
    summary, warnings = describe_fit(models, repeat, horizon, rate, totals, bool(blank))
    summary["interval"]["reason"] = why_none
    return scored, LifetimeValue(pd.DataFrame(), summary, warnings), per_segment


def _fit_everyone(
    engine: SparkConnection,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    n: np.ndarray,
    config: Settings,
) -> Fitted | str:
    """Return the models fitted on every customer: the order model on the distinct (x, t_x,
    T) rows, Gamma-Gamma on the distinct (x, repeat value) rows, each weighted by its count."""
    value = engine.execute(
        f"SELECT frequency - 1, {REPEAT_VALUE}, count(*) FROM segmented WHERE frequency > 1 "
        f"GROUP BY frequency - 1, {REPEAT_VALUE} ORDER BY 1, 2"
    ).df()
    repeats, repeat_value, count = (value[c].to_numpy(dtype=np.float64) for c in value.columns)
    # m_x as ModelInputs.of computes it; rows that divide to the same m_x merge, as on DuckDB.
    once = distinct_values(np.repeat(repeats, count.astype(np.int64)),
                           np.repeat(repeat_value / repeats, count.astype(np.int64)))  # fmt: skip
    weeks = distinct_rows(x, t_x / DAYS_PER_WEEK, T / DAYS_PER_WEEK, n)
    return fit_models(config.clv_model, weeks, once)


def _scored(
    segmented: Any, models: Fitted, horizon: int, rate: float | None, as_of: dt.date
) -> Any:
    """Return the customers with the CLV columns, computed per partition by mapInPandas."""
    from pyspark.sql.types import DateType, DoubleType, StructField, StructType

    names = column_names(horizon)

    def score(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for frame in frames:
            inputs = ModelInputs.of(frame, frame[REPEAT_VALUE].to_numpy())
            values = customer_values(models, inputs, horizon, rate, as_of)
            values[names["next_order_by"]] = values[names["next_order_by"]].astype(object)
            yield pd.concat([frame.reset_index(drop=True), values], axis=1)

    fields = [
        StructField(c, DateType() if role == "next_order_by" else DoubleType())
        for role, c in names.items()
    ]
    schema = StructType(list(segmented.schema.fields) + fields)
    return segmented.mapInPandas(score, schema).drop(REPEAT_VALUE)


def _intervals(
    engine: SparkConnection, models: Fitted, k: int, horizon: int, rate: float | None
) -> tuple[list[list[float] | None], str | None]:
    """Return the 90% intervals of each segment's total CLV and (last) of everyone's, from
    the customers grouped by segment and history (segmint.clv.intervals)."""
    history = "frequency - 1, tenure_days - recency_days, tenure_days"
    spend = f"CASE WHEN frequency > 1 AND {REPEAT_VALUE} > 0 THEN {REPEAT_VALUE} ELSE 0 END"
    groups = engine.execute(
        f"SELECT segment_id, {history}, count(*), sum({spend}) FROM segmented "
        f"GROUP BY segment_id, {history} ORDER BY 1, 2, 3, 4"
    ).df()
    segment, x, t_x, T, count, spent = (
        groups[c].to_numpy(dtype=np.float64) for c in groups.columns
    )
    x, weeks, T = x.astype(float), t_x / DAYS_PER_WEEK, T / DAYS_PER_WEEK
    horizon_weeks = horizon / DAYS_PER_WEEK
    rows = distinct_rows(x, weeks, T)
    orders = models.orders.expected_orders(horizon_weeks, rows.x, rows.t_x, rows.T)
    gradient = orders_gradient(models.orders, rows, horizon_weeks, orders)
    labels = segment.astype(np.int64)
    args = (models, horizon_weeks, rate, orders[rows.inverse],
            None if gradient is None else gradient[rows.inverse], x, count.astype(float),
            spent.astype(float))  # fmt: skip
    per_segment, reason = weighted_group_intervals(*args, labels, k)
    everyone, _ = weighted_group_intervals(*args, np.zeros(len(labels), dtype=np.int64), 1)
    return [*per_segment, everyone[0]], reason
