"""The DuckDB engine: the log read and cleaned by DuckDB, the customers in a pandas table.

The full-data passes are numpy and pandas over that table; the CLV models are fitted and
every customer scored in a helper process while the run profiles the segments
(`segmint.helper`). See `engines.base.Engine` for what each method provides.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from segmint.clv.per_customer import (
    LifetimeValue,
    ModelInputs,
    absent,
    lifetime_value,
    segment_clv,
    segment_intervals,
    why_not,
)
from segmint.features.build import (
    REPEAT_VALUE,
    customer_features,
    earlier_features,
    segment_top_categories,
)
from segmint.features.clean import clean, release_lines
from segmint.helper import helper, shared, sharing
from segmint.io.connection import connect, input_errors
from segmint.io.inputs import Lines, open_lines
from segmint.io.text import NOT_UTF8
from segmint.lifecycle.compare import moves_since
from segmint.measures.attributes import describe_attributes, load_customers
from segmint.measures.groups import GROUP_COLUMNS, Group, spend_ranking
from segmint.measures.moments import Moments, segment_moments
from segmint.model.segment_model import SegmentModel, new_model
from segmint.progress import watching
from segmint.result import SegmentationResult
from segmint.settings import Settings

Progress = Callable[[str], None]


class LocalEngine:
    """One run's DuckDB connection and customers table (never shared between runs)."""

    def __init__(self, config: Settings) -> None:
        self.config = config
        self.earlier: pd.DataFrame | None = None
        self.earlier_customers: int | None = None
        self._stack = ExitStack()

    # resources and errors ---------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[None]:
        with self._stack:
            self.workdir = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="segmint-")))  # fmt: skip
            self.con = self._stack.enter_context(connect(self.config, self.workdir))
            yield

    def reading(self, inputs: Sequence[Any]) -> Any:
        return input_errors(list(inputs))

    def watching(self, progress: Progress | None) -> Any:
        return watching(self.con, progress)

    # read → clean → features ------------------------------------------------------------

    def read(self, inputs: Sequence[Any], config: Settings, whole_encoding: bool) -> Lines:
        self.lines = open_lines(self.con, list(inputs), config, self.workdir, whole_encoding)
        self.input_names = [s.name for s in self.lines.sources]
        return self.lines

    def read_again(self, error: Exception) -> bool:
        """A byte that is not UTF-8 past the checked head: open the inputs with the whole check
        (which finds cp1252 and rewrites them)."""
        return isinstance(error, duckdb.InvalidInputException) and NOT_UTF8 in str(error)

    def clean(self, lines: Lines, config: Settings) -> Any:
        return clean(self.con, lines, config)

    def features(
        self, cleaned: Any, lines: Lines, config: Settings, earlier_as_of: dt.date | None
    ) -> None:
        customers = customer_features(
            self.con, cleaned.as_of, lines.has("quantity"), lines.has("category")
        )
        if earlier_as_of is not None:
            self.earlier = earlier_features(
                self.con, earlier_as_of, lines.has("category") and config.feature_set == "full"
            )
        release_lines(self.con)
        self.clv_inputs = ModelInputs.of(customers, customers.pop(REPEAT_VALUE).to_numpy())
        self.sample = self.customers = customers

    def load_customers(self, path: str | None) -> pd.DataFrame | None:
        """The customers file on the driver (one row per id), read by DuckDB on both engines."""
        return load_customers(self.con, path, self.workdir) if path else None

    # model ------------------------------------------------------------------------------

    def fit(self, config: Settings, progress: Progress | None) -> SegmentModel:
        return new_model(config, self.customers.columns).fit(self.customers, progress)

    def assign(self, model: SegmentModel) -> None:
        model.assign(self.customers)

    def label(self, model: SegmentModel) -> None:
        """The labels are the model's (`model.labels_`, every customer)."""

    def name(self, model: SegmentModel) -> None:
        """The names go into the customers table when the result is built."""

    # aggregates -------------------------------------------------------------------------

    def moments(self, model: SegmentModel) -> tuple[dict[str, Moments], list[dict[str, Moments]]]:
        return segment_moments(self.customers, model.labels_, model.k_)

    def groups(self, model: SegmentModel) -> tuple[Group, list[Group]]:
        everyone = Group.of(self.customers)
        narrow = self.customers[list(GROUP_COLUMNS)]  # not every column once per segment
        labels = model.labels_
        return everyone, [Group.of(narrow[labels == i]) for i in range(model.k_)]

    def top_categories(self, model: SegmentModel) -> dict[int, list[str]]:
        """Return segment id → its three largest categories by gross spend."""
        membership = pd.DataFrame(
            {"customer_id": self.customers["customer_id"], "segment_id": model.labels_}
        )
        self.con.register("segment_membership", membership)
        return segment_top_categories(self.con, "segment_membership")

    def attribute_shares(
        self, model: SegmentModel, attributes: pd.DataFrame
    ) -> list[dict[str, dict[str, float]]]:
        return describe_attributes(self.customers, model.labels_, attributes, model.k_)

    def rfm_groups(self) -> dict[str, tuple[int, float]]:
        """Return RFM segment name → (customers, revenue)."""
        # Codes in order of first appearance, then each group's spend as one slice of a
        # stable sort (fsum is exact, so the order inside a group does not matter anyway).
        codes, names = pd.factorize(self.customers["rfm_segment"], sort=False)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
        spend = self.customers["monetary"].to_numpy(dtype=np.float64)[order]
        return {
            name: (int(bounds[i + 1] - bounds[i]), math.fsum(spend[bounds[i] : bounds[i + 1]]))
            for i, name in enumerate(names)
        }

    def top_revenue(self, n: int) -> float:
        if not hasattr(self, "_ranked"):
            self._ranked = spend_ranking(self.customers["monetary"].to_numpy())
        return math.fsum(self._ranked[:n])

    def moves_since(self, folder: str, model: SegmentModel) -> list[str]:
        names = model.names_
        table = pd.DataFrame({"customer_id": self.customers["customer_id"],
                              "segment_name": [names[i] for i in model.labels_]})  # fmt: skip
        return moves_since(folder, table, names)

    @contextmanager
    def lifetime_value_meanwhile(
        self, config: Settings, as_of: dt.date
    ) -> Iterator[Callable[[SegmentModel], tuple[LifetimeValue, list[dict]]]]:
        """Yield a function returning the lifetime values and each segment's CLV figures,
        the models fitted in a helper process meanwhile.

        The CLV models are numpy and scipy on one core; the profile and the rules that
        follow them do not need them, so a helper (segmint.helper) fits and scores them on
        the other core. Without a helper, or when CLV does not run, they are computed when
        asked for.
        """
        inputs = self.clv_inputs
        if why_not(inputs.repeat_customers, config.clv) is not None:
            yield lambda model: self._with_segments(_lifetime_value(inputs, config, as_of), model)
            return
        with (
            sharing({"inputs": inputs, "config": config, "as_of": as_of}) as token,
            helper() as work,
        ):
            task = work.submit(_lifetime_job, token)
            yield lambda model: self._with_segments(task.result(), model)

    def _with_segments(
        self, lifetime: LifetimeValue, model: SegmentModel
    ) -> tuple[LifetimeValue, list[dict]]:
        """Return the lifetime values and each segment's CLV figures with the 90% interval
        of its total CLV; keep the CLV columns for the customers table."""
        self.lifetime = lifetime
        k, labels = model.k_, model.labels_
        if not lifetime.summary["enabled"]:
            return lifetime, [{} for _ in range(k)]
        intervals = segment_intervals(lifetime, self.clv_inputs, labels, k)
        per_segment = []
        for i in range(k):
            entry = segment_clv(lifetime.columns, labels == i, self.config.clv_horizon_days)
            entry["clv_total_interval"] = intervals[i]
            per_segment.append(entry)
        return lifetime, per_segment

    # summary and result -----------------------------------------------------------------

    def warnings(self, model: SegmentModel) -> list[str]:
        return []

    def summary_block(self) -> dict | None:
        return None

    def result(
        self,
        summary: dict,
        model: SegmentModel,
        model_json: dict | None,
        rules: Any,
        contacts: pd.DataFrame | None,
        lifetime: LifetimeValue,
    ) -> Any:
        table = self.customers.copy(deep=False)  # new columns go to the copy; values shared
        table.insert(1, "segment_id", model.labels_.astype("int64"))
        table.insert(2, "segment_name", [model.names_[i] for i in model.labels_])
        for name, values in lifetime.columns.items():
            table[name] = values.to_numpy()
        return SegmentationResult(table, summary, model, model_json, rules, contacts)


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
