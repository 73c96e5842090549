"""Run independent, CPU-bound pieces of one task on every core.

The machines this runs on have few cores, and a release's slow parts (spreadsheet writing, the
read-back disclosure check) are pure Python, one core each. Workers are forked, so they start
with the task's imports and data already in memory (copy-on-write) instead of importing pandas
again; results come back in the order of the inputs. With one core, or where ``fork`` does not
exist, the same function runs in this process, so the output never depends on the core count.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
Other = TypeVar("Other")


def worker_count(requested: int = 0) -> int:
    """``requested`` workers, or one per core when it is 0."""
    return requested if requested > 0 else (os.cpu_count() or 1)


def process_map(function: Callable[[Item], Result], items: Iterable[Item], workers: int = 0) -> Iterator[Result]:
    """``map(function, items)`` across forked worker processes, yielding results in input order.

    ``function`` must be a module-level function (it is sent to the workers by name), and an
    exception in a worker is raised here, as it would be in a plain loop.
    """
    items = list(items)
    count = _forked_workers(len(items), workers)
    if count == 0:
        yield from map(function, items)
        return
    with _forked_pool(count) as pool:
        yield from pool.map(function, items)


def process_map_beside(function: Callable[[Item], Result], items: Iterable[Item], beside: Callable[[], Other],
                       workers: int = 0) -> tuple[list[Result], Other]:
    """``list(process_map(function, items, workers))``, while ``beside()`` runs in this process.

    For two independent steps that leave cores idle on their own: the read-back check's workers
    while this process prints the packs, whose browser mostly waits on itself, instead of this
    process waiting for the workers. ``beside`` starts once every worker has been forked (an
    executor with ``fork`` starts them all at its first task), so nothing it starts is copied into
    a worker: a fork of a process whose other thread held a lock can wait on that lock forever.
    Without workers the map runs first, then ``beside``.
    """
    items = list(items)
    count = _forked_workers(len(items), workers)
    if count == 0:
        return list(map(function, items)), beside()
    with _forked_pool(count) as pool:
        pending = [pool.submit(function, item) for item in items]
        other = beside()
        return [future.result() for future in pending], other


def _forked_workers(items: int, workers: int) -> int:
    """How many workers to fork for ``items`` pieces: 0 (run here) with one core, one piece or no ``fork``."""
    count = min(worker_count(workers), items)
    return count if count > 1 and "fork" in multiprocessing.get_all_start_methods() else 0


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
