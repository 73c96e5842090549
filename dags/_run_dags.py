"""Run several DAGs in one Airflow process: ``airflow dags test`` for each.

    python -m dags._run_dags ingest_fft ingest_turnover transform_marts publish_release

What the demo and the benchmarks use for a whole refresh. Each ``airflow dags test`` in its own
process pays for starting Airflow (imports, providers, the metadata database) every time, about as
long as a small DAG takes to run; a long-lived scheduler pays it once, and so does this: Airflow is
imported once, and each DAG runs in a fork of that process (as Airflow's own executors fork their
task runners), so the memory one DAG used is returned before the next starts. Each DAG still runs
through Airflow's own ``dags test`` command, task by task, with its XComs, pools and asset events
recorded in the metadata database. Ingest DAGs run side by side, one per core, as a scheduler with
a worker per core would run them, those of reference data (ODS) first, since the others validate
against them; transform and publish run alone once the ingests have finished.

On a new installation, ``--setup`` runs ``culture-outcomes setup`` (Airflow's metadata, the writer pool,
dbt's parse) beside the runner's own start, and the runner waits for it only where it first needs
the metadata database (:class:`SetupBeside`).

An ingest DAG that fails (a quarantined file) does not stop the others, as a scheduler would run
them; any other DAG that fails stops the run. The exit status is 1 when any DAG failed.
This file is in ``.airflowignore``: it defines no DAG.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.sources.catalogue import SourceSpec

#: How the runner reports its start (Airflow, the task libraries, the execution API, the DAG files).
STARTED = "Airflow started in"
#: How the runner reports that ``culture-outcomes setup`` (``--setup``) has ended.
SET_UP = "culture-outcomes setup done in"


class SetupBeside:
    """``culture-outcomes setup`` in a process of its own, started before the runner imports Airflow.

    A new installation needs Airflow's metadata database migrated, the writer pool and dbt's parse
    (4-6 s), and the runner needs about as long to start (imports, the execution API) before it first
    uses that database, at its migration check. Neither needs the other before then, and each is
    mostly one core's work, so the set-up runs beside the start and the runner waits for it there.
    """

    def __init__(self, arguments: list[str], progress: Callable[[str], object]) -> None:
        progress("== culture-outcomes setup (Airflow's metadata database, the writer pool, dbt's manifest), "
                 "beside Airflow's start")
        self.began = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "setup", *arguments])

    def wait(self, progress: Callable[[str], object]) -> bool:
        """Whether the set-up succeeded, once it has ended; says how long it took and was waited for."""
        waiting = time.perf_counter()
        code = self.process.wait()
        ended = time.perf_counter()
        if code != 0:
            progress(f"culture-outcomes setup failed (exit {code}; its messages are above), so no DAG was run")
            return False
        progress(f"{SET_UP} {ended - self.began:.1f} s, beside Airflow's start (waited {ended - waiting:.1f} s for it)")
        return True


def run_dags(dag_ids: list[str], progress: Callable[[str], object] = print,
             parallel: int | None = None, sample_memory: bool = True,
             setup: list[str] | None = None) -> dict[str, dict[str, float | str]]:
    """Test each DAG; returns each one's state, start (epoch seconds), wall seconds and, with
    ``sample_memory``, peak memory.

    Consecutive ingest DAGs run ``parallel`` at a time (default: one per core): each parses,
    validates and loads its own source's files, on DuckDB into its source's own raw file (the two
    ODS sources share one, and queue for it: :mod:`pipelines.warehouse.writer_lock`). Any other DAG
    runs alone, after everything before it, as the one-slot ``warehouse_writer`` pool keeps the
    warehouse's writers apart under a scheduler.
    What only the transform and publish DAGs use is imported while the ingest DAGs run
    (:data:`LATER_IMPORTS`): starting Airflow uses one core, and the ingests leave some of the other.
    Without ``sample_memory`` nothing samples memory here: a caller that samples the same process
    tree itself (the benchmark harness) would otherwise pay for a second sampler (each sample walks
    every mapping of every process) and can credit its samples to each DAG by its start and seconds.
    With ``setup`` (the arguments of ``culture-outcomes setup``) the installation is set up beside
    the start (:class:`SetupBeside`); no DAG runs when that fails.
    """
    began = time.perf_counter()
    setting_up = SetupBeside(setup, progress) if setup is not None else None
    dag_ids = in_run_order(dag_ids)
    from airflow.cli.cli_parser import get_parser

    parser = get_parser()
    _import_once()
    if setting_up is not None and not setting_up.wait(progress):
        return {}
    _check_migrations_once()
    _configure_orm_once()
    files = _dag_files()
    ingests = sum(dag_id.startswith("ingest_") for dag_id in dag_ids)
    later = list(LATER_IMPORTS) if ingests < len(dag_ids) else []
    if not ingests:  # nothing to import beside
        _import_later(later)
    progress(f"{STARTED} {time.perf_counter() - began:.1f} s (paid once for every DAG below)")
    slots = max(1, parallel or os.cpu_count() or 1)
    results: dict[str, dict[str, float | str]] = {}
    running: dict[int, str] = {}
    starts: dict[str, float] = {}
    started_at: dict[str, float] = {}  # epoch seconds, for a caller's own samples
    memory = _TreeMemory().start() if sample_memory else None
    # Each DAG's fork reports its own wall time here as it ends: this process may be importing
    # when one ends, and would otherwise count the import in that DAG's time.
    reports, report = os.pipe()
    ended: dict[str, float] = {}

    def finish_one(block: bool = True) -> str | None:
        child, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        if child == 0:
            return None
        dag_id = running.pop(child)
        state = "success" if os.waitstatus_to_exitcode(status) == 0 else "failed"
        ended.update(_read_reports(reports))
        # (a fork that died before it could report: its time as seen from here)
        seconds = round(ended.pop(dag_id, time.perf_counter() - starts[dag_id]), 2)
        results[dag_id] = {"state": state, "started_at": started_at[dag_id], "seconds": seconds}
        peak = ""
        if memory is not None:
            results[dag_id]["peak_mib"] = peak_mib = memory.forget(dag_id)
            peak = (f" (peak memory {peak_mib:,.0f} MiB with child processes"
                    f"{', other DAGs included' if running else ''})")
        progress(f"   {dag_id}: {state} in {seconds:.1f} s{peak}")
        return state

    def wait_for_a_slot(concurrent: bool, after_reference: bool) -> None:
        """Until this DAG may start; imports what is left for later meanwhile (the DAGs already running
        keep going, and any that ends is reaped after the import)."""
        while running and (len(running) >= slots or not concurrent
                           or (after_reference and any(map(_is_reference_ingest, running.values())))):
            if later and concurrent:
                _import_later(later, limit=1)
                while running and finish_one(block=False):
                    pass
            else:
                finish_one()

    try:
        for number, dag_id in enumerate(dag_ids, start=1):
            concurrent = dag_id.startswith("ingest_")
            wait_for_a_slot(concurrent, after_reference=not _is_reference_ingest(dag_id))
            if not concurrent:
                _import_later(later)
            # What is loaded by now lives as long as the run: the forks' garbage collector need not
            # walk it, which would also write to (and so copy) every page of it in each fork
            # (Python's advice for processes that fork: gc.freeze() before forking).
            gc.freeze()
            progress(f"== [{number}/{len(dag_ids)}] airflow dags test {dag_id}")
            # The DAG's own file only (Airflow then builds only that DAG): not every DAG file per run.
            where = ["--dagfile-path", files[dag_id]] if dag_id in files else []
            args = parser.parse_args(["dags", "test", dag_id, *where])
            if memory is not None:
                memory.watch(dag_id)
            started_at[dag_id] = time.time()
            started = starts[dag_id] = time.perf_counter()
            child = os.fork()
            if child == 0:  # the DAG runs in a fork: warm imports, and its memory is returned when it ends
                code = _dags_test(args, dag_id, progress)
                sys.stdout.flush()
                sys.stderr.flush()
                os.write(report, f"{dag_id}\t{time.perf_counter() - started}\n".encode())
                os._exit(code)
            running[child] = dag_id
            if not concurrent and finish_one() == "failed":
                progress(f"   stopping: {dag_id} failed, so the DAGs after it would run on stale data")
                break
        while running:
            finish_one()
    finally:
        if memory is not None:
            memory.stop()
        os.close(report)
        os.close(reports)
    return results


def in_run_order(dag_ids: list[str]) -> list[str]:
    """``dag_ids`` in the order they are started: the ingests of reference data (ODS) first, then each
    run of consecutive other ingests heaviest first (their sources' ``priority_weight``, as a
    scheduler short of slots orders them), the other DAGs where they were.

    The other ingests validate each file's organisation codes against the codes ODS has loaded
    and resolve merged trusts through its successors; run after them, a first refresh would load
    every file without those checks. :func:`run_dags` also starts no other DAG until they ended.
    """
    ordered: list[str] = []
    ingests: list[str] = []
    for dag_id in sorted(dag_ids, key=lambda dag_id: not _is_reference_ingest(dag_id)):
        if dag_id.startswith("ingest_") and not _is_reference_ingest(dag_id):
            ingests.append(dag_id)
            continue
        ordered += sorted(ingests, key=_priority_weight, reverse=True) + [dag_id]
        ingests = []
    return ordered + sorted(ingests, key=_priority_weight, reverse=True)


def _source_of(dag_id: str) -> SourceSpec | None:
    """The source an ingest DAG loads; None for any other DAG."""
    from pipelines.sources.catalogue import SOURCES_BY_ID

    return SOURCES_BY_ID.get(dag_id.removeprefix("ingest_")) if dag_id.startswith("ingest_") else None


def _priority_weight(dag_id: str) -> int:
    spec = _source_of(dag_id)
    return spec.priority_weight if spec is not None else 1


def _is_reference_ingest(dag_id: str) -> bool:
    spec = _source_of(dag_id)
    return spec is not None and spec.kind == "reference"


def _read_reports(reports: int) -> dict[str, float]:
    """The ``dag_id<TAB>seconds`` lines the ended forks wrote (each in one write, before exiting)."""
    found: dict[str, float] = {}
    while select.select([reports], [], [], 0)[0]:
        chunk = os.read(reports, 65536).decode()
        for line in filter(None, chunk.splitlines()):
            dag_id, seconds = line.split("\t")
            found[dag_id] = float(seconds)
        if len(chunk) < 65536:
            break
    return found


def _import_once() -> None:
    """What every DAG's fork would otherwise import again: Airflow's `dags test` command and what the
    ingest tasks use (several seconds, more than a routine ingest run takes). Nothing here opens
    the metadata database."""
    import airflow.cli.commands.dag_command  # noqa: F401
    import duckdb  # noqa: F401
    import pandas  # noqa: F401

    import pipelines.ingest  # noqa: F401
    from pipelines.validation.suites import warm_up

    warm_up()
    _build_execution_api()


#: What the transform and publish DAGs use, imported while the ingest DAGs run: Cosmos, dbt and its
#: adapter (run by the transform in a fork of its process: :mod:`pipelines.dbt_in_fork`), scipy (the
#: benchmark statistics) and the publishing modules. One module at a time, between checks on the DAGs.
LATER_IMPORTS: tuple[str, ...] = (
    "cosmos", "pipelines.benchmark.tables", "dbt.cli.main", "dbt.adapters.duckdb", "pipelines.publish.bi",
    "pipelines.publish.contents", "pipelines.publish.disclosure", "pipelines.publish.extracts",
    "pipelines.publish.pack", "pipelines.publish.release",
)


def _import_later(modules: list[str], limit: int | None = None) -> None:
    """Import the first ``limit`` of ``modules`` (all by default), taking each off the list."""
    import importlib

    for _ in range(len(modules) if limit is None else min(limit, len(modules))):
        importlib.import_module(modules.pop(0))


def _dag_files() -> dict[str, str]:
    """Each DAG's file, from one parse of the DAG folder (0.2 s) instead of one in every run."""
    from airflow.dag_processing.dagbag import DagBag

    return {dag_id: dag.fileloc for dag_id, dag in DagBag().dags.items()}


