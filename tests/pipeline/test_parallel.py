"""Forked workers, and work done in this process beside them (pipelines.parallel)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipelines.parallel import process_map, process_map_beside

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


def test_results_come_back_in_input_order_with_besides_result():
    assert process_map_beside(_double, range(7), lambda: "beside done", workers=2) == (
        [0, 2, 4, 6, 8, 10, 12], "beside done")
    assert process_map_beside(_double, range(7), lambda: "beside done", workers=2)[0] == list(
        process_map(_double, range(7), workers=2))


def test_beside_runs_while_the_workers_work(tmp_path):
    marker = tmp_path / "written by beside"
    results, _ = process_map_beside(_wait_for, [str(marker)] * 2, marker.touch, workers=2)
    assert results == [True, True]


def test_every_worker_is_forked_before_beside_starts(monkeypatch):
    monkeypatch.delenv(SIGNAL, raising=False)

    def beside() -> str:
        os.environ[SIGNAL] = "yes"
        return os.environ[SIGNAL]

    results, other = process_map_beside(_sees_beside, range(6), beside, workers=2)
    assert other == "yes"
    assert results == [None] * 6
    os.environ.pop(SIGNAL)


def test_with_one_worker_the_map_runs_here_and_then_beside():
    order: list[str] = []
    results, _ = process_map_beside(lambda item: order.append(f"map {item}") or item, [1, 2],
                                    lambda: order.append("beside"), workers=1)
    assert results == [1, 2]
    assert order == ["map 1", "map 2", "beside"]


def test_a_workers_error_is_raised_here():
    with pytest.raises(ValueError, match="item 3 is broken"):
        process_map_beside(_fail_on_three, range(5), lambda: None, workers=2)


def test_an_error_beside_is_raised_once_the_workers_are_done():
    def beside() -> None:
        raise RuntimeError("the snapshot could not be written")

    with pytest.raises(RuntimeError, match="snapshot could not be written"):
        process_map_beside(_double, range(4), beside, workers=2)


PARENT = """
import os, sys, time
from pipelines.parallel import process_map

def _slow(item):
    os.write(1, f"{os.getpid()}\\n".encode())  # one write: the two workers' lines cannot interleave
    time.sleep(120)
    return item

if __name__ == "__main__":
    list(process_map(_slow, range(2), workers=2))
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
