"""Stability of the chosen segmentation: bootstrap agreement per k, --select stable, warnings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segmint import segment
from segmint.model.selection import KScore, choose_k
from segmint.model.stability import STABLE, stability

RETAIL = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail_sample.csv"


def scored(k: int, db: float, stable: float | None) -> KScore:
    return KScore(k, db, 0.3, 100.0, 1.0, 0.1, True, stable)


def test_select_stable_takes_the_best_davies_bouldin_among_stable_k():
    scores = [scored(3, 0.9, 0.95), scored(4, 0.7, 0.6), scored(5, 0.8, 0.8), scored(6, 1.0, 0.9)]
    # k = 4 has the best Davies-Bouldin but is unstable; among 3, 5, 6 the best is 5.
    assert choose_k(scores, "stable") == (5, [])
    chosen, warnings = choose_k(scores, "davies_bouldin")
    assert chosen == 4
    assert (
        len(warnings) == 1
        and "stability of 0.60" in warnings[0]
        and "--select stable" in warnings[0]
    )


def test_no_stable_k_falls_back_to_davies_bouldin_and_says_so():
    scores = [scored(3, 0.9, 0.5), scored(4, 0.7, 0.6), scored(5, 0.8, 0.4)]
    chosen, warnings = choose_k(scores, "stable")
    assert chosen == 4
    assert any(f"no k reaches a stability of {STABLE}" in w for w in warnings)
    assert any("stability of 0.60" in w for w in warnings)


def test_separated_groups_are_stable_and_noise_is_not():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0, 0], [8, 0, 0], [0, 8, 0]], dtype=float)
    blobs = np.vstack([rng.normal(c, 1.0, (700, 3)) for c in centres])
    noise = rng.uniform(-1, 1, (2100, 3))
    clear = stability(blobs, 3, seed=0)
    vague = stability(noise, 9, seed=0)
    assert clear > 0.98
    assert vague < clear - 0.15
    # Seeded: the same value again; another seed draws other samples.
    assert stability(noise, 9, seed=0) == vague


def test_stability_is_in_every_score_row_and_the_report(tmp_path):
    result = segment(RETAIL, k_min=3, k_max=5, n_init=2)
    rows = result.summary["selection"]["scores"]
    assert all(0 < r["stability"] <= 1 for r in rows)
    result.write(tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert (
        "| k | Davies-Bouldin | silhouette | Calinski-Harabasz | inertia | smallest share | stability | eligible |"
        in md
    )
    chosen = next(r for r in rows if r["k"] == result.summary["selection"]["chosen_k"])
    warned = any("stability of" in w for w in result.summary["warnings"])
    assert warned == (chosen["stability"] < STABLE)


def test_select_stable_through_segment():
    result = segment(RETAIL, k_min=3, k_max=6, n_init=2, select="stable")
    rows = result.summary["selection"]["scores"]
    pool = [r for r in rows if r["eligible"] and r["stability"] >= STABLE] or [
        r for r in rows if r["eligible"]
    ]
    best = min(pool, key=lambda r: (r["davies_bouldin"], r["k"]))
    assert result.summary["selection"]["chosen_k"] == best["k"]
    assert result.summary["selection"]["metric"] == "stable"


def test_adjusted_rand_index_equals_scikit_learn():
    from sklearn.metrics import adjusted_rand_score

    from segmint.model.stability import adjusted_rand_index

    rng = np.random.default_rng(4)
    for k in (2, 3, 7):
        a = rng.integers(0, k, 500)
        b = np.where(rng.random(500) < 0.7, a, rng.integers(0, k, 500))
        assert adjusted_rand_index(a, b, k) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)
    same = np.zeros(50, dtype=int)
    assert adjusted_rand_index(same, same, 3) == adjusted_rand_score(same, same) == 1.0
    # A relabelling is the same partition.
    a = rng.integers(0, 4, 300)
    assert adjusted_rand_index(a, (a + 1) % 4, 4) == pytest.approx(1.0)
