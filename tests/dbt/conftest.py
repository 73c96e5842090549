"""Build the dbt project on a throw-away warehouse loaded with the small raw dataset.

One module-scoped build per warehouse: DuckDB (a temporary file) and PostgreSQL (a temporary
database ``culture_outcomes_test_<random>`` on 127.0.0.1:5432, dropped afterwards). dbt runs as a
subprocess with its target and log directories inside the temporary directory, so parallel runs
never share state.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import raw_dataset  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PROJECT_DIR = ROOT / "dbt_project"
_POSTGRES_KEYS = ("HOST", "PORT", "USER", "PASSWORD")


def _dbt_executable() -> str:
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


class Built:
    """A built warehouse: run SQL against the marts and get rows as dictionaries."""

    def __init__(self, target: str, connect: Any, dbt_output: str) -> None:
        self.target = target
        self._connect = connect
        self.dbt_output = dbt_output

    def rows(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        con = self._connect()
        try:
            if self.target == "duckdb":
                cursor = con.execute(sql, list(params))
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            with con.cursor() as cursor:
                cursor.execute(sql.replace("?", "%s"), params or None)
                names = [d.name for d in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            con.close()

    def one(self, sql: str, params: tuple = ()) -> dict[str, Any]:
        found = self.rows(sql, params)
        assert len(found) == 1, f"expected one row, got {len(found)}: {found[:5]}"
        return found[0]


def _settings(environ: dict[str, str]):
    from pipelines.config import load_settings

    return load_settings(environ=environ)


def dbt_command(target: str, tmp: Path, *args: str) -> list[str]:
    """``dbt build`` (or ``dbt <args>``) on ``target``, with its target and log folders in ``tmp``."""
    return [_dbt_executable(), *(args or ("build",)), "--project-dir", str(PROJECT_DIR), "--profiles-dir",
            str(PROJECT_DIR), "--target", target, "--target-path", str(tmp / "target"), "--log-path",
            str(tmp / "logs"), "--no-use-colors"]


def run_dbt_unchecked(target: str, tmp: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(dbt_command(target, tmp, *args), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)


def _run_dbt(target: str, tmp: Path, env: dict[str, str], *args: str) -> str:
    """:func:`dbt_command`'s output; the test fails with dbt's output if dbt does."""
    done = run_dbt_unchecked(target, tmp, env, *args)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        pytest.fail(f"dbt {' '.join(args or ('build',))} --target {target} failed (exit {done.returncode}):\n{output[-8000:]}")
    return output


def _dbt_env(settings) -> dict[str, str]:
    """The environment the pipeline gives dbt (pipelines.transform.dbt_env: what profiles.yml reads)."""
    from pipelines.transform import dbt_env

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "CULTURE_OUTCOMES_"))}
    return env | dbt_env(settings) | {"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    target = request.param
    tmp = tmp_path_factory.mktemp(f"dbt_{target}")
    if target == "duckdb":
        yield from _build_duckdb(tmp)
    else:
        yield from _build_postgres(tmp)


def _build_duckdb(tmp: Path) -> Iterator[Built]:
    import duckdb

    with empty_warehouse("duckdb", tmp) as settings:
        _load_and_build(settings, tmp)
        output = _run_dbt("duckdb", tmp, _dbt_env(settings))
        yield Built("duckdb", lambda: duckdb.connect(str(settings.warehouse.duckdb_path), read_only=True), output)


def _build_postgres(tmp: Path) -> Iterator[Built]:
    import psycopg2

    with empty_warehouse("postgres", tmp) as settings:
        _load_and_build(settings, tmp)
        output = _run_dbt("postgres", tmp, _dbt_env(settings))
        yield Built("postgres", lambda: psycopg2.connect(settings.warehouse.postgres_dsn()), output)


def _load_and_build(settings, tmp: Path) -> None:
    raw_dataset.load_raw(settings)


@contextlib.contextmanager
def empty_warehouse(target: str, tmp: Path) -> Iterator[Any]:
    """Settings of a new, empty warehouse: a DuckDB file in ``tmp``, or a PostgreSQL database of its
    own (dropped afterwards; the test is skipped when PostgreSQL cannot be reached)."""
    if target == "duckdb":
        yield _settings({
            "CULTURE_OUTCOMES_PATHS_DATA_DIR": str(tmp / "data"),
            "CULTURE_OUTCOMES_WAREHOUSE_TARGET": "duckdb",
            "CULTURE_OUTCOMES_WAREHOUSE_DUCKDB_PATH": str(tmp / "warehouse.duckdb"),
        })
        return
    psycopg2 = pytest.importorskip("psycopg2")
    passed = {
        f"CULTURE_OUTCOMES_WAREHOUSE_POSTGRES_{k}": os.environ[f"CULTURE_OUTCOMES_WAREHOUSE_POSTGRES_{k}"]
        for k in _POSTGRES_KEYS
        if f"CULTURE_OUTCOMES_WAREHOUSE_POSTGRES_{k}" in os.environ
    }
    dbname = f"culture_outcomes_test_{uuid.uuid4().hex[:12]}"
    settings = _settings(
        passed
        | {
            "CULTURE_OUTCOMES_PATHS_DATA_DIR": str(tmp / "data"),
            "CULTURE_OUTCOMES_WAREHOUSE_TARGET": "postgres",
            "CULTURE_OUTCOMES_WAREHOUSE_POSTGRES_DBNAME": dbname,
        }
    )
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
            cursor.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
                (dbname,),
            )
            cursor.execute(f'drop database if exists "{dbname}"')
        admin.close()
