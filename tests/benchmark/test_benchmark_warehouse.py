"""Warehouse round trip on DuckDB (a temporary file) and PostgreSQL (a temporary database on
127.0.0.1:5432, skipped when unreachable): minimal marts in, ``benchmarks.benchmark_table`` and
``benchmarks.benchmark_methods`` out, replaced whole on every run."""

from __future__ import annotations

import os
import uuid

import pandas as pd
import pytest
from benchmark_facts import METRICS, make_facts, organisations

from pipelines.benchmark import (
    BENCHMARK_SCHEMA,
    BENCHMARK_TABLE,
    build_benchmark_tables,
    compute_benchmark_table,
)
from pipelines.benchmark.facts import load_facts
from pipelines.benchmark.schema import COLUMN_NAMES, COLUMN_TYPES, METHODS_TABLE
from pipelines.config import load_settings
from pipelines.warehouse.connection import connect

MARTS_DDL = [
    "create schema if not exists marts",
    "drop table if exists marts.fct_culture_outcomes",
    "drop table if exists marts.dim_organisation",
    "drop table if exists marts.dim_metric",
    """create table marts.fct_culture_outcomes (
        org_code text, metric_id text, period_start date, period_end date, grain text, value double precision,
        numerator double precision, denominator double precision, suppressed boolean, vintage text,
        extract_sha256 text, source text)""",
    """create table marts.dim_organisation (
        org_code text, org_name text, is_network_member boolean, network_name text, peer_group text,
        org_type text, region_code text)""",
    """create table marts.dim_metric (
        metric_id text, metric_name text, unit text, polarity text, benchmark_method text,
        target double precision, domain text, grain text)""",
]


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request, tmp_path):
    environ = {
        "CULTURE_OUTCOMES_PATHS_DATA_DIR": str(tmp_path / "data"),
        "CULTURE_OUTCOMES_WAREHOUSE_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
    }
    if request.param == "duckdb":
        yield load_settings(environ=environ)
        return
    yield from _temporary_postgres(environ)


def _temporary_postgres(environ):
    psycopg2 = pytest.importorskip("psycopg2")
    passed = {key: value for key, value in os.environ.items() if key.startswith("CULTURE_OUTCOMES_WAREHOUSE_POSTGRES_")}
    dbname = f"culture_outcomes_test_{uuid.uuid4().hex[:12]}"
    settings = load_settings(environ=environ | passed | {
        "CULTURE_OUTCOMES_WAREHOUSE_TARGET": "postgres", "CULTURE_OUTCOMES_WAREHOUSE_POSTGRES_DBNAME": dbname})
    try:
        admin = psycopg2.connect(settings.warehouse.postgres_dsn(dbname="postgres"), connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {settings.warehouse.postgres_host}: {exc}")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{dbname}"')
    try:
        yield settings
    finally:
        with admin.cursor() as cursor:
            cursor.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s "
                           "and pid <> pg_backend_pid()", (dbname,))
            cursor.execute(f'drop database if exists "{dbname}"')
        admin.close()


def load_marts(settings, facts: pd.DataFrame) -> None:
    orgs = organisations().rename(columns={"in_network": "is_network_member"})
    orgs = orgs.assign(org_type="Acute", region_code="Y61", network_name="Bedfordshire, Luton and Milton Keynes")
    orgs.loc[orgs["org_code"] == "A08", "peer_group"] = None
    metrics = pd.DataFrame([
        {"metric_id": metric_id, "metric_name": metric_id.replace("_", " "), "unit": unit, "polarity": polarity,
         "benchmark_method": method, "target": 5.0 if metric_id == "sickness_rate" else target,
         "domain": "outcome", "grain": "month"}
        for metric_id, (unit, polarity, method, target) in METRICS.items()
    ])
    fct = facts[["org_code", "metric_id", "period_start", "period_end", "grain", "value", "numerator",
                 "denominator", "suppressed", "vintage", "extract_sha256"]].assign(source="synthetic")
    fct = fct.assign(period_start=fct["period_start"].dt.date, period_end=fct["period_end"].dt.date)
    with connect(settings) as warehouse, warehouse.transaction():
        for statement in MARTS_DDL:
            warehouse.execute(statement)
        warehouse.insert("marts", "dim_organisation", orgs)
        warehouse.insert("marts", "dim_metric", metrics)
        warehouse.insert("marts", "fct_culture_outcomes", fct)


