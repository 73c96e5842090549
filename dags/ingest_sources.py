"""One ingest DAG per published source, on the publisher's cadence.

discover -> fetch_and_land (one mapped task per file) -> validate_and_load (one per file).
A file that fails validation is quarantined and its task fails with the analyst-facing message;
the other files still load, and each successful load updates the source's Asset, which
schedules the transform DAG.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

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
        default_args=default_args(),
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

        @task(map_index_template="{{ task.op_kwargs['link']['file_name'] }}")
        def fetch_and_land(link: dict) -> dict | None:
            from pipelines.config import load_settings
            from pipelines.ingest import fetch_and_land as land_one

            return land_one(spec.id, link, load_settings())

        @task(retries=0, pool=WAREHOUSE_POOL, outlets=[SOURCE_ASSETS[spec.id]])
        def validate_and_load(landed: dict | None) -> dict:
            from pipelines.config import load_settings
            from pipelines.ingest import validate_and_load as load_one

            if landed is None:
                return {"status": "unchanged"}
            return load_one(spec.id, landed, load_settings()).as_dict()

        validate_and_load.expand(landed=fetch_and_land.expand(link=discover()))

    return ingest()


for _spec in SOURCES:
    globals()[f"ingest_{_spec.id}"] = build_ingest_dag(_spec)
