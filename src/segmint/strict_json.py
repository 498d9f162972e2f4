"""Strict JSON for every file and answer Segmint writes (docs/design.md, "Strict JSON").

JSON has no NaN or Infinity; Python's json module writes them unless told not to, and a
reader such as JavaScript's JSON.parse or jq then fails on the whole file. Every writer
(summary.json, model.json, rules.json, validation.json, compare.json, the report's chart
data, the web app's files and API answers) goes through `dumps`, which first converts
numpy and date values and checks every number: a non-finite one is a bug upstream (an
undefined statistic must be written as null with its reason beside it), so it raises
NonFiniteNumber naming where it sits, before anything is written.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any


class NonFiniteNumber(ValueError):
    """A NaN or infinity on its way into JSON (a bug: the value should be null)."""


def json_ready(value: Any, where: str = "$") -> Any:
    """Return value as plain JSON types (numpy scalars and arrays, tuples, dates, paths
    converted); raise NonFiniteNumber for a NaN or infinity, naming its place."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NonFiniteNumber(f"{where} is {value}: an undefined value must be null")
        return value
    if isinstance(value, Mapping):
        return {str(k): json_ready(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return json_ready(value.tolist(), where)
    raise TypeError(f"{where}: {type(value).__name__} is not JSON")


def dumps(value: Any, *, indent: int | None = None, compact: bool = False) -> str:
    """Return value as strict JSON text (see json_ready); compact: no spaces at all."""
    separators = (",", ":") if compact else None
    return json.dumps(
        json_ready(value), indent=indent, separators=separators, ensure_ascii=False,
        allow_nan=False,
    )  # fmt: skip


def finite_or_none(value: float | None) -> float | None:
    """Return value when it is a finite number, else None (for a statistic that may be
    undefined: say why beside it)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
