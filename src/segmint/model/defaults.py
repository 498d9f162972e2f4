"""The model's defaults and valid values, written once: `SegmentModel`'s parameters and a
run's settings (`segmint.settings.Settings`, which the command line, the web form and the
API schema read) take their defaults from here, and both check values with `check_params`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from segmint.errors import UsageError
from segmint.model.clusterboot import MIN_STABILITY, RESAMPLES

TRANSFORM = "auto"
K_MIN = 3
K_MAX = 10
SELECT = "stable"
MIN_SEGMENT_SHARE = 0.02
MIN_SEGMENT_SIZE = 5
SILHOUETTE_SAMPLE_SIZE = 5000
N_INIT = 10
SEED = 0
SAMPLE_SIZE = 20_000

SELECTION_METRICS = ("stable", "davies_bouldin", "silhouette", "calinski_harabasz")
TRANSFORMS = ("auto", "none")
# Fewest customers k is chosen on: the sample must show the segments it is to find.
MIN_SAMPLE_SIZE = 1000
MIN_SILHOUETTE_SAMPLE_SIZE = 10


# The settings that are the model's parameters, and how the command line names them.
MODEL_SETTINGS = {
    "select": "--select",
    "transform": "--transform",
    "k": "--k",
    "k_min": "--k-min",
    "k_max": "--k-max",
    "min_stability": "--min-stability",
    "min_segment_share": "--min-segment-share",
    "min_segment_size": "--min-segment-size",
    "silhouette_sample_size": "silhouette_sample_size",
    "n_init": "n_init",
    "sample_size": "--sample-size",
    "seed": "--seed",
}


def check_params(params: Mapping[str, Any], label: Callable[[str], str] = str) -> None:
    """Raise UsageError naming the first model parameter whose value is invalid.

    params: parameter name → value (those present are checked); label: how the message
    names a parameter (the command line's option, or the Python name).
    """

    def bad(name: str, why: str) -> UsageError:
        value = params[name]
        shown = repr(value) if isinstance(value, str) else value
        return UsageError(f"{label(name)} {shown}: {why}")

    for name, allowed in (("select", SELECTION_METRICS), ("transform", TRANSFORMS)):
        if name in params and params[name] not in allowed:
            raise bad(name, f"choose one of {', '.join(allowed)}")
    k = params.get("k")
    if k is not None and k < 2:
        raise bad("k", "a segmentation needs at least 2 segments")
    if k is None and "k_min" in params:
        if params["k_min"] < 2:
            raise bad("k_min", "must be at least 2")
        if "k_max" in params and params["k_max"] < params["k_min"]:
            raise UsageError(
                f"{label('k_max')} {params['k_max']} is below {label('k_min')} {params['k_min']}"
            )
    checks = {
        "min_stability": (lambda v: 0 <= v <= 1, "must be in [0, 1]"),
        "min_segment_share": (lambda v: 0 <= v < 1, "must be in [0, 1)"),
        "min_segment_size": (lambda v: v >= 0, "must be 0 or more"),
        "silhouette_sample_size": (
            lambda v: v >= MIN_SILHOUETTE_SAMPLE_SIZE,
            f"must be at least {MIN_SILHOUETTE_SAMPLE_SIZE}",
        ),
        "n_init": (lambda v: v >= 1, "must be at least 1"),
        "sample_size": (lambda v: v >= MIN_SAMPLE_SIZE, f"must be at least {MIN_SAMPLE_SIZE}"),
        "resamples": (lambda v: v >= 0, "must be 0 or more"),
    }
    for name, (valid, why) in checks.items():
        if name in params and not valid(params[name]):
            raise bad(name, why)


__all__ = [
    "MODEL_SETTINGS",
    "MIN_SAMPLE_SIZE",
    "SELECTION_METRICS",
    "TRANSFORMS",
    "check_params",
    "K_MAX",
    "K_MIN",
    "MIN_SEGMENT_SHARE",
    "MIN_SEGMENT_SIZE",
    "MIN_STABILITY",
    "N_INIT",
    "RESAMPLES",
    "SAMPLE_SIZE",
    "SEED",
    "SELECT",
    "SILHOUETTE_SAMPLE_SIZE",
    "TRANSFORM",
]
