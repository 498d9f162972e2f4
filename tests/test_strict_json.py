"""Strict JSON (segmint.strict_json): one writer for every JSON file and answer."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from segmint.io.outputs import write_json
from segmint.strict_json import NonFiniteNumber, dumps, finite_or_none, json_ready


def test_numpy_dates_and_paths_become_plain_json() -> None:
    value = {
        "n": np.int64(3),
        "x": np.float32(0.5),
        "flag": np.bool_(True),
        "row": np.array([1.5, 2.0]),
        "day": dt.date(2011, 12, 9),
        "file": Path("a/b.csv"),
        "pair": (1, None),
    }
    assert json.loads(dumps(value)) == {
        "n": 3, "x": 0.5, "flag": True, "row": [1.5, 2.0], "day": "2011-12-09",
        "file": "a/b.csv", "pair": [1, None],
    }  # fmt: skip
    assert dumps({"a": [1, 2]}, compact=True) == '{"a":[1,2]}'


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -np.inf, np.float64("nan")])
def test_a_non_finite_number_is_refused_with_its_place(bad: float) -> None:
    with pytest.raises(NonFiniteNumber, match=r"\$\.segments\[1\]\.stability is"):
        dumps({"segments": [{"stability": 0.5}, {"stability": bad}]})
    with pytest.raises(NonFiniteNumber, match=r"\$\.row\[2\]"):
        json_ready({"row": np.array([1.0, 2.0, bad])})


def test_write_json_writes_nothing_when_a_value_is_not_finite(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    with pytest.raises(NonFiniteNumber):
        write_json({"totals": {"aov": float("nan")}}, path)
    assert not path.exists()
    write_json({"totals": {"aov": 2.5}}, path)
    assert json.loads(path.read_text()) == {"totals": {"aov": 2.5}}


def test_finite_or_none() -> None:
    assert finite_or_none(float("nan")) is None
    assert finite_or_none(np.float64(np.inf)) is None
    assert finite_or_none(None) is None
    assert finite_or_none(np.float32(1.5)) == 1.5


def test_the_web_apps_answers_are_strict() -> None:
    pytest.importorskip("fastapi")
    from segmint.web.responses import StrictJSONResponse

    assert StrictJSONResponse({"k": np.int64(4), "s": None}).body == b'{"k":4,"s":null}'
    with pytest.raises(NonFiniteNumber):
        StrictJSONResponse({"share": float("nan")})
