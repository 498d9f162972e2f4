"""The profiles that open summary.json's `segments` entries: figures, traits, description and
strategy (the rest of each entry: `segmint.summary.segment_entries`)."""

from __future__ import annotations

from segmint.profile.strategy import describe, strategies
from segmint.profile.summary import Group, figures_of
from segmint.profile.traits import Trait, levels
from segmint.summary_types import SegmentProfile


def describe_segments(
    names: list[str],
    traits: list[dict[str, Trait]],
    groups: list[Group],
    everyone: Group,
    categories: dict[int, list[str]],
) -> list[SegmentProfile]:
    """Return one profile per segment id, whichever engine measured the groups."""
    segments: list[SegmentProfile] = []
    for i, name in enumerate(names):
        numbers = figures_of(groups[i], everyone.customers, everyone.revenue)
        top = categories.get(i, [])
        if numbers["customers"]:
            description = describe(name, numbers["customers"], numbers["share"], traits[i])
            strategy = strategies(traits[i], top[0] if top else None, aov=numbers["aov_mean"])
        else:  # scoring: no customer of the new data is nearest to this segment
            description = f"{name}: no customer of this data is in this segment."
            strategy = []
        segments.append(
            {
                "id": i,
                "name": name,
                "description": description,
                "strategy": strategy,
                **numbers,
                "top_categories": top,
                "traits": levels(traits[i]),
            }
        )
    return segments
