"""`segmint run --engine spark`: the whole run with every customer kept in Spark (issue 8).

The same stages and the same definitions as the DuckDB engine (`pipeline`):

- read: roles and formats are detected by DuckDB on the inputs' first rows; Spark reads
  the lines (CSV, Parquet, or a table of the session: `spark:TABLE`);
- clean and features: the DuckDB SQL of `features/`, transpiled (`SparkConnection`);
- model: the scaling over every customer in Spark; k chosen by `SegmentModel.fit` on a
  seeded sample collected to the driver (every customer when there are at most
  `sample_size`); Lloyd iterations over every customer in Spark from the sample's centres;
  labels, Davies-Bouldin and Calinski-Harabasz of the delivered labels in Spark;
- profile: traits, names and figures from SQL aggregates (`profile.aggregates`);
- outputs: the per-customer table written by Spark (Parquet and CSV folders of part
  files); summary.json, model.json and the rules from aggregates and the sample; the
  report's charts from the sample.

Only aggregates and the sample come back to the driver.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
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
from segmint.lifecycle.identity import check_previous, keep_identities, previous_model
from segmint.lifecycle.refresh import TOO_SHORT, refit_earlier, refresh_date, refresh_summary
from segmint.model.feature_sets import transform_of
from segmint.model.sampling import sample_order
from segmint.model.segment_model import SegmentModel, new_model, revenue_order
from segmint.model.selection import KScore
from segmint.profile import aggregates
from segmint.profile import summary as figures
from segmint.profile.attributes import (
    UNKNOWN,
    attribute_shares,
    categorical_columns,
    load_customers,
)
from segmint.profile.naming import name_segments
from segmint.profile.segments import describe_segments
from segmint.profile.traits import traits_from_moments
from segmint.rules.export import contact_columns, rule_text
from segmint.rules.tree import Rules, learn_rules
from segmint.sequence import STAGES
from segmint.settings import Settings
from segmint.summary import input_summary, run_summary, selection_summary

SPARK_PREFIX = "spark:"
# Rows of a Spark table that DuckDB reads to find its columns' roles and formats.
TABLE_HEAD_ROWS = 100_000
# Settings the Spark engine does not take (yet): a one-line error rather than a silent no-op.
UNSUPPORTED = {
    "memory_limit": "--memory-limit",
    "threads": "--threads",
}
Progress = Callable[[str], None]


@dataclass
class SparkSegmentation:
    """A Spark run: every customer's row as a Spark DataFrame, the rest on the driver."""

    customers: Any
    """Spark DataFrame: the per-customer table (never collected)."""
    sample: pd.DataFrame
    """The seeded sample k was chosen on, with its segment: the report's charts use it."""
    summary: dict
    model: SegmentModel
    model_json: dict
    rules: Rules
    contacts: pd.DataFrame | None = None
    """The --customers file's id and contact columns (email, phone), for the audiences."""

    def write(self, out_dir: str | Path) -> Path:
        """Write every output into out_dir, atomically (Spark writes the per-customer table)."""
        from segmint.engines.spark_output import write_spark_outputs

        return write_spark_outputs(self, Path(out_dir))


def segment_on_spark(
    spark: Any, source: Any | Sequence[Any], progress: Progress | None = None, **settings: Any
) -> SparkSegmentation:
    """Return the segmentation of a log computed on a Spark session (see the module's doc).

    spark: a session, or a function returning one (called once the inputs are known to be
    readable, so that a bad file fails fast, before Spark starts).
    """
    config = Settings.create(**settings)
    for name, option in UNSUPPORTED.items():
        if getattr(config, name):
            raise UsageError(f"{option}: not supported by the Spark engine yet")
    inputs = [str(s) for s in (source if isinstance(source, (list, tuple)) else [source])]
    if config.previous:
        check_previous(config.previous)  # before Spark starts
    with _spark_errors(inputs):
        return _run(spark, inputs, config, _Stages(progress))


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
        raise InputError(f"{', '.join(inputs)}: Spark cannot process it ({detail[:300]})") from None