def _check_migrations_once() -> None:
    """Check the metadata database's migrations here, once, instead of in every DAG's fork.

    Every Airflow CLI command checks them first (``[database] check_migrations``), loading every
    migration script: 0.4 s a DAG, more than a routine ODS run's tasks take. An unmigrated database
    stops the run here with Airflow's own message, as the first DAG would have.
    """
    from airflow.utils.db import check_and_run_migrations

    check_and_run_migrations()
    os.environ["AIRFLOW__DATABASE__CHECK_MIGRATIONS"] = "False"  # read by each fork's `dags test`


def _configure_orm_once() -> None:
    """Configure Airflow's SQLAlchemy mappers here, once, instead of in every DAG's fork.

    SQLAlchemy configures every mapped class on a process's first ORM query; each fork made that
    query itself (syncing the DAG bundles), 0.56 s a DAG, a quarter of a routine ingest DAG's run.
    """
    from airflow.models import import_all_models
    from sqlalchemy.orm import configure_mappers

    import_all_models()
    configure_mappers()


def _build_execution_api() -> None:
    """Build the in-process Task Execution API that ``dags test`` tasks talk to, routes included.

    Airflow builds it (a versioned FastAPI app) on a task's first request: about 3 s per DAG run
    if every fork built its own. Only the routes are built here; its event loop and threads start
    in the fork on first use. Should an Airflow upgrade change this internal, the runs are slower
    but the same, so a failure here is reported and ignored.
    """
    try:
        from airflow.sdk.execution_time.supervisor import in_process_api_server

        _only_recent_api_versions()
        app = in_process_api_server().app
        if not getattr(app, "_cadwyn_initialized", True):
            app._cadwyn_initialize()
    except Exception as error:  # noqa: BLE001 - an optimisation only
        print(f"   (the execution API is built in each DAG run instead: {error})")


