"""Segments as thresholds a CRM can apply (docs/reference/rules.md), learned by a shallow tree.

A scikit-learn decision tree (seeded) learns to imitate the delivered segments from the
clustering features in their own units. Its leaves partition the customers, so reading
every root-to-leaf path gives each segment an OR of ANDs of `feature <= v` / `feature > v`
that matches every customer exactly once. Thresholds are then rounded to what a person
would type: whole days and orders exactly (x <= 37.5 is x <= 37 for whole numbers), other
values to two significant figures where that costs less than half a point of fidelity.
Fidelity is always measured by applying the exported rules, never the tree's own score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

DEPTHS = (2, 3, 4, 5)
TARGET_FIDELITY = 0.90
# A rounding is kept when the overall fidelity falls by less than this (half a point).
ROUNDING_COST = 0.005
# The tree is grown, and roundings judged, on a seeded sample of at most this many customers;
# the reported fidelity is always over every customer.
FIT_SAMPLE = 200_000


@dataclass(frozen=True)
class Condition:
    feature: str
    op: str  # "<=" or ">"
    value: float

    def holds(self, table: pd.DataFrame) -> np.ndarray:
        values = table[self.feature].to_numpy(dtype=np.float64)
        return values <= self.value if self.op == "<=" else values > self.value

    def as_dict(self) -> dict:
        return {"feature": self.feature, "op": self.op, "value": self.value}


@dataclass
class Node:
    """A split of the tree: feature <= threshold goes left."""

    feature: str
    threshold: float
    integer: bool  # the feature only takes whole values


@dataclass(frozen=True)
class Rules:
    """Each segment's rules (by id), how faithful they are, and the depth that made them."""

    names: list[str]
    rules: list[list[list[Condition]]]  # segment id → OR of ANDs
    max_depth: int
    fidelity: float
    segment_fidelity: list[float]
    depths: list[dict] = field(default_factory=list)  # every depth tried: {depth, fidelity}

    def assign(self, table: pd.DataFrame) -> np.ndarray:
        """Return each customer's segment id by the rules, tried in segment order (-1: none)."""
        return assign(self.rules, table)

    def as_json(self) -> dict:
        return {
            "fidelity": self.fidelity,
            "max_depth": self.max_depth,
            "segments": [
                {
                    "id": i,
                    "name": name,
                    "rules": [[c.as_dict() for c in clause] for clause in self.rules[i]],
                }
                for i, name in enumerate(self.names)
            ],
        }

    @classmethod
    def from_json(cls, data: dict) -> Rules:
        segments = sorted(data["segments"], key=lambda s: s["id"])
        rules = [
            [[Condition(c["feature"], c["op"], float(c["value"])) for c in clause]
             for clause in s["rules"]]
            for s in segments
        ]  # fmt: skip
        return cls([s["name"] for s in segments], rules, data["max_depth"], data["fidelity"], [])


def assign(rules: list[list[list[Condition]]], table: pd.DataFrame) -> np.ndarray:
    """Return the first segment whose rules hold for each row of table (-1 when none does)."""
    result = np.full(len(table), -1, dtype=np.int64)
    for segment, clauses in enumerate(rules):
        for clause in clauses:
            held = np.ones(len(table), dtype=bool)
            for condition in clause:
                held &= condition.holds(table)
            result[(result < 0) & held] = segment
    return result


def learn_rules(
    table: pd.DataFrame,
    labels: np.ndarray,
    names: list[str],
    features: list[str],
    seed: int,
    depth: int | None = None,
) -> Rules:
    """Return the rules of the smallest depth in 2..5 reaching 90% fidelity (else 5), or `depth`."""
    tried = []
    best = None
    for d in [depth] if depth is not None else DEPTHS:
        rules = _rules_at_depth(table, labels, names, features, seed, d)
        tried.append({"depth": d, "fidelity": rules.fidelity})
        best = rules
        if depth is None and rules.fidelity >= TARGET_FIDELITY:
            break
    assert best is not None
    return Rules(best.names, best.rules, best.max_depth, best.fidelity, best.segment_fidelity,
                 tried)  # fmt: skip


