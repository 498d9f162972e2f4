"""summary.json's JSON Schema (docs/reference/summary.schema.json): generated from the types
of `segmint.summary_types`, published, and met by the summaries of real runs
(docs/reference/outputs.md#summary-json)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, get_args

import pytest
from jsonschema import Draft202012Validator

from helpers import SHARED_DATA, write_csv
from segmint import segment
from segmint.clv.per_customer import MODEL_TITLES
from segmint.features.clean import DROP_REASONS
from segmint.model.defaults import SELECTION_METRICS
from segmint.pipeline import score
from segmint.settings import FEATURE_SETS
from segmint.strict_json import json_ready
from segmint.summary_types import (
    FeatureSet,
    Level,
    Metric,
    OrderModelName,
    RowsDropped,
    Segment,
    Summary,
    schema_text,
    summary_schema,
)

PUBLISHED = Path(__file__).resolve().parents[1] / "docs" / "reference" / "summary.schema.json"
RETAIL = SHARED_DATA / "online_retail_sample.csv"
CDNOW = SHARED_DATA / "cdnow_sample.csv"
ZEOTAP = SHARED_DATA / "zeotap"
QUICK = {"n_init": 2}


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(PUBLISHED.read_text(encoding="utf-8")))


# The published schema ------------------------------------------------------------------------


def test_the_published_schema_is_the_one_the_types_give():
    assert PUBLISHED.read_text(encoding="utf-8") == schema_text(), (
        "docs/reference/summary.schema.json is not the schema of segmint.summary_types: "
        "write it again with `python -m segmint.summary_types > "
        "docs/reference/summary.schema.json`"
    )


def test_the_schema_is_a_valid_2020_12_schema_with_every_object_closed():
    schema = summary_schema()
    Draft202012Validator.check_schema(schema)
    objects = [schema, *schema["$defs"].values()]
    assert all(o["additionalProperties"] is False for o in objects)
    # the optional keys are exactly the NotRequired ones
    assert set(schema["properties"]) - set(schema["required"]) == Summary.__optional_keys__
    segment_def = schema["$defs"]["Segment"]
    assert set(segment_def["properties"]) - set(segment_def["required"]) == (
        Segment.__optional_keys__
    )


def test_the_generator_maps_each_type():
    defs = summary_schema()["$defs"]
    totals = defs["Totals"]["properties"]
    assert totals["revenue"] == {"type": "number"}
    assert totals["orders"] == {"type": "integer"}
    scores = defs["KScore"]["properties"]
    assert scores["silhouette"] == {"type": ["number", "null"]}
    assert scores["eligible"] == {"type": "boolean"}
    assert scores["undefined"] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert defs["Clv"]["properties"]["enabled"] == {"const": True}
    assert defs["Segment"]["properties"]["clv_total_interval"] == {
        "anyOf": [
            {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
            {"type": "null"},
        ]
    }
    assert defs["Segment"]["properties"]["stability"] == {
        "anyOf": [{"$ref": "#/$defs/SegmentStability"}, {"type": "null"}]
    }


def test_the_types_name_what_the_code_allows():
    assert get_args(FeatureSet) == FEATURE_SETS
    assert get_args(Metric) == SELECTION_METRICS
    assert get_args(OrderModelName) == tuple(MODEL_TITLES)
    assert tuple(RowsDropped.__annotations__) == DROP_REASONS
    assert set(get_args(Level)) == {"high", "mid", "low"}


# Real runs -----------------------------------------------------------------------------------


def _tiny_log(path: Path, customers: int, days: int, start: str) -> Path:
    """A small log: customer i orders (i % 4) + 1 times, spread over `days` days."""
    import datetime as dt

    first = dt.date.fromisoformat(start)
    rows = []
    for i in range(customers):
        for j in range(i % 4 + 1):
            day = first + dt.timedelta(days=(i * 37 + j * 53) % days)
            rows.append([f"c{i}", day.isoformat(), f"{5 + (i * 13 + j * 7) % 190}.50"])
    return write_csv(path, ["customer_id", "date", "amount"], rows)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """summary.json of runs that between them write every optional part of the summary."""
    base = tmp_path_factory.mktemp("summaries")
    made: dict[str, Path] = {}

    def keep(name: str, result: Any) -> None:
        result.write(base / name)
        made[name] = base / name / "summary.json"
        # serialised once: the file is the summary the run returned
        assert json.loads(made[name].read_text(encoding="utf-8")) == json_ready(result.summary)

    keep("retail", segment(RETAIL, k_min=3, k_max=5, **QUICK))
    keep("previous", segment(RETAIL, k_min=3, k_max=5, seed=1, previous=str(base / "retail"),
                             **QUICK))  # fmt: skip
    keep("cdnow_no_clv", segment(CDNOW, k=4, clv=False, **QUICK))
    keep(
        "customers_products",
        segment(
            ZEOTAP / "Transactions.csv",
            customers_file=str(ZEOTAP / "Customers.csv"),
            products_file=str(ZEOTAP / "Products.csv"),
            feature_set="full",
            k_max=5,
            **QUICK,
        ),
    )
    # 14 customers: no k is eligible, selection falls back; too few repeat buyers for CLV
    tiny = _tiny_log(base / "tiny.csv", 14, 400, "2023-01-01")
    keep("tiny", segment(tiny, **QUICK))
    # 60 days: the refresh test is skipped; CLV forced on, discounted, no interval
    short = _tiny_log(base / "short.csv", 40, 60, "2024-03-01")
    keep("short_clv", segment(short, clv=True, discount_rate=0.1, rules_depth=2, **QUICK))
    # scoring the whole log with a model of its first quarter: customers out of range
    keep("early", segment(RETAIL, as_of="2011-03-31", k=4, **QUICK))
    keep("scored", score(RETAIL, base / "early" / "model.json"))
    return made


@pytest.mark.shared_data
def test_every_run_summary_meets_the_schema(runs, validator):
    for name, path in runs.items():
        summary = json.loads(path.read_text(encoding="utf-8"))
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(summary)]
        assert not errors, f"{name}: {errors[:5]}"


@pytest.mark.shared_data
def test_the_runs_cover_every_optional_part(runs):
    summaries = {name: json.loads(p.read_text(encoding="utf-8")) for name, p in runs.items()}
    seen = {key for s in summaries.values() for key in s}
    # `engine` is the Spark engine's (tests/spark/test_spark_engine.py checks it)
    assert seen >= Summary.__optional_keys__ - {"engine"}
    segment_keys = {key for s in summaries.values() for entry in s["segments"] for key in entry}
    assert segment_keys >= Segment.__optional_keys__
    assert summaries["scored"]["out_of_range"]["customers"] > 0
    assert "selection" not in summaries["scored"]
    assert summaries["short_clv"]["selection"]["refresh"]["skipped"]
    assert summaries["short_clv"]["clv"]["enabled"]
    assert not summaries["tiny"]["clv"]["enabled"]
    assert any(w.startswith("no k gives every segment") for w in summaries["tiny"]["warnings"])
    assert summaries["previous"]["previous"]["moves"] is not None


def _resolve(schema: dict, root: dict) -> dict:
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _check_order(value: Any, schema: dict, root: dict, where: str) -> None:
    """Assert that every object's keys come in the order of its type's keys."""
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        for member in schema["anyOf"]:
            if Draft202012Validator({**member, "$defs": root["$defs"]}).is_valid(value):
                _check_order(value, member, root, where)
                return
    if isinstance(value, dict) and "properties" in schema:
        order = [key for key in schema["properties"] if key in value]
        assert list(value) == order, f"{where}: keys {list(value)}, the types' order {order}"
        for key, item in value.items():
            _check_order(item, schema["properties"][key], root, f"{where}.{key}")
    elif isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        for key, item in value.items():
            _check_order(item, schema["additionalProperties"], root, f"{where}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _check_order(item, schema["items"], root, f"{where}[{i}]")


@pytest.mark.shared_data
def test_the_types_keys_come_in_the_files_order(runs):
    root = summary_schema()
    for path in runs.values():
        _check_order(json.loads(path.read_text(encoding="utf-8")), root, root, "$")


# The schema fails what it should -------------------------------------------------------------


def _drop(path: list) -> Any:
    def change(summary: dict) -> None:
        *parents, last = path
        target = summary
        for key in parents:
            target = target[key]
        del target[last]

    return change


def _set(path: list, value: Any) -> Any:
    def change(summary: dict) -> None:
        *parents, last = path
        target = summary
        for key in parents:
            target = target[key]
        target[last] = value

    return change


MUTATIONS = {
    "a top-level key removed": _drop(["totals"]),
    "a segment's key removed": _drop(["segments", 0, "traits"]),
    "a CLV key removed": _drop(["clv", "gamma_gamma", "q"]),
    "an undocumented top-level key": _set(["extra"], 1),
    "an undocumented segment key": _set(["segments", 0, "colour"], "teal"),
    "text for an integer": _set(["input", "customers"], "228"),
    "a number for text": _set(["segments", 0, "name"], 3),
    "null where a figure is always defined": _set(["totals", "revenue"], None),
    "a float for an integer": _set(["selection", "chosen_k"], 3.5),
    "a feature set that does not exist": _set(["feature_set"], "everything"),
    "a trait level that does not exist": _set(["segments", 0, "traits", "frequency"], "huge"),
    "an interval of three bounds": _set(["clv", "totals", "clv_total_interval"], [1.0, 2.0, 3.0]),
    "CLV enabled without its figures": _set(["clv"], {"enabled": True, "reason": "x"}),
    "a stability of the wrong shape": _set(["segments", 0, "stability"], {"segment": 0}),
}


@pytest.mark.shared_data
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_a_changed_summary_fails(mutation, runs, validator):
    summary = json.loads(runs["retail"].read_text(encoding="utf-8"))
    assert validator.is_valid(summary)
    changed = copy.deepcopy(summary)
    MUTATIONS[mutation](changed)
    assert not validator.is_valid(changed), mutation
