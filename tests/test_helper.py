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


def _run(body: str) -> dict:
    script = "import json, os, threading, time\nfrom segmint.helper import helper\n"
    script += textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout)


def test_a_started_task_runs_in_the_helper_process() -> None:
    result = _run(
        """
        with helper() as work:
            task = work.submit(os.getpid)
            time.sleep(1.0)  # the helper has taken it by now
            print(json.dumps({"forked": work.forked, "theirs": task.result(), "ours": os.getpid()}))
        """
    )
    assert result["forked"]
    assert result["theirs"] != result["ours"]


def test_a_task_the_helper_has_not_begun_runs_in_the_caller() -> None:
    result = _run(
        """
        with helper() as work:
            busy = work.submit(time.sleep, 1.5)
            queued = [work.submit(os.getpid) for _ in range(3)]
            pids = [task.result() for task in reversed(queued)]  # the last one first
            busy.result()
            print(json.dumps({"forked": work.forked, "pids": pids, "ours": os.getpid()}))
        """
    )
    assert result["forked"]
    # The helper was asleep: the queued tasks not yet handed to it ran here, each once.
    assert result["ours"] in result["pids"]
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
            task = work.submit(int, "not a number")
            time.sleep(0.5)
            try:
                task.result()
                raised = None
            except ValueError as exc:
                raised = str(exc)
        print(json.dumps({"forked": work.forked, "raised": raised}))
        """
    )
    assert result["forked"]
    assert "not a number" in result["raised"]