def _rules_at_depth(
    table: pd.DataFrame,
    labels: np.ndarray,
    names: list[str],
    features: list[str],
    seed: int,
    depth: int,
) -> Rules:
    from sklearn.tree import DecisionTreeClassifier

    X = table[features].to_numpy(dtype=np.float64)
    rows = _sample(len(X), seed)
    tree = DecisionTreeClassifier(max_depth=depth, random_state=seed).fit(X[rows], labels[rows])
    sample, sample_labels = table[features].iloc[rows], labels[rows]
    integer = [bool(np.all(np.mod(X[:, j], 1) == 0)) for j in range(X.shape[1])]
    structure = tree.tree_
    nodes: dict[int, Node] = {}
    for i in range(structure.node_count):
        if structure.children_left[i] != structure.children_right[i]:  # a split
            j = int(structure.feature[i])
            threshold = float(structure.threshold[i])
            nodes[i] = Node(features[j], float(math.floor(threshold)) if integer[j] else threshold,
                            integer[j])  # fmt: skip
    classes = [int(c) for c in tree.classes_]
    leaves = _leaves(structure, classes)

    def build() -> list[list[list[Condition]]]:
        return _segment_rules(leaves, nodes, len(names))

    def fidelity() -> float:
        return float((assign(build(), sample) == sample_labels).mean())

    exact = fidelity()
    for i in sorted(nodes):  # round the rest, one split at a time, while it costs little
        node = nodes[i]
        if node.integer:
            continue
        unrounded = node.threshold
        node.threshold = _two_figures(unrounded)
        if node.threshold != unrounded and exact - fidelity() >= ROUNDING_COST:
            node.threshold = round(unrounded, 2)
    rules = build()
    assigned = assign(rules, table)
    overall = float((assigned == labels).mean())
    per_segment = [
        float((assigned[labels == s] == s).mean()) if (labels == s).any() else 0.0
        for s in range(len(names))
    ]
    return Rules(names, rules, depth, overall, per_segment)


def _sample(n: int, seed: int) -> np.ndarray:
    if n <= FIT_SAMPLE:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, FIT_SAMPLE, replace=False))


def _leaves(structure, classes: list[int]) -> list[tuple[list[tuple[int, bool]], int]]:
    """Return each leaf's path (node, went left) and its majority segment."""
    out = []
    stack: list[tuple[int, list[tuple[int, bool]]]] = [(0, [])]
    while stack:
        i, path = stack.pop()
        left, right = structure.children_left[i], structure.children_right[i]
        if left == right:
            out.append((path, classes[int(np.argmax(structure.value[i][0]))]))
        else:
            stack.append((right, path + [(i, False)]))
            stack.append((left, path + [(i, True)]))
    return out


def _segment_rules(
    leaves: list[tuple[list[tuple[int, bool]], int]], nodes: dict[int, Node], k: int
) -> list[list[list[Condition]]]:
    """Return each segment's OR of its leaves' paths, each path reduced to its tightest bounds."""
    rules: list[list[list[Condition]]] = [[] for _ in range(k)]
    for path, segment in leaves:
        upper: dict[str, float] = {}
        lower: dict[str, float] = {}
        for i, went_left in path:
            node = nodes[i]
            if went_left:
                upper[node.feature] = min(upper.get(node.feature, math.inf), node.threshold)
            else:
                lower[node.feature] = max(lower.get(node.feature, -math.inf), node.threshold)
        if any(lower[f] >= upper[f] for f in lower.keys() & upper.keys()):
            continue  # rounding closed this range: no customer can match it
        clause = [Condition(f, ">", v) for f, v in lower.items()]
        clause += [Condition(f, "<=", v) for f, v in upper.items()]
        clause.sort(key=lambda c: (c.feature, c.op != ">"))
        rules[segment].append(clause)
    return rules


def _two_figures(value: float) -> float:
    """Return value rounded to two significant figures (1234.5 → 1200, 0.0346 → 0.035)."""
    if value == 0 or not math.isfinite(value):
        return value
    digits = 1 - int(math.floor(math.log10(abs(value))))
    return round(value, digits)
