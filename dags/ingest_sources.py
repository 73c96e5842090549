"""One ingest DAG per published source, on the publisher's cadence.

discover -> fetch_and_land (every file, conditional GET) -> validate_and_load (mapped over batches
of new or changed files) -> report_quarantined. A file that fails validation is quarantined; the
rest of its batch still loads and updates the source's Asset (which schedules the transform DAG),
then report_quarantined fails the run with every quarantined file's analyst-facing message.

Why batches and not one task per file: a backfill lands hundreds of files, and a task instance
costs more to schedule, run and record than checking a typical file does; a routine run has one
batch holding the month's new files.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, get_parsing_context, task

from dags._wiring import SOURCE_ASSETS, WAREHOUSE_POOL, default_args
from pipelines.sources.catalogue import SOURCES, SourceSpec


def build_ingest_dag(spec: SourceSpec):
    """The ingest DAG for one source (the same shape for every source)."""

    @dag(
        dag_id=f"ingest_{spec.id}",
        description=f"Ingest {spec.title} ({spec.cadence}) from {spec.publisher}",
        schedule=spec.schedule,
        start_date=pendulum.datetime(2024, 1, 1, tz="Europe/London"),
        catchup=False,
        max_active_runs=1,
        default_args=default_args(priority_weight=spec.priority_weight),
        tags=["culture-outcomes", "ingest", spec.cadence, spec.id],
        params={
            "since": Param(None, type=["null", "string"], description="First period to load (YYYY-MM or YYYY)"),
            "until": Param(None, type=["null", "string"], description="Last period to load (YYYY-MM or YYYY)"),
        },
        doc_md=f"**{spec.title}**\n\nPublisher page: {spec.publisher_page}\n\nQuirks: {spec.quirks}",
    )
    def ingest():
        @task
        def discover(params: dict | None = None) -> list[dict]:
            from pipelines.config import load_settings
            from pipelines.ingest import plan

            params = params or {}
            return plan(spec.id, load_settings(), params.get("since"), params.get("until"))

        @task
        def fetch_and_land(links: list[dict]) -> list[list[dict]]:
            """Download what is new or changed; returns it in batches for validate_and_load."""
            from pipelines.config import load_settings
            from pipelines.ingest import batches, fetch_and_land_all

            settings = load_settings()
            return batches(fetch_and_land_all(spec.id, links, settings), settings.validation.batch_files)

        @task(
            retries=0,
            pool=WAREHOUSE_POOL,
            outlets=[SOURCE_ASSETS[spec.id]],
            map_index_template="{{ task.op_kwargs['landed'][0]['file_name'] }} (+{{ task.op_kwargs['landed'] | length - 1 }})",
        )
        def validate_and_load(landed: list[dict]) -> list[dict]:
            """Load the batch's good files (updating the Asset); fails only when none of them loaded."""
            from pipelines.config import load_settings
            from pipelines.ingest import as_records, load_batch, raise_for_rejections

            records = as_records(load_batch(spec.id, landed, load_settings()))
            if not any(record["status"] == "loaded" for record in records):
                raise_for_rejections(spec.id, records)
            return records

        @task(retries=0)
        def report_quarantined(batches: list[list[dict]]) -> int:
            """Fail the run, after the good files loaded, when any file was quarantined."""
            from pipelines.ingest import raise_for_rejections

            # By position up to the count: iterating would ask for one batch past the end (a logged 404).
            records = [record for position in range(len(batches)) for record in batches[position]]
            raise_for_rejections(spec.id, records)
            return sum(1 for record in records if record["status"] == "loaded")

        report_quarantined(validate_and_load.expand(landed=fetch_and_land(discover())))

    return ingest()


# When Airflow parses this file to run one of its DAGs (a task, `dags test`), it names that DAG in
# the parsing context and only that one is built; the dag-processor, which needs them all, names none.
_running = get_parsing_context().dag_id
for _spec in SOURCES:
    if _running is None or _running == f"ingest_{_spec.id}":
        globals()[f"ingest_{_spec.id}"] = build_ingest_dag(_spec)
