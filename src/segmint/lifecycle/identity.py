"""Keep segment identities across refreshes (`segmint run … --previous OLD_DIR`).

The new run's centres are moved into the old model's scaled space (undo the new scaling,
apply the old one) and matched one-to-one to the old centres by the Hungarian assignment
on Euclidean distances. A matched pair closer than MATCH_DISTANCE (in the old data's
standard deviations) is the same segment: it keeps the old id where it can and the old
name. Other new segments are new and are named by the usual rules; old segments left
without a partner have vanished.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segmint.errors import InputError
from segmint.model.segment_model import SegmentModel, load_model
from segmint.names import free_name

# A new centre farther than this from its matched old centre (Euclidean, in the old scaled
# space) is a genuinely new segment.
MATCH_DISTANCE = 1.0


@dataclass(frozen=True)
class Identities:
    """How the new segments relate to the old ones."""

    new_ids: np.ndarray  # the fitted model's segment index → its id in this run
    names: list[str]  # by id
    summary: dict


def check_previous(folder: str | Path) -> SegmentModel:
    """Return the model of an earlier run's folder; raise InputError when the folder lacks
    what --previous reads. Cheap: a run checks it before reading its data."""
    earlier = Path(folder)
    path = earlier / "model.json"
    if not path.is_file():
        raise InputError(f"--previous {folder}: no model.json there (give a `segmint run` folder)")
    for needed in ("segments.parquet", "summary.json"):
        if not (earlier / needed).exists():
            raise InputError(
                f"--previous {folder}: no {needed} there (give a `segmint run` folder)"
            )
    return load_model(path)


def previous_model(folder: str | Path, model: SegmentModel) -> SegmentModel:
    """Return the model of an earlier run's folder; raise InputError when it cannot be compared."""
    old = check_previous(folder)
    if old.features != model.features or old.transforms_ != model.transforms_:
        raise InputError(
            f"--previous {folder}: its model clusters on {', '.join(old.features)} "
            f"({', '.join(old.transforms_)}); this run on {', '.join(model.features)} "
            f"({', '.join(model.transforms_)}): use the same --feature-set and --transform"
        )
    return old


def in_old_space(centers: np.ndarray, model: SegmentModel, old: SegmentModel) -> np.ndarray:
    """Return centres of `model`'s scaled space expressed in `old`'s scaled space."""
    return (centers * model.scale_ + model.mean_ - old.mean_) / old.scale_


def match(model: SegmentModel, old: SegmentModel) -> tuple[dict[int, int], np.ndarray]:
    """Return new index → old id for the matched segments, and the distance matrix."""
    from scipy.optimize import linear_sum_assignment

    moved = in_old_space(model.centers_, model, old)
    distances = np.sqrt(((moved[:, None, :] - old.centers_[None, :, :]) ** 2).sum(axis=2))
    rows, cols = linear_sum_assignment(distances)
    pairs = {int(r): int(c) for r, c in zip(rows, cols, strict=True)}
    return {r: c for r, c in pairs.items() if distances[r, c] <= MATCH_DISTANCE}, distances


def keep_identities(
    model: SegmentModel, old: SegmentModel, fresh: list[str], folder: str | Path
) -> Identities:
    """Return ids and names for the new segments that keep the old ones' where they match.

    fresh: the names the usual rules give the fitted segments (by fitted index), for those
    that match no old segment.
    """
    k = model.k_
    matched, distances = match(model, old)
    new_ids = np.full(k, -1)
    # Matched segments keep their old id when it exists in this run's 0..k-1.
    for new, old_id in sorted(matched.items(), key=lambda item: item[1]):
        if old_id < k and old_id not in new_ids:
            new_ids[new] = old_id
    free = iter(i for i in range(k) if i not in new_ids)
    for new in range(k):  # the rest, in revenue order (the fitted order)
        if new_ids[new] < 0:
            new_ids[new] = next(free)
    names_by_index = [old.names_[matched[i]] if i in matched else fresh[i] for i in range(k)]
    names_by_index = _unique_after_kept(names_by_index, set(matched))
    names = [""] * k
    for i, new_id in enumerate(new_ids):
        names[new_id] = names_by_index[i]
    vanished = [old.names_[j] for j in range(old.k_) if j not in matched.values()]
    summary = {
        "folder": str(folder),
        "persisted": [names_by_index[i] for i in sorted(matched, key=lambda i: new_ids[i])],
        "appeared": [names_by_index[i] for i in range(k) if i not in matched],
        "vanished": vanished,
        "matches": [
            {
                "id": int(new_ids[i]),
                "name": names_by_index[i],
                "old_id": matched.get(i),
                "distance": float(
                    distances[i].min() if i not in matched else distances[i, matched[i]]
                ),
            }
            for i in sorted(range(k), key=lambda i: new_ids[i])
        ],  # fmt: skip
        "match_distance": MATCH_DISTANCE,
    }
    return Identities(new_ids, names, summary)


def _unique_after_kept(names: list[str], kept: set[int]) -> list[str]:
    """Return names where a new segment's name that repeats a kept one gets a number."""
    taken = {names[i] for i in kept}
    out = list(names)
    for i, name in enumerate(names):
        if i not in kept:
            out[i] = free_name(name, taken, " ")
    return out
