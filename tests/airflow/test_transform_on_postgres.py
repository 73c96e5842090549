"""Scaling out: the transform DAG against the PostgreSQL warehouse, one Cosmos task per dbt node."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, real_sickness_files

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.xdist_group("airflow")]


@pytest.fixture
def postgres_settings(monkeypatch, settings_env):
    import psycopg2

    name = f"culture_outcomes_test_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("CULTURE_OUTCOMES_WAREHOUSE_TARGET", "postgres")
    monkeypatch.setenv("CULTURE_OUTCOMES_WAREHOUSE_POSTGRES_DBNAME", name)
    yield settings_env()
    admin = psycopg2.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'drop database if exists "{name}" with (force)')
    admin.close()


def test_transform_dag_builds_marts_and_benchmarks_on_postgres(tmp_path, publisher, postgres_settings):
    from pipelines.airflow_env import airflow_environment
    from pipelines.ingest import ingest_source
    from pipelines.transform import parse_project
    from pipelines.warehouse.connection import connect, ensure_postgres_database

    _, _, add = publisher
    add(real_sickness_files()[:2])
    settings = postgres_settings
    assert ensure_postgres_database(settings) is True
    ingest_source("sickness_absence", settings, progress=lambda _: None)
    parse_project(settings)

    env = airflow_environment(tmp_path / "airflow_home", base=dict(os.environ))
    env["CULTURE_OUTCOMES_AIRFLOW_RETRIES"] = "0"
    airflow = str(Path(sys.executable).with_name("airflow"))
    for args in (["db", "migrate"], ["pools", "set", "warehouse_writer", "4", "PostgreSQL writers"],
                 ["dags", "reserialize"], ["dags", "test", "transform_marts"]):
        result = subprocess.run([airflow, *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)
        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]

    with connect(settings) as warehouse:
        facts = warehouse.query("select count(*) as n from marts.fct_culture_outcomes")
        bench = warehouse.query("select count(*) as n from benchmarks.benchmark_table where comparator = 'network'")
    raw_rows = sum(sum(1 for _ in f.open()) - 1 for f in real_sickness_files()[:2])
    assert int(facts["n"].iloc[0]) == raw_rows
    assert int(bench["n"].iloc[0]) > 0
