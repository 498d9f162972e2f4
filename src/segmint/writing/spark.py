"""Write a Spark run's outputs: the per-customer tables by Spark, the rest as the CLI does."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from segmint.clv.per_customer import audience_columns
from segmint.engines.spark import text_frame
from segmint.io.outputs import FORMULA_START, TEXT_COLUMNS, write_json, write_staged
from segmint.report.writer import write_report
from segmint.rules.export import audience_files, sql_expression

if TYPE_CHECKING:
    from segmint.result import SparkSegmentation


def write_spark_outputs(result: SparkSegmentation, out_dir: Path) -> Path:
    """Write every output of a Spark run into out_dir; a failure leaves out_dir as it was.

    segments.parquet/ and segments.csv/ are folders of part files written by Spark's
    executors, as is each audiences/<segment>.csv/; the report is drawn from the sample.
    """

    def fill(staging: Path) -> None:
        customers = result.customers
        customers.write.parquet(_uri(staging / "segments.parquet"))
        _csv(_spreadsheet_safe(customers), staging / "segments.csv")
        write_json(result.summary, staging / "summary.json")
        write_json(result.model_json, staging / "model.json")
        write_report(staging, result.summary, result.sample, result.model_json)
        write_json(result.rules.as_json(), staging / "rules.json")
        (staging / "rules.sql").write_text(sql_expression(result.rules), encoding="utf-8")
        (staging / "audiences").mkdir()
        marketing = audience_columns(result.summary.get("clv") or {})
        audience = customers.select("customer_id", "segment_id", *marketing)
        contacts = result.contacts
        if contacts is not None and len(contacts.columns) > 1:  # as write_audiences joins them
            table = text_frame(customers.sparkSession, contacts)
            joined = audience.join(table, "customer_id", "left")
            contact_columns = [f"`{c}`" for c in contacts.columns if c != "customer_id"]
            # the contacts before the CLV columns, as write_audiences orders them
            audience = joined.select("customer_id", "segment_id", *contact_columns, *marketing)
        for segment, file_name in enumerate(audience_files(result.rules.names)):
            inside = audience.filter(audience.segment_id == segment).drop("segment_id")
            _csv(_spreadsheet_safe(inside), staging / "audiences" / file_name)

    return write_staged(out_dir, fill)


def _uri(path: Path) -> str:
    return path.absolute().as_uri()


def _csv(frame: Any, path: Path) -> None:
    frame.write.option("header", True).option("escape", '"').csv(_uri(path))


def _spreadsheet_safe(frame: Any) -> Any:
    """Return frame with text cells a spreadsheet would run as formulas prefixed with '."""
    from pyspark.sql import functions as F

    columns = []
    for name in frame.columns:
        if name in TEXT_COLUMNS:
            risky = None
            for start in FORMULA_START:
                test = F.col(name).startswith(start)
                risky = test if risky is None else risky | test
            columns.append(
                F.when(risky, F.concat(F.lit("'"), F.col(name))).otherwise(F.col(name)).alias(name)
            )
        else:
            columns.append(F.col(name))
    return frame.select(columns)
