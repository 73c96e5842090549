"""PostgreSQL publication: the real pipeline on a throw-away database ``culture_outcomes_test_<random>``
(127.0.0.1:5432), published; the ``benchmarks`` swap is all-or-nothing and the BI role reads
``marts`` and ``benchmarks`` but not ``raw``, ``staging`` or ``intermediate``."""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_release_contents import ROOT, no_packs

from pipelines.config import load_settings
from pipelines.publish import release
from pipelines.publish.release import ReleaseError, list_releases, publish_release, verify

pytestmark = pytest.mark.postgres
psycopg2 = pytest.importorskip("psycopg2")
_PASSED = ("HOST", "PORT", "USER", "PASSWORD")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "tests" / "dbt"))
    import raw_dataset

    from pipelines.benchmark.tables import build_benchmark_tables
    from pipelines.transform import run_dbt

    tmp = tmp_path_factory.mktemp("postgres")
    suffix = uuid.uuid4().hex[:12]
    dbname, role = f"culture_outcomes_test_{suffix}", f"culture_outcomes_bi_test_{suffix}"
    env = {f"CULTURE_OUTCOMES_WAREHOUSE_POSTGRES_{k}": os.environ[f"CULTURE_OUTCOMES_WAREHOUSE_POSTGRES_{k}"]
           for k in _PASSED if f"CULTURE_OUTCOMES_WAREHOUSE_POSTGRES_{k}" in os.environ} | {
        "CULTURE_OUTCOMES_PATHS_DATA_DIR": str(tmp / "data"),
        "CULTURE_OUTCOMES_WAREHOUSE_TARGET": "postgres",
        "CULTURE_OUTCOMES_WAREHOUSE_POSTGRES_DBNAME": dbname,
        "CULTURE_OUTCOMES_WAREHOUSE_POSTGRES_BI_ROLE": role,
    }
    settings = load_settings(environ=env)
    try:
        admin = psycopg2.connect(settings.warehouse.postgres_dsn(dbname="postgres"), connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {settings.warehouse.postgres_host}: {exc}")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{dbname}"')
    try:
        raw_dataset.load_raw(settings)
        run_dbt(settings, "build", "--log-path", str(tmp / "logs"), target_path=tmp / "target")
        build_benchmark_tables(settings)
        yield settings
    finally:
        with admin.cursor() as cursor:
            cursor.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s "
                           "and pid <> pg_backend_pid()", (dbname,))
            cursor.execute(f'drop database if exists "{dbname}"')
            cursor.execute(f'drop role if exists "{role}"')
        admin.close()


def sql(settings, statement: str, params=()):
    con = psycopg2.connect(settings.warehouse.postgres_dsn())
    con.autocommit = True
    try:
        with con.cursor() as cursor:
            cursor.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else None
    finally:
        con.close()


def as_bi_role(settings, statement: str):
    """Run a query with SET ROLE to the BI role; returns rows or the psycopg2 error."""
    con = psycopg2.connect(settings.warehouse.postgres_dsn())
    try:
        with con.cursor() as cursor:
            cursor.execute(f'set role "{settings.warehouse.postgres_bi_role}"')
            try:
                cursor.execute(statement)
                return cursor.fetchall()
            except psycopg2.Error as error:
                return error
    finally:
        con.rollback()
        con.close()


def schema_oid(settings, name: str):
    found = sql(settings, "select oid from pg_namespace where nspname = %s", (name,))
    return found[0][0] if found else None


def test_publish_on_postgres_swaps_benchmarks_in_and_the_bi_role_reads_only_marts_and_benchmarks(
        warehouse, monkeypatch):
    no_packs(monkeypatch)
    settings = warehouse
    before = schema_oid(settings, "benchmarks")
    result = publish_release(settings, progress=lambda line: None)
    folder = Path(result["path"])
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    postgres = manifest["bi"]["postgres"]
    assert postgres["swap"]["transaction"] == "single, all-or-nothing"
    assert postgres["bi_role"]["read"] == ["marts", "benchmarks"]
    assert set(postgres["bi_role"]["no_access"]) == {"raw", "staging", "intermediate"}
    assert schema_oid(settings, "benchmarks") not in (None, before)  # a new schema, swapped in
    assert schema_oid(settings, "benchmarks_next") is None and schema_oid(settings, "benchmarks_old") is None
    rows = sql(settings, "select count(*), count(*) filter (where suppressed) from benchmarks.benchmark_table")[0]
    published = manifest["extracts"]["rows"]
    assert rows[0] == published and rows[1] > 0
    assert sql(settings, "select count(*) from benchmarks.benchmark_table where suppressed and "
                         "(value is not null or denominator is not null or rank is not null)")[0][0] == 0
    assert sql(settings, "select count(*) from benchmarks.benchmark_methods")[0][0] > 0

    role = settings.warehouse.postgres_bi_role
    assert sql(settings, "select rolcanlogin from pg_roles where rolname = %s", (role,)) == [(False,)]
    for statement in ("select count(*) from marts.fct_culture_outcomes", "select count(*) from marts.dim_metric",
                      "select count(*) from benchmarks.benchmark_table",
                      "select count(*) from benchmarks.benchmark_methods"):
        outcome = as_bi_role(settings, statement)
        assert isinstance(outcome, list) and outcome[0][0] > 0, (statement, outcome)
    for statement in ("select count(*) from raw.fft", "select count(*) from raw.sickness_absence",
                      "select count(*) from staging.stg_fft__responses",
                      "select count(*) from intermediate.int_observations_unioned"):
        outcome = as_bi_role(settings, statement)
        assert isinstance(outcome, psycopg2.errors.InsufficientPrivilege), (statement, outcome)
        assert "permission denied" in str(outcome)
    visible = as_bi_role(settings, "select distinct table_schema from information_schema.tables "
                                   "where table_schema in ('raw', 'staging', 'intermediate', 'marts', 'benchmarks')")
    assert {row[0] for row in visible} == {"marts", "benchmarks"}

    # The DuckDB snapshot was copied from PostgreSQL, with the same tables.
    con = duckdb.connect(str(folder / "bi" / "culture_outcomes.duckdb"), read_only=True)
    try:
        tables = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables where table_schema <> 'main'").fetchall()}
        assert con.execute("select count(*) from benchmarks.benchmark_table").fetchone()[0] == published
        types = dict(con.execute("select column_name, data_type from information_schema.columns where "
                                 "table_name = 'fct_culture_outcomes'").fetchall())
    finally:
        con.close()
    assert {"marts.fct_culture_outcomes", "marts.dim_metric", "benchmarks.benchmark_table"} <= tables
    assert types["period_start"] == "DATE" and types["value"] == "DOUBLE"


