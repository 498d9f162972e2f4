"""Segment names, traits and strategies (src/segmint/profile/): every name must be true.

Segment names are unique, and each describes its segment's profile relative to the whole
customer base (docs/reference/model.md#segment-names). The claims below are written from the
words of the names, not from the rule table: a test fails if any name says something its
segment's means contradict.
"""

from __future__ import annotations

import math
import random
import re

import numpy as np
import pandas as pd
import pytest

from helpers import SHARED_DATA
from segmint import segment
from segmint.profile.naming import NAME_RULES, base_name, name_segments
from segmint.profile.strategy import describe, strategies
from segmint.profile.traits import MIN_LOG_DISTANCE, Trait, segment_traits

DATA = SHARED_DATA
pytestmark = pytest.mark.shared_data
ONLINE_RETAIL = DATA / "online_retail_sample.csv"

FEATURES = ("recency_days", "frequency", "monetary", "aov", "tenure_days", "return_rate")

# Word in a segment's base name -> the claims it makes: (feature, ">" or "<" than the base mean).
# recency_days is days since the last order: ABOVE the base mean means lapsing.
CLAIMS: dict[str, tuple[tuple[str, str], ...]] = {
    "High-Value": (("monetary", ">"),),
    "Champions": (("monetary", ">"), ("frequency", ">"), ("recency_days", "<")),
    "Big Spenders": (("monetary", ">"),),
    "Low-Spend": (("monetary", "<"),),
    "At Risk": (("recency_days", ">"),),
    "Lost": (("recency_days", ">"),),
    "Hibernating": (("recency_days", ">"),),
    "Can't Lose": (("recency_days", ">"), ("monetary", ">")),
    "New": (("tenure_days", "<"),),
    "Loyal": (("frequency", ">"),),
    "Recent": (("recency_days", "<"),),
    "Occasional": (("frequency", "<"),),
}
# Qualifier word -> the feature whose segment means it ranks, and which end it names.
HIGH_WORDS = {
    "Higher Spend": "monetary",
    "More Frequent": "frequency",
    "Less Recent": "recency_days",  # more days since the last order
    "Bigger Orders": "aov",
    "Longer-Standing": "tenure_days",
    "More Returns": "return_rate",
}
LOW_WORDS = {
    "Lower Spend": "monetary",
    "Less Frequent": "frequency",
    "More Recent": "recency_days",
    "Smaller Orders": "aov",
    "Newer": "tenure_days",
    "Fewer Returns": "return_rate",
}
# A middle rank, used when one feature alone tells three or more segments apart
# ("Mid Spend", or "Mid Spend 1", "Mid Spend 2" from higher to lower).
MID_WORDS = {
    "Mid Spend": "monetary",
    "Mid Frequency": "frequency",
    "Mid Recency": "recency_days",
    "Mid-Size Orders": "aov",
    "Mid Tenure": "tenure_days",
    "Mid Returns": "return_rate",
}
_NAME = re.compile(r"^(?P<base>.*?)(?: \((?P<qualifiers>[^()]*)\))?(?: (?P<number>\d+))?$")


def split_name(name: str) -> tuple[str, list[str]]:
    """Return the base name and its qualifier words: "Lost (Lower Spend, More Frequent)"."""
    match = _NAME.match(name)
    assert match, name
    words = match["qualifiers"].split(", ") if match["qualifiers"] else []
    return match["base"], words


def claims_of(base: str) -> list[tuple[str, str]]:
    return [c for word, cs in CLAIMS.items() if re.search(rf"\b{re.escape(word)}(?!\w)", base)
            for c in cs]  # fmt: skip


def check_names(names: list[str], means: list[dict[str, float]], base: dict[str, float]) -> None:
    """Assert names are unique, their words true of the means, and qualifiers ranked by means."""
    assert len(set(names)) == len(names), names
    groups: dict[str, list[tuple[int, list[str]]]] = {}
    for i, name in enumerate(names):
        base_part, words = split_name(name)
        for feature, op in claims_of(base_part):
            if op == ">":
                assert means[i][feature] > base[feature], (name, feature, means[i], base)
            else:
                assert means[i][feature] < base[feature], (name, feature, means[i], base)
        groups.setdefault(base_part, []).append((i, words))
    for base_part, members in groups.items():
        if len(members) == 1:
            assert members[0][1] == [], (base_part, "qualified without a clash")
        check_qualifiers(base_part, members, means, 0)


