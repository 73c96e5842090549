"""BI outputs: a read-only DuckDB snapshot per release and, on PostgreSQL, the published schemas.

DuckDB: ``bi/culture_outcomes.duckdb`` holds copies of the ``marts`` and ``benchmarks`` tables
(copied from the live warehouse, attached read-only; from PostgreSQL through the warehouse
connection) with disclosure control applied, plus ``main.snapshot_info``; the file is made
read-only. BI tools open this file, never the live warehouse. The same tables are written as
``bi/parquet/<schema>.<table>.parquet``.

PostgreSQL: dbt builds ``marts``; the release's benchmark tables are built in
``benchmarks_next`` and swapped in with one transaction (``benchmarks`` -> ``benchmarks_old``,
``benchmarks_next`` -> ``benchmarks``, old tables and schema dropped without CASCADE): BI users
see the old tables or the new ones, never a mix, and if anything fails (a lock that does not
come, a view someone built on the old tables) nothing changes. :func:`ensure_bi_role` keeps a
NOLOGIN role (``warehouse.postgres_bi_role``) that can read ``marts`` and ``benchmarks`` only.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipelines.benchmark.schema import BENCHMARK_SCHEMA, BENCHMARK_TABLE, create_table_sql
from pipelines.config import Settings
from pipelines.publish.disclosure import Rule, sql_identifier
from pipelines.publish.release import ReleaseError

SNAPSHOT_FILE = "culture_outcomes.duckdb"
#: DuckDB's memory while it writes the snapshot (it would otherwise take up to 80% of RAM): the
#: national benchmark table went in with 770-870 MiB more, and with 320 MiB at this cap, 0.9 s
#: slower; the snapshot is written while Chromium prints the packs (benchmarks/FINDINGS.md, section 14).
SNAPSHOT_MEMORY_LIMIT = "256MB"
BI_SCHEMAS: tuple[str, ...] = ("marts", BENCHMARK_SCHEMA)
HIDDEN_SCHEMAS: tuple[str, ...] = ("raw", "staging", "intermediate")
FACTS = ("marts", "fct_culture_outcomes")
DASHBOARD = ("marts", "mart_culture_outcomes_dashboard")
NEXT_SCHEMA = f"{BENCHMARK_SCHEMA}_next"
OLD_SCHEMA = f"{BENCHMARK_SCHEMA}_old"
SWAP_LOCK_TIMEOUT = "60s"

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_PG_TO_DUCKDB = {
    "double precision": "DOUBLE", "real": "FLOAT", "numeric": "DOUBLE", "integer": "INTEGER", "bigint": "BIGINT",
    "smallint": "SMALLINT", "boolean": "BOOLEAN", "date": "DATE", "text": "VARCHAR", "character varying": "VARCHAR",
    "character": "VARCHAR", "timestamp without time zone": "TIMESTAMP", "timestamp with time zone": "TIMESTAMPTZ",
}


def _name(schema: str, table: str) -> str:
    return f"{sql_identifier(schema)}.{sql_identifier(table)}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- DuckDB snapshot --------------------------------------------------------------------------------------------

def write_bi_snapshot(settings: Settings, folder: Path, benchmark_table: pd.DataFrame, rules: Sequence[Rule],
                      reference: dict[str, Any], progress: Callable[[str], Any] = print) -> dict[str, Any]:
    """``bi/culture_outcomes.duckdb`` and ``bi/parquet/*.parquet`` in the release folder."""
    import duckdb

    bi = folder / "bi"
    parquet = bi / "parquet"
    parquet.mkdir(parents=True)
    path = bi / SNAPSHOT_FILE
    con = duckdb.connect(str(path), config={"memory_limit": SNAPSHOT_MEMORY_LIMIT})
    try:
        for schema in BI_SCHEMAS:
            con.execute(f"create schema {sql_identifier(schema)}")
        if settings.warehouse.target == "duckdb":
            # The benchmark table's rows are replaced by the disclosed ones below: only its columns are copied.
            tables = _copy_from_duckdb(con, settings.warehouse.duckdb_path,
                                       columns_only={(BENCHMARK_SCHEMA, BENCHMARK_TABLE)})
            source = {"warehouse": "duckdb", "attached_read_only": True}
        else:
            tables = _copy_from_postgres(con, settings)
            source = {"warehouse": "postgres", "database": settings.warehouse.postgres_dbname}
        if (BENCHMARK_SCHEMA, BENCHMARK_TABLE) not in tables:
            raise ReleaseError("the warehouse has no benchmark table to snapshot")
        _replace_table(con, BENCHMARK_SCHEMA, BENCHMARK_TABLE, benchmark_table)
        disclosure = disclose_marts(con, rules)
        con.execute("create table main.snapshot_info (release_id varchar, created_at varchar, code_version varchar, "
                    "source varchar, note varchar)")
        con.execute("insert into main.snapshot_info values (?, ?, ?, ?, ?)", [
            reference.get("release_id"), reference.get("created_at"), reference.get("code_version"),
            source["warehouse"], "read-only snapshot of the marts and benchmarks schemas for BI tools; "
            "suppressed cells are null with suppressed = true"])
        listed = []
        for schema, table in tables:
            target = parquet / f"{schema}.{table}.parquet"
            con.execute(f"copy (select * from {_name(schema, table)}) to {_literal(str(target))} (format parquet)")
            rows = con.execute(f"select count(*) from {_name(schema, table)}").fetchone()[0]
            listed.append({"table": f"{schema}.{table}", "rows": int(rows),
                           "parquet": str(target.relative_to(folder))})
            progress(f"BI: {schema}.{table} ({rows} rows) -> bi/{SNAPSHOT_FILE}, {target.relative_to(folder)}")
        con.execute("checkpoint")
    finally:
        con.close()
    for leftover in bi.glob(f"{SNAPSHOT_FILE}.wal"):
        leftover.unlink()
    os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return {
        "duckdb": str(path.relative_to(folder)),
        "open_with": f"duckdb -readonly bi/{SNAPSHOT_FILE}",
        "schemas": list(BI_SCHEMAS),
        "tables": listed,
        "source": source,
        "disclosure": disclosure,
    }


def _copy_from_duckdb(con: Any, live: Path, columns_only: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every marts and benchmarks table of the live warehouse into the snapshot; of those in
    ``columns_only``, the columns and their types but no rows."""
    if not live.exists():
        raise ReleaseError(f"the DuckDB warehouse {live} does not exist: run the transform before publishing")
    con.execute(f"attach {_literal(str(live))} as live (read_only)")
    try:
        listed = con.execute(
            "select table_schema, table_name from information_schema.tables where table_catalog = 'live' "
            f"and table_schema in ({', '.join(_literal(s) for s in BI_SCHEMAS)}) order by 1, 2").fetchall()
        for schema, table in listed:
            rows = " limit 0" if (schema, table) in columns_only else ""
            con.execute(f"create table {_name(schema, table)} as select * from live.{_name(schema, table)}{rows}")
    finally:
        con.execute("detach live")
    return [(s, t) for s, t in listed]


def _copy_from_postgres(con: Any, settings: Settings) -> list[tuple[str, str]]:
    from pipelines.warehouse.connection import connect

    copied = []
    with connect(settings, read_only=True) as warehouse:
        listed = warehouse.query(
            "select table_schema, table_name from information_schema.tables where table_schema in "
            f"({', '.join(_literal(s) for s in BI_SCHEMAS)}) order by 1, 2")
        for schema, table in listed.itertuples(index=False):
            columns = warehouse.query(
                "select column_name, data_type from information_schema.columns where table_schema = ? and "
                "table_name = ? order by ordinal_position", [schema, table])
            definition = ", ".join(f"{sql_identifier(c)} {_PG_TO_DUCKDB.get(kind, 'VARCHAR')}"
                                   for c, kind in columns.itertuples(index=False))
            con.execute(f"create table {_name(schema, table)} ({definition})")
            frame = warehouse.query(f"select * from {_name(schema, table)}")
            _insert(con, schema, table, frame)
            copied.append((schema, table))
    return copied


def _insert(con: Any, schema: str, table: str, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    con.register("_incoming", as_arrow(frame))
    try:
        con.execute(f"insert into {_name(schema, table)} by name select * from _incoming")
    finally:
        con.unregister("_incoming")


def as_arrow(frame: pd.DataFrame) -> pa.Table | pd.DataFrame:
    """``frame`` as an Arrow table for DuckDB to read, its text dictionary-encoded (the frame itself
    when a column of Python objects is not all text, such as dates read from PostgreSQL).

    DuckDB reads a pandas text column one Python object at a time, holding the interpreter's lock,
    while the packs are written in a thread beside it: the national benchmark table took 6 s to go
    into the snapshot that way (2.1 s with nothing beside it). An Arrow table it reads in C++, and
    a text column of shared labels (:func:`pipelines.benchmark.schema.text_column`) is converted
    once per distinct value: 0.55 s, then 1.25 s to insert (benchmarks/FINDINGS.md, section 22).
    """
    arrays = []
    for name in frame.columns:
        column = frame[name]
        if column.dtype != object:
            arrays.append(pa.Array.from_pandas(column))
            continue
        codes, uniques = pd.factorize(column.to_numpy(), use_na_sentinel=True)
        try:
            texts = pa.array(list(uniques), pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return frame
        arrays.append(pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0, type=pa.int32()), texts))
    return pa.Table.from_arrays(arrays, names=[str(name) for name in frame.columns])


def _replace_table(con: Any, schema: str, table: str, frame: pd.DataFrame) -> None:
    """The table's rows replaced by ``frame`` (the disclosed benchmark table), its types kept."""
    try:
        con.execute(f"delete from {_name(schema, table)}")
        _insert(con, schema, table, frame)
    except Exception:  # the frame's columns differ from the stored table (recomputed by newer code)
        con.execute(f"drop table {_name(schema, table)}")
        con.execute(create_table_sql(schema, table))
        _insert(con, schema, table, frame)


def _columns(con: Any, schema: str, table: str) -> dict[str, str]:
    rows = con.execute("select column_name, data_type from information_schema.columns where table_catalog = "
                       "current_database() and table_schema = ? and table_name = ?", [schema, table]).fetchall()
    return {name: kind for name, kind in rows}


def disclose_marts(con: Any, rules: Sequence[Rule]) -> dict[str, Any]:
    """Disclosure control on the snapshot's marts (in place, SQL).

    ``fct_culture_outcomes``: the primary rules mark cells suppressed, and every suppressed row
    loses its value, numerator and denominator (dbt keeps the denominator of a cell it
    suppresses for a small count; here it is withheld). The dashboard's trust-year rows that
    include a cell suppressed here (not upstream) are withheld: a yearly total of monthly values
    less the published months would give the suppressed month away.
    """
    report: dict[str, Any] = {}
    facts = _columns(con, *FACTS)
    if not facts or not {"metric_id", "suppressed"} <= set(facts):
        return {"fct_culture_outcomes": "not in the snapshot"}
    fct = _name(*FACTS)
    keys = [c for c in ("org_code", "grain", "survey_year", "financial_year") if c in facts]
    con.execute(f"create temporary table newly_suppressed as select {', '.join(keys)} from {fct} limit 0")
    per_rule = {}
    for rule in rules:
        if not rule.metric_ids or rule.count_column not in facts:
            per_rule[rule.rule_id] = 0
            continue
        condition = (f"metric_id in ({', '.join('?' for _ in rule.metric_ids)}) and "
                     f"{sql_identifier(rule.count_column)} < ?")
        params = [*rule.metric_ids, rule.threshold]
        con.execute(f"insert into newly_suppressed select {', '.join(keys)} from {fct} "
                    f"where {condition} and not coalesce(suppressed, false)", params)
        per_rule[rule.rule_id] = con.execute(
            f"select count(*) from {fct} where {condition} and not coalesce(suppressed, false)", params).fetchone()[0]
        con.execute(f"update {fct} set suppressed = true where {condition}", params)
    counts = [c for c in ("value", "numerator", "denominator") if c in facts]
    withheld = con.execute(f"select count(*) from {fct} where suppressed and ("
                           + " or ".join(f"{sql_identifier(c)} is not null" for c in counts) + ")").fetchone()[0]
    con.execute(f"update {fct} set " + ", ".join(f"{sql_identifier(c)} = null" for c in counts)
                + " where suppressed")
    report["fct_culture_outcomes"] = {
        "cells_suppressed_at_publication": {k: int(v) for k, v in per_rule.items()},
        "suppressed_rows_whose_counts_were_withheld": int(withheld),
    }
    report["mart_culture_outcomes_dashboard"] = _withhold_dashboard_rows(con, keys)
    con.execute("drop table newly_suppressed")
    return report


def _withhold_dashboard_rows(con: Any, keys: list[str]) -> dict[str, Any]:
    dashboard = _columns(con, *DASHBOARD)
    if not dashboard:
        return {"status": "not in the snapshot"}
    if con.execute("select count(*) from newly_suppressed").fetchone()[0] == 0:
        return {"rows_withheld": 0}
    numbers = [c for c, kind in dashboard.items() if kind in {"DOUBLE", "FLOAT", "DECIMAL"}]
    if {"survey_year", "financial_year", "grain"} <= set(keys) and {"survey_year", "outcome_financial_year"} <= set(
            dashboard):
        match = ("n.org_code = d.org_code and ((n.grain = 'survey_year' and n.survey_year = d.survey_year) or "
                 "(n.grain <> 'survey_year' and n.financial_year = d.outcome_financial_year))")
    else:  # cannot tell which years: withhold the trust's every row
        match = "n.org_code = d.org_code"
    where = f"exists (select 1 from newly_suppressed n where {match})"
    table = _name(*DASHBOARD)
    rows = con.execute(f"select count(*) from {table} d where {where}").fetchone()[0]
    if numbers and rows:
        con.execute(f"update {table} d set " + ", ".join(f"{sql_identifier(c)} = null" for c in numbers)
                    + f" where {where}")
    return {"rows_withheld": int(rows), "columns": numbers}


# --- PostgreSQL -------------------------------------------------------------------------------------------------

def bi_role_name(settings: Settings) -> str:
    role = settings.warehouse.postgres_bi_role
    if not _ROLE.match(role or ""):
        raise ReleaseError(f"configuration warehouse.postgres_bi_role {role!r} is not a plain PostgreSQL role name "
                           "(lower-case letters, digits, underscores)")
    return role


def _pg_connect(settings: Settings) -> Any:
    import psycopg2

    con = psycopg2.connect(settings.warehouse.postgres_dsn())
    con.autocommit = False
    return con


def _schemas(cursor: Any) -> set[str]:
    cursor.execute("select nspname from pg_namespace")
    return {row[0] for row in cursor.fetchall()}


def _grant_read(cursor: Any, schema: str, role: str) -> None:
    s, r = sql_identifier(schema), sql_identifier(role)
    cursor.execute(f"grant usage on schema {s} to {r}")
    cursor.execute(f"grant select on all tables in schema {s} to {r}")
    cursor.execute(f"alter default privileges in schema {s} grant select on tables to {r}")


def ensure_bi_role(settings: Settings) -> dict[str, Any]:
    """Create (or keep) the NOLOGIN BI role with read access to ``marts`` and ``benchmarks`` only.

    BI users log in as themselves and are granted the role (``grant culture_outcomes_bi to
    alice``). The role gets USAGE and SELECT on ``marts`` and ``benchmarks`` (and default
    privileges, so tables dbt recreates stay readable) and nothing on ``raw``, ``staging`` or
    ``intermediate``, whose privileges are also revoked from PUBLIC.
    """
    import psycopg2

    role = bi_role_name(settings)
    con = _pg_connect(settings)
    try:
        with con.cursor() as cursor:
            cursor.execute("select 1 from pg_roles where rolname = %s", (role,))
            created = cursor.fetchone() is None
            if created:
                cursor.execute(f"create role {sql_identifier(role)} nologin")
            else:
                cursor.execute(f"alter role {sql_identifier(role)} nologin")
            present = _schemas(cursor)
            readable = [s for s in BI_SCHEMAS if s in present]
            hidden = [s for s in HIDDEN_SCHEMAS if s in present]
            for schema in hidden:
                s, r = sql_identifier(schema), sql_identifier(role)
                cursor.execute(f"revoke all on all tables in schema {s} from {r}")
                cursor.execute(f"revoke all on schema {s} from {r}")
                cursor.execute(f"revoke all on schema {s} from public")
            for schema in readable:
                _grant_read(cursor, schema, role)
        con.commit()
    except psycopg2.Error as error:
        con.rollback()
        raise ReleaseError(f"could not set up the BI role {role!r}: {error}".strip()) from error
    finally:
        con.close()
    return {"role": role, "created": created, "login": False, "read": readable, "no_access": hidden}


# The dashboards' two access paths: one trust's metric over time, one metric across trusts for a
# period. Without them a national table answers in 50-75 ms at p95; with them, under 1 ms.
BENCHMARK_INDEXES = (("org_code", "metric_id", "period_start"), ("metric_id", "period_start", "comparator"))


def prepare_postgres(settings: Settings, benchmark_table: pd.DataFrame,
                     progress: Callable[[str], Any] = print) -> dict[str, Any]:
    """The release's benchmark tables built aside in ``benchmarks_next``, nothing live changed: the
    release swaps them in (:func:`swap_benchmarks_schema`) once its files are verified, just before
    ``latest`` moves, so PostgreSQL never shows a release that did not complete."""
    role = ensure_bi_role(settings)
    built = build_next_schema(settings, benchmark_table, role["role"])
    progress(f"PostgreSQL: {NEXT_SCHEMA} built ({built['rows']} benchmark rows); it is swapped in with `latest`")
    return {"database": settings.warehouse.postgres_dbname, "bi_role": role, "next_schema": built,
            "swap": {"schema": BENCHMARK_SCHEMA, "transaction": "single, all-or-nothing",
                     "when": "after the release's files are verified, just before latest moves to it"}}


def build_next_schema(settings: Settings, benchmark_table: pd.DataFrame, role: str) -> dict[str, Any]:
    """``benchmarks_next``: the release's benchmark table plus copies of the other benchmark tables."""
    import psycopg2

    from pipelines.warehouse.connection import connect

    nxt, live = sql_identifier(NEXT_SCHEMA), sql_identifier(BENCHMARK_SCHEMA)
    table = sql_identifier(BENCHMARK_TABLE)
    try:
        with connect(settings) as warehouse, warehouse.transaction():
            others = warehouse.query(
                "select table_name from information_schema.tables where table_schema = ? and table_type = 'BASE TABLE' "
                "and table_name <> ? order by 1", [BENCHMARK_SCHEMA, BENCHMARK_TABLE])["table_name"].tolist()
            has_live = warehouse.table_exists(BENCHMARK_SCHEMA, BENCHMARK_TABLE)
            warehouse.execute(f"drop schema if exists {nxt} cascade")
            warehouse.execute(f"create schema {nxt}")
            if has_live and _same_columns(warehouse, benchmark_table):
                warehouse.execute(f"create table {nxt}.{table} (like {live}.{table} including all)")
            else:
                warehouse.execute(create_table_sql(NEXT_SCHEMA, BENCHMARK_TABLE))
            warehouse.insert(NEXT_SCHEMA, BENCHMARK_TABLE, benchmark_table)
            for columns in BENCHMARK_INDEXES:
                # PostgreSQL's own name for the index, so the copy a later release makes with
                # `like ... including all` has the same name and is not built twice.
                name = sql_identifier(f"{BENCHMARK_TABLE}_{'_'.join(columns)}_idx")
                warehouse.execute(f"create index if not exists {name} on {nxt}.{table} ({', '.join(columns)})")
            for other in others:
                name = sql_identifier(other)
                warehouse.execute(f"create table {nxt}.{name} (like {live}.{name} including all)")
                warehouse.execute(f"insert into {nxt}.{name} select * from {live}.{name}")
            s, r = nxt, sql_identifier(role)
            warehouse.execute(f"grant usage on schema {s} to {r}")
            warehouse.execute(f"grant select on all tables in schema {s} to {r}")
            warehouse.execute(f"alter default privileges in schema {s} grant select on tables to {r}")
    except psycopg2.Error as error:
        raise ReleaseError(f"PostgreSQL: could not build {NEXT_SCHEMA}: {error}".strip()) from error
    return {"schema": NEXT_SCHEMA, "rows": int(len(benchmark_table)), "tables": [BENCHMARK_TABLE, *others]}


def _same_columns(warehouse: Any, frame: pd.DataFrame) -> bool:
    stored = warehouse.query("select column_name from information_schema.columns where table_schema = ? and "
                             "table_name = ?", [BENCHMARK_SCHEMA, BENCHMARK_TABLE])["column_name"].tolist()
    return set(stored) == set(frame.columns)


def swap_benchmarks_schema(settings: Settings) -> dict[str, Any]:
    """One transaction: ``benchmarks`` -> ``benchmarks_old``, ``benchmarks_next`` -> ``benchmarks``,
    the old tables and schema dropped (no CASCADE: a dependent object fails the swap, which then
    changes nothing)."""
    import psycopg2

    con = _pg_connect(settings)
    live, nxt, old = (sql_identifier(s) for s in (BENCHMARK_SCHEMA, NEXT_SCHEMA, OLD_SCHEMA))
    try:
        with con.cursor() as cursor:
            cursor.execute(f"set local lock_timeout = {_literal(SWAP_LOCK_TIMEOUT)}")
            present = _schemas(cursor)
            if NEXT_SCHEMA not in present:
                raise ReleaseError(f"PostgreSQL: {NEXT_SCHEMA} does not exist; nothing to swap in")
            if OLD_SCHEMA in present:
                _drop_schema(cursor, OLD_SCHEMA)
            dropped = []
            if BENCHMARK_SCHEMA in present:
                cursor.execute(f"alter schema {live} rename to {old}")
            cursor.execute(f"alter schema {nxt} rename to {live}")
            if BENCHMARK_SCHEMA in present:
                dropped = _drop_schema(cursor, OLD_SCHEMA)
        con.commit()
    except psycopg2.Error as error:
        con.rollback()
        raise ReleaseError(f"PostgreSQL: the {BENCHMARK_SCHEMA} swap was rolled back, the previous tables stay: "
                           f"{error}".strip()) from error
    except BaseException:
        con.rollback()
        raise
    finally:
        con.close()
    return {"schema": BENCHMARK_SCHEMA, "replaced_tables": dropped, "transaction": "single, all-or-nothing"}


def _drop_schema(cursor: Any, schema: str) -> list[str]:
    cursor.execute("select tablename from pg_tables where schemaname = %s order by 1", (schema,))
    tables = [row[0] for row in cursor.fetchall()]
    for table in tables:
        cursor.execute(f"drop table {_name(schema, table)}")
    cursor.execute(f"drop schema {sql_identifier(schema)}")
    return tables