def _run(spark: Any, inputs: list[str], config: Settings, stages: _Stages) -> SparkSegmentation:
    """Run the stages (see the module's doc)."""
    with (
        tempfile.TemporaryDirectory(prefix="segmint-") as workdir,
        duckdb.connect() as con,
        input_errors(inputs),
    ):
        with stages("read"):
            if callable(spark) and any(i.startswith(SPARK_PREFIX) for i in inputs):
                spark = spark()
            lines, spark = _open(spark, con, inputs, config, Path(workdir))
            # The customers file on the driver, as the DuckDB engine reads it (one row per id).
            attributes = (
                load_customers(con, config.customers_file, Path(workdir))
                if config.customers_file
                else None
            )
        engine = SparkConnection(spark)
        with stages("clean"):
            cleaned = clean(engine, lines, config)
    with stages("features"):
        query, dropped = customer_features_query(
            engine, cleaned.as_of, lines.has("quantity"), lines.has("category")
        )
        customers = _typed(spark.sql(to_spark(query)).drop(*dropped)).cache()
        customers.createOrReplaceTempView("customers")
        n = customers.count()
        earlier_as_of = refresh_date(cleaned.period_start, cleaned.as_of)
        earlier, earlier_n = None, None
        if earlier_as_of is not None:
            earlier, earlier_n = _earlier(engine, earlier_as_of, config, lines.has("category"))
    with stages("model"):
        model, sample = _fit(spark, engine, customers, n, config, stages.sub("model"))
        earlier_fit = refit_earlier(earlier, earlier_as_of, model, TOO_SHORT, earlier_n)
        segmented = _segmented(customers, model)
        previous = None
        if config.previous:  # ids and names kept from an earlier run (lifecycle.identity)
            old = previous_model(config.previous, model)
            fresh = name_segments(_traits(engine, segmented, model.k_))
            previous = keep_identities(model, old, fresh, config.previous)
            model.renumber(previous.new_ids, previous.names, sample)
            segmented.unpersist()
            segmented = _segmented(customers, model)
        sample.pop(REPEAT_VALUE)
    with stages("clv"):
        segmented, lifetime, segment_values = _lifetime_value(
            engine, segmented, model.k_, config, cleaned.as_of
        )
    with stages("profile"):
        segmented, segments, everyone = _profile(
            engine, segmented, model, lines.has("category"), keep_names=previous is not None
        )
        if previous is not None:
            previous.summary["moves"] = _moves_since(
                spark, config.previous, segmented, model.names_
            )
        for entry in segments:
            entry.update(segment_values[entry["id"]])
        if attributes is not None:
            described = _describe_attributes(spark, segmented, attributes, model.k_)
            for entry in segments:
                entry["attributes"] = described[entry["id"]]
    with stages("rules"):
        rules = learn_rules(sample, model.labels_, model.names_, model.features, config.seed,
                            config.rules_depth)  # fmt: skip
        for entry in segments:
            entry["rule_text"] = rule_text(rules.rules[entry["id"]])
            entry["rule_fidelity"] = rules.segment_fidelity[entry["id"]]
    summary = _summary(engine, config, lines, cleaned, model, segments, everyone, rules,
                       lifetime, stages.timings, inputs, len(sample),
                       previous.summary if previous is not None else None)  # fmt: skip
    summary["selection"]["refresh"] = refresh_summary(
        earlier_fit, sample, model.labels_, model.k_, config.min_stability
    )
    sample_table = sample.copy()
    sample_table.insert(1, "segment_id", model.labels_.astype("int64"))
    sample_table.insert(2, "segment_name", [model.names_[i] for i in model.labels_])
    model_json = model.to_json(
        as_of=cleaned.as_of.isoformat(), feature_set=config.feature_set, columns=lines.columns
    )
    contacts = None
    if attributes is not None:
        contacts = attributes[["customer_id", *contact_columns(attributes)]]
    return SparkSegmentation(segmented, sample_table, summary, model, model_json, rules, contacts)


