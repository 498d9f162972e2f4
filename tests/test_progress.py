"""Progress output: stages and their steps, and DuckDB's progress with the time left."""

from __future__ import annotations

import threading

import pytest

from segmint import progress
from segmint.io.connection import connect
from segmint.progress import reporter, stage_of, time_left, watching
from segmint.settings import Settings


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(3.2, "a few seconds"), (12.4, "about 10 s"), (13.0, "about 15 s"), (88, "about 90 s"),
     (95, "about 2 min"), (1000, "about 17 min")],
)  # fmt: skip
def test_time_left_in_words(seconds, words):
    assert time_left(seconds) == words


def test_stage_of_a_step():
    assert stage_of("Cleaning order lines: 43%, about 25 s left") == "Cleaning order lines"
    assert stage_of("Reading and detecting columns") == "Reading and detecting columns"


def test_plain_output_prints_each_stage_and_its_steps_at_most_every_few_seconds(
    capsys, monkeypatch
):
    with reporter(quiet=False) as report:  # stderr is not a terminal under pytest
        for text in ("Cleaning", "Cleaning: 10%", "Cleaning: 20%", "Features", "Features: k"):
            report(text)
    printed = [line.split("] ", 1)[1] for line in capsys.readouterr().err.splitlines()]
    assert printed == ["Cleaning", "Features"]
    monkeypatch.setattr(progress, "PLAIN_STEP_SECONDS", 0.0)
    with reporter(quiet=False) as report:
        for text in ("Cleaning", "Cleaning: 10%", "Features"):
            report(text)
    printed = [line.split("] ", 1)[1] for line in capsys.readouterr().err.splitlines()]
    assert printed == ["Cleaning", "Cleaning: 10%", "Features"]


def test_quiet_prints_nothing(capsys):
    with reporter(quiet=True) as report:
        report("Cleaning")
    assert capsys.readouterr().err == ""


def test_a_long_query_reports_its_percent_and_time_left_and_the_thread_ends(tmp_path):
    """The run's connection measures progress (its progress bar on, printing nothing); the
    watcher reports rising percentages below 100 while the query runs, then is gone."""
    reports: list[str] = []
    threads = threading.active_count()
    with (
        connect(Settings.create(), tmp_path) as con,
        watching(con, reports.append, every=0.05, after=0.2),
    ):
        assert threading.active_count() == threads + 1
        con.execute("SELECT count(*) FROM range(600000000) t(i) WHERE hash(i) % 7 = 0").fetchall()
    assert threading.active_count() == threads
    assert reports, "no progress reported for a query of more than a second"
    percents = [float(r.split("%")[0]) for r in reports]
    assert all(0 < p < 100 for p in percents) and percents == sorted(percents)
    assert all(r.endswith(" left") for r in reports)


class _ScriptedProgress:
    """A connection whose running query reports the given percents, then none (-1)."""

    def __init__(self, percents):
        self.percents = list(percents)
        self.done = threading.Event()

    def query_progress(self):
        if not self.percents:
            self.done.set()
            return -1
        return self.percents.pop(0)


def test_a_percent_is_rounded_down_and_a_finishing_query_reports_nothing():
    con = _ScriptedProgress([10.0, 50.0, 99.7, 100.0, 100.0])
    reports: list[str] = []
    with watching(con, reports.append, every=0.0, after=0.0):
        assert con.done.wait(10)
    assert [r.split(",")[0] for r in reports] == ["50%", "99%"]


def test_no_watcher_without_a_report(tmp_path):
    threads = threading.active_count()
    with connect(Settings.create(), tmp_path) as con, watching(con, None):
        assert threading.active_count() == threads
        con.execute("SELECT 1").fetchall()