#: API versions the in-process Execution API is built with: the newest ones, as far back as the oldest
#: route they restore (Airflow 3.3's newest two, and one without changes before them).
RECENT_API_VERSIONS = 2


def _only_recent_api_versions() -> None:
    """Build the in-process Execution API with its newest versions only: 1.2 s instead of 5.8 s.

    Its only client is this process's Task SDK, which speaks the newest version. Cadwyn generates
    every route of every version Airflow still serves (ten, for workers of older releases), and a
    version's routes depend only on the changes made after it, so the newest version's routes are
    the same either way. Left as it is when the SDK speaks an older version than that; if the
    smaller bundle cannot be built, :func:`_build_execution_api` reports it and runs go on unchanged.
    """
    from airflow.api_fastapi.execution_api import versions
    from airflow.sdk.api.datamodels._generated import API_VERSION
    from cadwyn import HeadVersion, Version, VersionBundle

    every = versions.bundle.versions
    kept = every[:RECENT_API_VERSIONS]
    if len(every) <= RECENT_API_VERSIONS + 1 or API_VERSION not in {version.value for version in kept}:
        return
    changes = [change for version in every for change in version.changes]
    full = versions.bundle
    for change in changes:  # a change may belong to one bundle, and Airflow's has bound them all
        change._bound_version_bundle = None
    try:
        versions.bundle = VersionBundle(HeadVersion(), *(Version(version.value, *version.changes) for version in kept),
                                        Version(every[RECENT_API_VERSIONS].value))
    except Exception:
        for change in changes:  # Airflow's own bundle, whole, for the app built without the trim
            change._bound_version_bundle = full
        raise


