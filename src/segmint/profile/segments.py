"""The entries of summary.json's `segments`: figures, traits, description and strategy."""

from __future__ import annotations

from segmint.profile.strategy import describe, strategies
from segmint.profile.summary import Group, figures_of
from segmint.profile.traits import Trait, levels


def describe_segments(
    names: list[str],
    traits: list[dict[str, Trait]],
    groups: list[Group],
    everyone: Group,
    categories: dict[int, list[str]],
) -> list[dict]:
    """Return one summary entry per segment id, whichever engine measured the groups."""
    segments = []
    for i, name in enumerate(names):
        entry: dict = {"id": i, "name": name}
        numbers = figures_of(groups[i], everyone.customers, everyone.revenue)
        top = categories.get(i, [])
        if numbers["customers"]:
            entry["description"] = describe(name, numbers["customers"], numbers["share"], traits[i])
            entry["strategy"] = strategies(traits[i], top[0] if top else None,
                                           aov=numbers["aov_mean"])  # fmt: skip
        else:  # scoring: no customer of the new data is nearest to this segment
            entry["description"] = f"{name}: no customer of this data is in this segment."
            entry["strategy"] = []
        entry.update(numbers)
        entry["top_categories"] = top
        entry["traits"] = levels(traits[i])
        segments.append(entry)
    return segments
