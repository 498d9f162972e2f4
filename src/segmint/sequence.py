"""One run, whichever engine: the stages in their order, written once.

read → clean → features → model → profile → rules → CLV, then the summary. What differs
between engines — where the customers are (a pandas table, or a Spark DataFrame with a
sample on the driver), the full-data passes over them, the per-customer table — is behind
the engine (`engines.local.LocalEngine`, `engines.spark_run.SparkEngine`; the interface is
`engines.base.Engine`). Every definition that turns those passes into figures and names is
here or below: the engines give the same inputs to the same functions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

from segmint.engines.base import Engine
from segmint.lifecycle.identity import check_previous, keep_identities, previous_model
from segmint.lifecycle.refresh import TOO_SHORT, refit_earlier, refresh_date, refresh_summary
from segmint.model.segment_model import SegmentModel
from segmint.profile import summary as figures
from segmint.profile.naming import name_segments
from segmint.profile.segments import describe_segments
from segmint.profile.traits import traits_from_moments
from segmint.rules.export import contact_columns
from segmint.rules.tree import learn_rules
from segmint.settings import Settings
from segmint.summary import (
    input_summary,
    not_scored,
    previous_summary,
    run_summary,
    scored_summary,
    scored_warnings,
    segment_entries,
    selection_summary,
)
from segmint.summary_types import Previous, SegmentProfile, Summary

Progress = Callable[[str], None]

STAGES = {
    "read": "Reading and detecting columns",
    "clean": "Cleaning order lines",
    "features": "Computing customer features",
    "model": "Choosing k and fitting K-means",
    "profile": "Naming and describing segments",
    "rules": "Writing the segments as CRM rules",
    "clv": "Customer lifetime value",  # fitted beside the profile and the rules
}


class Stages:
    """Announce each stage (its label, and its engine's sub-steps) and time it."""

    def __init__(self, progress: Progress | None, labels: dict[str, str] | None = None) -> None:
        self.progress = progress
        self.labels = {**STAGES, **(labels or {})}
        self.timings: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str, engine: Engine | None = None) -> Iterator[None]:
        """Time a stage; with an engine, report its queries' progress (`Engine.watching`)."""
        if self.progress:
            self.progress(self.labels[name])
        start = time.perf_counter()
        with engine.watching(self.sub(name)) if engine is not None else nullcontext():
            yield
        self.timings[name] = round(time.perf_counter() - start, 4)

    def sub(self, name: str) -> Progress | None:
        """Return the progress of a stage's steps ("<stage>: <step>")."""
        progress = self.progress
        if progress is None:
            return None
        label = self.labels[name]
        return lambda step: progress(f"{label}: {step}")


def run(
    engine: Engine,
    inputs: Sequence[Any],
    config: Settings,
    progress: Progress | None = None,
    *,
    model: SegmentModel | None = None,
    model_file: str | None = None,
    labels: dict[str, str] | None = None,
    input_names: Sequence[str] | None = None,
) -> Any:
    """Run the stages on an engine; return the engine's result (it can write itself).

    model: a fitted model to assign the customers to (scoring: no refit, its names kept,
    no rules and no refresh test); None fits one with the run's settings.
    model_file: where that model was read from (summary.json's `model.file` when scoring).
    input_names: what the summary calls the inputs (default: the engine's names for them).
    """
    scoring = model is not None
    if config.previous:
        check_previous(config.previous)  # before the data, not after minutes of work
    stages = Stages(progress, labels)
    with engine.session():
        with engine.reading(inputs):
            # A text file is checked for UTF-8 on its head only; where the engine then meets
            # a byte that is not UTF-8, the inputs are opened again with the whole check.
            for whole_encoding in (False, True):
                try:
                    with stages("read", engine):
                        lines = engine.read(inputs, config, whole_encoding)
                    with stages("clean", engine):
                        cleaned = engine.clean(lines, config)
                    break
                except Exception as exc:
                    if whole_encoding or not engine.read_again(exc):
                        raise
            with stages("features", engine):
                earlier_as_of = (
                    None if scoring else refresh_date(cleaned.period_start, cleaned.as_of)
                )
                engine.features(cleaned, lines, config, earlier_as_of)
                attributes = engine.load_customers(config.customers_file)  # errors name it
        with stages("model"):
            if model is None:
                model = engine.fit(config, stages.sub("model"))
            else:
                engine.assign(model)
            earlier_fit = None
            if not scoring:
                earlier_fit = refit_earlier(
                    engine.earlier, earlier_as_of, model, TOO_SHORT, engine.earlier_customers
                )
        with engine.lifetime_value_meanwhile(config, cleaned.as_of) as lifetime_value:
            with stages("profile"):
                previous = None
                if config.previous:  # ids and names kept from an earlier run
                    old = previous_model(config.previous, model)
                    fresh = name_segments(traits_from_moments(*engine.moments(model)))
                    previous = keep_identities(model, old, fresh, config.previous)
                    model.renumber(previous.new_ids, previous.names, engine.sample)
                    engine.label(model)
                profiles, everyone, attributes_by_segment = _profile(
                    engine, model, attributes, lines.has("category"),
                    keep_names=scoring or previous is not None,
                )  # fmt: skip
            rules = None
            if not scoring:
                with stages("rules"):
                    rules = learn_rules(engine.sample, model.labels_, model.names_,
                                        model.features, config.seed, config.rules_depth)  # fmt: skip
            with stages("clv"):
                lifetime, clv_by_segment = lifetime_value(model)
        kept = None
        if previous is not None:
            kept = previous_summary(previous.summary, engine.moves_since(config.previous, model))
        summary = _summary(engine, config, lines, cleaned, model, profiles, everyone,
                           attributes_by_segment, rules, lifetime, clv_by_segment, stages.timings,
                           earlier_fit, input_names, kept, model_file)  # fmt: skip
        model_json = model.to_json(
            as_of=cleaned.as_of.isoformat(), feature_set=config.feature_set, columns=lines.columns
        )
        contacts = None
        if attributes is not None:
            contacts = attributes[["customer_id", *contact_columns(attributes)]]
        return engine.result(summary, model, model_json, rules, contacts, lifetime)


