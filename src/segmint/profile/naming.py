"""Segment names from measured profiles (docs/reference/model.md#segment-names): a rule table,
then unique qualifiers."""

from __future__ import annotations

import math

from segmint.profile.traits import Trait, levels

ANY = "*"

# (recency_days, frequency, monetary, tenure_days) levels → name; first matching row wins.
# High recency_days means a long time since the last order: lapsing. Every word in a name
# is backed by its row: "High-Value" needs monetary high, "At Risk"/"Lost"/"Can't Lose"
# need recency_days high, "New" needs tenure_days low and recent activity.
NAME_RULES: tuple[tuple[str, str, str, str, str], ...] = (
    # recency  frequency  monetary  tenure   name
    ("low", "high", "high", ANY, "Champions"),
    ("low", "high", ANY, ANY, "Loyal Regulars"),
    ("low", ANY, "high", ANY, "Recent Big Spenders"),
    ("low", "low", ANY, "low", "New Customers"),
    ("low", ANY, ANY, ANY, "Promising"),
    ("mid", "high", "high", ANY, "Loyal High-Value"),
    ("mid", "high", ANY, ANY, "Loyal Customers"),
    ("mid", ANY, "high", ANY, "Big Spenders"),
    ("mid", "low", "low", ANY, "Occasional Low-Spend"),
    ("mid", ANY, ANY, ANY, "Need Attention"),
    ("high", "high", "high", ANY, "Can't Lose Them"),
    ("high", ANY, "high", ANY, "At Risk High-Value"),
    ("high", "high", ANY, ANY, "At Risk Loyal"),
    ("high", "low", "low", ANY, "Lost"),
    ("high", ANY, ANY, ANY, "Hibernating"),
)

# Names that say the segment is lapsing: its recency is worse than typical. The report checks
# that none of them shows a higher chance of being active than the base without saying why.
LAPSING = frozenset(name for recency, *_, name in NAME_RULES if recency == "high")


def is_lapsing(name: str) -> bool:
    """Return whether a segment name (qualified or not) says its customers are lapsing."""
    return name.split(" (", 1)[0] in LAPSING


# Feature → (word for the higher mean, for a middle one, for the lower mean), to tell apart
# segments that the table gives the same name. Ranked by the segments' means, so the words are true.
QUALIFIERS: dict[str, tuple[str, str, str]] = {
    "monetary": ("Higher Spend", "Mid Spend", "Lower Spend"),
    "frequency": ("More Frequent", "Mid Frequency", "Less Frequent"),
    "recency_days": ("Less Recent", "Mid Recency", "More Recent"),
    "aov": ("Bigger Orders", "Mid-Size Orders", "Smaller Orders"),
    "tenure_days": ("Longer-Standing", "Mid Tenure", "Newer"),
    "return_rate": ("More Returns", "Mid Returns", "Fewer Returns"),
}


def base_name(traits: dict[str, Trait]) -> str:
    """Return the rule table's name for one segment's traits."""
    level = levels(traits)
    key = (
        level.get("recency_days", "mid"),
        level.get("frequency", "mid"),
        level.get("monetary", "mid"),
        level.get("tenure_days", "mid"),
    )
    for *pattern, name in NAME_RULES:
        if all(p in (ANY, v) for p, v in zip(pattern, key, strict=True)):
            return name
    raise AssertionError("NAME_RULES has a catch-all row for every recency level")


def name_segments(traits: list[dict[str, Trait]]) -> list[str]:
    """Return one unique name per segment: the table's name, qualified where names clash."""
    names = [base_name(t) for t in traits]
    words: list[list[str]] = [[] for _ in traits]
    for name in sorted(set(names)):
        _qualify([i for i, n in enumerate(names) if n == name], traits, words, used=())
    full = [f"{n} ({', '.join(w)})" if w else n for n, w in zip(names, words, strict=True)]
    return _make_unique(full)


def _qualify(
    members: list[int],
    traits: list[dict[str, Trait]],
    words: list[list[str]],
    used: tuple[str, ...],
) -> None:
    """Split same-named members on the feature where they differ most, recursively.

    Members are ordered by that feature's mean and split at the largest gap, so every
    member called "Higher Spend" spends more on average than every sibling called "Lower Spend".
    """
    features = [
        f
        for f in QUALIFIERS
        if f not in used
        and all(f in traits[i] for i in members)
        and len({traits[i][f].mean for i in members}) > 1
    ]
    if len(members) < 2 or not features:
        return  # identical on every remaining feature: _make_unique numbers them
    feature = max(features, key=lambda f: _spread([traits[i][f].z for i in members]))
    ranked = sorted(members, key=lambda i: (-traits[i][feature].mean, i))
    high, mid, low = QUALIFIERS[feature]
    if len(features) == 1 and len(ranked) > 2:
        # Only this feature tells them apart: name every rank on it.
        mids = [mid] if len(ranked) == 3 else [f"{mid} {n}" for n in range(1, len(ranked) - 1)]
        for i, word in zip(ranked, [high, *mids, low], strict=True):
            words[i].append(word)
        return
    # Cut at the widest gap between consecutive means (on the log scale): means on either
    # side of it differ strictly, so "higher" and "lower" are true.
    logs = [math.log1p(max(traits[i][feature].mean, 0.0)) for i in ranked]
    cut = 1 + max(range(len(ranked) - 1), key=lambda j: (logs[j] - logs[j + 1], -j))
    for side, word in ((ranked[:cut], high), (ranked[cut:], low)):
        for i in side:
            words[i].append(word)
        _qualify(side, traits, words, used + (feature,))


def _spread(values: list[float]) -> float:
    return max(values) - min(values)


def _make_unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return unique
