"""The DAG runner's memory sampler: one thread for the whole run, each sample credited to every
DAG running at the time (it once ran one 5-a-second sampler per DAG, which cost more CPU than a
small ingest DAG)."""

from __future__ import annotations

import threading
import time

from dags._run_dags import _TreeMemory


def _until_sampled(memory: _TreeMemory, dag_id: str) -> None:
    deadline = time.monotonic() + 10
    while memory._peaks.get(dag_id, 0) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)


def test_one_sampling_thread_credits_every_running_dag():
    memory = _TreeMemory(interval=0.02).start()
    try:
        threads = threading.active_count()
        memory.watch("ingest_fft")
        memory.watch("ingest_turnover")
        assert threading.active_count() == threads  # watching a DAG starts no thread
        _until_sampled(memory, "ingest_fft")
        _until_sampled(memory, "ingest_turnover")
        fft, turnover = memory.forget("ingest_fft"), memory.forget("ingest_turnover")
    finally:
        memory.stop()
    assert fft > 10 and turnover > 10  # MiB: at least this Python process
    assert not memory._thread.is_alive()


def test_a_dag_that_ended_before_any_sample_reports_zero_and_unknown_ids_are_harmless():
    memory = _TreeMemory(interval=60).start()
    try:
        time.sleep(0.05)  # the first sample is taken before any DAG is watched
        memory.watch("ingest_ods_trusts")
        assert memory.forget("ingest_ods_trusts") == 0
        assert memory.forget("never_watched") == 0
    finally:
        memory.stop()  # returns at once, not after the 60 s interval
