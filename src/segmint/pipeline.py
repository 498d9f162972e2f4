"""One run: read → clean → features → model → profile. Returns a result that can write itself."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from segmint import __version__
from segmint.clv.per_customer import (
    LifetimeValue,
    ModelInputs,
    absent,
    lifetime_value,
    segment_clv,
    segment_intervals,
    why_not,
)
from segmint.errors import InputError, UsageError
from segmint.features.build import (
    REPEAT_VALUE,
    customer_features,
    earlier_features,
    segment_top_categories,
)
from segmint.features.clean import clean, release_lines
from segmint.helper import helper, shared, sharing
from segmint.io.inputs import Lines, open_lines
from segmint.io.sources import read_error
from segmint.io.text import NOT_UTF8
from segmint.lifecycle.compare import moves_since
from segmint.lifecycle.identity import (
    check_previous,
    fresh_names,
    keep_identities,
    previous_model,
)
from segmint.lifecycle.refresh import TOO_SHORT, refit_earlier, refresh_date, refresh_summary
from segmint.model.feature_sets import clustering_features
from segmint.model.segment_model import SegmentModel, load_model
from segmint.profile import summary as figures
from segmint.profile.attributes import describe_attributes, load_customers
from segmint.profile.naming import name_segments
from segmint.profile.segments import describe_segments
from segmint.profile.traits import segment_traits
from segmint.progress import watching
from segmint.rules.export import contact_columns, rule_text
from segmint.rules.tree import Rules, learn_rules
from segmint.settings import Settings

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


@dataclass
class SegmentationResult:
    """The outcome of a run: the per-customer table, summary.json, and the fitted model."""

    customers: pd.DataFrame
    summary: dict
    model: SegmentModel
    model_json: dict | None
    """None for a scoring run (segmint score), which writes no model and no report."""
    rules: Rules | None = None
    """The segments as CRM rules (None when scoring)."""
    contacts: pd.DataFrame | None = None
    """customer_id and the contact columns of the --customers file, for the audience files."""

    def write(self, out_dir: str | Path) -> Path:
        """Write every output file into out_dir, atomically; return out_dir."""
        from segmint.io.outputs import write_outputs

        return write_outputs(self, Path(out_dir))


def segment(
    source: Any | Sequence[Any],
    progress: Progress | None = None,
    input_names: Sequence[str] | None = None,
    **settings: Any,
) -> SegmentationResult:
    """Return the segmentation of a transaction log: a path, a list of paths, or a DataFrame/Arrow table.

    input_names: what summary.json (`input.files`) and so the report call the inputs, one per
    input (default: their paths), e.g. the names a user's uploads had. Display text only:
    the inputs read are always `source`.
    """
    config = Settings.create(**settings)
    sub = _sub_progress(progress, STAGES["model"])
    return _run(source, config, progress, lambda customers: _fit(customers, config, sub),
                input_names=input_names)  # fmt: skip


def score(
    source: Any | Sequence[Any],
    model: SegmentModel | str | Path,
    progress: Progress | None = None,
    **settings: Any,
) -> SegmentationResult:
    """Return the customers of a new log assigned to a saved model's segments (CONTRACT §8).

    No refit: the features are computed as in the model's run (its columns where the data
    has them, unless `columns` overrides a role; its feature set), scaled with the model's
    transforms, and each customer goes to the nearest centre. The result's model_json is None.
    """
    model_file = None
    if not isinstance(model, SegmentModel):
        model_file = str(model)
        model = load_model(model)
    metadata = getattr(model, "metadata_", {})
    for fixed in ("feature_set", "k", "k_min", "k_max", "select", "clv", "previous"):
        if fixed in settings:
            raise UsageError(f"{fixed}: does not apply when scoring with a saved model")
    config = Settings.create(
        model_columns=metadata.get("columns") or {},
        feature_set=metadata.get("feature_set") or "rfm",
        clv=False,
        **settings,
    )

    def assign(customers: pd.DataFrame) -> SegmentModel:
        model.labels_ = model.predict(customers)
        model.outside_ = model.outside_training_range(customers)
        return model

    result = _run(source, config, progress, assign, scoring=True,
                  labels={"model": "Assigning customers to the model's segments"})  # fmt: skip
    summary = result.summary
    del summary["selection"]
    summary["clv"] = {"enabled": False, "reason": "not computed when scoring with a saved model"}
    summary["model"] = {"file": model_file, "as_of": metadata.get("as_of"),
                        "feature_set": config.feature_set, "k": model.k_}  # fmt: skip
    summary["out_of_range"] = _out_of_range(model)
    if summary["out_of_range"]["customers"]:
        summary["warnings"].append(
            f"{summary['out_of_range']['customers']:,} customer(s) have features far outside "
            "the range the model was trained on (more than one standard deviation beyond it): "
            "their segment is the nearest, but the model has not seen customers like them"
        )
    return SegmentationResult(result.customers, summary, model, None)


def _out_of_range(model: SegmentModel) -> dict:
    outside = model.outside_
    return {
        "customers": int(outside.any(axis=1).sum()),
        "share": float(outside.any(axis=1).mean()) if len(outside) else 0.0,
        "by_feature": {f: int(n) for f, n in zip(model.features, outside.sum(axis=0), strict=True)},
    }


def _run(
    source: Any | Sequence[Any],
    config: Settings,
    progress: Progress | None,
    model_stage: Callable[[pd.DataFrame], SegmentModel],
    scoring: bool = False,
    labels: dict[str, str] | None = None,
    input_names: Sequence[str] | None = None,
) -> SegmentationResult:
    """Run the stages; model_stage fits (a run) or assigns (scoring: the model's names kept)."""
    inputs = list(source) if isinstance(source, (list, tuple)) else [source]
    if input_names is not None and len(input_names) != len(inputs):
        raise ValueError(f"{len(input_names)} input names for {len(inputs)} inputs")
    if config.previous:
        check_previous(config.previous)  # before the data, not after minutes of work
    timings: dict[str, float] = {}
    stages = {**STAGES, **(labels or {})}

    @contextmanager
    def stage(name: str, duckdb_on: duckdb.DuckDBPyConnection | None = None) -> Iterator[None]:
        """Time a stage; with duckdb_on, report its queries' progress and time left."""
        if progress:
            progress(stages[name])
        start = time.perf_counter()
        if duckdb_on is None:
            yield
        else:
            with watching(duckdb_on, _sub_progress(progress, stages[name])):
                yield
        timings[name] = round(time.perf_counter() - start, 4)

    with (
        tempfile.TemporaryDirectory(prefix="segmint-") as workdir,
        connect(config, Path(workdir)) as con,
    ):
        # The stages that read the inputs: DuckDB's errors about the data are the user's
        # (one line, exit 2); after them the data is in memory, and an error is a bug.
        with input_errors(inputs):
            # Text files are checked for UTF-8 on their head only (the whole check read 3.6 GB
            # at 50M lines); where DuckDB then meets a byte that is not UTF-8, the inputs are
            # opened again with the whole check (which finds cp1252 and rewrites them).
            for whole_encoding in (False, True):
                try:
                    with stage("read", con):
                        lines = open_lines(con, inputs, config, Path(workdir), whole_encoding)
                    with stage("clean", con):
                        cleaned = clean(con, lines, config)
                    break
                except duckdb.InvalidInputException as exc:
                    if whole_encoding or NOT_UTF8 not in str(exc):
                        raise
            with stage("features", con):
                customers = customer_features(
                    con, cleaned.as_of, lines.has("quantity"), lines.has("category")
                )
                earlier_as_of = (
                    None if scoring else refresh_date(cleaned.period_start, cleaned.as_of)
                )
                earlier = None
                if earlier_as_of is not None:
                    earlier = earlier_features(
                        con, earlier_as_of, lines.has("category") and config.feature_set == "full"
                    )
                release_lines(con)
                clv_inputs = ModelInputs.of(customers, customers.pop(REPEAT_VALUE).to_numpy())
        with stage("model"):
            model = model_stage(customers)
            if not scoring:
                earlier_fit = refit_earlier(earlier, earlier_as_of, model, TOO_SHORT)
        with lifetime_value_meanwhile(clv_inputs, config, cleaned.as_of) as lifetime_value_result:
            with stage("profile"):
                previous = None
                if config.previous:
                    old = previous_model(config.previous, model)
                    fresh = fresh_names(customers, model)
                    previous = keep_identities(model, old, fresh, config.previous)
                    model.renumber(previous.new_ids, previous.names, customers)
                attributes = None
                if config.customers_file:
                    with input_errors([config.customers_file]):
                        attributes = load_customers(con, config.customers_file, Path(workdir))
                segments = _profile(
                    con,
                    customers,
                    model,
                    attributes,
                    lines.has("category"),
                    keep_names=scoring or previous is not None,
                )
            rules = None
            if not scoring:
                with stage("rules"):
                    rules = learn_rules(
                        customers, model.labels_, model.names_, model.features, config.seed,
                        config.rules_depth,
                    )  # fmt: skip
                    for entry in segments:
                        entry["rule_text"] = rule_text(rules.rules[entry["id"]])
                        entry["rule_fidelity"] = rules.segment_fidelity[entry["id"]]
            with stage("clv"):
                lifetime = lifetime_value_result()
                _add_segment_clv(segments, lifetime, clv_inputs, model.labels_,
                                 config.clv_horizon_days)  # fmt: skip
    table = _customer_table(customers, model, lifetime)
    if previous is not None:
        previous.summary["moves"] = moves_since(config.previous, table, model.names_)
    inputs_summary = input_summary(
        lines, cleaned, len(customers), int(customers["frequency"].sum()), input_names
    )
    stability = model.stability_by_segment()
    for entry in segments:
        entry["orders_per_year"] = figures.orders_per_year(
            entry["frequency_mean"], inputs_summary["period_days"]
        )
        entry["stability"] = None if stability is None else stability[entry["id"]]
    selection = None
    if not scoring:
        selection = selection_summary(model, config)
        selection["refresh"] = refresh_summary(
            earlier_fit, customers, model.labels_, model.k_, config.min_stability
        )
    summary = run_summary(
        config,
        inputs_summary,
        totals=figures.totals(customers),
        features=model.features,
        selection=selection,
        segments=segments,
        rfm_segments=figures.rfm_segments(customers),
        revenue_concentration=figures.revenue_concentration(customers),
        clv=lifetime.summary,
        rules=rules,
        previous=previous.summary if previous is not None else None,
        warnings=model.warnings_ + lifetime.warnings,
        timings=timings,
    )
    model_json = model.to_json(
        as_of=cleaned.as_of.isoformat(), feature_set=config.feature_set, columns=lines.columns
    )
    contacts = None
    if attributes is not None:
        contacts = attributes[["customer_id", *contact_columns(attributes)]]
    return SegmentationResult(table, summary, model, model_json, rules, contacts)


def connect(config: Settings, workdir: Path) -> duckdb.DuckDBPyConnection:
    """Return an in-memory DuckDB that spills to workdir, with the run's memory and threads."""
    options: dict[str, Any] = {"temp_directory": str(workdir / "spill")}
    if config.memory_limit:
        options["memory_limit"] = config.memory_limit
    if config.threads:
        options["threads"] = config.threads
    try:
        con = duckdb.connect(config=options)
    except duckdb.Error as exc:
        detail = str(exc).strip().splitlines()[0]
        raise UsageError(f"--memory-limit/--threads: {detail}") from None
    # DuckDB measures a running query's progress only with its progress bar on; it draws
    # nothing here, and progress.watching reports the figure.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    return con


def _sub_progress(progress: Progress | None, stage: str) -> Progress | None:
    if progress is None:
        return None
    return lambda step: progress(f"{stage}: {step}")


# DuckDB's errors about the data itself (a malformed CSV line past the sniffed sample, a
# damaged compressed file); other DuckDB errors are bugs and keep their traceback.
_DATA_ERRORS = (duckdb.InvalidInputException, duckdb.IOException, duckdb.ConversionException)


@contextmanager
def input_errors(inputs: list[Any]) -> Iterator[None]:
    try:
        yield
    except _DATA_ERRORS as exc:
        names = ", ".join(
            str(i) if isinstance(i, (str, Path)) else type(i).__name__ for i in inputs
        )
        raise InputError(f"{names}: cannot be read ({read_error(exc)})") from None


def _fit(
    customers: pd.DataFrame, config: Settings, progress: Progress | None = None
) -> SegmentModel:
    return new_model(config, customers.columns).fit(customers, progress)


def new_model(config: Settings, columns: Sequence[str]) -> SegmentModel:
    """Return the unfitted SegmentModel a run's settings ask for, on the features columns give."""
    features = clustering_features(config.feature_set, columns)
    return SegmentModel(
        features,
        transform=config.transform,
        k=config.k,
        k_min=config.k_min,
        k_max=config.k_max,
        select=config.select,
        min_stability=config.min_stability,
        min_segment_share=config.min_segment_share,
        min_segment_size=config.min_segment_size,
        silhouette_sample_size=config.silhouette_sample_size,
        n_init=config.n_init,
        seed=config.seed,
        sample_size=config.sample_size,
    )


def _profile(
    con: duckdb.DuckDBPyConnection,
    customers: pd.DataFrame,
    model: SegmentModel,
    attributes_frame: pd.DataFrame | None,
    has_category: bool,
    keep_names: bool = False,
) -> list[dict]:
    """Name the model's segments (unless keep_names) and return their summary entries."""
    k, labels = model.k_, model.labels_
    traits = segment_traits(customers, labels, k)
    if not keep_names:
        model.names_ = name_segments(traits)
    categories = _top_categories(con, customers, labels) if has_category else {}
    attributes = None
    if attributes_frame is not None:
        attributes = describe_attributes(customers, labels, attributes_frame, k)
    everyone = figures.Group.of(customers)
    narrow = customers[list(figures.GROUP_COLUMNS)]  # not every column once per segment
    groups = [figures.Group.of(narrow[labels == i]) for i in range(k)]
    segments = describe_segments(model.names_, traits, groups, everyone, categories)
    if attributes is not None:
        for entry in segments:
            entry["attributes"] = attributes[entry["id"]]
    return segments


def _top_categories(
    con: duckdb.DuckDBPyConnection, customers: pd.DataFrame, labels: np.ndarray
) -> dict[int, list[str]]:
    """Return segment id → its three largest categories by gross spend."""
    membership = pd.DataFrame({"customer_id": customers["customer_id"], "segment_id": labels})
    con.register("segment_membership", membership)
    return segment_top_categories(con, "segment_membership")


def _lifetime_value(inputs: ModelInputs, config: Settings, as_of: dt.date) -> LifetimeValue:
    reason = why_not(inputs.repeat_customers, config.clv)
    if reason is not None:
        return absent(reason)
    return lifetime_value(
        inputs, config.clv_horizon_days, config.discount_rate, as_of, config.clv_model
    )


def _lifetime_job(token: int) -> LifetimeValue:
    """The lifetime values of the inputs shared under token (helper.sharing: the forked
    helper has them without pickling, 3M customers at 50M lines)."""
    return _lifetime_value(**shared(token))


@contextmanager
def lifetime_value_meanwhile(
    inputs: ModelInputs, config: Settings, as_of: dt.date
) -> Iterator[Callable[[], LifetimeValue]]:
    """Yield a function returning the lifetime values, fitted in a helper process meanwhile.

    The CLV models are numpy and scipy on one core; the profile and the rules that follow
    them do not need them, so a helper (segmint.helper) fits and scores them on the other
    core. Without a helper, or when CLV does not run, they are computed when asked for.
    """
    if why_not(inputs.repeat_customers, config.clv) is not None:
        yield lambda: _lifetime_value(inputs, config, as_of)
        return
    with sharing({"inputs": inputs, "config": config, "as_of": as_of}) as token, helper() as work:
        yield work.submit(_lifetime_job, token).result


def _add_segment_clv(
    segments: list[dict],
    lifetime: LifetimeValue,
    inputs: ModelInputs,
    labels: np.ndarray,
    horizon_days: int,
) -> None:
    """Add each segment's CLV figures and the 90% interval of its total CLV."""
    if not lifetime.summary["enabled"]:
        return
    intervals = segment_intervals(lifetime, inputs, labels, len(segments))
    for entry in segments:
        entry.update(segment_clv(lifetime.columns, labels == entry["id"], horizon_days))
        entry["clv_total_interval"] = intervals[entry["id"]]


def _customer_table(
    customers: pd.DataFrame, model: SegmentModel, lifetime: LifetimeValue
) -> pd.DataFrame:
    table = customers.copy(deep=False)  # new columns go to the copy; the values are shared
    table.insert(1, "segment_id", model.labels_.astype("int64"))
    table.insert(2, "segment_name", [model.names_[i] for i in model.labels_])
    for name, values in lifetime.columns.items():
        table[name] = values.to_numpy()
    return table


def input_summary(
    lines: Lines, cleaned: Any, customers: int, orders: int, names: Sequence[str] | None = None
) -> dict:
    """Return summary.json's `input`: what was read, kept and dropped, and the period.

    names: the inputs' names to show (default: each source's own, its path)."""
    return {
        "files": [str(n) for n in names] if names is not None else [s.name for s in lines.sources],
        "rows_read": cleaned.rows_read,
        "rows_used": cleaned.rows_used,
        "rows_dropped": cleaned.rows_dropped,
        "customers": customers,
        "orders": orders,
        "period": {
            "start": cleaned.period_start.isoformat(),
            "end": cleaned.period_end.isoformat(),
        },
        "as_of": cleaned.as_of.isoformat(),
        # calendar days from the first order's day to as_of, both included
        "period_days": (cleaned.as_of - cleaned.period_start.date()).days + 1,
        "columns": lines.columns,
        "date_format": lines.date_reading.describe(),
    }


def run_summary(config: Settings, inputs: dict, rules: Rules | None, **parts: Any) -> dict:
    """Return summary.json (CONTRACT §5) from its parts, in the contract's order."""
    return {
        "segmint_version": __version__,
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "seed": config.seed,
        "input": inputs,
        "totals": parts["totals"],
        "feature_set": config.feature_set,
        "features": parts["features"],
        "selection": parts["selection"],
        "segments": parts["segments"],
        "rfm_segments": parts["rfm_segments"],
        "revenue_concentration": parts["revenue_concentration"],
        "clv": parts["clv"],
        "rules": None
        if rules is None
        else {"fidelity": rules.fidelity, "max_depth": rules.max_depth, "depths": rules.depths},
        "previous": parts["previous"],
        "warnings": parts["warnings"],
        "timings": parts["timings"],
        "versions": _versions(),
    }


def _versions() -> dict[str, str]:
    import sklearn

    return {
        "segmint": __version__,
        "scikit-learn": sklearn.__version__,
        "duckdb": duckdb.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }


def selection_summary(model: SegmentModel, config: Settings) -> dict:
    return {
        "metric": config.select,
        "k_fixed": config.k is not None,
        "k_range": [model.scores_[0].k, model.scores_[-1].k],
        "chosen_k": model.k_,
        "silhouette_sample_size": config.silhouette_sample_size,
        "n_init": config.n_init,
        # K-means starts run on a seeded sample of this many customers, refined on all
        "sample_size": len(model.labels_) if not model.sampled_ else config.sample_size,
        "sampled": model.sampled_,
        "min_segment_share": config.min_segment_share,
        "min_segment_size": config.min_segment_size,
        "min_stability": config.min_stability,
        "resamples": model.resamples,
        "scores": [s.as_dict() for s in model.scores_],
    }
