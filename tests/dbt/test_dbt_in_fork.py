"""dbt run in a fork of the calling process behaves as the ``dbt`` command does, and lets go of the
warehouse when it ends (the transform DAG runs its build this way on DuckDB)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import dbt_command

from pipelines.config import load_settings
from pipelines.dbt_in_fork import EXIT_ERROR, DbtHeldInFork, run_dbt_in_fork
from pipelines.transform import DBT_PROJECT_DIR, dbt_env, dbt_vars
from pipelines.warehouse.loader import ensure_raw_tables

DBT = str(Path(sys.executable).with_name("dbt"))


def _args(tmp_path: Path, *command: str) -> list[str]:
    """The arguments the ``dbt`` command would be given, with the pipeline's variables."""
    return [*dbt_command("duckdb", tmp_path, *command)[1:], "--vars", json.dumps(dbt_vars(load_settings()))]


def _env(tmp_path: Path) -> dict[str, str]:
    """A warehouse in ``tmp_path``, with the (empty) raw files dbt attaches."""
    settings = load_settings(environ={"CULTURE_OUTCOMES_PATHS_DATA_DIR": str(tmp_path / "data"),
                                      "CULTURE_OUTCOMES_WAREHOUSE_DUCKDB_PATH": str(tmp_path / "w.duckdb")})
    ensure_raw_tables(settings)
    return {**os.environ, **dbt_env(settings)}


def _in_fork(tmp_path: Path, args: list[str]) -> tuple[int, str]:
    lines: list[str] = []
    code = run_dbt_in_fork(args, _env(tmp_path), str(DBT_PROJECT_DIR), lines.append)
    return code, "\n".join(lines)


def test_a_build_in_a_fork_writes_the_warehouse_and_leaves_the_file_free_for_the_next_writer(tmp_path):
    cwd, environment = os.getcwd(), dict(os.environ)

    code, output = _in_fork(tmp_path, _args(tmp_path, "run", "--select", "int_calendar"))

    assert code == 0, output
    assert "Running with dbt" in output and "Completed successfully" in output  # dbt's own output, line by line
    with duckdb.connect(str(tmp_path / "w.duckdb")) as warehouse:  # read-write: dbt's connection ended with it
        assert warehouse.execute("select count(*) from intermediate.int_calendar").fetchone() == ((2035 - 2010 + 1) * 12,)
        warehouse.execute("create table written_after_dbt as select 1 as one")
    assert (os.getcwd(), dict(os.environ)) == (cwd, environment)  # the child's cwd and environment were its own


@pytest.mark.parametrize("command", [
    ("run", "--no-such-option"),  # dbt cannot start: a usage error
    ("run", "--select", "int_calendar", "--vars", '{"network_members": "RC9"}'),  # dbt stops on a bad variable
], ids=["usage-error", "bad-variable"])
def test_a_failed_command_gives_the_exit_status_and_message_the_dbt_command_gives(tmp_path, command):
    args = _args(tmp_path, *command)
    if "--vars" in command:  # the test's variables replace the project's
        at = args.index("--vars", args.index("--vars") + 1)
        del args[at:at + 2]
    by_command = subprocess.run([DBT, *args], env=_env(tmp_path), cwd=DBT_PROJECT_DIR, capture_output=True, text=True)

    code, output = _in_fork(tmp_path, args)

    assert code == by_command.returncode != 0
    assert code in (1, EXIT_ERROR)
    said = by_command.stdout + by_command.stderr
    reason = "no-such-option" if "--no-such-option" in command else "network_members"
    assert reason in said and reason in output


def test_dbt_is_stopped_and_reaped_when_the_caller_stops_reading_its_output(tmp_path):
    started: list[int] = []

    def give_up(line: str) -> None:
        raise RuntimeError(f"the task was stopped while dbt said: {line}")

    with pytest.raises(RuntimeError, match="the task was stopped"):
        run_dbt_in_fork(_args(tmp_path, "run", "--select", "int_calendar"), _env(tmp_path), str(DBT_PROJECT_DIR),
                        give_up, on_start=started.append)

    with pytest.raises(ProcessLookupError):  # stopped and waited for: no dbt left running, no zombie
        os.kill(started[0], 0)


def test_a_held_dbt_runs_nothing_until_released_and_then_runs_while_the_caller_goes_on(tmp_path):
    env = _env(tmp_path)
    held = DbtHeldInFork(_args(tmp_path, "run", "--select", "int_calendar"), env, str(DBT_PROJECT_DIR))
    try:
        with duckdb.connect(str(tmp_path / "w.duckdb")) as warehouse:  # nobody else holds the file yet
            warehouse.execute("create table written_while_dbt_was_held as select 1 as one")
        held.release()  # returns at once: dbt runs in the child
        assert held.wait() == 0, "\n".join(held.lines)
    finally:
        held.stop()
    assert "Completed successfully" in "\n".join(held.lines)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as warehouse:
        assert warehouse.execute("select count(*) from intermediate.int_calendar").fetchone()[0] > 0
    with pytest.raises(ChildProcessError):  # reaped: no zombie left
        os.waitpid(held.pid, os.WNOHANG)


def test_a_held_dbt_that_is_stopped_before_release_ends_without_running(tmp_path):
    held = DbtHeldInFork(_args(tmp_path, "run", "--select", "int_calendar"), _env(tmp_path), str(DBT_PROJECT_DIR))

    held.stop()

    assert held.lines == []
    with pytest.raises(ProcessLookupError):
        os.kill(held.pid, 0)
    assert not (tmp_path / "w.duckdb").exists()  # dbt never opened (and so never made) the warehouse


def test_a_released_dbt_that_fails_gives_its_exit_status_and_message(tmp_path):
    held = DbtHeldInFork(_args(tmp_path, "run", "--no-such-option"), _env(tmp_path), str(DBT_PROJECT_DIR))

    held.release()

    assert held.wait() in (1, EXIT_ERROR)
    assert "no-such-option" in "\n".join(held.lines)