def _a_published_release(warehouse, monkeypatch) -> tuple[Any, Path, str, int | None]:
    """Settings, the published folder, the `latest` release and the live ``benchmarks`` schema's oid,
    publishing a first release (without packs) when there is none yet."""
    no_packs(monkeypatch)
    published = warehouse.paths.published
    if not (published / "latest").is_symlink():
        publish_release(warehouse, progress=lambda line: None)
    return warehouse, published, os.readlink(published / "latest"), schema_oid(warehouse, "benchmarks")


def test_the_benchmarks_swap_is_all_or_nothing(warehouse, monkeypatch):
    """A view someone built on the live benchmark table makes the drop of the old tables fail after
    both renames: the transaction rolls back, the old schema stays, the release fails, `latest` stays."""
    settings, published, latest, before = _a_published_release(warehouse, monkeypatch)
    content = sql(settings, "select count(*), sum(coalesce(value, 0)) from benchmarks.benchmark_table")
    sql(settings, "create view public.team_dashboard as select org_code, value from benchmarks.benchmark_table")
    try:
        with pytest.raises(ReleaseError, match="swap was rolled back.*depend"):
            publish_release(settings, progress=lambda line: None)
        assert schema_oid(settings, "benchmarks") == before
        assert schema_oid(settings, "benchmarks_old") is None
        assert sql(settings, "select count(*), sum(coalesce(value, 0)) from benchmarks.benchmark_table") == content
        assert os.readlink(published / "latest") == latest
        assert [r["release_id"] for r in list_releases(settings)][0] == latest
        assert not list(published.glob(".staging-*"))
        assert isinstance(as_bi_role(settings, "select count(*) from benchmarks.benchmark_table"), list)
    finally:
        sql(settings, "drop view if exists public.team_dashboard")

    again = publish_release(settings, progress=lambda line: None)
    assert schema_oid(settings, "benchmarks") != before
    verify(Path(again["path"]))
    assert isinstance(as_bi_role(settings, "select count(*) from benchmarks.benchmark_table"), list)


def test_the_published_benchmark_table_is_indexed_for_the_dashboards_once_per_access_path(warehouse, monkeypatch):
    no_packs(monkeypatch)
    settings = warehouse
    for _ in range(2):  # the second release copies the first's table `including all`
        publish_release(settings, progress=lambda line: None)
    indexes = sql(settings, "select indexdef from pg_indexes where schemaname = 'benchmarks' "
                            "and tablename = 'benchmark_table' order by indexname")
    definitions = [row[0] for row in indexes]
    assert len(definitions) == 2, definitions
    assert any("(org_code, metric_id, period_start)" in d for d in definitions)
    assert any("(metric_id, period_start, comparator)" in d for d in definitions)
    plan = "\n".join(row[0] for row in sql(
        settings, "explain select * from benchmarks.benchmark_table where org_code = 'RC9' and metric_id = 'x'"))
    assert "Index" in plan, plan


def test_a_release_that_fails_after_its_tables_are_built_leaves_postgres_on_the_previous_release(
        warehouse, monkeypatch):
    """PostgreSQL's benchmarks were once swapped in before the release's files were verified: a
    release failing then left PostgreSQL on it and `latest` on the one before."""
    settings, published, latest, before = _a_published_release(warehouse, monkeypatch)

    def planted_failure(folder: Path) -> None:
        raise ReleaseError(f"release {folder.name}: a file does not match its manifest hash (planted)")

    monkeypatch.setattr(release, "verify", planted_failure)
    with pytest.raises(ReleaseError, match="planted"):
        publish_release(settings, progress=lambda line: None)
    assert schema_oid(settings, "benchmarks") == before
    assert os.readlink(published / "latest") == latest
    assert [r["release_id"] for r in list_releases(settings)][0] == latest
