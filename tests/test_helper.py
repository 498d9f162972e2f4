"""segmint.helper: work runs in a forked helper process, or in the caller when it has not begun.

Each case runs in a fresh interpreter: whether the helper forks depends on the process having
no other Python thread, which a test session (web servers, Spark's gateway) need not have.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the helper forks on Linux only")


# Signals between a case and its helper, inherited by the fork (never a guess at how long the
# helper takes): `started` is set by a task once the helper runs it; `gate` holds a task in
# the helper until the case opens it. WAIT bounds every wait (the case then fails, saying so).
_SIGNALS = """
WAIT = 60
started = multiprocessing.get_context("fork").Event()
gate = multiprocessing.get_context("fork").Event()
def pid_once_started():
    started.set()
    return os.getpid()
def held():
    if not gate.wait(WAIT):
        raise TimeoutError("the case never opened the gate")
def fail_once_started():
    started.set()
    raise ValueError(f"failed in process {os.getpid()}")
"""


def _run(body: str) -> dict:
    script = "import json, multiprocessing, os, threading\nfrom segmint.helper import helper\n"
    script += _SIGNALS + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout)


def test_a_started_task_runs_in_the_helper_process() -> None:
    result = _run(
        """
        with helper() as work:
            task = work.submit(pid_once_started)
            begun = started.wait(WAIT)  # the helper has taken it
            print(json.dumps({"forked": work.forked, "begun": begun, "theirs": task.result(),
                              "ours": os.getpid()}))
        """
    )
    assert result["forked"] and result["begun"]
    assert result["theirs"] != result["ours"]


def test_a_task_the_helper_has_not_begun_runs_in_the_caller() -> None:
    result = _run(
        """
        with helper() as work:
            busy = work.submit(held)
            queued = [work.submit(os.getpid) for _ in range(3)]
            # The helper is held busy: the last task queued has not begun (the pool hands the
            # helper at most two tasks ahead), so it runs here, at once.
            pids = [queued[-1].result()]
            gate.set()
            pids += [task.result() for task in reversed(queued[:-1])]
            busy.result()
            print(json.dumps({"forked": work.forked, "pids": pids, "ours": os.getpid()}))
        """
    )
    assert result["forked"]
    # The queued task not yet handed to the busy helper ran here; each task ran once.
    assert result["pids"][0] == result["ours"]
    assert len(result["pids"]) == 3


def test_no_helper_while_another_thread_runs() -> None:
    result = _run(
        """
        stop = threading.Event()
        threading.Thread(target=stop.wait).start()
        with helper() as work:
            pid = work.submit(os.getpid).result()
        stop.set()
        print(json.dumps({"forked": work.forked, "pid": pid, "ours": os.getpid()}))
        """
    )
    assert not result["forked"]
    assert result["pid"] == result["ours"]


def test_an_error_in_the_helper_reaches_the_caller() -> None:
    result = _run(
        """
        with helper() as work:
            task = work.submit(fail_once_started)
            begun = started.wait(WAIT)  # the helper has taken it: the error is raised there
            try:
                task.result()
                raised = None
            except ValueError as exc:
                raised = str(exc)
        print(json.dumps({"forked": work.forked, "begun": begun, "raised": raised,
                          "ours": os.getpid()}))
        """
    )
    assert result["forked"] and result["begun"]
    assert (result["raised"] or "").startswith("failed in process ")
    assert not result["raised"].endswith(f" {result['ours']}")  # raised in the helper


# The model stage fits the k from both ends: the helper from the largest k -------------------

_MODEL_CASE = """
import numpy as np
import segmint.helper as H
import segmint.model.segment_model as SM
from segmint.model.segment_model import SegmentModel
from segmint.preload import preload
rng = np.random.default_rng(5)
n = 3000
frame = __import__("pandas").DataFrame({
    "customer_id": [f"c{i}" for i in range(n)],
    "recency_days": rng.gamma(2.0, 60.0, n).round(),
    "frequency": rng.poisson(3.0, n) + 1.0,
    "monetary": rng.lognormal(5.0, 1.0, n),
})
{before}
import tempfile
record = tempfile.mktemp()
fit_k = SM._fit_k
def spy(k):  # which process fits each k (the helper's memory is its own: a file tells)
    with open(record, "a") as out:
        print(os.getpid(), file=out)
    return fit_k(k)
SM._fit_k = spy
def fit():
    model = SegmentModel(["recency_days", "frequency", "monetary"], n_init=3, sample_size={sample})
    model.fit(frame)
    return model
preload()
helped = fit()
pids = set(open(record).read().split())
forked = H.can_fork()
H.can_fork = lambda: False
alone = fit()
print(json.dumps({
    "forked": forked, "processes": len(pids),
    "same": bool(np.array_equal(helped.centers_, alone.centers_))
        and [s.as_dict() for s in helped.scores_] == [s.as_dict() for s in alone.scores_]
        and bool(np.array_equal(helped.labels_, alone.labels_)),
}))
"""


def _model_case(before: str, sample: int) -> str:
    return _MODEL_CASE.replace("{before}", before).replace("{sample}", str(sample))


@pytest.mark.parametrize("sample", [20_000, 1_000])  # every customer; a sample of them
def test_every_k_fitted_in_two_processes_gives_the_same_model(sample) -> None:
    result = _run(_model_case("", sample))
    assert result == {"forked": True, "processes": 2, "same": True}


def test_after_kmeans_on_two_openmp_threads_the_helper_does_not_hang() -> None:
    # GNU OpenMP cannot run a team of several threads in a forked copy of a process that
    # had one; the helper's fits run on the one thread they inherit (within the timeout).
    before = """
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits
with threadpool_limits(limits=2):
    KMeans(4, n_init=2, random_state=0).fit(rng.normal(size=(20000, 3)))
"""
    result = _run(_model_case(before, 1_000))
    assert result == {"forked": True, "processes": 2, "same": True}


@pytest.mark.shared_data
def test_lifetime_values_fitted_in_the_helper_equal_those_fitted_in_the_run() -> None:
    # The CLV models run in the helper while the run profiles the segments and learns the
    # rules; the customer table (CLV columns included) and summary are the same either way.
    result = _run(
        """
import tempfile
from pathlib import Path
import segmint.helper as H
import segmint.engines.local as L
import segmint.pipeline as P
from segmint.preload import preload
data = Path(P.__file__).resolve().parents[3] / "shared" / "data" / "cdnow_sample.csv"
record = tempfile.mktemp()
fit = L._lifetime_value
def spy(*args, **kwargs):
    with open(record, "a") as out:
        print(os.getpid(), file=out)
    return fit(*args, **kwargs)
L._lifetime_value = spy
preload()
# With progress reported, a thread watches DuckDB during the first stages; it has ended
# before the helper is forked.
helped = P.segment(data, k=4, n_init=2, progress=lambda text: None)
pids = open(record).read().split()
H.can_fork = lambda: False
alone = P.segment(data, k=4, n_init=2)
same_table = helped.customers.equals(alone.customers)
strip = lambda s: {k: v for k, v in s.items() if k not in ("timings", "generated_at")}
print(json.dumps({
    "clv": helped.summary["clv"]["enabled"], "in_helper": pids[0] != str(os.getpid()),
    "same": same_table and strip(helped.summary) == strip(alone.summary),
}))
"""
    )
    assert result == {"clv": True, "in_helper": True, "same": True}
