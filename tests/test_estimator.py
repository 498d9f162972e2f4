"""SegmentModel as a scikit-learn user expects an estimator (issue 26, item 3), and every
default written once (segmint.model.defaults → Settings → the CLI, the API schema)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from segmint.errors import UsageError
from segmint.model.segment_model import SegmentModel
from segmint.settings import Settings

FEATURES = ["recency_days", "frequency", "monetary"]


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 400
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "recency_days": rng.integers(0, 400, n).astype(float),
            "frequency": rng.integers(1, 12, n).astype(float),
            "monetary": rng.gamma(2.0, 80.0, n),
        }
    )


def _small(**params) -> SegmentModel:
    return SegmentModel(FEATURES, **{"k_min": 2, "k_max": 4, "n_init": 2, "resamples": 0, **params})


def test_parameters_are_checked_when_fitting_not_when_built(customers) -> None:
    model = _small(k_min=1)  # building stores, as scikit-learn's estimators do
    with pytest.raises(UsageError, match=r"^k_min 1: must be at least 2$"):
        model.fit(customers)
    with pytest.raises(UsageError, match=r"^select 'best': choose one of stable"):
        _small(select="best").fit(customers)
    with pytest.raises(UsageError, match=r"^min_stability 1.5: must be in \[0, 1\]$"):
        _small(min_stability=1.5).fit(customers)


def test_fit_names_the_column_it_lacks(customers) -> None:
    with pytest.raises(UsageError, match="no column 'monetary'"):
        SegmentModel(["recency_days", "frequency"], k=3).fit(customers.drop(columns="monetary"))


def test_set_params_round_trips_and_refuses_unknown_names() -> None:
    model = _small()
    assert model.set_params(k=5, seed=7) is model
    assert model.get_params()["k"] == 5 and model.get_params()["seed"] == 7
    with pytest.raises(UsageError, match="kk: not a parameter"):
        model.set_params(kk=3)


def test_scikit_learn_clone_gives_an_unfitted_copy_with_the_same_parameters(customers) -> None:
    from sklearn.base import clone

    fitted = _small(seed=3).fit(customers)
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "centers_")


def test_fit_predict_predict_and_distances_agree(customers) -> None:
    model = _small()
    labels = model.fit_predict(customers)
    np.testing.assert_array_equal(labels, model.predict(customers))
    distances = model.distances(customers)
    assert distances.shape == (len(customers), model.k_)
    np.testing.assert_array_equal(distances.argmin(axis=1), labels)
    # the distance to the own centre, recomputed from the scaled features
    own = np.linalg.norm(model.scaled(customers) - model.centers_[labels], axis=1)
    np.testing.assert_allclose(distances[np.arange(len(labels)), labels], own, rtol=1e-12)


def test_names_are_one_per_segment_and_never_two_alike(customers) -> None:
    model = _small(k=3).fit(customers)
    model.name(["A", "B", "C"])
    assert model.names_ == ["A", "B", "C"]
    with pytest.raises(ValueError, match="distinct segment names"):
        model.name(["A", "A", "C"])
    with pytest.raises(ValueError, match="distinct segment names"):
        model.name(["A", "B"])


def test_the_models_defaults_are_the_settings_defaults() -> None:
    settings = Settings()
    params = SegmentModel(FEATURES).get_params()
    shared = {f.name for f in dataclasses.fields(Settings)} & set(params)
    assert shared >= {"k_min", "k_max", "select", "min_stability", "sample_size", "seed"}
    for name in shared:
        assert getattr(settings, name) == params[name], name


def test_the_command_line_and_the_api_schema_show_the_settings_defaults() -> None:
    import click

    from segmint.cli import app
    from segmint.web.api import _UPLOAD_SCHEMA

    settings = Settings()
    run = app.commands["run"]
    names = {f.name for f in dataclasses.fields(Settings)}
    compared = 0
    for option in run.params:
        shown = isinstance(option.default, (int, float, str)) and not option.is_flag
        if isinstance(option, click.Option) and option.name in names and shown:
            assert option.default == getattr(settings, option.name), option.name
            compared += 1
    assert compared >= 10
    for name, schema in _UPLOAD_SCHEMA["properties"].items():
        if "default" in schema and hasattr(settings, name) and name != "clv":
            assert schema["default"] == getattr(settings, name), name
