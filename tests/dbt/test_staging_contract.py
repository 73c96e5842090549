"""The observation staging models' contract: typed columns, and a null where one is not allowed stops
the build with the database's message naming the column (a not_null constraint in the table's DDL,
checked as rows are written, rather than a test query per column after the build)."""

from __future__ import annotations

import pytest
import raw_dataset
from conftest import _dbt_env, _run_dbt, empty_warehouse, run_dbt_unchecked

from pipelines.parsers.common import observation_frame
from pipelines.warehouse.connection import connect
from pipelines.warehouse.loader import ensure_raw_tables, load_extract


def _load(settings, extract, rows) -> None:
    with connect(settings) as warehouse:
        ensure_raw_tables(warehouse)
        load_extract(warehouse, extract.source_id, observation_frame(rows), sha256=extract.sha256,
                     vintage=extract.vintage, layout=extract.layout, file_name=extract.file_name)


def test_staged_columns_have_the_contracted_types(tmp_path):
    extract = raw_dataset.sickness_extracts()[0]
    with empty_warehouse("duckdb", tmp_path) as settings:
        _load(settings, extract, extract.rows)
        _run_dbt("duckdb", tmp_path, _dbt_env(settings), "run", "--select", "stg_sickness_absence__rates")
        with connect(settings) as warehouse:
            types = dict(warehouse.query(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'staging' and table_name = 'stg_sickness_absence__rates'").to_numpy())
            nullable = dict(warehouse.query(
                "select column_name, is_nullable from information_schema.columns "
                "where table_schema = 'staging' and table_name = 'stg_sickness_absence__rates'").to_numpy())
    assert (types["period_start"], types["value"], types["suppressed"], types["source_row"]) == (
        "DATE", "DOUBLE", "BOOLEAN", "BIGINT")
    assert nullable["org_code"] == "NO" and nullable["value"] == "YES"


@pytest.mark.parametrize("column", ["grain", "period_end"])
def test_a_null_the_contract_forbids_stops_the_build_naming_the_column(tmp_path, column):
    extract = raw_dataset.sickness_extracts()[0]
    rows = [dict(row) for row in extract.rows]
    rows[1][column] = None
    with empty_warehouse("duckdb", tmp_path) as settings:
        _load(settings, extract, rows)
        done = run_dbt_unchecked("duckdb", tmp_path, _dbt_env(settings), "run", "--select", "stg_sickness_absence__rates")
    assert done.returncode == 1, done.stdout[-1500:]
    assert f"NOT NULL constraint failed: stg_sickness_absence__rates.{column}" in done.stdout, done.stdout[-1500:]
