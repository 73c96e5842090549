"""Run independent, CPU-bound pieces of one task on every core.

The machines this runs on have few cores, and a release's slow parts (spreadsheet writing, the
read-back disclosure check) are pure Python, one core each. Workers are forked, so they start
with the task's imports already in memory (copy-on-write) instead of importing pandas again; the
work is sent to them and results come back in the order of the inputs. With one core, or where
``fork`` does not exist, the same function runs in this process, so the output never depends on
the core count.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def worker_count(requested: int = 0) -> int:
    """``requested`` workers, or one per core when it is 0."""
    return requested if requested > 0 else (os.cpu_count() or 1)


class Workers:
    """Worker processes forked when this was made, for any number of maps while it is open
    (:func:`forked_workers`); with none, each map runs in this process."""

    def __init__(self, pool: ProcessPoolExecutor | None) -> None:
        self._pool = pool

    def map(self, function: Callable[[Item], Result], items: Iterable[Item]) -> list[Result]:
        """``list(map(function, items))`` across the workers, in input order.

        ``function`` must be a module-level function (it is sent to the workers by name), and an
        exception in a worker is raised here, as it would be in a plain loop.
        """
        return self.map_async(function, items)()

    def map_async(self, function: Callable[[Item], Result], items: Iterable[Item]) -> Callable[[], list[Result]]:
        """:meth:`map` started now; returns what waits for its results (and raises a worker's
        exception). With no workers the map runs here when its results are first asked for."""
        if self._pool is None:
            items = list(items)
            return functools.cache(lambda: list(map(function, items)))
        futures = [self._pool.submit(function, item) for item in items]
        return lambda: [future.result() for future in futures]


@contextmanager
def forked_workers(workers: int = 0) -> Iterator[Workers]:
    """``workers`` processes (0: one per core) forked now, on entering.

    For maps that must run while this process does something else in a thread: fork the workers
    before that thread starts, since a fork of a process whose other thread holds a lock can wait
    on that lock forever. A worker is a copy of this process as it is now, so it sees nothing this
    process does later. With one core, one worker or no ``fork``, maps run in this process.
    """
    count = worker_count(workers)
    if count < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield Workers(None)
        return
    with _forked_pool(count) as pool:
        pool.submit(int).result()  # an executor with ``fork`` forks every worker at its first task
        yield Workers(pool)


def _forked_pool(count: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("fork"),
                               initializer=_end_with_parent, initargs=(os.getpid(),))


def _end_with_parent(parent: int) -> None:
    """A worker ends when the process that forked it does, even one killed with SIGKILL (Linux's
    parent-death signal): the workers would otherwise wait forever for work on a queue whose pipe
    their siblings keep open. Elsewhere, or if the parent is already gone, nothing is set."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the signal was set
        os._exit(1)