def test_build_benchmark_tables_round_trip(settings):
    facts = make_facts(periods=16)
    hidden = (facts["org_code"] == "M02") & (facts["period_start"] == facts["period_start"].max())
    facts.loc[hidden, "suppressed"] = True
    facts.loc[hidden, ["value", "numerator", "denominator"]] = None
    load_marts(settings, facts)

    summary = build_benchmark_tables(settings)
    assert summary["rows"] == 2 * len(facts) + facts["org_code"].isin(["A01", "A02", "M01", "M02"]).sum()
    assert summary["metrics"] == 4 and summary["organisations"] == 13

    with connect(settings, read_only=True) as warehouse:
        stored = warehouse.query(f"select * from {BENCHMARK_SCHEMA}.{BENCHMARK_TABLE}")
        types = warehouse.query(
            "select column_name, data_type from information_schema.columns "
            f"where table_schema = '{BENCHMARK_SCHEMA}' and table_name = '{BENCHMARK_TABLE}' order by ordinal_position"
        )
        methods = warehouse.query(f"select * from {BENCHMARK_SCHEMA}.{METHODS_TABLE}")
        doubles = [name for name, kind in COLUMN_TYPES.items() if kind == "double precision"]
        nans = warehouse.query(f"select count(*) as n from {BENCHMARK_SCHEMA}.{BENCHMARK_TABLE} where "
                               + " or ".join(f""""{name}" = 'NaN'::double precision""" for name in doubles)
                               )["n"].iloc[0]
        nulls = warehouse.query(f"select count(*) as n from {BENCHMARK_SCHEMA}.{BENCHMARK_TABLE} "
                                "where ci_lower is null")["n"].iloc[0]
        expected = compute_benchmark_table(load_facts(warehouse))
    assert list(stored.columns) == list(COLUMN_NAMES)
    sql_types = {"double precision": ("DOUBLE", "double precision"), "bigint": ("BIGINT", "bigint"),
                 "boolean": ("BOOLEAN", "boolean"), "date": ("DATE", "date"), "text": ("VARCHAR", "text")}
    assert {name: kind for name, kind in zip(types["column_name"], types["data_type"], strict=True)} == {
        name: sql_types[kind][0 if settings.warehouse.target == "duckdb" else 1] for name, kind in COLUMN_TYPES.items()}
    assert len(stored) == summary["rows"]
    assert nans == 0 and nulls > 0  # missing statistics are SQL NULL, never NaN

    # What is stored is what was computed: NULLs stay NULL (never NaN), dates stay dates.
    keys = ["org_code", "metric_id", "period_start", "comparator"]
    stored = stored.sort_values(keys).reset_index(drop=True)
    expected = expected.sort_values(keys).reset_index(drop=True)
    for column in ("value", "median", "rank", "ci_lower", "funnel_upper_998", "funnel_tau2", "spc_upl"):
        left = pd.to_numeric(stored[column]).to_numpy(float)
        right = pd.to_numeric(expected[column]).astype(float).to_numpy()
        assert left == pytest.approx(right, nan_ok=True)
    for column in ("significance", "funnel_flag", "variation_icon", "significance_reason", "comparator_group"):
        assert stored[column].fillna("<null>").tolist() == expected[column].fillna("<null>").tolist()
    suppressed = stored[stored["suppressed"]]
    assert set(suppressed["org_code"]) == {"M02"}
    assert suppressed[["value", "rank", "percentile", "ci_lower", "funnel_flag"]].isna().all().all()
    assert pd.Timestamp(stored["period_start"].min()) == pd.Timestamp("2022-01-01")
    a08 = stored[stored["org_code"] == "A08"]  # no peer group in dim_organisation
    assert a08.loc[a08["comparator"] == "peer_group", "comparator_group"].isna().all()
    assert (a08.loc[a08["comparator"] == "peer_group", "distribution_reason"] == "organisation has no peer group").all()
    assert set(stored.loc[stored["comparator"] == "network", "comparator_group"]) == {
        "Bedfordshire, Luton and Milton Keynes"}
    latest_sickness = stored[(stored["metric_id"] == "sickness_rate") & stored["is_latest_period"]]
    assert latest_sickness["assurance_icon"].notna().all()
    assert set(methods["method_id"]) >= {"wilson_score", "byar_exact_poisson", "fingertips_interpolated",
                                         "xmr_making_data_count", "overdispersion_additive"}
    assert methods["reference"].notna().all()

    # A second run replaces the table (no appended duplicates).
    assert build_benchmark_tables(settings)["rows"] == summary["rows"]
    with connect(settings, read_only=True) as warehouse:
        count = warehouse.query(f"select count(*) as n from {BENCHMARK_SCHEMA}.{BENCHMARK_TABLE}")["n"].iloc[0]
        assert count == summary["rows"]
        assert warehouse.query(f"select count(*) as n from {BENCHMARK_SCHEMA}.{METHODS_TABLE}")["n"].iloc[0] == len(
            methods)


def test_load_facts_keeps_facts_whose_organisation_or_metric_is_unknown(settings):
    facts = make_facts(metrics=["pp1_score"], periods=1)
    load_marts(settings, facts)
    with connect(settings) as warehouse:
        warehouse.execute(
            "insert into marts.fct_culture_outcomes (org_code, metric_id, period_start, grain, value, suppressed) "
            "values ('ZZZ', 'pp1_score', date '2022-01-01', 'month', 6.0, false), "
            "('A01', 'unknown_metric', date '2022-01-01', 'month', 1.0, false)"
        )
        loaded = load_facts(warehouse)
    assert len(loaded) == len(facts) + 2
    table = compute_benchmark_table(loaded)
    stranger = table[table["org_code"] == "ZZZ"]
    assert set(stranger["comparator"]) == {"peer_group", "england"}
    assert stranger.loc[stranger["comparator"] == "england", "rank"].notna().all()
    unknown = table[table["metric_id"] == "unknown_metric"]
    assert unknown["significance_reason"].str.contains("not one of").all()
