"""What an engine provides to a run (`segmint.sequence`): only what differs between engines.

An engine holds one run's data where it lives — DuckDB with a pandas table of customers in
this process (`engines.local`), or Spark with every customer in the cluster and a seeded
sample on the driver (`engines.spark_run`). It runs the SQL, the model's full-data passes
and the aggregates the profile is made of, and builds the run's result; it names nothing
and decides nothing: the sequencer turns its passes into figures with the same functions
for every engine.

`sample` is the customers the model's k was chosen on and the rules are learnt from, on
the driver (every customer on DuckDB); `model.labels_` are their segments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import pandas as pd

from segmint.clv.per_customer import LifetimeValue
from segmint.io.inputs import Lines
from segmint.measures.groups import Group
from segmint.measures.moments import Moments
from segmint.model.segment_model import SegmentModel
from segmint.settings import Settings

Progress = Callable[[str], None]
# The CLV figures of a run: its LifetimeValue and each segment's figures (dicts added to the
# segments' summary entries; empty where CLV did not run).
LifetimeOutcome = tuple[LifetimeValue, list[dict]]


class Engine(Protocol):
    sample: pd.DataFrame
    earlier: pd.DataFrame | None
    """The customers' features as of the refresh test's earlier date (a seeded sample of
    them on Spark), or None."""
    earlier_customers: int | None
    """How many customers `earlier` stands for (None: len(earlier))."""
    input_names: list[str]

    # The run's resources (a temporary folder, connections) and the errors that are the
    # user's: `reading` turns the data's errors met while reading into InputError.
    def session(self) -> AbstractContextManager[None]: ...
    def reading(self, inputs: Sequence[Any]) -> AbstractContextManager[None]: ...
    def watching(self, progress: Progress | None) -> AbstractContextManager[None]: ...

    # read → clean → features
    def read(self, inputs: Sequence[Any], config: Settings, whole_encoding: bool) -> Lines: ...
    def read_again(self, error: Exception) -> bool: ...
    def clean(self, lines: Lines, config: Settings) -> Any: ...
    def features(
        self, cleaned: Any, lines: Lines, config: Settings, earlier_as_of: dt.date | None
    ) -> None: ...
    def load_customers(self, path: str | None) -> pd.DataFrame | None: ...

    # model: fit (k on the sample, centres over every customer) or assign a saved model
    def fit(self, config: Settings, progress: Progress | None) -> SegmentModel: ...
    def assign(self, model: SegmentModel) -> None: ...
    def label(self, model: SegmentModel) -> None: ...
    def name(self, model: SegmentModel) -> None: ...

    # full-data aggregates the profile and the summary are made of
    def moments(
        self, model: SegmentModel
    ) -> tuple[dict[str, Moments], list[dict[str, Moments]]]: ...
    def groups(self, model: SegmentModel) -> tuple[Group, list[Group]]: ...
    def top_categories(self, model: SegmentModel) -> dict[int, list[str]]: ...
    def attribute_shares(
        self, model: SegmentModel, attributes: pd.DataFrame
    ) -> list[dict[str, dict[str, float]]]: ...
    def rfm_groups(self) -> dict[str, tuple[int, float]]: ...
    def top_revenue(self, n: int) -> float: ...
    def moves_since(self, folder: str, model: SegmentModel) -> list[str]: ...
    def lifetime_value_meanwhile(
        self, config: Settings, as_of: dt.date
    ) -> AbstractContextManager[Callable[[SegmentModel], LifetimeOutcome]]: ...

    # what the summary adds for this engine, and the run's result
    def warnings(self, model: SegmentModel) -> list[str]: ...
    def summary_block(self) -> dict | None: ...
    def result(
        self,
        summary: dict,
        model: SegmentModel,
        model_json: dict,
        rules: Any,
        contacts: pd.DataFrame | None,
        lifetime: LifetimeValue,
    ) -> Any: ...