def _dags_test(args: argparse.Namespace, dag_id: str, progress: Callable[[str], object]) -> int:
    """``airflow dags test`` (its CLI function); the exit code a separate process would return."""
    try:
        args.func(args)
    except SystemExit as exit_:  # `dags test` exits non-zero when the run failed
        return 0 if exit_.code in (None, 0) else 1
    except Exception as error:  # noqa: BLE001 - e.g. the DAG did not parse: report it, run no further
        progress(f"   {dag_id} could not run: {error}")
        return 1
    return 0


def tree_pss(processes: list[Any]) -> int:
    """Summed proportional set size of psutil processes (bytes), skipping any that just ended."""
    import psutil

    total = 0
    for process in processes:
        try:
            total += process.memory_full_info().pss
        except psutil.Error:
            pass
    return total


class _TreeMemory:
    """The peak memory of this process and its descendants (the DAGs' forks, dbt, Chromium) while
    each DAG runs: one sampling thread for the whole run, each tick credited to every DAG running.

    Summed as proportional set size: a fork shares its parent's pages and every Python process
    maps the same libraries, so a sum of resident sizes would count those several times. Reading
    PSS makes the kernel walk every mapping of every process, so it is sampled once a second:
    five times a second, and once per running DAG, cost more CPU than a small ingest DAG uses
    (benchmarks/FINDINGS.md, section 8); a peak shorter than a second may be missed.
    """

    def __init__(self, interval: float = 1.0) -> None:
        import threading

        self.interval = interval
        self._peaks: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = tree_pss([me, *me.children(recursive=True)])
            with self._lock:
                for dag_id, peak in self._peaks.items():
                    self._peaks[dag_id] = max(peak, total)
            self._stop.wait(self.interval)

    def start(self) -> _TreeMemory:
        self._thread.start()
        return self

    def watch(self, dag_id: str) -> None:
        """Start crediting samples to ``dag_id`` (its fork's memory is counted from the next tick)."""
        with self._lock:
            self._peaks[dag_id] = 0

    def forget(self, dag_id: str) -> float:
        """Stop crediting ``dag_id``; its peak in MiB (0 if it ended before the first sample)."""
        with self._lock:
            return round(self._peaks.pop(dag_id, 0) / 2**20, 1)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dags._run_dags",
        description="Run DAGs in one Airflow process (airflow dags test for each; ingest DAGs side by side).",
    )
    parser.add_argument("dag_ids", nargs="+", help="DAG ids, in the order to run them")
    parser.add_argument("--timings", type=Path, help="write each DAG's state and seconds to this JSON file")
    parser.add_argument("--parallel", type=int, default=None,
                        help="ingest DAGs run at the same time (default: the number of cores)")
    parser.add_argument("--no-memory-sampling", dest="sample_memory", action="store_false",
                        help="do not sample the memory of the DAGs' processes (for a caller that samples it "
                             "itself, such as the benchmark harness)")
    parser.add_argument("--setup", action="store_true",
                        help="first set the installation up (culture-outcomes setup), beside Airflow's start")
    parser.add_argument("--dbt-target-path", type=Path,
                        help="with --setup: where dbt writes its parse (culture-outcomes setup --dbt-target-path)")
    args = parser.parse_args(argv)
    if args.dbt_target_path and not args.setup:
        parser.error("--dbt-target-path is an option of --setup")
    setup = None  # the arguments of `culture-outcomes setup`, when asked to run it
    if args.setup:
        setup = ["--dbt-target-path", str(args.dbt_target_path)] if args.dbt_target_path else []
    results = run_dags(args.dag_ids, parallel=args.parallel, sample_memory=args.sample_memory, setup=setup)
    if args.timings:
        args.timings.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 1 if any(r["state"] != "success" for r in results.values()) or len(results) < len(args.dag_ids) else 0


def _exit_now(code: int) -> None:
    """Exit without tearing the interpreter down: the exit handlers run and the output is flushed,
    but the millions of objects Airflow, FastAPI and pandas built are not freed one by one, which
    took 3 s after the last DAG had finished (the operating system takes the memory back at once)."""
    import atexit
    import logging

    atexit._run_exitfuncs()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit_now(main())
