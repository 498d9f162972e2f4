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
from segmint.rules.export import contact_columns, rule_text
from segmint.rules.tree import learn_rules
from segmint.settings import Settings
from segmint.summary import input_summary, run_summary, selection_summary

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
    labels: dict[str, str] | None = None,
    input_names: Sequence[str] | None = None,
) -> Any:
    """Run the stages on an engine; return the engine's result (it can write itself).

    model: a fitted model to assign the customers to (scoring: no refit, its names kept,
    no rules and no refresh test); None fits one with the run's settings.
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
                segments, everyone = _profile(
                    engine, model, attributes, lines.has("category"),
                    keep_names=scoring or previous is not None,
                )  # fmt: skip
            rules = None
            if not scoring:
                with stages("rules"):
                    rules = learn_rules(engine.sample, model.labels_, model.names_,
                                        model.features, config.seed, config.rules_depth)  # fmt: skip
                    for entry in segments:
                        entry["rule_text"] = rule_text(rules.rules[entry["id"]])
                        entry["rule_fidelity"] = rules.segment_fidelity[entry["id"]]
            with stages("clv"):
                lifetime, per_segment = lifetime_value(model)
                for entry in segments:
                    entry.update(per_segment[entry["id"]])
        if previous is not None:
            previous.summary["moves"] = engine.moves_since(config.previous, model)
        summary = _summary(engine, config, lines, cleaned, model, segments, everyone, rules,
                           lifetime, stages.timings, earlier_fit, input_names,
                           previous.summary if previous is not None else None)  # fmt: skip
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
) -> tuple[list[dict], figures.Group]:
    """Name the model's segments (unless keep_names); return their summary entries and the
    Group of everyone."""
    traits = traits_from_moments(*engine.moments(model))
    if not keep_names:
        model.name(name_segments(traits))
        engine.name(model)
    everyone, groups = engine.groups(model)
    categories = engine.top_categories(model) if has_category else {}
    segments = describe_segments(model.names_, traits, groups, everyone, categories)
    if attributes is not None:
        described = engine.attribute_shares(model, attributes)
        for entry in segments:
            entry["attributes"] = described[entry["id"]]
    return segments, everyone


def _summary(
    engine: Engine,
    config: Settings,
    lines: Any,
    cleaned: Any,
    model: SegmentModel,
    segments: list[dict],
    everyone: figures.Group,
    rules: Any,
    lifetime: Any,
    timings: dict[str, float],
    earlier_fit: Any,
    input_names: Sequence[str] | None,
    previous: dict | None,
) -> dict:
    n = everyone.customers
    names = input_names if input_names is not None else engine.input_names
    inputs_summary = input_summary(lines, cleaned, n, everyone.orders, names)
    stability = model.stability_by_segment()
    for entry in segments:
        entry["orders_per_year"] = figures.orders_per_year(
            entry["frequency_mean"], inputs_summary["period_days"]
        )
        entry["stability"] = None if stability is None else stability[entry["id"]]
    selection = None
    if earlier_fit is not None:  # a fitted run (not scoring)
        selection = selection_summary(model, config)
        selection["refresh"] = refresh_summary(
            earlier_fit, engine.sample, model.labels_, model.k_, config.min_stability
        )
    summary = run_summary(
        config,
        inputs_summary,
        totals=figures.totals_of(everyone),
        features=model.features,
        selection=selection,
        segments=segments,
        rfm_segments=figures.rfm_segments_of(engine.rfm_groups(), n, everyone.revenue),
        revenue_concentration=figures.concentration_of(n, engine.top_revenue, everyone.revenue),
        clv=lifetime.summary,
        rules=rules,
        previous=previous,
        warnings=model.warnings_ + lifetime.warnings + engine.warnings(model),
        timings=timings,
    )
    block = engine.summary_block()
    if block is not None:
        summary["engine"] = block
    return summary
