"""The Spark engine's summary.json meets the published schema
(docs/reference/summary.schema.json), its `engine` block included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from helpers import SHARED_DATA
from segmint.pipeline import segment_on_spark
from segmint.strict_json import dumps

pytestmark = [pytest.mark.spark, pytest.mark.shared_data]

PUBLISHED = Path(__file__).resolve().parents[2] / "docs" / "reference" / "summary.schema.json"


def test_a_spark_runs_summary_meets_the_schema(spark):
    run = segment_on_spark(spark, SHARED_DATA / "cdnow_sample.csv", k=3, n_init=2)
    summary = json.loads(dumps(run.summary))  # as write_json writes it
    assert summary["engine"]["name"] == "spark"
    validator = Draft202012Validator(json.loads(PUBLISHED.read_text(encoding="utf-8")))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(summary)]
    assert not errors, errors[:5]
    bad = {**summary, "engine": {**summary["engine"], "cores": 2}}
    assert not validator.is_valid(bad)
