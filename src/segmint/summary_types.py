"""The types of summary.json (docs/reference/outputs.md#summary-json), and its JSON Schema.

Every part of the summary is a TypedDict: a key that is always there is required, a key
that only some runs write is NotRequired (with the run that writes it said beside it). The
order of the keys here is their order in the file. `summary_schema()` turns the types into
the JSON Schema published as docs/reference/summary.schema.json (`python -m
segmint.summary_types > docs/reference/summary.schema.json` writes it again);
tests/test_summary_schema.py checks that the published schema is this one and that real
runs' summaries validate against it.

A figure that may be undefined is `float | None` (written as null: summary.json never holds
NaN or Infinity).
"""

# No `from __future__ import annotations`: TypedDict reads NotRequired from the evaluated
# annotations (a string annotation would make every key required).
import sys
import types
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

if sys.version_info >= (3, 11):
    from typing import NotRequired, Required, TypedDict, get_type_hints, is_typeddict
else:  # pragma: no cover - Python 3.10: typing_extensions has NotRequired
    from typing_extensions import NotRequired, Required, TypedDict, get_type_hints, is_typeddict

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class Length:
    """A list of exactly this many items (JSON Schema minItems = maxItems)."""

    items: int


FeatureSet = Literal["rfm", "value", "full"]
Metric = Literal["stable", "davies_bouldin", "silhouette", "calinski_harabasz"]
Level = Literal["high", "mid", "low"]
OrderModelName = Literal["pareto-nbd", "mbg-nbd", "bg-nbd"]
# [low, high]: a 90% interval
Interval = Annotated[list[float], Length(2)]


# input ------------------------------------------------------------------------------------


class RowsDropped(TypedDict):
    """Lines dropped by cleaning, per reason, every reason present (docs/reference/cleaning.md#rules)."""

    missing_customer_id: int
    bad_date: int
    duplicate: int
    invalid_amount: int
    after_as_of: int
    returns_only: int


class Period(TypedDict):
    """Date and time of the first and last kept line (ISO 8601)."""

    start: str
    end: str


class InputSummary(TypedDict):
    """What was read, kept and dropped, and the period."""

    files: list[str]
    rows_read: int
    rows_used: int
    rows_dropped: RowsDropped
    customers: int
    orders: int
    period: Period
    as_of: str
    period_days: int
    columns: dict[str, str]
    date_format: str


class Totals(TypedDict):
    """Revenue, orders, customers and the ratios between them, of the whole base."""

    revenue: float
    orders: int
    customers: int
    aov: float
    revenue_per_customer: float
    orders_per_customer: float


# selection ---------------------------------------------------------------------------------


class StabilityFigure(TypedDict):
    """One segment's stability under resampling (docs/stability.md): None where no resample
    drew a customer of it."""

    segment: int
    jaccard: float | None
    recovered: int
    resamples: int


class SegmentStability(StabilityFigure):
    """A delivered segment's stability, and whether it reaches --min-stability."""

    stable: bool


class KScore(TypedDict):
    """The scores of one k tried (docs/reference/model.md#scores); `undefined` gives the
    reason of each score that is null."""

    k: int
    davies_bouldin: float | None
    silhouette: float | None
    calinski_harabasz: float | None
    inertia: float
    smallest_share: float
    eligible: bool
    stability: float | None
    least_stable: float | None
    segment_stability: list[StabilityFigure] | None
    undefined: dict[str, str]


class RefreshMatch(TypedDict):
    """A segment of today against the most similar segment of the earlier model."""

    segment: int
    jaccard: float
    matched: bool


class Refresh(TypedDict):
    """The refresh test (docs/stability.md): `skipped` says why it did not run."""

    days: int
    as_of: str | None
    customers_then: int
    min_stability: float
    skipped: str | None
    segments: list[RefreshMatch]
    matched: int | None


class Selection(TypedDict):
    """How k was chosen (a fitted run; not when scoring)."""

    metric: Metric
    k_fixed: bool
    k_range: Annotated[list[int], Length(2)]
    chosen_k: int
    silhouette_sample_size: int
    n_init: int
    sample_size: int
    sampled: bool
    min_segment_share: float
    min_segment_size: int
    min_stability: float
    resamples: int
    scores: list[KScore]
    refresh: Refresh


