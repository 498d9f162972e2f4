"""The Python API of a run on this machine: `segment` and `score`, and their result.

The stages themselves are `segmint.sequence` (written once for every engine) over the
DuckDB engine (`engines.local`); `SegmentationResult.write` writes every output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from segmint.engines.local import LocalEngine
from segmint.errors import UsageError
from segmint.model.segment_model import SegmentModel, load_model
from segmint.result import SegmentationResult
from segmint.sequence import STAGES, run
from segmint.settings import Settings

__all__ = ["STAGES", "SegmentationResult", "score", "segment"]

Progress = Callable[[str], None]


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
    inputs = list(source) if isinstance(source, (list, tuple)) else [source]
    if input_names is not None and len(input_names) != len(inputs):
        raise ValueError(f"{len(input_names)} input names for {len(inputs)} inputs")
    return run(LocalEngine(config), inputs, config, progress, input_names=input_names)


def score(
    source: Any | Sequence[Any],
    model: SegmentModel | str | Path,
    progress: Progress | None = None,
    **settings: Any,
) -> SegmentationResult:
    """Return the customers of a new log assigned to a saved model's segments
    (docs/reference/python.md#score).

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
    inputs = list(source) if isinstance(source, (list, tuple)) else [source]
    # The summary is whole as `run` returns it (no `selection`, no CLV, the model read and the
    # customers outside its range: summary.scored_summary).
    result = run(LocalEngine(config), inputs, config, progress, model=model,
                 model_file=model_file,
                 labels={"model": "Assigning customers to the model's segments"})  # fmt: skip
    return SegmentationResult(result.customers, result.summary, model, None)


def segment_on_spark(
    spark: Any, source: Any | Sequence[Any], progress: Progress | None = None, **settings: Any
) -> Any:
    """Return the segmentation of a log computed on a Spark session (engines.spark_run).

    spark: a session, or a function returning one (called once the inputs are known to be
    readable, so that a bad file fails fast, before Spark starts).
    """
    config = Settings.create(**settings)
    inputs = [str(s) for s in (source if isinstance(source, (list, tuple)) else [source])]
    from segmint.engines.spark_run import UNSUPPORTED, SparkEngine  # only with --engine spark

    for name, option in UNSUPPORTED.items():
        if getattr(config, name):
            raise UsageError(f"{option}: not supported by the Spark engine yet")
    return run(SparkEngine(spark, inputs, config), inputs, config, progress)