class _Stages:
    """Announce each stage and time it, as the DuckDB engine's run does."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if self.progress:
            self.progress(STAGES[name])
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 4)

    def sub(self, name: str) -> Progress | None:
        if self.progress is None:
            return None
        return lambda step: self.progress(f"{STAGES[name]}: {step}")


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

    model.fit(sample, progress, scaling=scaling,
              score_everyone=score_everyone if len(sample) < n else None)  # fmt: skip
    if progress and len(sample) < n:
        progress(f"refining k = {model.k_} on all {n:,} customers (Spark)")
    centers = model.centers_
    if len(sample) < n:  # else the sample's fit already is K-means over every customer
        centers, _ = spark_model.lloyd(spark, "customers", scaled, centers)
    revenue = spark_model.revenue_by_segment(spark, "customers", scaled, centers)
    centers = centers[revenue_order(revenue)]
    final = spark_model.scores(spark, "customers", scaled, centers, min_share)
    model.centers_ = centers
    model.labels_ = model.predict(sample)  # the sample's segments, as Spark assigns them
    model.scores_ = model.with_final_score(final, model.labels_, model.scaled(sample))
    model.sampled_ = len(sample) < n
    return model, sample


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


def _traits(engine: SparkConnection, segmented: Any, k: int) -> list[dict]:
    """Return each segment's traits from Spark's aggregates over the `segmented` view."""
    base, moments = aggregates.moments(engine, "segmented", k, segmented.columns)
    return traits_from_moments(base, moments)


def _profile(
    engine: SparkConnection,
    segmented: Any,
    model: SegmentModel,
    has_category: bool,
    keep_names: bool = False,
) -> tuple[Any, list[dict], figures.Group]:
    """Name the segments from Spark's aggregates (unless keep_names); return the customers
    with their segment's name, the summary entries and everyone's Group."""
    from pyspark.sql import functions as F

    k = model.k_
    traits = _traits(engine, segmented, k)
    if not keep_names:
        model.names_ = name_segments(traits)
    names = F.array(*[F.lit(name) for name in model.names_])
    renamed = segmented.withColumn(
        "segment_name", F.element_at(names, (F.col("segment_id") + 1).cast("int"))
    )
    renamed.createOrReplaceTempView("segmented")
    everyone, groups = aggregates.groups(engine, "segmented", k)
    categories = segment_top_categories(engine, "segmented") if has_category else {}
    segments = describe_segments(model.names_, traits, groups, everyone, categories)
    return renamed, segments, everyone


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


def _summary(
    engine: SparkConnection,
    config: Settings,
    lines: Any,
    cleaned: Any,
    model: SegmentModel,
    segments: list[dict],
    everyone: figures.Group,
    rules: Rules,
    lifetime: Any,
    timings: dict[str, float],
    inputs: list[str],
    sample_size: int,
    previous: dict | None = None,
) -> dict:
    n = everyone.customers
    inputs_summary = input_summary(lines, cleaned, n, everyone.orders)
    inputs_summary["files"] = inputs
    stability = model.stability_by_segment()
    for entry in segments:
        entry["orders_per_year"] = figures.orders_per_year(
            entry["frequency_mean"], inputs_summary["period_days"]
        )
        entry["stability"] = None if stability is None else stability[entry["id"]]
    selection = selection_summary(model, config)
    selection["sample_size"] = sample_size
    selection["sampled"] = sample_size < n
    warnings = list(model.warnings_) + lifetime.warnings
    if sample_size < n:
        warnings.append(
            f"k was chosen, and the report's charts and the CRM rules drawn, on a seeded sample "
            f"of {sample_size:,} of the {n:,} customers; every customer's segment and the "
            "figures of summary.json are computed over all of them"
        )
    summary = run_summary(
        config,
        inputs_summary,
        totals=figures.totals_of(everyone),
        features=model.features,
        selection=selection,
        segments=segments,
        rfm_segments=figures.rfm_segments_of(
            aggregates.rfm_groups(engine, "segmented"), n, everyone.revenue
        ),
        revenue_concentration=figures.concentration_of(
            n, lambda m: aggregates.top_revenue(engine, "segmented", m), everyone.revenue
        ),
        clv=lifetime.summary,
        rules=rules,
        previous=previous,
        warnings=warnings,
        timings=timings,
    )
    summary["engine"] = {
        "name": "spark",
        "spark_version": engine.spark.version,
        "master": engine.spark.sparkContext.master,
        "sample_customers": sample_size,
        # Spark writes the per-customer table as folders of part files
        "customers_table": {"parquet": "segments.parquet/", "csv": "segments.csv/"},
    }
    return summary