def check_qualifiers(
    base_part: str, members: list[tuple[int, list[str]]], means: list[dict[str, float]], depth: int
) -> None:
    """Siblings (same base, same first `depth` words) split by one feature's high/low words:
    every member on the high side has a strictly higher mean of that feature than every
    member on the low side."""
    if len(members) < 2:
        return
    longer = [(i, ws) for i, ws in members if len(ws) > depth]
    if not longer:  # no feature left to split on: told apart by a number (uniqueness checked)
        return
    assert len(longer) == len(members), (base_part, depth, members)
    words = {ws[depth] for _, ws in members}
    mids = {w for w in words if re.sub(r" \d+$", "", w) in MID_WORDS}
    if mids:
        check_ranked_tiers(base_part, members, means, depth)
        return
    highs = [w for w in words if w in HIGH_WORDS]
    lows = [w for w in words if w in LOW_WORDS]
    assert len(highs) == 1 and len(lows) == 1 and len(words) == 2, (base_part, members)
    feature = HIGH_WORDS[highs[0]]
    assert LOW_WORDS[lows[0]] == feature, (base_part, members)
    high_side = [(i, ws) for i, ws in members if ws[depth] == highs[0]]
    low_side = [(i, ws) for i, ws in members if ws[depth] == lows[0]]
    lowest_high = min(means[i][feature] for i, _ in high_side)
    highest_low = max(means[i][feature] for i, _ in low_side)
    assert lowest_high > highest_low, (base_part, feature, highs[0], lowest_high, highest_low)
    check_qualifiers(base_part, high_side, means, depth + 1)
    check_qualifiers(base_part, low_side, means, depth + 1)


def check_ranked_tiers(
    base_part: str, members: list[tuple[int, list[str]]], means: list[dict[str, float]], depth: int
) -> None:
    """One feature ranks every member: high word, mid words (numbered top down), low word,
    with strictly decreasing means, each word used once and nothing after it."""

    def rank(word: str) -> tuple[str, float]:
        if word in HIGH_WORDS:
            return HIGH_WORDS[word], 0
        if word in LOW_WORDS:
            return LOW_WORDS[word], math.inf
        stem, _, number = word.rpartition(" ") if word[-1].isdigit() else (word, "", "1")
        assert stem in MID_WORDS, (base_part, word)
        return MID_WORDS[stem], int(number)

    ranked = sorted(members, key=lambda m: rank(m[1][depth])[1])
    features = {rank(ws[depth])[0] for _, ws in members}
    assert len(features) == 1, (base_part, members)
    assert len({ws[depth] for _, ws in members}) == len(members), (base_part, members)
    assert all(len(ws) == depth + 1 for _, ws in members), (base_part, members)
    feature = features.pop()
    values = [means[i][feature] for i, _ in ranked]
    assert all(a > b for a, b in zip(values, values[1:], strict=False)), (
        base_part,
        feature,
        values,
    )


# Hand-made traits --------------------------------------------------------------------------

BASE = 100.0


def trait(level: str, base: float = BASE) -> Trait:
    """A trait of the given level: twice / half / equal to the base mean, z = +1 / -1 / 0."""
    return {
        "high": Trait(2 * base, base, 1.0),
        "low": Trait(base / 2, base, -1.0),
        "mid": Trait(base, base, 0.0),
    }[level]


def traits(r: str, f: str, m: str, tenure: str = "mid", **others: Trait) -> dict[str, Trait]:
    result = {
        "recency_days": trait(r),
        "frequency": trait(f),
        "monetary": trait(m),
        "aov": trait("mid"),
        "tenure_days": trait(tenure),
        "return_rate": trait("mid", 0.1),
    }
    result.update(others)
    return result


