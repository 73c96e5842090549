"""Incremental staging restages exactly what a full rebuild would, on DuckDB and on PostgreSQL.

A refresh restages only the observations whose raw rows changed. Proven here against a full rebuild
of the same raw rows after every kind of change a refresh brings: a new month, a cumulative file
restating an earlier month with a newer vintage, a late file with an older vintage (which must lose),
and an extract loaded again.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import raw_dataset
from conftest import _dbt_env, _run_dbt, empty_warehouse

from pipelines.transform import STAGING_SCHEMA, reset_staging_built_by_another_project
from pipelines.warehouse.connection import connect
from pipelines.warehouse.loader import ensure_raw_tables

OBSERVATION_MODELS = (
    "stg_fft__responses", "stg_sickness_absence__rates", "stg_sickness_absence_reason__days_lost",
    "stg_sickness_absence_staff_group__rates", "stg_staff_survey_benchmark__scores",
    "stg_staff_survey_detailed__responses", "stg_turnover__flows", "stg_workforce_staff_in_post__staff_in_post",
)
SENTINEL = "ZZ9"  # a row planted in staging between the builds: only an incremental build keeps it


def _staged(warehouse) -> dict[str, list[tuple]]:
    return {model: sorted(map(tuple, warehouse.query(
        f"select * from {STAGING_SCHEMA}.{model} where org_code <> '{SENTINEL}'").astype(str).to_numpy()))
        for model in OBSERVATION_MODELS}


@pytest.mark.parametrize("target", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_refresh_restages_only_what_changed_and_ends_as_a_full_rebuild_would(target, tmp_path):
    every = raw_dataset.all_extracts()
    workforce = [e for e in every if e.source_id == "workforce_staff_in_post"]
    sickness = [e for e in every if e.source_id == "sickness_absence"]
    restating, new_month = workforce[-1], sickness[-1]  # vintage 2025-03 restates March 2024
    older = replace(workforce[0], vintage="2023-12",  # published late: must lose to 2024-03
                    rows=[row | {"value": -1.0} for row in workforce[0].rows])
    first = [e for e in every if e is not restating and e is not new_month]

    with empty_warehouse(target, tmp_path) as settings:
        env = _dbt_env(settings)
        ensure_raw_tables(settings)
        raw_dataset.load_extracts(settings, first)
        _run_dbt(target, tmp_path, env, "run", "--select", "staging")
        with connect(settings) as warehouse:
            warehouse.execute(f"insert into {STAGING_SCHEMA}.stg_sickness_absence__rates (org_code, period_start, "
                              "period_end, grain, measure, breakdown, suppressed, vintage, extract_sha256) values "
                              f"('{SENTINEL}', date '2001-01-01', date '2001-01-31', 'month', 'x', 'all', false, "
                              "'2001-01', 'planted')")
        raw_dataset.load_extracts(settings, [restating, new_month, older, sickness[0]])  # sickness[0]: loaded again

        _run_dbt(target, tmp_path, env, "run", "--select", "staging")
        with connect(settings) as warehouse:
            incremental = _staged(warehouse)
            kept = warehouse.query(f"select count(*) as n from {STAGING_SCHEMA}.stg_sickness_absence__rates "
                                   f"where org_code = '{SENTINEL}'")["n"].iloc[0]
        _run_dbt(target, tmp_path, env, "run", "--select", "staging", "--full-refresh")
        with connect(settings) as warehouse:
            rebuilt = _staged(warehouse)

    assert kept == 1  # the second build was incremental: it left the rows it had no reason to touch
    assert incremental == rebuilt
    staff = [row for row in rebuilt["stg_workforce_staff_in_post__staff_in_post"] if row[6] == "2024-03-01"]
    assert staff and all(row[19] == "2025-03" for row in staff)  # the newest vintage of March 2024 won
    assert any(row[6] == str(new_month.rows[0]["period_start"]) for row in rebuilt["stg_sickness_absence__rates"])


def test_staging_is_dropped_once_when_another_dbt_project_built_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CULTURE_OUTCOMES_PATHS_DATA_DIR", str(tmp_path / "data"))
    from pipelines.config import load_settings

    settings = load_settings()
    with connect(settings) as warehouse:
        warehouse.execute(f"create schema {STAGING_SCHEMA}")
        warehouse.execute(f"create table {STAGING_SCHEMA}.stg_kept (x integer)")
        assert reset_staging_built_by_another_project(settings, warehouse)  # no record of its project: dropped
        warehouse.execute(f"create schema {STAGING_SCHEMA}")
        warehouse.execute(f"create table {STAGING_SCHEMA}.stg_kept (x integer)")
        assert not reset_staging_built_by_another_project(settings, warehouse)  # same project: kept
        assert len(warehouse.query(f"select * from {STAGING_SCHEMA}.stg_kept").columns) == 1

    changed = replace(settings, network=replace(settings.network, name="Another network"))
    with connect(changed) as warehouse:
        assert reset_staging_built_by_another_project(changed, warehouse)  # other variables: dropped again
        tables = warehouse.query("select table_name from information_schema.tables "
                                 f"where table_schema = '{STAGING_SCHEMA}'")
    assert tables.empty
