"""One writer at a time on a DuckDB file (the warehouse's, or a source's raw file), queued rather
than refused.

DuckDB lets one process open a database file for writing; a second process gets an error at
once. Airflow's one-slot ``warehouse_writer`` pool keeps scheduled tasks apart, but two batches
writing one file (the two ODS ingest DAGs run side by side by ``python -m dags._run_dags``, or an
analyst's ``backfill`` while a refresh loads the same source) would otherwise fail. Every writing
connection therefore takes an exclusive ``flock`` on ``<file>.writer.lock`` first and waits for it,
and a process that wants the file leaves a marker beside it, so a long batch can hand the file over
between two extracts (:meth:`WriterLock.others_waiting`) instead of holding it for the whole batch.

The lock is per process and re-entrant: a process that already writes to the file (a batch's
connection, then a nested load) does not wait for itself.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

# Seconds between "still waiting" lines while another process writes.
REPORT_EVERY = 30.0

# Locks held: path -> (holding process id, file descriptor, holders). A forked child inherits this
# dict but not the right to write, so entries of another process id are ignored.
_HELD: dict[Path, tuple[int, int, int]] = {}


class WriterLock:
    """The exclusive right to write one DuckDB file, for this process."""

    def __init__(self, database: Path) -> None:
        self.database = Path(database)
        self.path = self.database.with_name(self.database.name + ".writer.lock")
        self._marker = self.database.with_name(f"{self.database.name}.waiting.{os.getpid()}")

    def acquire(self, timeout: float | None = None) -> None:
        """Wait until no other process writes (re-entrant within this process).

        Raises ``TimeoutError`` naming the file when ``timeout`` seconds pass first.
        """
        held = _HELD.get(self.path)
        if held is not None and held[0] == os.getpid():
            _HELD[self.path] = (held[0], held[1], held[2] + 1)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not self._try(descriptor):
            self._wait(descriptor, timeout)
        _HELD[self.path] = (os.getpid(), descriptor, 1)

    def release(self) -> None:
        held = _HELD.get(self.path)
        if held is None or held[0] != os.getpid():
            return
        _, descriptor, holders = held
        if holders > 1:
            _HELD[self.path] = (held[0], descriptor, holders - 1)
            return
        del _HELD[self.path]
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)

    def others_waiting(self) -> bool:
        """True when another live process is queued for the file (it left a marker and is blocked).

        A marker left by a process that was killed while waiting is removed, not obeyed.
        """
        for marker in self.database.parent.glob(f"{self.database.name}.waiting.*"):
            pid = marker.name.rsplit(".", 1)[-1]
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            if _alive(int(pid)):
                return True
            marker.unlink(missing_ok=True)
        return False

    @staticmethod
    def _try(descriptor: int) -> bool:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _wait(self, descriptor: int, timeout: float | None) -> None:
        self._marker.touch()
        started = reported = time.monotonic()
        log.info("waiting for the warehouse %s: another process is writing to it", self.database.name)
        try:
            while not self._try(descriptor):
                now = time.monotonic()
                if timeout is not None and now - started > timeout:
                    os.close(descriptor)
                    raise TimeoutError(
                        f"the warehouse {self.database} was still being written by another process after "
                        f"{timeout:.0f} s; run again when that refresh has finished"
                    )
                if now - reported > REPORT_EVERY:
                    log.info("still waiting for the warehouse %s (%.0f s)", self.database.name, now - started)
                    reported = now
                time.sleep(0.05)
        finally:
            self._marker.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