# (recency, frequency, monetary, tenure) levels -> name, read off the rule table by hand.
HAND_NAMES = [
    (("low", "high", "high", "mid"), "Champions"),
    (("low", "high", "high", "low"), "Champions"),
    (("low", "high", "mid", "mid"), "Loyal Regulars"),
    (("low", "high", "low", "high"), "Loyal Regulars"),
    (("low", "mid", "high", "mid"), "Recent Big Spenders"),
    (("low", "low", "high", "low"), "Recent Big Spenders"),  # spend outranks newness
    (("low", "low", "mid", "low"), "New Customers"),
    (("low", "low", "low", "low"), "New Customers"),
    (("low", "low", "mid", "mid"), "Promising"),  # not new: tenure is typical
    (("low", "mid", "mid", "low"), "Promising"),  # new needs few orders
    (("mid", "high", "high", "mid"), "Loyal High-Value"),
    (("mid", "high", "low", "mid"), "Loyal Customers"),
    (("mid", "high", "mid", "high"), "Loyal Customers"),
    (("mid", "low", "high", "mid"), "Big Spenders"),
    (("mid", "mid", "high", "low"), "Big Spenders"),
    (("mid", "low", "low", "mid"), "Occasional Low-Spend"),
    (("mid", "mid", "mid", "mid"), "Need Attention"),
    (("mid", "low", "mid", "low"), "Need Attention"),
    (("high", "high", "high", "mid"), "Can't Lose Them"),
    (("high", "low", "high", "mid"), "At Risk High-Value"),
    (("high", "mid", "high", "high"), "At Risk High-Value"),
    (("high", "high", "low", "mid"), "At Risk Loyal"),
    (("high", "high", "mid", "mid"), "At Risk Loyal"),
    (("high", "low", "low", "mid"), "Lost"),
    (("high", "mid", "mid", "mid"), "Hibernating"),
    (("high", "low", "mid", "high"), "Hibernating"),
    (("high", "mid", "low", "mid"), "Hibernating"),
]


@pytest.mark.parametrize(("key", "expected"), HAND_NAMES)
def test_base_name_by_hand(key, expected):
    assert base_name(traits(*key)) == expected


def test_every_rule_row_is_reachable():
    reached = {name for _, name in HAND_NAMES}
    assert reached == {row[-1] for row in NAME_RULES}
    assert len(NAME_RULES) == 15


def test_missing_traits_count_as_mid():
    # No tenure (and nothing else but R, F, M): tenure is "mid", so few orders + recent = Promising.
    partial = {k: v for k, v in traits("low", "low", "mid", "low").items() if k != "tenure_days"}
    assert base_name(partial) == "Promising"
    assert base_name({}) == "Need Attention"


@pytest.mark.parametrize("key", [key for key, _ in HAND_NAMES])
def test_hand_names_make_true_claims(key):
    t = traits(*key)
    means = {f: v.mean for f, v in t.items()}
    base = {f: v.base_mean for f, v in t.items()}
    check_names([base_name(t)], [means], base)


def test_claims_hold_for_every_level_combination_and_noisy_traits():
    # Property: whatever the traits (including mean and z pointing different ways, which
    # happens with skewed data), every word of the base name is true of the means.
    rng = np.random.default_rng(12345)
    for _ in range(3000):
        t = {}
        for feature in FEATURES:
            base = float(rng.uniform(1, 1000))
            mean = base * float(rng.choice([0.5, 0.97, 1.0, 1.03, 2.0]))
            z = float(rng.choice([-1.0, -MIN_LOG_DISTANCE, -0.1, 0.0, 0.1, MIN_LOG_DISTANCE, 1.0]))
            t[feature] = Trait(mean, base, z)
        name = base_name(t)
        check_names(
            [name],
            [{f: v.mean for f, v in t.items()}],
            {f: v.base_mean for f, v in t.items()},
        )


# Traits ------------------------------------------------------------------------------------


def test_trait_levels_at_the_boundary():
    assert Trait(2.0, 1.0, MIN_LOG_DISTANCE).level == "high"
    assert Trait(2.0, 1.0, MIN_LOG_DISTANCE - 1e-9).level == "mid"
    assert Trait(0.5, 1.0, -MIN_LOG_DISTANCE).level == "low"
    assert Trait(0.5, 1.0, -MIN_LOG_DISTANCE + 1e-9).level == "mid"
    # Mean and log-distance disagree: neither high nor low, so no name can claim it.
    assert Trait(2.0, 1.0, -1.0).level == "mid"
    assert Trait(0.5, 1.0, 1.0).level == "mid"
    assert Trait(1.0, 1.0, 1.0).level == "mid"