# segments ----------------------------------------------------------------------------------


class SegmentProfile(TypedDict):
    """A segment's figures, traits, description and strategy (profile.segments): the first
    keys of its summary entry. Its means are None for a segment without customers (scoring)."""

    id: int
    name: str
    description: str
    strategy: list[str]
    customers: int
    share: float
    revenue: float
    revenue_share: float
    recency_days_mean: float | None
    frequency_mean: float | None
    monetary_mean: float | None
    aov_mean: float
    tenure_days_mean: float | None
    top_categories: list[str]
    traits: dict[str, Level]


class ClvFigures(TypedDict):
    """The CLV figures of a group of customers (everyone, or a segment) (docs/clv.md)."""

    p_alive_mean: float
    p_no_order_mean: float
    clv_mean: float | None
    clv_total: float
    likely_lost: int
    clv_total_interval: Interval | None


class Segment(SegmentProfile):
    """One entry of `segments`, in id order."""

    attributes: NotRequired[dict[str, dict[str, float]]]
    """With --customers: column → value → share of the segment's customers."""
    rule_text: NotRequired[str]
    """A fitted run's CRM rules (not when scoring)."""
    rule_fidelity: NotRequired[float]
    p_alive_mean: NotRequired[float]
    """With lifetime value: the keys of ClvFigures."""
    p_no_order_mean: NotRequired[float]
    clv_mean: NotRequired[float | None]
    clv_total: NotRequired[float]
    likely_lost: NotRequired[int]
    clv_total_interval: NotRequired[Interval | None]
    orders_per_year: float | None
    stability: SegmentStability | None


class RfmSegment(TypedDict):
    """A classic RFM segment present (docs/reference/rfm.md#map)."""

    name: str
    customers: int
    share: float
    revenue_share: float


class Concentration(TypedDict):
    """The revenue share of the top `top_share` of customers by net spend."""

    top_share: float
    customers: int
    revenue_share: float


# clv ---------------------------------------------------------------------------------------


class OrderModel(TypedDict):
    """The fitted order model."""

    name: OrderModelName
    title: str
    why: str
    params: dict[str, float]
    log_likelihood: float
    converged: bool
    at_edge: list[str]
    iterations: int
    customers: int
    distinct_rows: int


