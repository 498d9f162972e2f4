"""Every knob of a run, with its default and its validation, in one frozen dataclass."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from segmint.errors import UsageError
from segmint.model import defaults
from segmint.model.defaults import MODEL_SETTINGS, check_params

# `--clv-model`: auto, then the order models (segmint.clv.orders.MODEL_NAMES; docs/clv.md).
CLV_MODELS = ("auto", "pareto-nbd", "mbg-nbd", "bg-nbd")

FEATURE_SETS = ("rfm", "value", "full")
# The longest --clv-horizon-days: beyond a century a customer lifetime means nothing.
MAX_HORIZON_DAYS = 36_500
# The most --threads: DuckDB starts them all (100,000 failed: "can't start new thread").
MAX_THREADS = 1024
# The largest --seed: scikit-learn's and numpy's legacy generators take 32-bit seeds.
MAX_SEED = 2**32 - 1
# `stable`: Davies-Bouldin among the k whose segments are all stable (docs/stability.md).
SELECTION_METRICS = defaults.SELECTION_METRICS
TRANSFORMS = defaults.TRANSFORMS
ENGINES = ("duckdb", "spark")
ROLES = (
    "customer_id",
    "date",
    "order_id",
    "quantity",
    "unit_price",
    "amount",
    "category",
    "product_id",
)


@dataclass(frozen=True)
class Settings:
    """The settings of one run (docs/reference/cli.md#run).

    Build with ``Settings.create(**kwargs)``."""

    columns: Mapping[str, str] = field(default_factory=dict)
    """Role → column name overrides (``--column role=NAME``)."""
    model_columns: Mapping[str, str] = field(default_factory=dict)
    """Role → column of a saved model's run (scoring): used where the data has that column."""
    customers_file: str | None = None
    """Optional customer attributes, joined on customer_id."""
    products_file: str | None = None
    """Optional product table, joined on product_id; gives category."""
    as_of: dt.date | None = None
    """Reference date; lines after it are dropped. Default: latest kept line."""
    date_format: str | None = None
    """strftime codes for the date column; default: detected."""
    keep_duplicates: bool = False
    feature_set: str = "rfm"
    transform: str = defaults.TRANSFORM
    k: int | None = None
    k_min: int = defaults.K_MIN
    k_max: int = defaults.K_MAX
    select: str = defaults.SELECT
    min_stability: float = defaults.MIN_STABILITY
    """Mean bootstrap Jaccard similarity every segment of a `stable` k reaches."""
    min_segment_share: float = defaults.MIN_SEGMENT_SHARE
    min_segment_size: int = defaults.MIN_SEGMENT_SIZE
    """Customers every segment of an eligible k holds at least (with min_segment_share)."""
    silhouette_sample_size: int = defaults.SILHOUETTE_SAMPLE_SIZE
    n_init: int = defaults.N_INIT
    seed: int = defaults.SEED
    sample_size: int = defaults.SAMPLE_SIZE
    """Customers on which k is chosen (a seeded sample; all customers when fewer)."""
    memory_limit: str | None = None
    """DuckDB's memory limit, e.g. '2GB'; beyond it DuckDB spills to disk."""
    threads: int | None = None
    """DuckDB's threads; default: one per core."""
    rules_depth: int | None = None
    """Depth of the CRM rules' tree; default: the smallest of 2..5 reaching 90% fidelity."""
    previous: str | None = None
    """An earlier run's output folder whose segment ids and names are kept where they match."""
    clv: bool | None = None
    """Customer lifetime value (docs/clv.md); None: on with at least 20 repeat customers."""
    clv_horizon_days: int = 365
    clv_model: str = "auto"
    """Order model of the CLV (docs/clv.md): auto, pareto-nbd, mbg-nbd or bg-nbd."""
    discount_rate: float | None = None
    """Annual discount rate of the CLV, e.g. 0.1; default: undiscounted."""

    @classmethod
    def create(cls, **kwargs: object) -> Settings:
        """Return validated settings; unknown names and bad values raise UsageError."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise UsageError(f"unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
        if isinstance(kwargs.get("as_of"), str):
            kwargs["as_of"] = parse_as_of(kwargs["as_of"])  # type: ignore[arg-type]
        for mapping in ("columns", "model_columns"):
            if kwargs.get(mapping) is not None:
                kwargs[mapping] = dict(kwargs[mapping])  # type: ignore[call-overload]
        settings = cls(**kwargs)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise UsageError naming the first invalid setting."""
        for role in self.columns:
            if role not in ROLES:
                raise UsageError(
                    f"--column {role}=…: unknown role {role!r}; roles: {', '.join(ROLES)}"
                )
        _choice("--feature-set", self.feature_set, FEATURE_SETS)
        check_params(
            {name: getattr(self, name) for name in MODEL_SETTINGS},
            lambda name: MODEL_SETTINGS[name],
        )
        if self.threads is not None and not 1 <= self.threads <= MAX_THREADS:
            raise UsageError(f"--threads {self.threads}: choose from 1 to {MAX_THREADS}")
        if self.memory_limit is not None and not _MEMORY.fullmatch(self.memory_limit.strip()):
            raise UsageError(
                f"--memory-limit {self.memory_limit!r}: write a size such as 2GB or 500MB"
            )
        if self.rules_depth is not None and not 1 <= self.rules_depth <= 8:
            raise UsageError(f"--rules-depth {self.rules_depth}: choose a depth from 1 to 8")
        if not 1 <= self.clv_horizon_days <= MAX_HORIZON_DAYS:
            raise UsageError(
                f"--clv-horizon-days {self.clv_horizon_days}: choose from 1 to "
                f"{MAX_HORIZON_DAYS} (100 years)"
            )
        if self.clv_model not in CLV_MODELS:
            raise UsageError(
                f"--clv-model {self.clv_model!r}: choose one of {', '.join(CLV_MODELS)}"
            )
        if self.discount_rate is not None and not 0 <= self.discount_rate < 10:
            raise UsageError(
                f"--discount-rate {self.discount_rate}: write an annual rate such as 0.1 (10%)"
            )
        if not 0 <= self.seed <= MAX_SEED:
            raise UsageError(f"--seed {self.seed}: choose a whole number from 0 to {MAX_SEED}")


_MEMORY = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def _choice(option: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise UsageError(f"{option} {value!r}: choose one of {', '.join(allowed)}")


def parse_as_of(text: str) -> dt.date:
    """Return the date of an ``--as-of`` value written as YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise UsageError(f"--as-of {text!r}: write the date as YYYY-MM-DD") from None


def parse_column_overrides(pairs: list[str]) -> dict[str, str]:
    """Return the role → column mapping of repeated ``--column role=NAME`` options."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        role, sep, name = pair.partition("=")
        role = role.strip()
        if not sep or not role or not name:
            raise UsageError(f"--column {pair!r}: write it as role=NAME, e.g. customer_id=Client")
        mapping[role] = name
    return mapping


def parse_spark_conf(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Return the KEY=VALUE pairs of --spark-conf as a dict (a later pair wins)."""
    conf: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"--spark-conf {pair!r}: expected KEY=VALUE, e.g. spark.executor.memory=4g"
            )
        conf[key.strip()] = value.strip()
    return conf
