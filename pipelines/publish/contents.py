"""What goes into a release folder, in the order it is made.

1. Read ``benchmarks.benchmark_table``, ``marts.dim_metric`` and ``benchmarks.benchmark_methods``.
2. Disclosure control (:mod:`.disclosure`) on the table, before anything is written.
3. Extracts (:mod:`.extracts`): ``benchmarks_network.csv/.parquet/.xlsx`` (every network trust in the
   table) and ``trusts/benchmarks_<ODS code>.csv/.parquet/.xlsx`` for every network member, in
   worker processes.
4. The disclosure check starts reading back the extracts, in the worker processes.
5. Benchmark packs (``packs/``) from ``pipelines.publish.pack`` when that module exists, written in a
   thread (their PDFs printed by Chromium) while this thread makes 6:
6. BI (:mod:`.bi`): ``bi/culture_outcomes.duckdb`` (read-only snapshot of ``marts`` and
   ``benchmarks``) and ``bi/parquet/<schema>.<table>.parquet``, read back in turn.
7. Documentation: ``docs/dbt/`` (``dbt docs generate``: index.html, manifest.json, catalog.json;
   generated, when it must be, while 2-4 run: :class:`DbtDocs`)
   and ``docs/validation/`` (the Great Expectations Data Docs of the latest loaded extract of
   each source, when present). The check ends proving every CSV, Parquet, XLSX and DuckDB file
   of the release was read back (the packs and docs hold none).
8. On PostgreSQL: the benchmark tables swapped into ``benchmarks`` and the BI role ensured.

File names come only from validated ODS codes of network members (never from data values),
so nothing in a published file can steer a path.
"""

from __future__ import annotations

import html
import inspect
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.benchmark.tables import BENCHMARK_SCHEMA, BENCHMARK_TABLE
from pipelines.config import Settings
from pipelines.parallel import Workers, forked_workers, worker_count
from pipelines.parsers.common import ODS_CODE_PATTERN
from pipelines.publish.release import ReleaseError, row_count

_ODS = re.compile(ODS_CODE_PATTERN)
_HEX = re.compile(r"^[0-9a-f]{64}$")
_SOURCE_ID = re.compile(r"^[a-z0-9_]+$")

METHOD_SUMMARY = {
    "distribution": "median, quartiles (interpolated percentiles), best, worst, rank (1 = best)",
    "proportion_interval": "Wilson score 95%",
    "rate_interval": "Byar, exact Poisson below 10, 95%",
    "significance": "Fingertips: benchmark inside / outside the 95% interval",
}
DBT_DOCS_FILES = ("index.html", "manifest.json", "catalog.json")
#: Ask the pack writer for PDFs too (printed by headless Chromium when it is installed).
PACK_PDF = True


#: The release's folders written while the tables are read back (HTML, PDF, JSON: no table).
BESIDE_CHECK = ("packs", "docs")

#: The order of the published table (and of every extract cut from it).
TABLE_ORDER = ("metric_id", "period_start", "comparator", "org_code")


def read_benchmark_table(settings: Settings) -> pd.DataFrame:
    """The benchmark table in the contract's dtypes (the same from DuckDB and PostgreSQL), in
    :data:`TABLE_ORDER`.

    On DuckDB it is read as Arrow batches in storage order and sorted here, which costs nothing
    when it is already in order (the transform writes it so): an ``order by`` made DuckDB hold a
    sorted copy of the whole national table while it was fetched, 520 MiB of a release's peak
    memory.
    """
    from pipelines.benchmark.schema import COLUMN_NAMES, cast_to_schema, frame_from_arrow
    from pipelines.warehouse.connection import connect

    contract = set(COLUMN_NAMES)
    with connect(settings, read_only=True) as warehouse:
        if not warehouse.table_exists(BENCHMARK_SCHEMA, BENCHMARK_TABLE):
            raise ReleaseError("there is no benchmark table yet: run the transform DAG before publishing")
        if warehouse.target != "duckdb":
            table = warehouse.query(f"select * from {BENCHMARK_SCHEMA}.{BENCHMARK_TABLE} order by "
                                    + ", ".join(TABLE_ORDER))
            return cast_to_schema(table) if set(table.columns) == contract else table
        parts = [frame_from_arrow(batch) if set(batch.schema.names) == contract else batch.to_pandas()
                 for batch in warehouse.arrow_batches(f"select * from {BENCHMARK_SCHEMA}.{BENCHMARK_TABLE}")]
    return in_table_order(pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0])


