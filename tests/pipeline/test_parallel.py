"""Forked workers, and work done in this process while they work (pipelines.parallel)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipelines.parallel import forked_workers

SIGNAL = "CULTURE_OUTCOMES_TEST_BESIDE_STARTED"


def _double(item: int) -> int:
    return item * 2


def _sees_beside(_: int) -> str | None:
    """What a worker sees of a change ``beside`` made in the parent (nothing, if forked before it)."""
    return os.environ.get(SIGNAL)


def _wait_for(path: str) -> bool:
    """True once ``path`` exists: a worker that can only finish while ``beside`` runs."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if Path(path).exists():
            return True
        time.sleep(0.05)
    return False


def _fail_on_three(item: int) -> int:
    if item == 3:
        raise ValueError("item 3 is broken")
    return item


def test_results_come_back_in_input_order():
    with forked_workers(2) as workers:
        assert workers.map(_double, range(7)) == [0, 2, 4, 6, 8, 10, 12]
        assert workers.map(_double, [5]) == [10]  # the same workers, a second map


def test_the_workers_map_while_a_thread_of_this_process_works(tmp_path):
    """The release's shape: workers forked first, then a thread (the packs) runs beside their map."""
    from concurrent.futures import ThreadPoolExecutor

    marker = tmp_path / "written by the thread"
    with forked_workers(2) as workers, ThreadPoolExecutor(1) as thread:
        written = thread.submit(lambda: time.sleep(0.2) or marker.touch())
        assert workers.map(_wait_for, [str(marker)] * 2) == [True, True]
        written.result()


def test_every_worker_is_forked_on_entering(monkeypatch):
    """What this process does afterwards (a thread it starts, a lock it takes) is not in any worker."""
    monkeypatch.delenv(SIGNAL, raising=False)
    with forked_workers(2) as workers:
        os.environ[SIGNAL] = "yes"
        assert workers.map(_sees_beside, range(6)) == [None] * 6
    os.environ.pop(SIGNAL)


def test_with_one_worker_the_map_runs_here():
    order: list[str] = []
    with forked_workers(1) as workers:
        assert workers.map(lambda item: order.append(f"map {item}") or item, [1, 2]) == [1, 2]
    assert order == ["map 1", "map 2"]


def test_a_workers_error_is_raised_here():
    with pytest.raises(ValueError, match="item 3 is broken"), forked_workers(2) as workers:
        workers.map(_fail_on_three, range(5))


def test_a_map_started_now_is_waited_for_later(tmp_path):
    marker = tmp_path / "written while the map runs"
    for workers in (2, 1):
        with forked_workers(workers) as forked:
            pending = forked.map_async(_double, range(4))
            failing = forked.map_async(_fail_on_three, range(5))
            marker.touch()
            assert pending() == [0, 2, 4, 6]
            with pytest.raises(ValueError, match="item 3 is broken"):
                failing()


PARENT = """
import os, sys, time
from pipelines.parallel import forked_workers

def _slow(item):
    os.write(1, f"{os.getpid()}\\n".encode())  # one write: the two workers' lines cannot interleave
    time.sleep(120)
    return item

if __name__ == "__main__":
    with forked_workers(2) as workers:
        workers.map(_slow, range(2))
"""


def test_workers_end_when_the_process_that_forked_them_is_killed(tmp_path):
    """A publish killed half-way (SIGKILL, as an out-of-memory kill would) leaves no worker behind."""
    import signal
    import subprocess
    import sys

    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    workers: list[int] = []
    while len(workers) < 2 and (line := parent.stdout.readline()):
        workers += [int(line)] if line.strip() else []
    assert len(workers) == 2, f"the workers did not say who they are: {workers}"
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    parent.stdout.close()

    deadline = time.monotonic() + 20
    alive = set(workers)
    while alive and time.monotonic() < deadline:
        alive = {pid for pid in alive if _running(pid)}
        time.sleep(0.1)
    for pid in alive:  # do not leave them behind should the test fail
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"workers {sorted(alive)} outlived the process that forked them"


def _running(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