def test_segment_traits_by_hand():
    # recency 0, 1, 3, 7 -> log1p = 0, a, 2a, 3a with a = ln 2. Base log mean 1.5a,
    # population sd a*sqrt(1.25). Segment 0 = {0, 1}: log mean 0.5a -> z = -1/sqrt(1.25);
    # segment 1 = {3, 7}: z = +1/sqrt(1.25). Plain means: 0.5, 5.0; base 2.75.
    customers = pd.DataFrame(
        {
            "recency_days": [0, 1, 3, 7],
            "frequency": [2, 2, 2, 2],
            "monetary": [-5.0, 0.0, 10.0, 20.0],
        }
    )
    result = segment_traits(customers, np.array([0, 0, 1, 1]), 2)
    r0, r1 = result[0]["recency_days"], result[1]["recency_days"]
    assert r0.mean == pytest.approx(0.5) and r1.mean == pytest.approx(5.0)
    assert r0.base_mean == pytest.approx(2.75)
    assert r0.z == pytest.approx(-1 / math.sqrt(1.25))
    assert r1.z == pytest.approx(1 / math.sqrt(1.25))
    assert (r0.level, r1.level) == ("low", "high")
    # A constant feature: sd 0 is replaced by 1, z = 0, level mid.
    assert result[0]["frequency"].z == 0.0 and result[0]["frequency"].level == "mid"
    # Money below zero counts as 0 on the log scale: log1p(max(x, 0)) = 0, 0, ln 11, ln 21.
    logs = np.log1p([0.0, 0.0, 10.0, 20.0])
    expected_z = (logs[:2].mean() - logs.mean()) / logs.std()
    assert result[0]["monetary"].z == pytest.approx(expected_z)
    assert result[0]["monetary"].mean == pytest.approx(-2.5)
    # Features not in the table are left out.
    assert set(result[0]) == {"recency_days", "frequency", "monetary"}


# Qualifiers for clashing names -----------------------------------------------------------


def lost(monetary_mean: float, monetary_z: float) -> dict[str, Trait]:
    """A "Lost" segment whose spend is low by the given amount."""
    return traits("high", "low", "low", monetary=Trait(monetary_mean, BASE, monetary_z))


def test_two_clashing_names_get_qualifiers_ranked_by_means():
    # Both are Lost; they differ only in monetary (z -1.5 vs -0.5), so spend tells them apart:
    # segment 1 (mean 60) spends more than segment 0 (mean 30).
    names = name_segments([lost(30.0, -1.5), lost(60.0, -0.5), traits("mid", "mid", "mid")])
    assert names == ["Lost (Lower Spend)", "Lost (Higher Spend)", "Need Attention"]


def lost2(monetary: tuple[float, float], frequency: tuple[float, float]) -> dict[str, Trait]:
    """A "Lost" segment with the given (mean, z) of monetary and of frequency."""
    return traits(
        "high",
        "low",
        "low",
        monetary=Trait(monetary[0], BASE, monetary[1]),
        frequency=Trait(frequency[0], BASE, frequency[1]),
    )


def test_three_clashing_names_split_on_two_features():
    # z spreads: monetary 1.2 (-0.3 .. -1.5) > frequency 1.0, so spend splits first. In mean
    # order a 60, c 32, b 30 the largest z gap is a | c, b: a is "Higher Spend", c and b
    # "Lower Spend". c and b then differ only in frequency: b (40) more than c (20).
    a = lost2((60.0, -0.3), (30.0, -1.0))
    b = lost2((30.0, -1.5), (40.0, -0.5))
    c = lost2((32.0, -1.4), (20.0, -1.5))
    assert name_segments([a, b, c]) == [
        "Lost (Higher Spend)",
        "Lost (Lower Spend, More Frequent)",
        "Lost (Lower Spend, Less Frequent)",
    ]


