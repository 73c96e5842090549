"""Run a dbt command in a fork of this process instead of a new ``dbt`` process.

Why: a new ``dbt`` process spends its first seconds importing dbt and its adapter (4-5 s on these
2-core machines, a fifth of a routine refresh's transform), every time. A process that has
imported them once (the DAG runner does, while the ingest DAGs run) forks a child that starts
with them loaded; the child runs the command with dbt's own ``dbtRunner``, the same entry point the
``dbt`` command calls, and exits. A process that has not imported dbt pays the import in the child,
as a new process would, so this is never slower.

The child is as separate as a subprocess where it matters: its output goes to a pipe the parent
reads line by line, its environment and working directory are its own, it leads its own process
group (so it can be stopped as a whole), and when it exits the warehouse file dbt-duckdb held open
and the memory dbt used are released with it (dbt run in the parent would keep the DuckDB file
open for the rest of the task).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence

__all__ = ["EXIT_ERROR", "DbtHeldInFork", "run_dbt_in_fork"]

#: Exit status of the ``dbt`` command: 0 success, 1 a node failed, 2 dbt could not run.
EXIT_ERROR = 2


def run_dbt_in_fork(args: Sequence[str], env: Mapping[str, str], cwd: str,
                    on_line: Callable[[str], object], on_start: Callable[[int], object] | None = None) -> int:
    """Run ``dbt <args>`` in a forked child; each output line goes to ``on_line``; dbt's exit status.

    ``env`` replaces the child's environment (as ``subprocess`` would); ``on_start`` is told the
    child's pid (its process group), for a caller that may have to stop it.
    """
    child, reads = _fork(args, env, cwd, go=None)
    try:
        if on_start is not None:
            on_start(child)
        with os.fdopen(reads, "r", encoding="utf-8", errors="backslashreplace") as output:
            for line in output:
                on_line(line.rstrip("\n"))
    except BaseException:  # the caller stopped reading (an error, a kill): dbt must not run on unseen
        _stop(child)
        raise
    return _reap(child)


class DbtHeldInFork:
    """``dbt <args>`` in a child forked now and held until :meth:`release`, then run while the caller
    goes on; :meth:`wait` gives its exit status, :attr:`lines` its output.

    Why held: a fork is safe only while no other thread of this process holds a lock the child may
    need, so a caller that will soon start threads (a pool of worker processes has its own) forks
    first and lets dbt run later, once what dbt must not see begin (a DuckDB file dbt opens for
    writing, which no other process may then open) is over. A child never released runs nothing:
    it exits when :meth:`stop` ends it or this process closes its end of the signal.
    """

    def __init__(self, args: Sequence[str], env: Mapping[str, str], cwd: str) -> None:
        go_reads, self._go = os.pipe()
        try:
            self.pid, reads = _fork(args, env, cwd, go=(go_reads, self._go))
        except BaseException:  # no child (out of processes or memory): nothing to hold
            os.close(self._go)
            raise
        finally:
            os.close(go_reads)
        self.lines: list[str] = []
        self._output = os.fdopen(reads, "r", encoding="utf-8", errors="backslashreplace")
        self._reader: threading.Thread | None = None
        self._code: int | None = None

    def release(self) -> None:
        """Let dbt run; its output is collected by a thread meanwhile (so it never waits on a full pipe)."""
        self._reader = threading.Thread(target=self._collect, name="dbt-output", daemon=True)
        self._reader.start()
        os.write(self._go, b"1")
        os.close(self._go)

    def _collect(self) -> None:
        with self._output:
            self.lines.extend(line.rstrip("\n") for line in self._output)

    def wait(self) -> int:
        """dbt's exit status, once it has ended (run only after :meth:`release`)."""
        if self._code is None:
            if self._reader is None:
                raise RuntimeError("the dbt child was never released: it has nothing to wait for")
            self._reader.join()
            self._code = _reap(self.pid)
        return self._code

    def stop(self) -> None:
        """End the child whatever it is doing (held or running) and reap it; nothing if it has ended."""
        if self._code is not None:
            return
        _stop(self.pid)
        self._code = EXIT_ERROR
        if self._reader is None:
            os.close(self._go)
            self._output.close()
        else:
            self._reader.join()


def _fork(args: Sequence[str], env: Mapping[str, str], cwd: str,
          go: tuple[int, int] | None) -> tuple[int, int]:
    """A child that runs ``dbt <args>`` (once a byte arrives on the pipe ``go``, when given: its read
    and write ends); its pid and the read end of its output."""
    reads, writes = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's coverage is not collected; the tests check its effects
        os.close(reads)
        if go is not None:
            os.close(go[1])
            if os.read(go[0], 1) != b"1":  # the parent let go without releasing it
                os._exit(EXIT_ERROR)
            os.close(go[0])
        os._exit(_child(args, env, cwd, writes))
    os.close(writes)
    return child, reads


def _stop(child: int) -> None:
    """Stop the child's process group and reap it: no dbt left running, no zombie."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child, signal.SIGTERM)
    with contextlib.suppress(ProcessLookupError):
        os.kill(child, signal.SIGTERM)  # still held: it has not made its own group yet
    with contextlib.suppress(ChildProcessError):
        os.waitpid(child, 0)


def _reap(child: int) -> int:
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


def _child(args: Sequence[str], env: Mapping[str, str], cwd: str, output: int) -> int:
    """dbt's exit status for ``args``, run here; never returns to the caller's code (see above)."""
    code = EXIT_ERROR
    try:
        os.setsid()
        for sig in ("SIGPIPE", "SIGXFSZ"):  # as a freshly started process has them
            signal.signal(getattr(signal, sig), signal.SIG_DFL)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
        _log_to_stderr_only()
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        from dbt.cli.main import dbtRunner

        result = dbtRunner().invoke(list(args))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            print(f"dbt could not run: {result.exception}", file=sys.stderr)
        code = 0 if result.success else (1 if result.exception is None else EXIT_ERROR)
    except BaseException as error:  # noqa: BLE001 - the child must reach os._exit whatever happens
        print(f"dbt could not run: {error!r}", file=sys.stderr)
    finally:
        _release_locks()
        sys.stdout.flush()
        sys.stderr.flush()
    return code


def _log_to_stderr_only() -> None:
    """The parent's log handlers (an Airflow task's go to its supervisor) are not the child's:
    anything a library logs through the standard ``logging`` module goes to the pipe instead."""
    import logging

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(logging.StreamHandler(sys.stderr))


def _release_locks() -> None:
    """Run multiprocessing's finalizers, as a normal exit would: dbt's locks are named semaphores
    that a leaving process unregisters; skipped, the tracker process reports them as leaked."""
    from multiprocessing import util

    try:
        util._run_finalizers(0)
    except Exception:  # noqa: BLE001, S110 - a cleanup on the way out: nothing left to report it to
        pass