def _profile(
    engine: Engine,
    model: SegmentModel,
    attributes: Any,
    has_category: bool,
    keep_names: bool,
) -> tuple[list[SegmentProfile], figures.Group, list[dict[str, dict[str, float]]] | None]:
    """Name the model's segments (unless keep_names); return their profiles, the Group of
    everyone, and per segment the shares of the attributes' values (None without them)."""
    traits = traits_from_moments(*engine.moments(model))
    if not keep_names:
        model.name(name_segments(traits))
        engine.name(model)
    everyone, groups = engine.groups(model)
    categories = engine.top_categories(model) if has_category else {}
    profiles = describe_segments(model.names_, traits, groups, everyone, categories)
    shares = None if attributes is None else engine.attribute_shares(model, attributes)
    return profiles, everyone, shares


def _summary(
    engine: Engine,
    config: Settings,
    lines: Any,
    cleaned: Any,
    model: SegmentModel,
    profiles: list[SegmentProfile],
    everyone: figures.Group,
    attributes: list[dict[str, dict[str, float]]] | None,
    rules: Any,
    lifetime: Any,
    clv_by_segment: list[dict],
    timings: dict[str, float],
    earlier_fit: Any,
    input_names: Sequence[str] | None,
    previous: Previous | None,
    model_file: str | None,
) -> Summary:
    """Return summary.json, whole (`summary.run_summary`): nothing is added to it afterwards.

    earlier_fit: the refresh test's fit; None when scoring, whose summary has no `selection`,
    no CLV, and the model read with the customers outside its range (`scored_summary`)."""
    n = everyone.customers
    names = input_names if input_names is not None else engine.input_names
    inputs_summary = input_summary(lines, cleaned, n, everyone.orders, names)
    segments = segment_entries(
        profiles, inputs_summary["period_days"], model.stability_by_segment(),
        attributes=attributes, rules=rules, clv=clv_by_segment,
    )  # fmt: skip
    warnings = model.warnings_ + lifetime.warnings + engine.warnings(model)
    selection, scored = None, None
    if earlier_fit is not None:  # a fitted run
        refresh = refresh_summary(
            earlier_fit, engine.sample, model.labels_, model.k_, config.min_stability
        )
        selection = selection_summary(model, config, refresh)
    else:  # scoring
        scored = scored_summary(model, model_file, config.feature_set)
        warnings += scored_warnings(scored)
    return run_summary(
        config,
        inputs_summary,
        totals=figures.totals_of(everyone),
        features=model.features,
        selection=selection,
        segments=segments,
        rfm_segments=figures.rfm_segments_of(engine.rfm_groups(), n, everyone.revenue),
        revenue_concentration=figures.concentration_of(n, engine.top_revenue, everyone.revenue),
        clv=lifetime.summary if scored is None else not_scored(),
        rules=rules,
        previous=previous,
        warnings=warnings,
        timings=timings,
        engine=engine.summary_block(),
        scored=scored,
    )
