"""Two processes writing the DuckDB warehouse queue for it instead of failing (writer_lock)."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.config import PROJECT_ROOT


def _wait_for(condition, what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


SECOND_WRITER = """
import sys
from pipelines.config import load_settings
from pipelines.warehouse.connection import connect

raw_of = sys.argv[2] if len(sys.argv) > 2 else None  # a source's raw file, or the warehouse's
with connect(load_settings(), raw_of=raw_of) as warehouse:
    warehouse.execute("create table if not exists marks (mark text)")
    warehouse.execute("insert into marks values (?)", [sys.argv[1]])
"""


def _queued_markers(database: Path) -> list[Path]:
    return list(database.parent.glob(f"{database.name}.waiting.*"))


@pytest.fixture
def warehouse_settings(settings_env):
    settings = settings_env()
    settings.warehouse.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    return settings


def _start_second_writer(mark: str, raw_of: str | None = None) -> subprocess.Popen:
    """Another process (not a fork: DuckDB's open database must not be copied into it)."""
    return subprocess.Popen([sys.executable, "-c", SECOND_WRITER, mark, *([raw_of] if raw_of else [])], cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finished(process: subprocess.Popen) -> None:
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output  # without the lock DuckDB refuses the second process at once


def test_a_second_process_waits_for_the_writer_instead_of_failing(warehouse_settings):
    from pipelines.warehouse.connection import connect

    settings = warehouse_settings
    database = settings.warehouse.duckdb_path
    with connect(settings) as warehouse:
        warehouse.execute("create table marks (mark text)")
        second = _start_second_writer("second")
        _wait_for(lambda: _queued_markers(database), "the second writer to queue")
        warehouse.execute("insert into marks values ('first')")  # still ours while it waits
    _finished(second)
    con = duckdb.connect(str(database), read_only=True)
    assert [row[0] for row in con.execute("select mark from marks").fetchall()] == ["first", "second"]
    con.close()
    assert not _queued_markers(database)


def test_a_batch_hands_its_raw_file_over_between_two_loads_when_another_process_waits(warehouse_settings):
    from pipelines.warehouse.connection import BatchConnection

    settings = warehouse_settings
    database = settings.warehouse.duckdb_raw_path("ods")  # the two ODS sources share one raw file
    with BatchConnection(settings, raw_of="ods_trusts") as batch:
        batch.get().execute("create table marks (mark text)")
        batch.hand_over_if_wanted()  # nobody waits: the connection stays open
        batch.get().execute("insert into marks values ('load 1')")
        second = _start_second_writer("other source", raw_of="ods_successors")
        _wait_for(lambda: _queued_markers(database), "the other process to queue")
        batch.hand_over_if_wanted()
        _finished(second)
        batch.get().execute("insert into marks values ('load 2')")  # reopened once the other finished
    con = duckdb.connect(str(database), read_only=True)
    assert [row[0] for row in con.execute("select mark from marks").fetchall()] == ["load 1", "other source", "load 2"]
    con.close()


def test_two_sources_batches_write_their_own_raw_files_without_waiting(warehouse_settings):
    from pipelines.warehouse.connection import BatchConnection

    settings = warehouse_settings
    with BatchConnection(settings, raw_of="fft") as batch:
        batch.get().execute("create table marks (mark text)")
        _finished(_start_second_writer("turnover's load", raw_of="turnover"))  # ends while the FFT batch writes
        batch.get().execute("insert into marks values ('fft load')")
        assert not _queued_markers(settings.warehouse.duckdb_raw_path("fft"))
    for source, mark in (("fft", "fft load"), ("turnover", "turnover's load")):
        con = duckdb.connect(str(settings.warehouse.duckdb_raw_path(source)), read_only=True)
        assert con.execute("select mark from marks").fetchall() == [(mark,)]
        con.close()


def test_a_marker_left_by_a_killed_process_is_not_obeyed(tmp_path):
    from pipelines.warehouse.writer_lock import WriterLock

    database = tmp_path / "warehouse.duckdb"
    child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(0,))
    child.start()
    child.join()
    stale = tmp_path / f"warehouse.duckdb.waiting.{child.pid}"
    stale.touch()
    lock = WriterLock(database)
    lock.acquire()
    try:
        assert not lock.others_waiting()
        assert not stale.exists()
    finally:
        lock.release()


def test_the_lock_is_reentrant_within_one_process(warehouse_settings):
    from pipelines.warehouse.connection import connect

    settings = warehouse_settings
    with connect(settings) as outer, connect(settings) as inner:  # would wait for itself for ever
        outer.execute("create table marks (mark text)")
        inner.execute("insert into marks values ('nested')")
        assert outer.query("select count(*) as n from marks")["n"].tolist() == [1]


def test_waiting_too_long_names_the_file(tmp_path):
    from pipelines.warehouse.writer_lock import WriterLock

    database = tmp_path / "warehouse.duckdb"
    holder = multiprocessing.get_context("fork")
    ready, done = holder.Event(), holder.Event()

    def hold() -> None:
        lock = WriterLock(database)
        lock.acquire()
        ready.set()
        done.wait(60)
        lock.release()

    process = holder.Process(target=hold)
    process.start()
    try:
        assert ready.wait(60)
        with pytest.raises(TimeoutError, match=r"warehouse\.duckdb was still being written by another process"):
            WriterLock(database).acquire(timeout=0.2)
    finally:
        done.set()
        process.join(60)
