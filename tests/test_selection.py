"""K selection (docs/reference/model.md#choosing-k): candidate range, eligibility, choice and
its tie rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

from segmint.errors import SegmintError
from segmint.model.kmeans import BLOCK_ROWS, count_distinct, distinct_rows, nearest_centre
from segmint.model.segment_model import SegmentModel
from segmint.model.selection import (
    KScore,
    candidate_ks,
    choose_k,
    davies_bouldin_and_calinski_harabasz,
    eligible_share,
    score_labels,
    silhouette_rows,
    silhouettes,
)


def _score(k: int, db: float, sil: float, ch: float, eligible: bool = True) -> KScore:
    return KScore(k, db, sil, ch, inertia=1.0, smallest_share=0.1, eligible=eligible)


def test_candidate_range_is_clamped_to_distinct_points_minus_one() -> None:
    assert candidate_ks(None, 3, 10, n_distinct=6) == [3, 4, 5]
    assert candidate_ks(None, 2, 4, n_distinct=100) == [2, 3, 4]
    assert candidate_ks(4, 3, 10, n_distinct=5) == [4]


@pytest.mark.parametrize(("k", "k_min", "n"), [(None, 3, 3), (None, 3, 1), (5, 3, 5), (9, 3, 2)])
def test_too_few_distinct_points_is_an_error_naming_the_count(k, k_min, n) -> None:
    with pytest.raises(SegmintError, match=f"only {n} distinct"):
        candidate_ks(k, k_min, 10, n_distinct=n)


@pytest.mark.parametrize(
    ("n", "says"),
    [
        (3, "at most 2 segments; lower --k-min or add data"),
        (2, "at most 1 segment; too few to segment; add data"),
        (1, "at most 0 segments; too few to segment; add data"),
    ],
)
def test_an_empty_k_range_says_how_many_segments_the_data_allows(n, says) -> None:
    with pytest.raises(SegmintError) as error:
        candidate_ks(None, 3, 10, n_distinct=n)
    assert str(error.value).endswith(says)


def test_davies_bouldin_is_minimised_among_eligible_ties_to_smaller_k() -> None:
    scores = [
        _score(3, 0.90, 0.3, 100),
        _score(4, 0.80, 0.2, 90),
        _score(5, 0.50, 0.9, 300, eligible=False),  # best, but a segment is too small
        _score(6, 0.80, 0.1, 80),
    ]
    assert choose_k(scores, "davies_bouldin") == (4, [])
    chosen, warnings = choose_k(scores, "silhouette")
    assert chosen == 3 and len(warnings) == 1 and "bottom of the range 3–6" in warnings[0]
    assert choose_k(scores, "calinski_harabasz")[0] == 3


def test_a_k_at_the_top_of_the_range_is_warned_about_and_a_fixed_k_is_not() -> None:
    scores = [_score(3, 0.9, 0.3, 100), _score(4, 0.8, 0.2, 90), _score(5, 0.7, 0.2, 90)]
    chosen, warnings = choose_k(scores, "davies_bouldin")
    assert chosen == 5
    assert warnings == [
        "the chosen k = 5 is the top of the range 3–5: Davies-Bouldin might improve further "
        "with more segments (try --k-max 10, or fix --k)"
    ]
    assert choose_k([_score(5, 0.7, 0.2, 90)], "davies_bouldin") == (5, [])
    # k = 2 is the smallest k there is: nothing lies below it
    assert choose_k([_score(2, 0.5, 0.2, 90), _score(3, 0.9, 0.3, 100)], "davies_bouldin") == (
        2,
        [],
    )


def test_no_eligible_k_chooses_among_all_with_a_warning() -> None:
    scores = [_score(3, 0.9, 0.3, 100, False), _score(4, 0.7, 0.2, 90, False)]
    chosen, warnings = choose_k(scores, "davies_bouldin")
    assert chosen == 4
    assert len(warnings) == 2 and "minimum share" in warnings[0] and "top of" in warnings[1]


def test_no_eligible_k_prefers_the_largest_smallest_segment() -> None:
    # k = 4 has the better Davies-Bouldin, but k = 3's smallest segment is the larger one
    scores = [
        KScore(3, 0.9, 0.3, 100, inertia=1.0, smallest_share=0.04, eligible=False),
        KScore(4, 0.7, 0.2, 90, inertia=1.0, smallest_share=0.01, eligible=False),
        KScore(5, 0.6, 0.2, 90, inertia=1.0, smallest_share=0.04, eligible=False),
    ]
    assert choose_k(scores, "davies_bouldin")[0] == 5
    assert choose_k(scores[:2], "davies_bouldin")[0] == 3


def test_min_segment_size_raises_the_eligible_share() -> None:
    # 32 customers: 5 of them are 15.6%, more than the 2% share asks
    assert eligible_share(0.02, 5, 32) == pytest.approx(5 / 32)
    assert eligible_share(0.02, 5, 10_000) == pytest.approx(0.02)
    assert eligible_share(0.02, 0, 32) == pytest.approx(0.02)
    labels = np.array([0] * 4 + [1] * 14 + [2] * 14)
    X = np.arange(32, dtype=float)[:, None]
    centers = np.array([[1.5], [11.0], [25.0]])
    assert not score_labels(X, labels, centers, eligible_share(0.02, 5, 32)).eligible
    assert score_labels(X, labels, centers, eligible_share(0.02, 4, 32)).eligible


def test_scores_match_scikit_learn_and_eligibility_uses_smallest_share() -> None:
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 1, (40, 2)), rng.normal(6, 1, (58, 2)), rng.normal(-6, 1, (2, 2))])
    labels = np.repeat([0, 1, 2], [40, 58, 2])
    centers = np.array([X[labels == i].mean(axis=0) for i in range(3)])
    score = score_labels(X, labels, centers, 0.05)
    assert score.davies_bouldin == pytest.approx(davies_bouldin_score(X, labels), rel=1e-12)
    assert score.calinski_harabasz == pytest.approx(calinski_harabasz_score(X, labels), rel=1e-12)
    assert score.inertia == pytest.approx(
        sum(((X[labels == i] - centers[i]) ** 2).sum() for i in range(3))
    )
    assert score.smallest_share == pytest.approx(0.02)
    assert not score.eligible  # 2% < 5%
    assert score_labels(X, labels, centers, 0.02).eligible


def test_nearest_centre_and_distinct_count() -> None:
    X = np.array([[0.0, 0.0], [0.9, 0.0], [2.1, 0.0], [2.1, 0.0]])
    centers = np.array([[0.0, 0.0], [3.0, 0.0]])
    assert nearest_centre(X, centers).tolist() == [0, 0, 1, 1]
    assert count_distinct(X) == 3


def test_segment_ids_are_ordered_by_revenue_and_predict_reproduces_labels() -> None:
    rng = np.random.default_rng(7)
    n = 90
    customers = pd.DataFrame(
        {
            "recency_days": np.concatenate([rng.integers(1, 10, 30), rng.integers(200, 300, 60)]),
            "frequency": np.concatenate([rng.integers(8, 12, 30), rng.integers(1, 3, 60)]),
            "monetary": np.concatenate([rng.uniform(900, 1200, 30), rng.uniform(10, 40, 60)]),
        }
    )
    model = SegmentModel(["recency_days", "frequency", "monetary"], k=2, n_init=3).fit(customers)
    revenue = [customers["monetary"][model.labels_ == i].sum() for i in range(2)]
    assert revenue[0] > revenue[1]
    assert (model.labels_[:30] == 0).all() and (model.labels_[30:] == 1).all()
    assert (model.predict(customers) == model.labels_).all()
    # Scaling: log1p then population standard deviation.
    logged = np.log1p(customers["monetary"].to_numpy())
    assert model.mean_[2] == pytest.approx(logged.mean())
    assert model.scale_[2] == pytest.approx(logged.std(ddof=0))
    restored = SegmentModel.from_json(model.to_json(as_of="2020-01-01", feature_set="rfm"))
    assert (restored.predict(customers) == model.labels_).all()
    assert len(customers) == n


def test_nearest_centre_in_blocks_equals_the_direct_computation() -> None:
    # More rows than one block, so that the blocks' seams are crossed.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(BLOCK_ROWS + 12_345, 3))
    centers = rng.normal(size=(7, 3))
    direct = np.column_stack([((X - c) ** 2).sum(axis=1) for c in centers]).argmin(axis=1)
    assert (nearest_centre(X, centers) == direct).all()


def test_count_distinct_stops_early_only_when_there_are_enough() -> None:
    # 150,000 rows: the first 100,000 hold the points 0..9, the rest 10..19.
    X = np.concatenate([np.arange(100_000) % 10, 10 + np.arange(50_000) % 10])[:, None]
    X = X.astype(float)
    assert count_distinct(X) == 20
    assert count_distinct(X, enough=5) == 10  # enough seen in the first 100,000 rows
    assert count_distinct(X, enough=11) == 20  # not enough there: every row is counted


@pytest.mark.parametrize("columns", [1, 3])
def test_distinct_rows_counts_as_numpy_does(columns) -> None:
    rng = np.random.default_rng(4)
    X = rng.integers(0, 3, size=(500, columns)).astype(float) / 2  # many repeated rows
    X[::7, 0] = -0.0 * X[::7, 0]  # -0.0 equals 0.0
    X = X[:, ::-1] if columns > 1 else X  # not contiguous
    assert distinct_rows(X) == len(np.unique(X, axis=0)) == 3**columns


def test_davies_bouldin_and_calinski_harabasz_ignore_empty_segment_ids() -> None:
    # Labels 0 and 2 (no segment 1): the same indices as scikit-learn on labels 0 and 1.
    X = np.array([[0.0, 0.0], [0.0, 1.0], [4.0, 0.0], [4.0, 2.0]])
    labels = np.array([0, 0, 2, 2])
    db, ch = davies_bouldin_and_calinski_harabasz(X, labels)
    # By hand: centroids (0, 0.5) and (4, 1); spreads 0.5 and 1; centroid distance
    # sqrt(16.25) -> DB = (0.5 + 1) / sqrt(16.25). CH, with the mean (2, 0.75):
    # between = 2·(4 + 0.0625) + 2·(4 + 0.0625) = 16.25, within = 2·0.25 + 2·1 = 2.5,
    # CH = (16.25 / (k - 1 = 1)) / (2.5 / (n - k = 2)) = 13.
    assert db == pytest.approx(1.5 / np.sqrt(16.25), rel=1e-12)
    assert ch == pytest.approx(13.0, rel=1e-12)
    assert db == pytest.approx(davies_bouldin_score(X, labels), rel=1e-12)
    assert ch == pytest.approx(calinski_harabasz_score(X, labels), rel=1e-12)


def test_silhouettes_of_many_labellings_match_scikit_learn() -> None:
    # More rows than one block; labellings with 2 and 5 segments, one with a point alone in
    # its segment (scores 0), one with a single segment (no silhouette).
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(11)
    X = rng.normal(size=(1_300, 3))
    two = (X[:, 0] > 0).astype(int)
    five = rng.integers(0, 5, len(X))
    alone = two.copy()
    alone[17] = 9
    one = np.zeros(len(X), dtype=int)
    values = silhouettes(X, [two, five, alone, one])
    for labels, value in zip([two, five, alone], values, strict=False):
        assert value == pytest.approx(silhouette_score(X, labels), rel=1e-10)
    assert values[3] is None


def test_silhouette_rows_are_scikit_learns_seeded_sample() -> None:
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(3)
    X = rng.normal(size=(2_000, 2))
    labels = rng.integers(0, 4, len(X))
    rows = silhouette_rows(len(X), 300, seed=7)
    assert len(rows) == 300 and len(set(rows)) == 300
    (value,) = silhouettes(X[rows], [labels[rows]])
    assert value == pytest.approx(
        silhouette_score(X, labels, sample_size=300, random_state=7), rel=1e-10
    )
    assert silhouette_rows(50, 300, seed=7).tolist() == list(range(50))


def test_fitting_more_segments_than_distinct_points_warns_nobody() -> None:
    # The fuzz suite saw scikit-learn's ConvergenceWarning ("Number of distinct clusters (4)
    # found smaller than n_clusters (5)") reach stderr in a run.
    import warnings

    from segmint.model.kmeans import fit_kmeans

    X = np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), 5, axis=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        centers = fit_kmeans(X, 5, n_init=1, seed=0)
    assert caught == []
    assert len(np.unique(nearest_centre(X, centers))) == 4


def test_distinct_points_give_equal_rows_one_index() -> None:
    from segmint.model.kmeans import distinct_points

    X = np.array([[1.0, 2.0], [0.0, -0.0], [1.0, 2.0], [0.0, 0.0], [3.0, 1.0]])
    point = distinct_points(X)
    assert point[0] == point[2] and point[1] == point[3]  # -0.0 equals 0.0
    assert len(set(point.tolist())) == distinct_rows(X) == 3