def test_four_clashing_names_split_twice():
    # monetary spread 1.25 > frequency 1.0. Mean order a 60, b 58, c 30, d 28; z gaps
    # 0.05, 1.15, 0.05 -> {a, b} Higher Spend, {c, d} Lower Spend; each pair then by frequency.
    a = lost2((60.0, -0.30), (40.0, -0.5))
    b = lost2((58.0, -0.35), (20.0, -1.5))
    c = lost2((30.0, -1.50), (40.0, -0.5))
    d = lost2((28.0, -1.55), (20.0, -1.5))
    assert name_segments([d, c, b, a]) == [
        "Lost (Lower Spend, Less Frequent)",
        "Lost (Lower Spend, More Frequent)",
        "Lost (Higher Spend, Less Frequent)",
        "Lost (Higher Spend, More Frequent)",
    ]


def test_three_clashing_names_differing_in_spend_only_are_true():
    # Three Lost segments alike in everything but spend (30 < 45 < 60). Whatever words tell
    # them apart must be true: no "More Frequent" between segments of equal frequency.
    segs = [lost(45.0, -1.0), lost(30.0, -1.5), lost(60.0, -0.5)]
    names = name_segments(segs)
    check_names(
        names,
        [{f: v.mean for f, v in t.items()} for t in segs],
        {f: v.base_mean for f, v in segs[0].items()},
    )
    assert names == ["Lost (Mid Spend)", "Lost (Lower Spend)", "Lost (Higher Spend)"]


def test_qualifier_feature_is_the_one_that_differs_most():
    # Two Champions: recency z differs by 0.6, monetary z by 0.1 -> recency qualifies them.
    a = traits(
        "low",
        "high",
        "high",
        recency_days=Trait(10.0, BASE, -1.2),
        monetary=Trait(300.0, BASE, 1.0),
    )
    b = traits(
        "low",
        "high",
        "high",
        recency_days=Trait(40.0, BASE, -0.6),
        monetary=Trait(310.0, BASE, 1.1),
    )
    names = name_segments([a, b])
    # b's last order is longer ago (40 > 10 days): b is the Less Recent one.
    assert names == ["Champions (More Recent)", "Champions (Less Recent)"]


def test_qualifier_words_follow_means_when_log_distance_ranks_otherwise():
    # On the log scale a is further below the base in returns, yet its mean return rate is
    # the higher one (skew). The words must follow the means, which the user sees.
    a = traits("high", "low", "low", return_rate=Trait(0.30, 0.1, -0.2))
    b = traits("high", "low", "low", return_rate=Trait(0.20, 0.1, 0.9))
    names = name_segments([a, b])
    assert names == ["Lost (More Returns)", "Lost (Fewer Returns)"]


@pytest.mark.parametrize("n_segments", [2, 3, 4, 5, 8])
def test_random_clashes_are_unique_and_true(n_segments):
    rng = np.random.default_rng(n_segments)
    for _ in range(200):
        segs = []
        for _ in range(n_segments):
            t = traits("high", "low", "low")
            for feature in FEATURES:
                base = t[feature].base_mean
                # Keep every segment "Lost": recency high, frequency and monetary low.
                if feature == "recency_days":
                    t[feature] = Trait(base * rng.uniform(1.5, 3), base, rng.uniform(0.5, 2))
                elif feature in ("frequency", "monetary"):
                    t[feature] = Trait(base * rng.uniform(0.1, 0.6), base, -rng.uniform(0.5, 2))
                else:
                    t[feature] = Trait(base * rng.uniform(0.5, 2), base, rng.normal())
            segs.append(t)
        names = name_segments(segs)
        assert all(split_name(n)[0] == "Lost" for n in names)
        check_names(
            names,
            [{f: v.mean for f, v in t.items()} for t in segs],
            {f: v.base_mean for f, v in segs[0].items()},
        )


# Strategies and descriptions -------------------------------------------------------------


def test_strategies_for_a_typical_segment():
    # Every trait mid: only "re-engage" (recency mid) applies, plus the first fallback.
    t = traits("mid", "mid", "mid")
    result = strategies(t)
    assert len(result) == 2
    assert "100 days" in result[0]  # the segment's mean recency, 100
    assert "hold-out" in result[1]


