"""summary.json: its parts assembled in the documented order (docs/design.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from segmint import __version__
from segmint.io.inputs import Lines
from segmint.model.segment_model import SegmentModel
from segmint.rules.tree import Rules
from segmint.settings import Settings


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
    """Return summary.json (docs/reference/outputs.md#summary-json) from its parts, in order."""
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
