"""Publish: a new immutable release (extracts, manifest, snapshot, packs) made `latest` atomically.

Runs when the marts and benchmark tables have been rebuilt.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from dags._wiring import MARTS_ASSET, RELEASE_ASSET, default_args


@dag(
    dag_id="publish_release",
    description="Publish the benchmark release: per-trust extracts, manifest, BI snapshot, packs",
    schedule=[MARTS_ASSET],
    start_date=pendulum.datetime(2024, 1, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["culture-outcomes", "publish"],
)
def publish_release():
    @task(outlets=[RELEASE_ASSET])
    def publish() -> dict:
        from pipelines.config import load_settings
        from pipelines.publish.release import publish_release as publish_now

        return publish_now(load_settings())

    publish()


publish_release()
