"""summary.json: built once, from its parts, in the documented order
(docs/reference/outputs.md#summary-json). Its types, and the JSON Schema made from them, are
`segmint.summary_types`; nothing changes the summary once `run_summary` has returned it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, cast

import duckdb
import numpy as np
import pandas as pd

from segmint import __version__
from segmint.io.inputs import Lines
from segmint.model.segment_model import SegmentModel
from segmint.profile.summary import orders_per_year
from segmint.rules.export import rule_text
from segmint.rules.tree import Rules
from segmint.settings import Settings
from segmint.summary_types import (
    Clv,
    Concentration,
    Engine,
    InputSummary,
    KScore,
    NoClv,
    OutOfRange,
    Previous,
    Refresh,
    RfmSegment,
    RulesSummary,
    Scored,
    Segment,
    SegmentProfile,
    SegmentStability,
    Selection,
    Summary,
    Totals,
    Versions,
)

# summary.json's `clv` when scoring: the CLV models are fitted by a run, not kept in model.json.
NOT_SCORED = "not computed when scoring with a saved model"


def run_summary(
    config: Settings,
    inputs: InputSummary,
    *,
    totals: Totals,
    features: list[str],
    selection: Selection | None,
    segments: list[Segment],
    rfm_segments: list[RfmSegment],
    revenue_concentration: list[Concentration],
    clv: Clv | NoClv,
    rules: Rules | None,
    previous: Previous | None,
    warnings: list[str],
    timings: dict[str, float],
    engine: Engine | None = None,
    scored: Scored | None = None,
) -> Summary:
    """Return summary.json from its parts, in order: the one place it is assembled.

    selection: None when scoring (the key is then left out); engine: the Spark engine's
    block; scored: a scoring's `model` and `out_of_range`, last."""
    return cast(
        Summary,
        {
            "segmint_version": __version__,
            "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "seed": config.seed,
            "input": inputs,
            "totals": totals,
            "feature_set": config.feature_set,
            "features": features,
            **({"selection": selection} if selection is not None else {}),
            "segments": segments,
            "rfm_segments": rfm_segments,
            "revenue_concentration": revenue_concentration,
            "clv": clv,
            "rules": rules_summary(rules),
            "previous": previous,
            "warnings": warnings,
            "timings": timings,
            "versions": _versions(),
            **({"engine": engine} if engine is not None else {}),
            **(scored if scored is not None else {}),
        },
    )


def input_summary(
    lines: Lines, cleaned: Any, customers: int, orders: int, names: Sequence[str] | None = None
) -> InputSummary:
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


def _versions() -> Versions:
    import sklearn

    return {
        "segmint": __version__,
        "scikit-learn": sklearn.__version__,
        "duckdb": duckdb.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }


def selection_summary(model: SegmentModel, config: Settings, refresh: Refresh) -> Selection:
    """Return summary.json's `selection`: how k was chosen, and the refresh test."""
    return {
        "metric": cast(Any, config.select),
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
        "scores": [cast(KScore, s.as_dict()) for s in model.scores_],
        "refresh": refresh,
    }


def segment_entries(
    profiles: Sequence[SegmentProfile],
    period_days: int,
    stability: Sequence[SegmentStability] | None,
    *,
    attributes: Sequence[dict[str, dict[str, float]]] | None,
    rules: Rules | None,
    clv: Sequence[Mapping[str, Any]],
) -> list[Segment]:
    """Return summary.json's `segments`, each entry whole, in its keys' order: the profile,
    the attributes (with --customers), the CRM rules (a fitted run), the CLV figures (empty
    without lifetime value), orders per year and stability (None: not measured)."""
    entries = []
    for profile in profiles:
        i = profile["id"]
        entry = {
            **profile,
            **({"attributes": attributes[i]} if attributes is not None else {}),
            **(
                {"rule_text": rule_text(rules.rules[i]), "rule_fidelity": rules.segment_fidelity[i]}
                if rules is not None
                else {}
            ),
            **clv[i],
            "orders_per_year": orders_per_year(profile["frequency_mean"], period_days),
            "stability": None if stability is None else stability[i],
        }
        entries.append(cast(Segment, entry))
    return entries


def rules_summary(rules: Rules | None) -> RulesSummary | None:
    """Return summary.json's `rules` (docs/reference/rules.md#summary); None when scoring."""
    if rules is None:
        return None
    return {
        "fidelity": rules.fidelity,
        "max_depth": rules.max_depth,
        "depths": cast(Any, rules.depths),
    }


def previous_summary(kept: Mapping[str, Any], moves: list[str]) -> Previous:
    """Return summary.json's `previous`: what --previous kept (lifecycle.identity), and the
    key moves of customers since that run."""
    return cast(Previous, {**kept, "moves": moves})


def not_scored() -> NoClv:
    """Return a scoring's `clv`: not computed."""
    return {"enabled": False, "reason": NOT_SCORED}


def scored_summary(model: SegmentModel, model_file: str | None, feature_set: str) -> Scored:
    """Return a scoring's `model` (the model read and its run) and `out_of_range`, from the
    model that assigned the customers (its `outside_` flags)."""
    metadata = getattr(model, "metadata_", {})
    outside = model.outside_
    out_of_range: OutOfRange = {
        "customers": int(outside.any(axis=1).sum()),
        "share": float(outside.any(axis=1).mean()) if len(outside) else 0.0,
        "by_feature": {f: int(n) for f, n in zip(model.features, outside.sum(axis=0), strict=True)},
    }
    return {
        "model": {
            "file": model_file,
            "as_of": metadata.get("as_of"),
            "feature_set": cast(Any, feature_set),
            "k": model.k_,
        },
        "out_of_range": out_of_range,
    }


def scored_warnings(scored: Scored) -> list[str]:
    """Return a scoring's warning about customers outside the model's training range."""
    outside = scored["out_of_range"]["customers"]
    if not outside:
        return []
    return [
        f"{outside:,} customer(s) have features far outside "
        "the range the model was trained on (more than one standard deviation beyond it): "
        "their segment is the nearest, but the model has not seen customers like them"
    ]
