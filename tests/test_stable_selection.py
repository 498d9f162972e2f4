"""The `stable` selection rule (docs/stability.md): Davies-Bouldin among the eligible k whose
every segment's bootstrap Jaccard reaches --min-stability; its fall-back and its warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import SHARED_DATA
from segmint import segment
from segmint.errors import UsageError
from segmint.model.clusterboot import SegmentStability
from segmint.model.segment_model import SegmentModel
from segmint.model.selection import KScore, choose_k, fragile_warning
from segmint.settings import Settings

RETAIL = SHARED_DATA / "online_retail_sample.csv"
pytestmark = pytest.mark.shared_data


def scored(k: int, db: float, jaccard: list[float | None], eligible: bool = True) -> KScore:
    stability = SegmentStability(tuple(jaccard), (20,) * len(jaccard), (20,) * len(jaccard))
    return KScore(k, db, 0.3, 100.0, 1.0, 0.1, eligible, stability)


def test_stable_takes_the_best_davies_bouldin_among_the_k_whose_segments_are_all_stable():
    scores = [
        scored(3, 0.9, [0.95, 0.90, 0.92]),
        scored(4, 0.7, [0.95, 0.90, 0.59, 0.99]),  # best Davies-Bouldin, one fragile segment
        scored(5, 0.8, [0.80, 0.61, 0.70, 0.65, 0.60]),  # 0.60 is stable (at the threshold)
        scored(6, 1.0, [0.9] * 6),
    ]
    assert choose_k(scores, "stable") == (5, [])
    assert choose_k(scores, "stable", min_stability=0.7)[0] == 3
    assert choose_k(scores, "davies_bouldin")[0] == 4


def test_an_ineligible_k_is_not_chosen_however_stable():
    scores = [scored(3, 0.9, [0.5, 0.9, 0.9]), scored(4, 0.5, [0.99] * 4, eligible=False)]
    chosen, warnings = choose_k(scores, "stable")
    assert chosen == 3
    assert "no k has every segment stable" in warnings[0]
    assert "bottom of the range 3–4" in warnings[1] and len(warnings) == 2


def test_no_stable_k_falls_back_to_the_most_stable_and_says_so():
    scores = [
        scored(3, 0.9, [0.50, 0.90, 0.90]),
        scored(4, 0.7, [0.55, 0.58, 0.90, 0.90]),  # the largest least-stable segment
        scored(5, 0.6, [0.40, 0.90, 0.90, 0.90, 0.90]),
    ]
    chosen, warnings = choose_k(scores, "stable")
    assert chosen == 4
    assert warnings == [
        "no k has every segment stable (mean bootstrap Jaccard similarity of at least 0.6, "
        "--min-stability); k was chosen among the most stable, whose least stable segment "
        "scores 0.55"
    ]
    # Ties in the least stable segment: Davies-Bouldin decides, then the smaller k.
    tied = [scored(3, 0.9, [0.5, 0.9, 0.9]), scored(4, 0.7, [0.5, 0.8, 0.9, 0.9])]
    assert choose_k(tied, "stable")[0] == 4


def test_a_segment_without_a_figure_is_not_stable():
    scores = [scored(3, 0.9, [0.9, 0.9, 0.9]), scored(4, 0.5, [0.9, None, 0.9, 0.9])]
    assert choose_k(scores, "stable")[0] == 3
    unmeasured = [
        KScore(3, 0.9, 0.3, 1.0, 1.0, 0.1, True),
        KScore(4, 0.5, 0.3, 1.0, 1.0, 0.1, True),
    ]
    chosen, warnings = choose_k(unmeasured, "stable")
    assert chosen == 4 and "could not be measured for any k" in warnings[0]


def test_fragile_segments_of_the_delivered_k_are_named_in_a_warning():
    score = scored(5, 0.8, [0.80, 0.41, 0.70, 0.59, 0.60])
    (warning,) = fragile_warning(score, 0.6, "davies_bouldin", fixed=False)
    assert warning.startswith("2 of the 5 segments are fragile (mean bootstrap Jaccard")
    assert "--select stable" in warning
    (fixed,) = fragile_warning(score, 0.6, "davies_bouldin", fixed=True)
    assert "--select stable" not in fixed
    assert fragile_warning(score, 0.4, "stable", fixed=False) == []
    assert fragile_warning(scored(3, 0.9, [0.3, 0.9, 0.9]), 0.6, "stable", False)[0].startswith(
        "1 of the 3 segments is fragile"
    )


def test_min_stability_is_validated():
    with pytest.raises(UsageError, match=r"--min-stability 1.5: must be in \[0, 1\]"):
        Settings.create(min_stability=1.5)
    assert Settings.create().select == "stable"


def test_the_default_run_chooses_a_k_whose_segments_are_all_stable():
    result = segment(RETAIL, k_min=3, k_max=6)
    selection = result.summary["selection"]
    assert selection["metric"] == "stable" and selection["min_stability"] == 0.6
    qualifying = [
        s for s in selection["scores"]
        if s["eligible"] and min(x["jaccard"] for x in s["segment_stability"]) >= 0.6
    ]  # fmt: skip
    assert qualifying, "the shared sample has a k whose segments are all stable"
    chosen = next(s for s in selection["scores"] if s["k"] == selection["chosen_k"])
    assert chosen in qualifying
    assert chosen["davies_bouldin"] == min(s["davies_bouldin"] for s in qualifying)
    assert all(entry["stability"]["jaccard"] >= 0.6 for entry in result.summary["segments"])
    assert not any("fragile" in w for w in result.summary["warnings"])


def test_select_davies_bouldin_keeps_the_old_rule_and_warns_of_fragile_segments():
    result = segment(RETAIL, k_min=3, k_max=6, select="davies_bouldin")
    selection = result.summary["selection"]
    pool = [s for s in selection["scores"] if s["eligible"]]
    best = min(pool, key=lambda s: (s["davies_bouldin"], s["k"]))
    assert selection["chosen_k"] == best["k"]
    fragile = [e for e in result.summary["segments"] if not e["stability"]["stable"]]
    warned = [w for w in result.summary["warnings"] if "fragile" in w]
    assert len(warned) == (1 if fragile else 0)
    if fragile:
        assert warned[0].startswith(f"{len(fragile)} of the {best['k']} segments")


def _customers(seed: int) -> pd.DataFrame:
    """300 customers in three well-separated R/F/M groups."""
    rng = np.random.default_rng(seed)
    groups = [(10, 12, 5000.0), (120, 3, 600.0), (300, 1, 80.0)]
    rows = []
    for recency, frequency, monetary in groups:
        for _ in range(100):
            rows.append((recency * rng.uniform(0.8, 1.2), max(1, round(frequency * rng.uniform(0.8, 1.2))),
                         monetary * rng.uniform(0.8, 1.2)))  # fmt: skip
    frame = pd.DataFrame(rows, columns=["recency_days", "frequency", "monetary"])
    frame.insert(0, "customer_id", [f"c{i:03d}" for i in range(len(frame))])
    return frame


def test_renumbering_carries_each_segment_stability_with_it():
    customers = _customers(3)
    model = SegmentModel(["recency_days", "frequency", "monetary"], k=3, n_init=2).fit(customers)
    before = model.stability_by_segment()
    assert before is not None and all(s["jaccard"] >= 0.95 for s in before)
    labels = model.labels_.copy()
    new_ids = np.array([2, 0, 1])  # segment 0 becomes 2, 1 becomes 0, 2 becomes 1
    model.renumber(new_ids, ["c", "a", "b"], customers)
    after = model.stability_by_segment()
    assert (model.labels_ == new_ids[labels]).all()
    for old, new in enumerate(new_ids):
        assert after[new]["jaccard"] == before[old]["jaccard"]
        assert after[new]["segment"] == new


def test_the_same_seed_gives_the_same_figures_and_another_seed_other_draws():
    customers = _customers(5)

    def figures(seed: int) -> list[float]:
        model = SegmentModel(["recency_days", "frequency", "monetary"], k_min=2, k_max=5,
                             n_init=2, seed=seed).fit(customers)  # fmt: skip
        return [j for s in model.scores_ for j in s.segment_stability.jaccard]

    assert figures(0) == figures(0)
    assert figures(0) != figures(1)


def test_on_a_sample_the_delivered_segments_stability_is_measured_on_their_final_labels():
    from segmint.model.clusterboot import segment_stability
    from segmint.model.sampling import sample_positions

    rng = np.random.default_rng(11)
    n = 3000
    customers = pd.DataFrame({
        "customer_id": [f"c{i:05d}" for i in range(n)],
        "recency_days": rng.gamma(2.0, 60.0, n),
        "frequency": rng.geometric(0.4, n).astype(float),
        "monetary": rng.lognormal(5.0, 1.0, n),
    })  # fmt: skip
    model = SegmentModel(["recency_days", "frequency", "monetary"], k_min=3, k_max=5,
                         n_init=2, sample_size=1000).fit(customers)  # fmt: skip
    assert model.sampled_
    rows = sample_positions(customers["customer_id"], 1000, 0)
    X = model.scaled(customers)
    again = segment_stability(X[rows], model.labels_[rows], model.k_, 0)
    assert model.stability_by_segment() == [
        {"segment": i, "jaccard": j, "recovered": r, "resamples": m, "stable": j >= 0.6}
        for i, (j, r, m) in enumerate(
            zip(again.jaccard, again.recovered, again.resamples, strict=True)
        )
    ]
    assert model.to_json()["stability"]["sample_size"] == 1000


def test_the_stability_panel_draws_every_segment_of_every_k():
    from segmint.report.figures import stability_panel

    result = segment(RETAIL, k_min=3, k_max=5, n_init=2)
    selection = result.summary["selection"]
    panel = stability_panel(selection)
    dots, least, threshold = panel.lines
    rows = selection["scores"]
    assert dots.points_only and len(dots.y) == sum(r["k"] for r in rows) == 12
    assert sorted(dots.y) == sorted(s["jaccard"] for r in rows for s in r["segment_stability"])
    assert least.x == [3, 4, 5] and least.y == [r["least_stable"] for r in rows]
    assert threshold.y == [0.6, 0.6] and threshold.dashed
    chosen = selection["chosen_k"]
    assert [(m.x, m.y) for m in panel.marks] == [(chosen, least.y[chosen - 3])]


def test_concurrent_stability_measures_in_threads_keep_their_own_data():
    from concurrent.futures import ThreadPoolExecutor

    from segmint.model.clusterboot import segment_stability
    from segmint.model.kmeans import fit_kmeans, nearest_centre
    from segmint.model.segment_model import _stability_by_k

    rng = np.random.default_rng(2)
    cases = []
    for size, k in ((150, 3), (240, 4), (90, 2), (200, 5)):
        X = rng.normal(size=(size, 3))
        cases.append((X, {k: nearest_centre(X, fit_kmeans(X, k, 2, 0))}, k))
    serial = [segment_stability(X, labels[k], k, 0) for X, labels, k in cases]
    with ThreadPoolExecutor(4) as pool:  # threads: no fork, every job in its own thread
        threaded = list(pool.map(lambda c: _stability_by_k(c[0], c[1], 0, 20)[c[2]], cases * 3))
    assert threaded == serial * 3
