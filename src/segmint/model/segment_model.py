"""SegmentModel: scaling + K-means with k chosen by a quality metric; JSON in and out."""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from segmint.errors import InputError, UsageError
from segmint.helper import from_both_ends, shared, sharing
from segmint.model import defaults
from segmint.model.clusterboot import (
    SegmentStability,
    Tally,
    bootstrap_tally,
)
from segmint.model.defaults import MODEL_SETTINGS, check_params
from segmint.model.feature_sets import apply_transform, clustering_features, transform_of
from segmint.model.kmeans import (
    count_distinct,
    distinct_points,
    fit_kmeans,
    nearest_centre,
    one_thread,
    squared_distances,
)
from segmint.model.sampling import sample_positions
from segmint.model.selection import (
    KScore,
    candidate_ks,
    choose_k,
    eligible_share,
    fragile_warning,
    score_labels,
    silhouette_rows,
    silhouettes,
)
from segmint.progress import time_left

if TYPE_CHECKING:  # settings imports the model package's defaults
    from segmint.settings import Settings

MODEL_FORMAT = "segmint-model"
MODEL_VERSION = 1
# A scored customer is out of the training range when a scaled feature lies more than this
# many training standard deviations beyond the smallest or largest value seen in training.
OUT_OF_RANGE = 1.0


@dataclass(frozen=True)
class Scaling:
    """Of each transformed feature over the customer base: mean, population standard
    deviation (1 where it is 0) and, when known, the scaled (min, max)."""

    mean: np.ndarray
    scale: np.ndarray
    range: np.ndarray | None = None


def scaling_of(raw: np.ndarray) -> Scaling:
    """Return the scaling of transformed features (one row per customer)."""
    scale = raw.std(axis=0)  # population standard deviation
    return Scaling(raw.mean(axis=0), np.where(scale > 0, scale, 1.0))