def in_table_order(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` sorted by :data:`TABLE_ORDER` as SQL sorts it (ascending, nulls last, text by code
    point), stably; the same frame, not a copy, when it is already in that order."""
    keys = []
    for name in reversed(TABLE_ORDER):
        codes, _ = pd.factorize(table[name], sort=True, use_na_sentinel=True)
        keys.append(np.where(codes < 0, np.iinfo(np.int64).max, codes))  # nulls last
    order = np.lexsort(keys)
    if (order == np.arange(len(table))).all():
        return table
    return table.take(order).reset_index(drop=True)


@dataclass
class Sources:
    """What a release is made from, read in one short read-only session."""

    table: pd.DataFrame
    metrics: pd.DataFrame
    methods: pd.DataFrame
    associations: pd.DataFrame | None


def read_sources(settings: Settings) -> Sources:
    """The benchmark table, ``marts.dim_metric``, ``benchmarks.benchmark_methods`` and (for the
    packs) ``marts.mart_culture_outcome_associations``."""
    from pipelines.benchmark.schema import METHODS_TABLE
    from pipelines.warehouse.connection import connect

    table = read_benchmark_table(settings)
    with connect(settings, read_only=True) as warehouse:
        if not warehouse.table_exists("marts", "dim_metric"):
            raise ReleaseError("marts.dim_metric is missing: the disclosure rules need the metric catalogue")
        metrics = warehouse.query("select * from marts.dim_metric order by metric_id")
        methods = (warehouse.query(f"select * from {BENCHMARK_SCHEMA}.{METHODS_TABLE} order by 1")
                   if warehouse.table_exists(BENCHMARK_SCHEMA, METHODS_TABLE) else pd.DataFrame())
        associations = (warehouse.query("select * from marts.mart_culture_outcome_associations")
                        if warehouse.table_exists("marts", "mart_culture_outcome_associations") else None)
    return Sources(table, metrics, methods, associations)


def trust_file_stem(code: str) -> str:
    """A per-trust file name, only for a well-formed ODS code."""
    if not _ODS.match(code):
        raise ReleaseError(f"refusing to name a file after {code!r}: not an ODS organisation code")
    return f"benchmarks_{code}"


def network_members(settings: Settings, table: pd.DataFrame) -> list[str]:
    """The configured members plus every trust the marts count in the network (ICB / region members)."""
    in_marts = set(table.loc[table["comparator"] == "network", "org_code"]) if "comparator" in table else set()
    configured = list(settings.network.members)
    return configured + sorted({str(code) for code in in_marts} - set(configured))


def _reference_from(folder: Path) -> dict[str, Any]:
    from pipelines.publish.release import code_version

    return {"release_id": folder.name.removeprefix(".staging-"), "created_at": None, "code_version": code_version()}


def write_release_contents(settings: Settings, folder: Path, progress: Callable[[str], Any] = print,
                           reference: dict[str, Any] | None = None) -> dict[str, Any]:
    reference = dict(reference or _reference_from(folder))
    reference.setdefault("network", settings.network.name)
    reference.setdefault("synthetic", settings.publishing.synthetic_data)
    # The worker processes (the extracts, then the read-back) are forked first: before the packs'
    # thread starts (pipelines.parallel.forked_workers), and before the national table is read, since
    # a fork shares its parent's memory only until either writes to it and this process writes to
    # every object it touches (reference counts). What they work on is sent to them.
    # dbt's child for the docs is forked before them, for the same reason (DbtDocs).
    with DbtDocs(settings, progress) as docs, forked_workers(settings.publishing.workers) as workers:
        return _write_contents(settings, folder, progress, reference, workers, docs)


def _write_contents(settings: Settings, folder: Path, progress: Callable[[str], Any], reference: dict[str, Any],
                    workers: Workers, docs: DbtDocs) -> dict[str, Any]:
    from pipelines.benchmark.schema import COLUMNS
    from pipelines.publish import bi, disclosure, extracts

    started = time.perf_counter()
    sources = read_sources(settings)
    docs.start()  # the warehouse has been read: dbt may hold it until docs.wait(), before the BI snapshot
    metrics, methods = sources.metrics, sources.methods
    rules = disclosure.disclosure_rules(settings.disclosure, metrics)
    table, disclosed = disclosure.disclose_benchmark_table(sources.table, rules)
    # Only the disclosed table goes on: the table as read is as large (the national table) and,
    # kept until the release was written, was a third of publishing's peak memory.
    sources.table = table
    progress(f"disclosure control: {disclosed['cells_suppressed_total']} cells suppressed "
             f"({sum(r['cells_suppressed_at_publication'] for r in disclosed['primary_rules'])} at publication); "
             f"benchmark table recomputed: {disclosed['secondary_rules'][1]['benchmark_table_recomputed']}")

    notes = extracts.Notes(
        title="", reference=reference, metrics=metrics, methods=methods, method_summary=METHOD_SUMMARY,
        disclosure=[r.description + f' -> shown as "{disclosure.MARKER}"' for r in rules] + [
            "every statistic of a suppressed cell (value, numerator, denominator, intervals, rank, percentile, "
            "significance, funnel values and flags, SPC point) is suppressed too",
            "comparator totals, distributions and ranks are computed over published cells only, so a suppressed "
            "cell cannot be recovered from them"],
        columns={name: meaning for name, _, meaning in COLUMNS},
    )
    members = network_members(settings, table)
    # The network-wide extract holds every network trust against all three comparators; the
    # national table (every trust in England) is in the BI snapshot, not in a spreadsheet.
    network_rows = table[table["org_code"].isin(members)].reset_index(drop=True)
    names = (table.drop_duplicates("org_code").set_index("org_code")["org_name"].to_dict()
             if "org_name" in table.columns else {})
    trusts = folder / "trusts"
    trusts.mkdir()
    jobs = [extracts.ExtractJob(network_rows, folder, "benchmarks_network", replace(
        notes, title=f"Culture and outcomes benchmarks: {settings.network.name} (all network trusts)"))]
    by_trust = dict(tuple(network_rows.groupby("org_code", sort=False))) if len(network_rows) else {}
    for code in members:
        rows = by_trust.get(code, network_rows.iloc[0:0]).reset_index(drop=True)
        title = f"Culture and outcomes benchmarks: {code} {names.get(code) or ''}".strip()
        jobs.append(extracts.ExtractJob(rows, trusts, trust_file_stem(code), replace(notes, title=title)))
    progress(f"writing benchmarks_network and {len(members)} trust extracts (.csv, .parquet, .xlsx) "
             f"with {worker_count(settings.publishing.workers)} worker process(es)")
    per_trust: dict[str, dict[str, Any]] = {}
    # Not beside the BI snapshot: both keep both cores busy, so side by side they took as long and
    # raised publishing's peak memory by about 200 MiB (benchmarks/FINDINGS.md, section 9).
    written = workers.map(extracts.write_extract_job, jobs)
    for number, (job, files) in enumerate(zip(jobs, written, strict=True)):
        if number == 0:
            progress(f"wrote benchmarks_network.csv, .parquet, .xlsx ({len(job.rows)} rows)")
            continue
        code = members[number - 1]
        per_trust[code] = {"rows": int(len(job.rows)), "files": [str(p.relative_to(folder)) for p in files]}
        progress(f"[{number}/{len(members)}] {code}: wrote trusts/{job.stem}.csv, .parquet, .xlsx ({len(job.rows)} rows)")
    missing = [code for code, info in per_trust.items() if info["rows"] == 0]

    # The extracts are read back by the workers while the packs are written in a thread (their
    # PDFs printed by Chromium, in processes of its own) and this one writes the BI snapshot, read
    # back in turn. The packs read nothing but the disclosed table. The docs come once Chromium has
    # ended: a first release generates them with dbt, as much memory again as Chromium. Neither
    # the packs nor the docs hold a table: the check proves none escaped it.
    check = disclosure.ReleaseReadBack(folder, rules, workers)
    check.read_new()
    docs.wait()
    with ThreadPoolExecutor(1) as printer:
        printing = printer.submit(write_pack_files, settings, table, folder, reference, progress,
                                  associations=sources.associations)
        bi_info = bi.write_bi_snapshot(settings, folder, table, rules, reference, progress)
        check.read_new(excluding=BESIDE_CHECK)
        packs = printing.result()
    shipped = {"dbt": docs.copy_into(folder), "validation": copy_validation_docs(settings, folder)}
    progress(f"docs: {shipped['dbt']['path']}, validation reports: {len(shipped['validation']['extracts'])}")
    checked = check.result()
    progress(f"disclosure check: {checked['files_checked']} files read back, nothing below a threshold")
    postgres = None
    if settings.warehouse.target == "postgres":
        postgres = bi.prepare_postgres(settings, table, progress)

    tables = [p for p in folder.rglob("*") if p.is_file() and p.suffix in {".csv", ".parquet"}
              and "docs" not in p.relative_to(folder).parts]
    return {
        "row_counts": {str(p.relative_to(folder)): row_count(p) for p in tables},
        "manifest": {
            "methods": METHOD_SUMMARY | {"catalogue": _records(methods)},
            "options": {
                "formats": ["csv", "parquet", "xlsx"],
                "suppression_marker": disclosure.MARKER,
                "disclosure_thresholds": {
                    "patient_experience_min_count": settings.disclosure.patient_experience_min_count,
                    "staff_survey_min_responses": settings.disclosure.staff_survey_min_responses,
                    "sickness_min_fte_days_available": settings.disclosure.sickness_min_fte_days_available,
                },
                "xlsx_unit_formats": extracts.UNIT_FORMATS,
                "retention": settings.publishing.retention,
                "successor_attribution": settings.publishing.successor_attribution,
            },
            "disclosure": disclosed | {"bi_snapshot": bi_info["disclosure"], "check": checked},
            "extracts": {
                "network": ["benchmarks_network.csv", "benchmarks_network.parquet", "benchmarks_network.xlsx"],
                "trusts": per_trust,
                "trusts_without_rows": missing,
                "rows": int(len(table)),
            },
            "bi": {key: value for key, value in bi_info.items() if key != "disclosure"} | {"postgres": postgres},
            "packs": packs,
            "docs": shipped,
            "build_seconds": round(time.perf_counter() - started, 1),
        },
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


def write_pack_files(settings: Settings, table: pd.DataFrame, folder: Path, reference: dict[str, Any],
                     progress: Callable[[str], Any], associations: pd.DataFrame | None = None) -> dict[str, Any]:
    """The HTML (and, with Chromium, PDF) benchmark packs from ``pipelines.publish.pack``, when that
    module exists, written from the disclosed table into the release folder (``packs/``)."""
    try:
        from pipelines.publish.pack import write_packs
    except ImportError as error:
        progress(f"packs: skipped ({error})")
        return {"status": "skipped", "reason": f"pipelines.publish.pack is not available: {error}"}
    accepted = inspect.signature(write_packs).parameters
    options: dict[str, Any] = {}
    if "progress" in accepted:
        options["progress"] = lambda line: progress(f"packs: {line}")
    if "associations" in accepted and associations is not None:
        options["associations"] = associations
    if "pdf" in accepted:
        options["pdf"] = PACK_PDF
    try:
        paths = write_packs(settings, table, folder, dict(reference), **options)
    except ReleaseError:
        raise
    except Exception as error:
        raise ReleaseError(f"the benchmark packs could not be written: {error}") from error
    files = []
    for path in paths or []:
        resolved = Path(path).resolve()
        if not resolved.is_relative_to(folder.resolve()):
            raise ReleaseError(f"the pack writer wrote {path} outside the release folder")
        files.append(str(resolved.relative_to(folder.resolve())))
    return {"status": "written", "files": files, "pdf": PACK_PDF and any(f.endswith(".pdf") for f in files)}


class DbtDocs:
    """A release's dbt docs site (index.html, manifest.json, catalog.json, in ``docs/dbt``).

    ``dbt docs generate`` starts dbt and reads every relation's columns, yet its output changes only
    with the dbt project, the variables and the warehouse's columns. So the site is kept under
    ``state/dbt_docs/<fingerprint of those>`` and generated again only when one of them changed.

    When it must be generated, dbt runs in a fork of this process (with dbt already imported, as the
    DAG runner's tasks have it) while the release goes on, instead of after everything else as it
    did (4.4 s of a first release's 20 s; benchmarks/FINDINGS.md, section 22). The child is forked
    when this is made, before the release starts its worker processes and threads, and runs from
    :meth:`start` (the release has read the warehouse by then: on DuckDB, dbt holds the file for
    writing while it runs, and no other process can open it) to :meth:`wait` (before the BI
    snapshot reads the warehouse again). A context manager: leaving it stops a dbt still running.
    """

    def __init__(self, settings: Settings, progress: Callable[[str], Any]) -> None:
        from pipelines.dbt_in_fork import DbtHeldInFork
        from pipelines.transform import DBT_PROJECT_DIR, dbt_arguments, dbt_process_env, reuse_partial_parse

        self.settings, self.progress = settings, progress
        self.fingerprint = dbt_docs_fingerprint(settings)
        self.cache = settings.paths.state / "dbt_docs" / self.fingerprint
        self._run: DbtHeldInFork | None = None
        if all((self.cache / name).is_file() for name in DBT_DOCS_FILES):
            progress("docs: dbt docs unchanged since the last release (same project, variables and columns)")
            return
        self._tmp = tempfile.TemporaryDirectory(prefix="dbt-docs-")
        self._target = Path(self._tmp.name) / "target"
        reuse_partial_parse(settings, self._target)  # the build's parse: not all of it again
        self._args = ["docs", "generate", "--log-path", str(Path(self._tmp.name) / "logs")]
        try:
            self._run = DbtHeldInFork(dbt_arguments(settings, *self._args, target_path=self._target),
                                      dbt_process_env(settings), str(DBT_PROJECT_DIR))
        except BaseException:
            self._tmp.cleanup()
            raise

    def __enter__(self) -> DbtDocs:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def _close(self) -> None:
        """Stop a dbt still running and delete its temporary target."""
        if self._run is not None:
            self._run.stop()
            self._tmp.cleanup()
            self._run = None

    def start(self) -> None:
        """Let ``dbt docs generate`` run now, when the site must be generated."""
        if self._run is not None:
            self.progress("docs: dbt docs generate (beside the release's extracts)")
            self._run.release()

    def wait(self) -> None:
        """Once dbt has ended, the generated site in the cache; raises :class:`ReleaseError` if it failed."""
        from pipelines.transform import dbt_failure

        if self._run is None:
            return
        try:
            if self._run.wait() != 0:
                raise ReleaseError(dbt_failure(self.settings, self._args, "\n".join(self._run.lines)))
            for name in DBT_DOCS_FILES:
                if not (self._target / name).is_file():
                    raise ReleaseError(f"dbt docs generate did not write {name}")
            shutil.rmtree(self.cache.parent, ignore_errors=True)
            self.cache.mkdir(parents=True)
            for name in DBT_DOCS_FILES:
                shutil.copyfile(self._target / name, self.cache / name)
        finally:
            self._close()

    def copy_into(self, folder: Path) -> dict[str, Any]:
        """The site, from the cache, in the release ``folder``'s ``docs/dbt``; what the manifest says of it."""
        self.wait()
        target = folder / "docs" / "dbt"
        target.mkdir(parents=True)
        for name in DBT_DOCS_FILES:
            shutil.copyfile(self.cache / name, target / name)
        return {"path": "docs/dbt/index.html", "files": [f"docs/dbt/{n}" for n in DBT_DOCS_FILES],
                "fingerprint": self.fingerprint}


def dbt_docs_fingerprint(settings: Settings) -> str:
    """A hash of what the dbt docs are made of: the dbt project as it builds (dbt's version, the project
    files, the variables) and every relation's columns in the warehouse."""
    from pipelines.transform import project_fingerprint
    from pipelines.warehouse.connection import connect

    digest = project_fingerprint(settings)
    with connect(settings, read_only=True) as warehouse:
        columns = warehouse.query(
            "select c.table_schema, c.table_name, t.table_type, c.column_name, c.data_type "
            "from information_schema.columns c join information_schema.tables t "
            "on t.table_schema = c.table_schema and t.table_name = c.table_name "
            "where c.table_schema not in ('information_schema', 'pg_catalog') "
            "order by c.table_schema, c.table_name, c.ordinal_position")
    digest.update(columns.to_csv(index=False).encode())
    return digest.hexdigest()[:32]


def copy_validation_docs(settings: Settings, folder: Path) -> dict[str, Any]:
    """The Data Docs of the latest loaded extract of each source, from ``state/data_docs``."""
    from pipelines.ingest import data_docs_dir
    from pipelines.ledger import Ledger

    root = settings.paths.state / "data_docs"
    if not root.is_dir():
        return {"path": None, "extracts": [], "note": "no Great Expectations Data Docs in the state folder"}
    latest = Ledger(settings.paths.state).latest_loaded()
    shipped = []
    target = folder / "docs" / "validation"
    for source_id, extract in sorted(latest.items()):
        sha = str(extract["sha256"])
        if not (_SOURCE_ID.match(source_id) and _HEX.match(sha)):
            continue
        site = data_docs_dir(settings, source_id, sha)
        if not site.is_dir():
            continue
        shutil.copytree(site, target / source_id / sha, symlinks=False)
        index = next((p for p in (target / source_id / sha).rglob("index.html")), None)
        shipped.append({"source_id": source_id, "file_name": extract["file_name"], "vintage": extract.get("vintage"),
                        "sha256": sha, "path": str((target / source_id / sha).relative_to(folder)),
                        "index": str(index.relative_to(folder)) if index else None})
    if shipped:
        items = "\n".join(
            f'<li><a href="{html.escape(str(Path(e["index"]).relative_to("docs/validation")))}">'
            f'{html.escape(e["source_id"])}: {html.escape(str(e["file_name"]))} ({html.escape(str(e["vintage"]))})'
            f"</a></li>" for e in shipped if e["index"])
        (target / "index.html").write_text(
            "<!doctype html><meta charset=utf-8><title>Validation reports</title>"
            f"<h1>Validation reports (Great Expectations Data Docs)</h1><ul>\n{items}\n</ul>\n", encoding="utf-8")
    return {"path": "docs/validation/index.html" if shipped else None, "extracts": shipped}