def test_strategies_cite_the_segment_figures():
    t = traits(
        "high",
        "high",
        "high",
        recency_days=Trait(240.4, BASE, 1.0),
        monetary=Trait(1234.6, 500.0, 1.0),
        frequency=Trait(7.25, 3.0, 1.0),
        aov=Trait(170.3, 80.0, 1.0),
        return_rate=Trait(0.25, 0.05, 1.0),
    )
    result = strategies(t, "Kitchen")
    assert len(result) == 4
    assert "1,235" in result[0] and "240 days" in result[0]  # win-back: spend and recency
    assert "7.2 orders" in result[1]  # loyalty: 7.25 with one decimal (round half to even)
    assert "170" in result[2]  # premium: average order value
    assert "Kitchen" in result[3]
    # Without a category, the first three trait-backed ones remain.
    assert strategies(t) == result[:3]


def test_strategies_mention_returns_only_when_returns_are_high():
    base = traits("mid", "mid", "mid")
    high_returns = dict(base, return_rate=Trait(0.25, 0.05, 1.0))
    assert not any("returns" in s.lower() for s in strategies(base))
    texts = strategies(high_returns)
    assert any("25%" in s for s in texts)


def test_strategies_count_and_placeholders_for_every_level_combination():
    levels = ("low", "mid", "high")
    for r in levels:
        for f in levels:
            for m in levels:
                for aov in levels:
                    for returns in levels:
                        t = traits(r, f, m, aov=trait(aov), return_rate=trait(returns, 0.1))
                        for category in (None, "Toys"):
                            result = strategies(t, category)
                            assert 2 <= len(result) <= 4, (r, f, m, aov, returns, result)
                            assert len(set(result)) == len(result)
                            assert not any("{" in s or "}" in s for s in result), result


def test_description_contains_size_share_and_ratio():
    t = traits("high", "low", "high")  # monetary 200 vs base 100
    text = describe("At Risk High-Value", 1234, 0.25, t)
    assert text.startswith("At Risk High-Value: ")
    assert "1,234 customers" in text
    assert "(25%)" in text
    assert "2.0×" in text
    assert "200 days" in text  # recency mean
    assert "{" not in text


# Property test on real data ------------------------------------------------------------------

_rng = random.Random(20240607)
RUNS = [(k, "rfm", _rng.randrange(10_000)) for k in range(3, 9)] + [
    (5, "value", _rng.randrange(10_000)),
    (7, "full", _rng.randrange(10_000)),
]


@pytest.mark.parametrize(("k", "feature_set", "seed"), RUNS)
def test_names_true_on_real_data(k, feature_set, seed):
    result = segment(ONLINE_RETAIL, k=k, n_init=2, seed=seed, feature_set=feature_set)
    customers = result.customers
    segments = result.summary["segments"]
    assert [s["id"] for s in segments] == list(range(k))
    names = [s["name"] for s in segments]
    # The names written per customer are the segments' names.
    for s in segments:
        assert set(customers.loc[customers["segment_id"] == s["id"], "segment_name"]) == {s["name"]}

    base = {f: float(customers[f].mean()) for f in FEATURES}
    grouped = customers.groupby("segment_id")[list(FEATURES)].mean()
    means = []
    for s in segments:
        own = grouped.loc[s["id"]].to_dict()
        # summary.json's means agree with pandas' own computation ...
        for feature in ("recency_days", "frequency", "monetary", "tenure_days"):
            assert s[f"{feature}_mean"] == pytest.approx(own[feature], rel=1e-12), feature
        assert s["customers"] == int((customers["segment_id"] == s["id"]).sum())
        # ... and the claims are checked against summary.json's means where it has them.
        own.update(
            {f: s[f"{f}_mean"] for f in ("recency_days", "frequency", "monetary", "tenure_days")}
        )
        means.append(own)
    check_names(names, means, base)

    for s in segments:
        assert 2 <= len(s["strategy"]) <= 4, s["strategy"]
        assert not any("{" in text or "}" in text for text in s["strategy"])
        assert f"{s['customers']:,} customers" in s["description"]
        assert s["description"].startswith(s["name"])
        assert "{" not in s["description"]