class SegmentModel:
    """K-means segmentation of per-customer features, in the shape of a scikit-learn estimator.

    The constructor only stores parameters; ``fit`` learns the attributes ending in ``_``;
    ``predict`` assigns each customer to its nearest centre and never refits.
    """

    def __init__(
        self,
        features: list[str],
        transform: str = defaults.TRANSFORM,
        k: int | None = None,
        k_min: int = defaults.K_MIN,
        k_max: int = defaults.K_MAX,
        select: str = defaults.SELECT,
        min_stability: float = defaults.MIN_STABILITY,
        min_segment_share: float = defaults.MIN_SEGMENT_SHARE,
        min_segment_size: int = defaults.MIN_SEGMENT_SIZE,
        silhouette_sample_size: int = defaults.SILHOUETTE_SAMPLE_SIZE,
        n_init: int = defaults.N_INIT,
        seed: int = defaults.SEED,
        sample_size: int = defaults.SAMPLE_SIZE,
        resamples: int = defaults.RESAMPLES,
    ) -> None:
        self.features = features
        self.transform = transform
        self.k = k
        self.k_min = k_min
        self.k_max = k_max
        self.select = select
        self.min_stability = min_stability
        self.min_segment_share = min_segment_share
        self.min_segment_size = min_segment_size
        self.silhouette_sample_size = silhouette_sample_size
        self.n_init = n_init
        self.seed = seed
        self.sample_size = sample_size
        self.resamples = resamples  # of each k's stability (0: not measured)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the constructor's parameters by name (as scikit-learn's estimators do)."""
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    def set_params(self, **params: Any) -> SegmentModel:
        """Set constructor parameters by name (checked when fitting); return the model."""
        known = self.get_params()
        for name, value in params.items():
            if name not in known:
                raise UsageError(f"{name}: not a parameter of SegmentModel; known: "
                                 f"{', '.join(known)}")  # fmt: skip
            setattr(self, name, value)
        return self

    def _check(self, customers: pd.DataFrame) -> None:
        """Raise UsageError for an invalid parameter or a customers table fit cannot use."""
        if not self.features:
            raise UsageError("features: name at least one feature column to cluster on")
        check_params(self.get_params())
        needed = [*self.features, "monetary"]  # monetary orders the segment ids by revenue
        missing = [c for c in needed if c not in customers]
        if missing:
            raise UsageError(
                f"customers: no column {missing[0]!r} (fit needs the features and monetary)"
            )

    # Learning -------------------------------------------------------------------------

    def min_share(self, customers: int) -> float:
        """Return the share of `customers` every segment of an eligible k must hold."""
        return eligible_share(self.min_segment_share, self.min_segment_size, customers)

    def fit(
        self, customers: pd.DataFrame, progress: Callable[[str], None] | None = None
    ) -> SegmentModel:
        """Learn scaling, choose k, fit the centres; segment ids ordered by revenue, largest first.

        With more than `sample_size` customers, every k is fitted (n_init k-means++ starts)
        on a seeded sample (`model.sampling`) and scored over every customer with the
        nearest-centre labels of its centres (docs/reference/model.md#sampling; the
        silhouette on the sample's seeded silhouette rows). The chosen k's centres are then
        refined on every customer (Lloyd iterations to convergence from the sample's
        centres), and its row of the scores describes those final segments.

        The parameters are checked here (UsageError naming the first invalid one), as in
        scikit-learn; `customers` needs the feature columns and `monetary`.
        """
        return self._fit(customers, progress)

    def fit_sample(
        self,
        sample: pd.DataFrame,
        scaling: Scaling,
        score_everyone: Callable[[np.ndarray], KScore] | None,
        progress: Callable[[str], None] | None = None,
    ) -> SegmentModel:
        """Fit on a sample of customers kept elsewhere (the Spark engine), as `fit` would on
        all of them: `scaling` is measured on every customer, and `score_everyone` (a k's
        centres → its scores over every customer, computed where they are; None when the
        sample is everyone) scores each k. `refined` then takes the chosen k's centres
        refined over every customer."""
        return self._fit(sample, progress, scaling, score_everyone)

    def refined(
        self, centers: np.ndarray, final: KScore, sample: pd.DataFrame, customers: int
    ) -> SegmentModel:
        """Take the chosen k's centres refined over every customer (and their scores there);
        the sample's segments are then those centres'. customers: how many there are."""
        self._check_fitted()
        self.centers_ = centers
        self.labels_ = self.predict(sample)
        self.scores_ = self.with_final_score(final, self.labels_, self.scaled(sample))
        self.sampled_ = len(sample) < customers
        return self

    def _fit(
        self,
        customers: pd.DataFrame,
        progress: Callable[[str], None] | None = None,
        scaling: Scaling | None = None,
        score_everyone: Callable[[np.ndarray], KScore] | None = None,
    ) -> SegmentModel:
        self._check(customers)
        self.transforms_ = [transform_of(f, self.transform) for f in self.features]
        raw = self._transformed(customers)
        if scaling is None:
            scaling = scaling_of(raw)
        self.mean_, self.scale_ = scaling.mean, scaling.scale
        X = (raw - self.mean_) / self.scale_
        self.range_ = (
            np.stack([X.min(axis=0), X.max(axis=0)], axis=1)
            if scaling.range is None
            else scaling.range
        )
        monetary = customers["monetary"].to_numpy()
        min_share = self.min_share(len(X))
        ks = candidate_ks(
            self.k, self.k_min, self.k_max, count_distinct(X, enough=(self.k or self.k_max) + 1)
        )
        ids = customers.get("customer_id", customers.index)
        sample = self._sample_rows(X, ids, max(ks))
        self.sampled_ = sample is not None
        self.sample_rows_ = sample  # positions of the sampled customers (None: all)
        rows = np.arange(len(X)) if sample is None else sample  # the rows k is chosen on
        Xs, monetary_s = X[rows], monetary[rows]
        silhouette_at = silhouette_rows(len(Xs), self.silhouette_sample_size, self.seed)
        fits: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # k → centres, sample labels
        scores: list[KScore] = []
        silhouette_labels: list[np.ndarray] = []
        clock = _Clock(len(ks), progress)
        metric = "davies_bouldin" if self.k is not None else self.select
        # One pass over the silhouette sample's distances serves every k; on a sample, the
        # refined labels too, unless the silhouette itself chooses k.
        later = sample is not None and metric != "silhouette"
        inputs = {"model": self, "X": X, "sample": Xs, "monetary": monetary_s,
                  "min_share": min_share, "everyone": sample is not None,
                  "score_everyone": score_everyone}  # fmt: skip
        with one_thread(), sharing(inputs) as token:
            # The k are fitted from both ends at once: a helper process (forked here, inside
            # the one-thread limit, which it inherits) from the largest, this one from the
            # smallest. Spark's scoring runs where its session is: here.
            jobs = [(token, k) for k in ks]
            with from_both_ends(_fit_k, jobs, fork=score_everyone is None) as fitted:
                for i, k in enumerate(ks):
                    clock.tick(f"k = {k}")
                    centers, sample_labels, score = fitted(i)
                    fits[k] = centers, sample_labels
                    scores.append(score)
                    silhouette_labels.append(sample_labels[silhouette_at])
            if self.resamples:
                measured = _stability_by_k(Xs, {k: fits[k][1] for k in ks}, self.seed,
                                           self.resamples, fork=score_everyone is None)  # fmt: skip
                scores = [replace(s, segment_stability=measured[s.k]) for s in scores]
            if not later:
                values = silhouettes(Xs[silhouette_at], silhouette_labels)
                scores = [replace(s, silhouette=v) for s, v in zip(scores, values, strict=True)]
        self.k_, self._choice_warnings = choose_k(scores, metric, self.min_stability)
        self.scores_ = scores
        self.centers_, self._sample_labels = fits[self.k_]
        if sample is not None:
            if progress is not None:
                progress(f"refining k = {self.k_} on all {len(X):,} customers")
            with one_thread():
                centers = fit_kmeans(X, self.k_, 1, self.seed, init=self.centers_)
                self.centers_, labels = _order_by_revenue(centers, nearest_centre(X, centers),
                                                          monetary)  # fmt: skip
                final = score_labels(X, labels, self.centers_, min_share)
                final_silhouette = None
                if later:
                    *values, final_silhouette = silhouettes(
                        Xs[silhouette_at], [*silhouette_labels, labels[rows][silhouette_at]]
                    )
                    self.scores_ = [replace(s, silhouette=v)
                                    for s, v in zip(scores, values, strict=True)]  # fmt: skip
            self.scores_ = self.with_final_score(final, labels[rows], Xs, final_silhouette)
        self.labels_ = nearest_centre(X, self.centers_)
        self.names_ = [f"Segment {i}" for i in range(self.k_)]
        self._warn()
        return self

    def with_final_score(
        self,
        final: KScore,
        sample_labels: np.ndarray,
        sample_X: np.ndarray,
        silhouette: float | None = None,
    ) -> list[KScore]:
        """Return the scores with the chosen k's row replaced by the final fit's scores over
        every customer; its silhouette from the final labels of the sample's silhouette rows
        (the same rows in every engine; computed here unless given), its segments' stability
        from the final labels of the sample (measured again unless they are the labels the
        chosen k's stability was measured on). Also sets the warnings about fragile segments."""
        if silhouette is None:
            rows = silhouette_rows(len(sample_X), self.silhouette_sample_size, self.seed)
            (silhouette,) = silhouettes(sample_X[rows], [sample_labels[rows]])
        chosen = next(s for s in self.scores_ if s.k == self.k_)
        stability = chosen.segment_stability
        if stability is not None and not np.array_equal(sample_labels, self._sample_labels):
            with one_thread():
                stability = _stability_by_k(
                    sample_X, {self.k_: sample_labels}, self.seed, self.resamples
                )[self.k_]
            self._sample_labels = sample_labels
        scores = [
            replace(final, silhouette=silhouette, segment_stability=stability)
            if s.k == self.k_
            else s
            for s in self.scores_
        ]
        self.scores_ = scores
        self._warn()
        return scores

    def _warn(self) -> None:
        """Set warnings_: those of the choice of k, and the delivered segments' fragility."""
        chosen = next(s for s in self.scores_ if s.k == self.k_)
        metric = "davies_bouldin" if self.k is not None else self.select
        self.warnings_ = self._choice_warnings + fragile_warning(
            chosen, self.min_stability, metric, fixed=self.k is not None
        )

    def stability_by_segment(self) -> list[dict] | None:
        """Return, per segment id, the delivered segment's stability (None: not measured,
        or a model read from model.json)."""
        if not hasattr(self, "scores_"):
            return None
        chosen = next(s for s in self.scores_ if s.k == self.k_)
        found = chosen.segment_stability
        if found is None:
            return None
        return [
            {**entry, "stable": entry["jaccard"] is not None
             and entry["jaccard"] >= self.min_stability}
            for entry in found.segments()
        ]  # fmt: skip

    def _sample_rows(self, X: np.ndarray, ids: Any, k_max: int) -> np.ndarray | None:
        """Return the seeded sample of rows that k is chosen on, or None for all rows."""
        if len(X) <= self.sample_size:
            return None
        rows = sample_positions(ids, self.sample_size, self.seed)
        if count_distinct(X[rows], enough=k_max + 1) <= k_max:
            return None  # too few distinct points in the sample: use every customer
        return rows

    def renumber(self, new_ids: np.ndarray, names: list[str], customers: pd.DataFrame) -> None:
        """Give segment i the id new_ids[i] and the names (by new id); labels follow."""
        order = np.argsort(new_ids)
        self.centers_ = self.centers_[order]
        self.names_ = list(names)
        self.labels_ = self.predict(customers)
        self.scores_ = [
            replace(s, segment_stability=s.segment_stability.reordered(order))
            if s.k == self.k_ and s.segment_stability is not None
            else s
            for s in self.scores_
        ]

    # Using ----------------------------------------------------------------------------

    def scaled(self, customers: pd.DataFrame) -> np.ndarray:
        """Return the customers' features in the model's scaled space."""
        self._check_fitted()
        return (self._transformed(customers) - self.mean_) / self.scale_

    def predict(self, customers: pd.DataFrame) -> np.ndarray:
        """Return each customer's segment id: its nearest centre in the scaled space."""
        return nearest_centre(self.scaled(customers), self.centers_)

    def name(self, names: list[str]) -> SegmentModel:
        """Give the segments their names (by id): one each, no two alike."""
        self._check_fitted()
        if len(names) != self.k_ or len(set(names)) != len(names):
            raise ValueError(f"{self.k_} distinct segment names needed, got {names}")
        self.names_ = list(names)
        return self

    def fit_predict(
        self, customers: pd.DataFrame, progress: Callable[[str], None] | None = None
    ) -> np.ndarray:
        """Fit on the customers and return their segment ids (`labels_`)."""
        return self.fit(customers, progress).labels_

    def distances(self, customers: pd.DataFrame) -> np.ndarray:
        """Return each customer's distance to every centre, in the scaled space (what
        scikit-learn's KMeans.transform returns; `transform` is this model's parameter)."""
        return np.sqrt(squared_distances(self.scaled(customers), self.centers_))

    def assign(self, customers: pd.DataFrame) -> SegmentModel:
        """Assign new customers (scoring with a saved model): `labels_` becomes their segment
        ids and `outside_` flags their features far outside the training range."""
        self.labels_ = self.predict(customers)
        self.outside_ = self.outside_training_range(customers)
        return self

    def outside_training_range(self, customers: pd.DataFrame) -> np.ndarray:
        """Return, per customer and feature, whether the scaled value lies far outside training.

        Far: more than OUT_OF_RANGE (in standard deviations of the training data) below the
        smallest or above the largest value seen in training. A model without its training
        range (written by an older Segmint) flags nothing.
        """
        X = self.scaled(customers)
        if getattr(self, "range_", None) is None:
            return np.zeros(X.shape, dtype=bool)
        low, high = self.range_[:, 0], self.range_[:, 1]
        return (low - OUT_OF_RANGE > X) | (high + OUT_OF_RANGE < X)

    def _transformed(self, customers: pd.DataFrame) -> np.ndarray:
        missing = [f for f in self.features if f not in customers.columns]
        if missing:
            raise InputError(
                f"the data cannot provide the model's feature(s): {', '.join(missing)}"
            )
        columns = [
            apply_transform(customers[f].to_numpy(dtype=np.float64), t)
            for f, t in zip(self.features, self.transforms_, strict=True)
        ]
        return np.column_stack(columns)

    def _check_fitted(self) -> None:
        if not hasattr(self, "centers_"):
            raise UsageError("this SegmentModel is not fitted yet: call fit() first")

    # JSON -------------------------------------------------------------------------------

    def to_json(self, **metadata: Any) -> dict:
        """Return the model as a JSON-ready dict (docs/reference/outputs.md#model-json), with metadata
        such as as_of and columns."""
        self._check_fitted()
        stability = self.stability_by_segment()
        return {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "as_of": metadata.get("as_of"),
            "feature_set": metadata.get("feature_set"),
            "features": [
                {"name": f, "transform": t, "mean": float(m), "scale": float(s)}
                | ({} if r is None else {"range": [float(r[0]), float(r[1])]})
                for f, t, m, s, r in zip(
                    self.features,
                    self.transforms_,
                    self.mean_,
                    self.scale_,
                    self.range_ if self.range_ is not None else [None] * len(self.features),
                    strict=True,
                )
            ],  # fmt: skip
            "centers": [[float(v) for v in row] for row in self.centers_],
            "segments": [
                {"id": i, "name": n} | ({} if stability is None else {"stability": stability[i]})
                for i, n in enumerate(self.names_)
            ],
            "columns": metadata.get("columns", {}),
            "seed": self.seed,
            "k": self.k_,
            "stability": None if stability is None else self._stability_method(),
        }

    def _stability_method(self) -> dict:
        """How the segments' stability was measured: enough to measure it again from the
        segments table (docs/stability.md)."""
        return {
            "method": "cluster-wise bootstrap (Hennig): mean best Jaccard similarity",
            "resamples": self.resamples,
            "min_stability": self.min_stability,
            # The customers it was measured on: all, or the seeded sample k was chosen on.
            "sample_size": self.sample_size if getattr(self, "sampled_", False) else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> SegmentModel:
        """Return a fitted model from the dict written by ``to_json``."""
        if data.get("format") != MODEL_FORMAT:
            raise InputError("not a Segmint model: 'format' is not 'segmint-model'")
        if data.get("version", 0) > MODEL_VERSION:
            raise InputError(
                f"model format version {data.get('version')} is newer than this Segmint reads "
                f"({MODEL_VERSION}); upgrade Segmint"
            )
        try:
            features = data["features"]
            model = cls([f["name"] for f in features], seed=data.get("seed", 0))
            model.transforms_ = [f["transform"] for f in features]
            model.mean_ = np.array([f["mean"] for f in features], dtype=np.float64)
            model.scale_ = np.array([f["scale"] for f in features], dtype=np.float64)
            model.centers_ = np.array(data["centers"], dtype=np.float64)
            ranges = [f.get("range") for f in features]
            model.range_ = (
                np.array(ranges, dtype=np.float64) if all(r is not None for r in ranges) else None
            )
            model.names_ = [s["name"] for s in sorted(data["segments"], key=lambda s: s["id"])]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"model file is incomplete or damaged ({exc!r})") from None
        _check_shapes(model)
        model.k_ = len(model.centers_)
        model.metadata_ = {k: data.get(k) for k in ("as_of", "feature_set", "columns")}
        model.warnings_ = []
        return model


