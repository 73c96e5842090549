"""culture-outcomes: the analyst's command line for the culture and outcomes benchmarking pipeline.

Every command reads the one configuration (config/pipeline.yaml + CULTURE_OUTCOMES_* overrides).
Commands that run Airflow do so through Airflow's own CLI (``airflow dags test``), so what the
demo runs is exactly what the scheduler runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipelines.config import PROJECT_ROOT, load_settings
from pipelines.sources.catalogue import SOURCES, get_source

DEMO_PORT = 8765


def _run_with_airflow(command: list[str], check: bool = True) -> subprocess.CompletedProcess:
    """Run a command in the project's Airflow environment; with ``check`` a failure stops the CLI."""
    from pipelines.airflow_env import airflow_environment

    result = subprocess.run(command, env=airflow_environment(), cwd=PROJECT_ROOT)
    if check and result.returncode != 0:
        shown = " ".join(Path(command[0]).name if i == 0 else part for i, part in enumerate(command))
        raise SystemExit(f"{shown} failed (exit {result.returncode}); see the task log above")
    return result


def _airflow(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return _run_with_airflow([str(Path(sys.executable).with_name("airflow")), *args], check=check)


def _run_dags(dag_ids: list[str], setup: bool = False) -> dict[str, dict[str, object]]:
    """Every DAG in one Airflow process (``dags/_run_dags.py``), with ``setup`` after ``culture-outcomes
    setup`` run beside its start; returns each DAG's state and seconds."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="culture-outcomes-run-") as tmp:
        timings = Path(tmp) / "timings.json"
        _run_with_airflow([sys.executable, "-m", "dags._run_dags", *(["--setup"] if setup else []),
                           "--timings", str(timings), *dag_ids], check=False)
        return json.loads(timings.read_text(encoding="utf-8")) if timings.exists() else {}


def airflow_metadata(pool_slots: int, reserialize: bool = False) -> None:
    """The metadata database migrated, the writer pool set and, with ``reserialize``, the DAGs
    serialized (idempotent), in one Airflow process (``dags/_airflow_setup.py``)."""
    _run_with_airflow([sys.executable, "-m", "dags._airflow_setup", "--pool-slots", str(pool_slots),
                       *(["--reserialize"] if reserialize else [])])


def cmd_sources(args: argparse.Namespace) -> int:
    for spec in SOURCES:
        print(f"{spec.id:30} {spec.cadence:8} {spec.title}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Parse and validate a local file with the source's suite, without Airflow or the warehouse."""
    from pipelines.parsers.errors import ParseError
    from pipelines.validation.suites import validate

    spec = get_source(args.source)
    path = Path(args.file)
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    try:
        parsed = spec.load_parser()(path)
    except ParseError as error:
        print(f"FAILED to read {path.name}: {error}")
        return 1
    report = validate(parsed.table, source_id=spec.id, layout=parsed.layout, file_name=path.name,
                      parameters={}, docs_dir=Path(args.docs) if args.docs else None)
    print(report.summary())
    return 0 if report.passed else 1


def cmd_synthetic(args: argparse.Namespace) -> int:
    from pipelines.synthetic.site import build_site
    from pipelines.synthetic.world import World

    world = World(scale=args.scale, years=args.years)
    build_site(world, Path(args.out), sources=args.source or None)
    print(f"synthetic publisher written to {args.out} ({len(world.organisations)} organisations, "
          f"{len(world.months)} months)")
    return 0


def cmd_serve_publisher(args: argparse.Namespace) -> int:
    import time

    from pipelines.publisher_server import serve

    with serve(Path(args.root), port=args.port) as url:
        print(f"local publisher serving {args.root} at {url} (Ctrl-C to stop)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from pipelines.ingest import ExtractRejected, ingest_source

    settings = load_settings()
    results = ingest_source(args.source, settings, since=args.since, until=args.until, pinned=args.url or None)
    rejected = [r for r in results if isinstance(r, ExtractRejected)]
    for result in results:
        if not isinstance(result, ExtractRejected):
            print(f"{result.status:15} {result.file_name} {result.rows or ''}")
    print(f"{len(results) - len(rejected)} files processed, {len(rejected)} quarantined")
    return 1 if rejected else 0


def cmd_status(args: argparse.Namespace) -> int:
    from pipelines.status import source_status

    rows = source_status(load_settings())
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    print(f"{'source':30} {'latest period':14} {'vintage':10} {'checked':26} {'overdue':8} quarantined")
    for row in rows:
        print(f"{row['source_id']:30} {row['latest_period'] or '-':14} {row['vintage'] or '-':10} "
              f"{row['checked_at'] or 'never':26} {'YES' if row['overdue'] else 'no':8} {row['quarantined']}")
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from pipelines.quarantine import quarantined, release

    settings = load_settings()
    if args.action == "list":
        items = quarantined(settings)
        if not items:
            print("nothing is in quarantine")
        for item in items:
            print(f"{item['sha256'][:12]}  {item['source_id']:28} {item['file_name']}\n    {item['reason'].splitlines()[0]}")
        return 0
    outcome = release(settings, args.sha256, args.by, args.reason)
    print(f"released and loaded {outcome.file_name} ({outcome.rows} rows); recorded: by {args.by}: {args.reason}")
    return 0


def cmd_transform(args: argparse.Namespace) -> int:
    from pipelines.benchmark.tables import build_benchmark_tables
    from pipelines.transform import PRODUCTION_BUILD_FLAGS, reset_staging_built_by_another_project, run_dbt
    from pipelines.warehouse.connection import connect
    from pipelines.warehouse.loader import ensure_raw_tables

    settings = load_settings()
    ensure_raw_tables(settings)
    with connect(settings) as warehouse:
        reset_staging_built_by_another_project(settings, warehouse)
    run_dbt(settings, "build", *PRODUCTION_BUILD_FLAGS)
    print(build_benchmark_tables(settings))
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from pipelines.publish.release import publish_release

    print(json.dumps(publish_release(load_settings(), progress=print), indent=2))
    return 0


def cmd_releases(args: argparse.Namespace) -> int:
    from pipelines.publish.release import list_releases

    for release in list_releases(load_settings()):
        print(f"{release['release_id']}  {release['created_at']}  {release['files']:4} files"
              f"{'  <- latest' if release['latest'] else ''}")
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    """Airflow metadata, pool, dbt manifest: everything the DAGs need before a first run."""
    from pipelines.transform import parse_project

    settings = load_settings()
    if settings.warehouse.target == "postgres":
        from pipelines.warehouse.connection import ensure_postgres_database

        if ensure_postgres_database(settings):
            print(f"created the warehouse database {settings.warehouse.postgres_dbname}")
    # dbt's parse and Airflow's metadata do not depend on each other, and each is mostly a Python
    # process starting: side by side they take the longer of the two, not the sum. On PostgreSQL
    # the DAGs are serialized after both, as the transform DAG renders from dbt's manifest; on
    # DuckDB it does not, so they are serialized in the same Airflow process as the migration.
    duckdb = settings.warehouse.target == "duckdb"
    with ThreadPoolExecutor(max_workers=1) as beside:
        parsed = beside.submit(parse_project, settings, target_path=args.dbt_target_path)
        airflow_metadata(pool_slots=1 if duckdb else 8, reserialize=duckdb)
        parsed.result()
    if not duckdb:
        _airflow("dags", "reserialize")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job: synthetic publisher -> every ingest DAG -> transform -> publish, through Airflow."""
    import os

    from pipelines.publisher_server import serve
    from pipelines.synthetic.site import build_site
    from pipelines.synthetic.world import World

    settings = load_settings()
    # dag.test() sleeps through retry delays; a one-off demo should fail fast and say why.
    os.environ.setdefault("CULTURE_OUTCOMES_AIRFLOW_RETRIES", "0")
    os.environ["CULTURE_OUTCOMES_PUBLISHING_SYNTHETIC_DATA"] = "true"  # label every output synthetic
    # Keep the console readable: task errors (including quarantine messages) still show.
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    site = settings.paths.data_dir / "publisher_site"
    stamp = site / f".complete-scale{args.scale}-years{args.years}"
    if not stamp.exists():
        print(f"== Writing the synthetic publisher ({args.years} years, scale {args.scale}) to {site}")
        build_site(World(scale=args.scale, years=args.years), site)
        stamp.touch()
    sources = args.source or [spec.id for spec in SOURCES]
    dag_ids = [f"ingest_{source_id}" for source_id in sources] + ["transform_marts", "publish_release"]
    with serve(site, port=args.port) as url:
        os.environ["CULTURE_OUTCOMES_PUBLISHER_BASE_URL"] = url
        # One Airflow process tests every DAG in turn, as a long-lived scheduler would run them, and
        # prepares Airflow (SQLite metadata) and the dbt manifest beside its own start.
        results = _run_dags(dag_ids, setup=True)
    for dag_id in ("transform_marts", "publish_release"):
        if results.get(dag_id, {}).get("state") != "success":
            raise SystemExit(f"{dag_id} did not succeed; see its task log above")
    failed = [dag_id for dag_id, result in results.items() if result["state"] != "success"]
    if failed:
        print(f"Note: {', '.join(failed)} failed (a quarantined file?): see `culture-outcomes quarantine list`")
    latest = settings.paths.published / "latest"
    print(f"""
Done. Outputs (SYNTHETIC data, labelled as such in every file):
  release:        {latest.resolve()}
    benchmark packs  {latest / "packs" / "index.html"}
    trust extracts   {latest / "trusts"}   (CSV, Parquet, XLSX per trust)
    BI snapshot      duckdb -readonly {latest / "bi" / "culture_outcomes.duckdb"}
    data dictionary  {latest / "docs" / "dbt" / "index.html"}
  warehouse:      {settings.warehouse.duckdb_path} (live; BI tools use the snapshot above)
  raw extracts:   {settings.warehouse.duckdb_raw_dir} (a DuckDB file per source, as loaded)
  status:         .venv/bin/culture-outcomes status""")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="culture-outcomes",
        description="Culture and outcomes benchmarking for NHS regional networks: ingest the public extracts, "
        "validate them, build the marts and benchmark tables, and publish releases.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show progress logs")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(handler=handler)
        return command

    demo = add("demo", cmd_demo, "Run the whole pipeline through Airflow on the synthetic publisher (the main job)")
    demo.add_argument("--years", type=int, default=2, help="years of synthetic history (default 2)")
    demo.add_argument("--scale", type=int, default=1, help="organisations x ~220 (default 1)")
    demo.add_argument("--port", type=int, default=DEMO_PORT, help="port of the local publisher")
    demo.add_argument("--source", action="append", help="only this source (repeatable)")
    setup = add("setup", cmd_setup, "Prepare Airflow metadata, the writer pool and the dbt manifest")
    setup.add_argument("--dbt-target-path", type=Path,
                       help="where dbt writes its manifest (default dbt_project/target); the transform's "
                            "builds keep dbt's parse in the data folder either way")
    add("sources", cmd_sources, "List the sources (ids, cadence, title)")
    validate = add("validate", cmd_validate, "Validate a local file with a source's expectation suite (no Airflow)")
    validate.add_argument("source", help="source id, see 'sources'")
    validate.add_argument("file", help="the file to check")
    validate.add_argument("--docs", help="also write the GX Data Docs (HTML) into this folder")
    backfill = add("backfill", cmd_backfill, "Load a source's history for a period range (idempotent)")
    backfill.add_argument("source")
    backfill.add_argument("--since", help="first period, YYYY-MM (or YYYY for annual sources)")
    backfill.add_argument("--until", help="last period, YYYY-MM (or YYYY)")
    backfill.add_argument("--url", action="append",
                          help="load exactly this published file address instead of discovering (repeatable)")
    status = add("status", cmd_status, "Per source: latest period, vintage, last check, overdue, quarantine")
    status.add_argument("--json", action="store_true")
    quarantine = add("quarantine", cmd_quarantine, "List quarantined extracts or release one (recording who and why)")
    quarantine.add_argument("action", choices=["list", "release"])
    quarantine.add_argument("sha256", nargs="?", help="hash (or its first characters) of the extract to release")
    quarantine.add_argument("--by", default="", help="who releases it")
    quarantine.add_argument("--reason", default="", help="why it is safe to load")
    add("transform", cmd_transform, "Build the dbt marts and benchmark tables without Airflow")
    add("publish", cmd_publish, "Publish a new release from the current benchmark tables")
    add("releases", cmd_releases, "List published releases (newest first)")
    synthetic = add("synthetic", cmd_synthetic, "Write the synthetic publisher's files")
    synthetic.add_argument("--out", required=True)
    synthetic.add_argument("--years", type=int, default=5)
    synthetic.add_argument("--scale", type=int, default=1)
    synthetic.add_argument("--source", action="append")
    serve_cmd = add("serve-publisher", cmd_serve_publisher, "Serve a folder as the local publisher on 127.0.0.1")
    serve_cmd.add_argument("--root", required=True)
    serve_cmd.add_argument("--port", type=int, default=DEMO_PORT)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return int(args.handler(args) or 0)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
