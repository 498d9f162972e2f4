"""The report's lifetime value section: a lapsing segment more likely active than the base is
explained in words, and only then (docs/clv.md, "Reading the segments against the model")."""

from __future__ import annotations

from segmint.profile.naming import LAPSING, is_lapsing
from segmint.report.lifetime import interval_text, lapsing_notes, parameters_text


def segment(name: str, p_alive: float) -> dict:
    return {"name": name, "p_alive_mean": p_alive, "recency_days_mean": 104.0,
            "frequency_mean": 3.09, "p_no_order_mean": 0.178}  # fmt: skip


def test_lapsing_names_are_the_name_tables_high_recency_rows() -> None:
    assert {"Can't Lose Them", "At Risk High-Value", "At Risk Loyal", "Lost",
                       "Hibernating"} == LAPSING  # fmt: skip
    assert is_lapsing("Lost (Bigger Orders)") and is_lapsing("Hibernating")
    assert not is_lapsing("Champions (Less Recent)") and not is_lapsing("New Customers")


def test_a_lapsing_segment_above_the_base_is_explained_and_no_other() -> None:
    segments = [
        segment("Hibernating", 0.971),  # lapsing, above the base: explained
        segment("Lost", 0.897),  # lapsing, below: nothing to explain
        segment("Champions", 0.998),  # above, but not named as lapsing
    ]
    notes = lapsing_notes(segments, {"p_alive_mean": 0.959})
    assert len(notes) == 1
    assert notes[0].startswith("Hibernating: its mean chance of being active (97.1%) is above")
    assert "(95.9%)" in notes[0] and "104 days ago" in notes[0] and "3.1 times" in notes[0]
    assert "17.8% with no order" in notes[0]
    assert lapsing_notes(segments, {"p_alive_mean": 0.98}) == []


def test_intervals_and_parameters_are_written_for_a_reader() -> None:
    assert interval_text(None) == "—"
    assert interval_text([1234.5, 2345.678]) == "1,234.50 – 2,345.68"
    assert parameters_text({"r": 0.5533, "alpha": 10.5777, "s": 0.6062, "beta": 11.6689}) == (
        "r 0.553, α 10.578, s 0.606, β 11.669"
    )


def test_a_fit_without_a_maximum_is_not_read_as_behaviour() -> None:
    # On a log where the order model runs to the edge of its range (the Zeotap sample), a
    # lapsing segment's high chance says nothing about frequent buyers: the note says so.
    model = {"title": "Pareto/NBD", "converged": False}
    (note,) = lapsing_notes([segment("Lost (Higher Spend)", 0.996)], {"p_alive_mean": 0.972}, model)
    assert "Pareto/NBD fit has no interior maximum" in note
    assert "judge this segment by its recency" in note and "frequent buyer" not in note
    converged = {"title": "Pareto/NBD", "converged": True}
    (note,) = lapsing_notes([segment("Lost", 0.996)], {"p_alive_mean": 0.972}, converged)
    assert "frequent buyer" in note