def _check_shapes(model: SegmentModel) -> None:
    """Raise InputError unless the model's arrays agree: a k × features centre matrix, one
    name per centre, finite numbers, positive scales."""
    k, d = len(model.centers_), len(model.features)
    problems = [
        (model.centers_.ndim != 2 or model.centers_.shape != (k, d) or k < 1,
         f"'centers' must be a list of k rows of {d} numbers"),
        (len(model.names_) != k, f"'segments' names {len(model.names_)} segment(s) for {k} centres"),
        (not all(np.isfinite(a).all() for a in (model.centers_, model.mean_, model.scale_)),
         "a centre, mean or scale is not a finite number"),
        (bool((model.scale_ <= 0).any()), "a feature's scale is not above 0"),
    ]  # fmt: skip
    for failed, why in problems:
        if failed:
            raise InputError(f"model file is incomplete or damaged: {why}")


def load_model(path: str | Path) -> SegmentModel:
    """Return the SegmentModel stored in a model.json file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})", file=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{path}: is not a JSON model file") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: is not a Segmint model (a JSON object is expected)")
    try:
        return SegmentModel.from_json(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def revenue_order(revenue: np.ndarray) -> list[int]:
    """Return the segments in their id order: the most revenue first, ties by index."""
    return sorted(range(len(revenue)), key=lambda i: (-revenue[i], i))


def _fit_k(job: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, KScore]:
    """Fit k on the sample shared by SegmentModel.fit under the token; return its centres
    (ordered by revenue), the sample's labels and its scores (over every customer when the
    sample is not all)."""
    token, k = job
    data = shared(token)
    model, X, Xs = data["model"], data["X"], data["sample"]
    centers = fit_kmeans(Xs, k, model.n_init, model.seed)
    centers, labels = _order_by_revenue(centers, nearest_centre(Xs, centers), data["monetary"])
    if data["score_everyone"] is not None:
        score = data["score_everyone"](centers)
    elif data["everyone"]:
        score = score_labels(X, nearest_centre(X, centers), centers, data["min_share"])
    else:
        score = score_labels(Xs, labels, centers, data["min_share"])
    return centers, labels, score


# Draws of the cluster-wise bootstrap per job: 20 draws of a k are 4 jobs, so that the two
# processes share the work evenly (a k's draws cost more as k grows).
DRAWS_PER_JOB = 5


def _stability_by_k(
    X: np.ndarray, labels: dict[int, np.ndarray], seed: int, resamples: int, fork: bool = True
) -> dict[int, SegmentStability]:
    """Return the stability of each k's segments (labels[k]: the rows' segments), its draws
    computed in jobs of DRAWS_PER_JOB from both ends (a forked helper and this process;
    call it inside kmeans.one_thread()). The figures do not depend on who computed what."""
    tallies = {k: Tally({}) for k in labels}
    inputs = {"X": X, "labels": labels, "seed": seed, "point": distinct_points(X)}
    with sharing(inputs) as token:
        jobs = [(token, k, range(start, min(start + DRAWS_PER_JOB, resamples)))
                for k in labels for start in range(0, resamples, DRAWS_PER_JOB)]  # fmt: skip
        with from_both_ends(_tally_job, jobs, fork=fork) as tallied:
            for i, (_, k, _) in enumerate(jobs):
                tallies[k] = tallies[k] + tallied(i)
    return {k: tally.stability(k) for k, tally in tallies.items()}


def _tally_job(job: tuple[int, int, range]) -> Tally:
    token, k, draws = job
    data = shared(token)
    return bootstrap_tally(data["X"], data["labels"][k], k, data["seed"], draws, data["point"])


def _order_by_revenue(
    centers: np.ndarray, labels: np.ndarray, monetary: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return centres and labels renumbered so that segment 0 brings the most revenue."""
    k = len(centers)
    order = revenue_order(np.bincount(labels, weights=monetary, minlength=k))
    new_id = np.empty(k, dtype=np.int64)
    new_id[order] = np.arange(k)
    return centers[order], new_id[labels]


class _Clock:
    """Announce each step of the model stage with the time it should still take."""

    def __init__(self, steps: int, progress: Callable[[str], None] | None) -> None:
        self.steps, self.progress = steps, progress
        self.done = 0
        self.start = time.perf_counter()

    def tick(self, what: str) -> None:
        if self.progress is not None:
            eta = ""
            if self.done:
                left = (time.perf_counter() - self.start) / self.done * (self.steps - self.done)
                eta = f", {time_left(left)} left"
            self.progress(f"{what} ({self.done + 1} of {self.steps}{eta})")
        self.done += 1


def new_model(config: Settings, columns: list[str] | pd.Index) -> SegmentModel:
    """Return the unfitted SegmentModel a run's settings ask for, on the features columns give."""
    features = clustering_features(config.feature_set, columns)
    return SegmentModel(features, **{name: getattr(config, name) for name in MODEL_SETTINGS})
