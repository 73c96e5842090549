"""The models' enforced contracts: typed columns, and a null where one is not allowed stops the build
with the database's message naming the column (a not_null constraint in the table's DDL, checked as
rows are written, rather than a test query per column after the build). Every model of the project
has one: the observation staging, ODS staging, intermediate and mart models; only the seed (which
cannot have a contract) keeps not_null data tests."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import raw_dataset
from conftest import _dbt_env, _run_dbt, empty_warehouse, run_dbt_unchecked

from pipelines.warehouse.connection import connect
from pipelines.warehouse.loader import ensure_raw_tables

# The columns each model's contract keeps from null (the not_null tests they replaced, unchanged).
NOT_NULL_COLUMNS = {
    "stg_ods__trusts": {"org_code", "org_name", "is_closed", "vintage", "extract_sha256"},
    "stg_ods__successors": {"old_code", "new_code", "vintage", "extract_sha256"},
    "int_successors_resolved": {"old_code", "successor_codes", "n_successors", "is_split", "chain_depth"},
    "int_organisations_conformed": {"org_code", "org_type", "org_type_source", "is_closed", "is_in_ods",
                                    "is_split_succession", "is_network_member"},
    "int_calendar": {"month_start", "month_end", "financial_year"},
    "int_observations_unioned": {"org_code", "metric_id", "period_start", "period_end", "suppressed"},
    "int_turnover_rates": {"org_code"},
    "int_trust_year_metrics": {"org_code", "survey_year", "metric_id"},
    "fct_culture_outcomes": {"org_code", "metric_id", "period_start", "period_end", "grain", "suppressed", "source"},
    "dim_organisation": {"org_code", "org_type", "is_network_member"},
    "dim_metric": {"metric_id"},
    "mart_culture_outcomes_dashboard": {"org_code", "survey_year"},
    "mart_culture_outcome_associations": {"survey_year", "scope", "culture_metric_id", "outcome_metric_id",
                                          "n_trusts"},
}


def _load(settings, extract, rows) -> None:
    ensure_raw_tables(settings)
    raw_dataset.load_extracts(settings, [replace(extract, rows=rows)])


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


@pytest.mark.parametrize("target", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_null_reaching_a_mart_stops_its_build_naming_the_column_and_keeps_the_published_table(tmp_path, target):
    """A null grain planted in int_observations_unioned (whose contract allows one there; staging's does
    not, so it cannot come from the raw layer) stops fct_culture_outcomes, whose contract forbids it,
    with the database's message; the mart already built stays as it was."""
    extract = raw_dataset.sickness_extracts()[0]
    with empty_warehouse(target, tmp_path) as settings:
        env = _dbt_env(settings)
        _load(settings, extract, extract.rows)
        _run_dbt(target, tmp_path, env, "seed")
        _run_dbt(target, tmp_path, env, "run", "--select", "+fct_culture_outcomes")
        count = "select count(*) as n, count(grain) as with_grain from marts.fct_culture_outcomes"
        with connect(settings) as warehouse:
            published = warehouse.query(count).to_dict("records")
            warehouse.execute("update intermediate.int_observations_unioned set grain = null "
                              "where metric_id = 'sickness_absence_rate'")
        done = run_dbt_unchecked(target, tmp_path, env, "run", "--select", "fct_culture_outcomes")
        with connect(settings) as warehouse:
            after = warehouse.query(count).to_dict("records")
    message = {
        "duckdb": "NOT NULL constraint failed: fct_culture_outcomes__dbt_tmp.grain",
        "postgres": 'null value in column "grain" of relation "fct_culture_outcomes__dbt_tmp" violates not-null constraint',
    }[target]
    assert done.returncode == 1, done.stdout[-1500:]
    assert message in done.stdout, done.stdout[-1500:]
    assert published[0]["n"] > 0 and after == published and after[0]["with_grain"] == after[0]["n"]


def test_every_model_enforces_its_contract_and_only_the_seed_keeps_not_null_tests(tmp_path):
    """The intermediate models' constrained columns all derive from constrained columns or from
    expressions that are never null, so no null can be planted upstream of them without an earlier
    constraint refusing it first: the manifest shows their contracts and constraints instead."""
    with empty_warehouse("duckdb", tmp_path) as settings:
        _run_dbt("duckdb", tmp_path, _dbt_env(settings), "parse")
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    models = {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    not_null_tests = {
        (manifest["nodes"][node["attached_node"]]["name"], node["column_name"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and (node.get("test_metadata") or {}).get("name") == "not_null"
    }

    for name, model in models.items():
        assert model["config"]["materialized"] in ("table", "incremental"), name
        assert model["config"]["contract"]["enforced"], f"{name} has no enforced contract"
        assert all(column.get("data_type") for column in model["columns"].values()), name
    for name, columns in NOT_NULL_COLUMNS.items():
        constrained = {column for column, spec in models[name]["columns"].items()
                       if any(c["type"] == "not_null" for c in spec["constraints"])}
        assert constrained == columns, name
    assert {model for model, _ in not_null_tests} == {"metric_catalogue"}
