"""Transform: raw -> dbt staging / intermediate / marts (via Cosmos) -> benchmark tables.

Runs whenever any source's Asset is updated. dbt is rendered from a manifest built ahead
(``dbt parse`` at setup), so parsing this file never runs dbt.

- DuckDB (embedded default) allows one writing process, so the whole project runs as a single
  Cosmos ``dbt build`` task in the one-slot ``warehouse_writer`` pool: one dbt subprocess, models
  and tests in dependency order, no lock contention.
- PostgreSQL has no such limit: Cosmos renders one task per dbt node (``dbt build`` of that node
  and its tests), and the widened pool lets models run in parallel across Celery workers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pendulum
from airflow.sdk import dag, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import InvocationMode, LoadMode, TestBehavior

from dags._dbt_operator import DbtBuildInForkOperator
from dags._wiring import MARTS_ASSET, SOURCE_ASSETS, WAREHOUSE_POOL, default_args
from pipelines.config import load_settings
from pipelines.transform import (
    DBT_MANIFEST,
    DBT_PROFILE,
    DBT_PROJECT_DIR,
    PRODUCTION_BUILD_FLAGS,
    dbt_env,
    dbt_vars,
    partial_parse_cache,
)

_settings = load_settings()
_profile = ProfileConfig(
    profile_name=DBT_PROFILE,
    target_name=_settings.warehouse.target,
    profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml",
)
_any_source = None
for _asset in SOURCE_ASSETS.values():
    _any_source = _asset if _any_source is None else (_any_source | _asset)


@dag(
    dag_id="transform_marts",
    description="Build the culture-outcome marts with dbt and compute the benchmark tables",
    schedule=_any_source,
    start_date=pendulum.datetime(2024, 1, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["culture-outcomes", "transform", "dbt"],
)
def transform_marts():
    @task(pool=WAREHOUSE_POOL)
    def prepare_raw_schema() -> None:
        """Every source's raw table exists (empty if never loaded) so dbt can always build, and staging
        built by another dbt project is dropped so dbt builds it in full."""
        from pipelines.transform import reset_staging_built_by_another_project
        from pipelines.warehouse.connection import connect
        from pipelines.warehouse.loader import ensure_raw_tables

        settings = load_settings()
        ensure_raw_tables(settings)
        with connect(settings) as warehouse:
            reset_staging_built_by_another_project(settings, warehouse)

    if _settings.warehouse.target == "duckdb":
        dbt_models = DbtBuildInForkOperator(
            task_id="dbt_build",
            project_dir=str(DBT_PROJECT_DIR),
            profile_config=_profile,
            # No dbt.log: it would be written into Cosmos's temporary copy of the project and deleted
            # with it (the task log has dbt's output); writing it cost 0.5 s a build.
            env=dbt_env(_settings) | {"DBT_LOG_LEVEL_FILE": "none"},
            append_env=True,
            vars=dbt_vars(_settings),
            dbt_cmd_flags=list(PRODUCTION_BUILD_FLAGS),
            # dbt in a process of its own (a fork of this one): its DuckDB connection and memory end
            # with it, so whatever runs next in this worker (benchmarks, publishing) opens the file
            # afresh and starts small.
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=str(Path(sys.executable).with_name("dbt")),
            install_deps=False,
            # dbt's partial parse file is kept here between runs (Cosmos copies it into the temporary
            # project and back): each build re-parses only what changed, not all 240 nodes (~3 s).
            cache_dir=partial_parse_cache(_settings),
            emit_datasets=False,  # the marts Asset below is the one downstream DAGs watch
            pool=WAREHOUSE_POOL,
        )
    else:
        dbt_models = DbtTaskGroup(
            group_id="dbt",
            project_config=ProjectConfig(
                dbt_project_path=DBT_PROJECT_DIR,
                manifest_path=DBT_MANIFEST,
                env_vars=dbt_env(_settings),
                dbt_vars=dbt_vars(_settings),
            ),
            profile_config=_profile,
            render_config=RenderConfig(
                load_method=LoadMode.DBT_MANIFEST,
                test_behavior=TestBehavior.BUILD,
                should_detach_multiple_parents_tests=True,  # relationship tests run after both models
            ),
            execution_config=ExecutionConfig(invocation_mode=InvocationMode.DBT_RUNNER),
            operator_args={"pool": WAREHOUSE_POOL, "install_deps": False},
        )

    @task(pool=WAREHOUSE_POOL, outlets=[MARTS_ASSET])
    def compute_benchmarks() -> dict:
        from pipelines.benchmark.tables import build_benchmark_tables

        return build_benchmark_tables(load_settings())

    prepare_raw_schema() >> dbt_models >> compute_benchmarks()


transform_marts()