class GammaGamma(TypedDict):
    """The fitted Gamma-Gamma model of spend per order."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    converged: bool
    iterations: int
    customers: int
    excluded_non_positive: int


class IntervalMethod(TypedDict):
    """How the 90% intervals are computed; `reason`: why there are none."""

    level: float
    method: str
    reason: str | None


class Clv(TypedDict):
    """Lifetime value, computed (docs/clv.md)."""

    enabled: Literal[True]
    horizon_days: int
    discount_rate: float | None
    repeat_customers: int
    likely_lost_below: float
    model: OrderModel
    gamma_gamma: GammaGamma
    interval: IntervalMethod
    totals: ClvFigures


class NoClv(TypedDict):
    """Lifetime value not computed, and why."""

    enabled: Literal[False]
    reason: str


# rules, previous, engine, scoring ----------------------------------------------------------


class RulesDepth(TypedDict):
    depth: int
    fidelity: float


class RulesSummary(TypedDict):
    """The CRM rules (docs/reference/rules.md#summary)."""

    fidelity: float
    max_depth: int
    depths: list[RulesDepth]


class PreviousMatch(TypedDict):
    """A segment of this run and the old segment it kept (old_id None: a new segment)."""

    id: int
    name: str
    old_id: int | None
    distance: float


class Previous(TypedDict):
    """With --previous: what was kept from the earlier run (docs/guide/over-time.md#keep-names)."""

    folder: str
    persisted: list[str]
    appeared: list[str]
    vanished: list[str]
    matches: list[PreviousMatch]
    match_distance: float
    moves: list[str]


Versions = TypedDict(
    "Versions",
    {"segmint": str, "scikit-learn": str, "duckdb": str, "pandas": str, "numpy": str},
)
Versions.__doc__ = "Versions of Segmint and of its main libraries."


class CustomersTable(TypedDict):
    parquet: str
    csv: str


class Engine(TypedDict):
    """With --engine spark (docs/reference/spark.md#outputs)."""

    name: Literal["spark"]
    spark_version: str
    master: str
    sample_customers: int
    customers_table: CustomersTable


class ScoredModel(TypedDict):
    """Scoring: the model read (`file` None for a model given as an object) and its run."""

    file: str | None
    as_of: str | None
    feature_set: FeatureSet
    k: int


class OutOfRange(TypedDict):
    """Scoring: customers with a feature far outside the model's training range."""

    customers: int
    share: float
    by_feature: dict[str, int]


class Scored(TypedDict):
    """The parts only a scoring's summary has, at its end."""

    model: ScoredModel
    out_of_range: OutOfRange


class Summary(TypedDict):
    """summary.json: every figure of a run (docs/reference/outputs.md#summary-json)."""

    segmint_version: str
    generated_at: str
    seed: int
    input: InputSummary
    totals: Totals
    feature_set: FeatureSet
    features: list[str]
    selection: NotRequired[Selection]
    """A fitted run's (not a scoring's)."""
    segments: list[Segment]
    rfm_segments: list[RfmSegment]
    revenue_concentration: list[Concentration]
    clv: Clv | NoClv
    rules: RulesSummary | None
    previous: Previous | None
    warnings: list[str]
    timings: dict[str, float]
    versions: Versions
    engine: NotRequired[Engine]
    """With --engine spark."""
    model: NotRequired[ScoredModel]
    """Scoring."""
    out_of_range: NotRequired[OutOfRange]
    """Scoring."""


# The JSON Schema ---------------------------------------------------------------------------

_SIMPLE = {str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}


def summary_schema() -> dict[str, Any]:
    """Return the JSON Schema (2020-12) of summary.json, from the types above: every object
    closed (additionalProperties false), so an undocumented key fails validation."""
    definitions: dict[str, Any] = {}
    root = _object(Summary, definitions)
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "summary.json",
        **root,
        "$defs": dict(sorted(definitions.items())),
    }


def _object(cls: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    """Return the schema of a TypedDict: its keys in order, the required ones listed."""
    hints = get_type_hints(cls, include_extras=True)
    schema: dict[str, Any] = {}
    if cls.__doc__:
        schema["description"] = " ".join(cls.__doc__.split())
    schema["type"] = "object"
    schema["properties"] = {key: _schema(hint, definitions) for key, hint in hints.items()}
    schema["required"] = [key for key in hints if key in cls.__required_keys__]
    schema["additionalProperties"] = False
    return schema


def _schema(hint: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON Schema of one annotation (TypeError for one it does not know)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (NotRequired, Required):
        return _schema(args[0], definitions)
    if origin is Annotated:
        schema = _schema(args[0], definitions)
        for extra in hint.__metadata__:
            if isinstance(extra, Length):
                schema |= {"minItems": extra.items, "maxItems": extra.items}
        return schema
    if hint in _SIMPLE:
        return {"type": _SIMPLE[hint]}
    if is_typeddict(hint):
        if hint.__name__ not in definitions:
            definitions[hint.__name__] = {}  # taken while it is built
            definitions[hint.__name__] = _object(hint, definitions)
        return {"$ref": f"#/$defs/{hint.__name__}"}
    if origin is Literal:
        return {"const": args[0]} if len(args) == 1 else {"enum": list(args)}
    if origin in (Union, types.UnionType):
        members = [_schema(arg, definitions) for arg in args]
        if all(list(m) == ["type"] for m in members):
            return {"type": [m["type"] for m in members]}
        return {"anyOf": members}
    if origin is list:
        return {"type": "array", "items": _schema(args[0], definitions)}
    if origin is dict and args[0] is str:
        return {"type": "object", "additionalProperties": _schema(args[1], definitions)}
    raise TypeError(f"summary_schema: no JSON Schema for {hint!r}")


def schema_text() -> str:
    """Return the schema as published in docs/reference/summary.schema.json."""
    import json

    return json.dumps(summary_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # python -m segmint.summary_types > docs/reference/summary.schema.json
    sys.stdout.write(schema_text())
