"""A second process for a run's independent work, on the machine's other core.

After the features, most of a run is Python holding the GIL on one core (matplotlib's
charts, for one), so threads do not overlap it. On Linux a helper process
forked from the run starts at once with the run's imports and data (copy-on-write): work
submitted to it runs there while the run goes on, and `Task.result()` either takes the
helper's answer or, if the helper has not started that task yet, computes it in the run
(each task is computed once; the same function on the same data gives the same bytes).

A fork is only safe when the run's thread is the only Python thread (a thread holding a
lock at the fork would hold it forever in the copy), so the helper exists only then;
otherwise every task is computed in the run when its result is asked for, as without a
helper. OpenMP work (scikit-learn's K-means) only on one thread: GNU OpenMP cannot start a
team of threads in a forked copy of a process that had one, so fork inside
`model.kmeans.one_thread()`, whose limit the copy inherits (tests/test_helper.py runs
it after a two-thread K-means).
"""

from __future__ import annotations

import itertools
import multiprocessing
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from segmint import preload

T = TypeVar("T")


class Task(Generic[T]):
    """One submitted call: its result comes from the helper, or from this process."""

    def __init__(self, fn: Callable[..., T], args: tuple, future: Future | None) -> None:
        self._fn, self._args, self._future = fn, args, future

    def result(self) -> T:
        """Return the call's result: the helper's, or computed here if it has not begun."""
        if self._future is None or self._future.cancel():
            return self._fn(*self._args)
        try:
            return self._future.result()
        except BrokenProcessPool:  # the helper died (e.g. killed): compute it here
            return self._fn(*self._args)


class Helper:
    """Submits calls to a forked helper process, or keeps them for later in this process."""

    def __init__(self, pool: ProcessPoolExecutor | None) -> None:
        self._pool = pool

    @property
    def forked(self) -> bool:
        return self._pool is not None

    def submit(self, fn: Callable[..., T], *args: Any) -> Task[T]:
        """Queue fn(*args) (a module-level function; arguments and result are pickled)."""
        if self._pool is None:
            return Task(fn, args, None)
        try:
            return Task(fn, args, self._pool.submit(fn, *args))
        except BrokenProcessPool:
            return Task(fn, args, None)


@contextmanager
def helper() -> Iterator[Helper]:
    """Yield a Helper; on leaving, wait for the task under way and drop the rest.

    Enter it before starting threads of your own: it forks only while the caller's thread
    is the only Python thread.
    """
    if not can_fork():
        yield Helper(None)
        return
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    try:
        yield Helper(pool)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def from_both_ends(
    fn: Callable[[Any], T], items: Sequence[Any], fork: bool = True
) -> Iterator[Callable[[int], T]]:
    """Yield result(i) = fn(items[i]): a helper computes from the last item back while the
    caller, asking in order, computes from the first on; they meet in the middle.

    fork=False (or fewer than two items) computes everything in the caller, on demand.
    """
    if not fork or len(items) < 2:
        yield lambda i: fn(items[i])
        return
    with helper() as work:
        tasks = {i: work.submit(fn, items[i]) for i in reversed(range(len(items)))}
        yield lambda i: tasks[i].result()


# Data handed to forked helpers by reference: set before the fork, read by the copy without
# pickling (a run's customers can be millions of rows), under a token per call so that runs
# in several threads at once (which do not fork) each read their own.
_SHARED: dict[int, Any] = {}
_TOKENS = itertools.count()


@contextmanager
def sharing(value: Any) -> Iterator[int]:
    """Keep value under a new token while the block runs; a helper forked inside the block,
    or this process, reads it with shared(token)."""
    token = next(_TOKENS)
    _SHARED[token] = value
    try:
        yield token
    finally:
        del _SHARED[token]


def shared(token: int) -> Any:
    """Return the value kept under token by sharing()."""
    return _SHARED[token]


def can_fork() -> bool:
    """Return True when a helper may be forked here: Linux, and no other Python thread."""
    if sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods():
        return False
    preload.finish()  # no import half done in the copy
    return threading.active_count() == 1
