"""Run settings from form fields: one reading for the API's multipart form and the pages.

Values arrive as text; they become the keyword arguments of `Settings.create` (the same
validation as the CLI's), so a bad value is refused with the CLI's message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from segmint.errors import UsageError
from segmint.settings import ROLES, Settings, parse_column_overrides

TRUE = ("1", "true", "on", "yes")
FALSE = ("0", "false", "off", "no")
INTEGERS = {"k": "--k", "k_min": "--k-min", "k_max": "--k-max", "seed": "--seed",
            "clv_horizon_days": "--clv-horizon-days", "rules_depth": "--rules-depth",
            "min_segment_size": "--min-segment-size"}  # fmt: skip
FLOATS = {"min_segment_share": "--min-segment-share", "discount_rate": "--discount-rate",
          "min_stability": "--min-stability"}  # fmt: skip
TEXTS = ("feature_set", "select", "transform", "as_of", "date_format", "clv_model")
RUN_FIELDS = (*INTEGERS, *FLOATS, *TEXTS, "clv", "keep_duplicates", "column", "k_mode")


def settings_from_fields(fields: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Return Settings.create keyword arguments from form fields; raise UsageError on bad text.

    `column` may repeat (`role=NAME`, as `--column`), and the pages send `column_<role>`
    (empty: as detected). `k_mode=range` ignores k; `clv` is auto, on or off.
    """

    def first(name: str) -> str:
        values = fields.get(name) or [""]
        return values[0].strip()

    settings: dict[str, Any] = {}
    for name, option in INTEGERS.items():
        if first(name):
            settings[name] = _number(first(name), option, int)
    for name, option in FLOATS.items():
        if first(name):
            settings[name] = _number(first(name), option, float)
    for name in TEXTS:
        if first(name):
            settings[name] = first(name)
    if first("k_mode") == "range":
        settings.pop("k", None)
    clv = first("clv").lower()
    if clv in TRUE:
        settings["clv"] = True
    elif clv in FALSE:
        settings["clv"] = False
    elif clv not in ("", "auto"):
        raise UsageError(f"clv {clv!r}: choose auto, on or off")
    keep = first("keep_duplicates").lower()
    if keep and keep not in (*TRUE, *FALSE):
        raise UsageError(f"keep_duplicates {keep!r}: write true or false")
    settings["keep_duplicates"] = keep in TRUE
    columns = parse_column_overrides([v for v in fields.get("column", []) if v.strip()])
    for role in ROLES:
        if first(f"column_{role}"):
            columns[role] = first(f"column_{role}")
    settings["columns"] = columns
    return settings


def _number(text: str, option: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise UsageError(f"{option} {text!r}: write {what}") from None


def validated(settings: Mapping[str, Any]) -> Settings:
    """Return Settings.create(**settings): UsageError with the CLI's message when invalid."""
    return Settings.create(**settings)
