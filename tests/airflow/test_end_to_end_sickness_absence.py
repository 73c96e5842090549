"""End to end through real Airflow: the local publisher serves the real monthly files, and
`airflow dags test` runs ingest -> transform (dbt via Cosmos) -> publish."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import PROJECT_ROOT, published_name, real_sickness_files

pytestmark = [pytest.mark.airflow, pytest.mark.xdist_group("airflow")]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


@pytest.fixture
def airflow_env(tmp_path, publisher, settings_env) -> dict[str, str]:
    """A throw-away AIRFLOW_HOME and this test's data folder."""
    from pipelines.airflow_env import airflow_environment

    env = airflow_environment(tmp_path / "airflow_home", base=dict(os.environ))
    env["CULTURE_OUTCOMES_AIRFLOW_RETRIES"] = "0"  # fail fast: dag.test() waits out retry delays
    return env


@pytest.fixture
def airflow_run(airflow_env, settings_env):
    """Run Airflow CLI commands in that environment, after the setup `culture-outcomes setup` does."""
    env = airflow_env

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([AIRFLOW, *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"airflow {' '.join(args)} failed:\n{(result.stdout + result.stderr)[-4000:]}")
        return result

    from pipelines.transform import parse_project

    parse_project(settings_env())  # the manifest Cosmos renders the transform DAG from, and dbt's parse
    # Airflow's part of `culture-outcomes setup`: migrate, the pool and the DAGs serialized, in one process.
    setup = subprocess.run([sys.executable, "-m", "dags._airflow_setup", "--pool-slots", "1", "--reserialize"],
                           env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert setup.returncode == 0, (setup.stdout + setup.stderr)[-4000:]
    pool = json.loads(run("pools", "get", "warehouse_writer", "-o", "json").stdout)
    assert [(p["pool"], int(p["slots"])) for p in pool] == [("warehouse_writer", 1)]
    return run


def _csv_rate(path: Path, code: str) -> float:
    frame = pd.read_csv(path)
    return float(frame.loc[frame["ORG_CODE"] == code, "SICKNESS_ABSENCE_RATE_PERCENT"].iloc[0])


def test_real_months_travel_every_stage_and_the_release_matches_the_raw_files(airflow_run, publisher, settings_env):
    _, _, add = publisher
    files = real_sickness_files()
    add(files)
    airflow_run("dags", "test", "ingest_sickness_absence")
    airflow_run("dags", "test", "transform_marts")
    airflow_run("dags", "test", "publish_release")

    settings = settings_env()
    latest = settings.paths.published / "latest"
    manifest = json.loads((latest / "manifest.json").read_text())
    for entry in manifest["files"]:
        from pipelines.publish.release import sha256_of

        assert sha256_of(latest / entry["path"]) == entry["sha256"]
    assert {e["file_name"] for e in manifest["source_extracts"]} == {published_name(f) for f in files}

    table = pd.read_csv(latest / "benchmarks_network.csv")
    rates = table[(table["metric_id"] == "sickness_absence_rate") & (table["comparator"] == "network")]
    april = rates[rates["period_start"] == "2024-04-01"]
    april_file = files[0]
    assert april.loc[april["org_code"] == "RC9", "value"].iloc[0] == pytest.approx(_csv_rate(april_file, "RC9"))
    members = ["RC9", "RD8", "RWK", "RV3", "RYV", "RYC"]
    expected_median = statistics.median(_csv_rate(april_file, code) for code in members)
    assert april["median"].iloc[0] == pytest.approx(expected_median)
    raw = pd.read_csv(april_file)
    england = raw["FTE_DAYS_LOST"].sum() / raw["FTE_DAYS_AVAILABLE"].sum() * 100
    england_rows = table[(table["metric_id"] == "sickness_absence_rate") & (table["comparator"] == "england")
                         & (table["period_start"] == "2024-04-01")]
    assert england_rows["comparator_n"].iloc[0] > 100
    assert england_rows["comparator_value"].iloc[0] == pytest.approx(england, rel=0.05)
    assert (latest / "trusts" / "benchmarks_RC9.csv").exists()


def test_a_corrupted_month_between_good_ones_is_quarantined_and_latest_stays(airflow_run, publisher, settings_env):
    _, _, add = publisher
    files = real_sickness_files()[:3]
    add(files[:1])
    airflow_run("dags", "test", "ingest_sickness_absence")
    airflow_run("dags", "test", "transform_marts")
    airflow_run("dags", "test", "publish_release")
    settings = settings_env()
    first_release = os.readlink(settings.paths.published / "latest")

    corrupt = files[1].read_bytes().replace(b"ORG_CODE", b"ORGANISATION_CODE", 1)
    add(files, replace={published_name(files[1]): corrupt})
    failed = airflow_run("dags", "test", "ingest_sickness_absence", check=False)
    assert "ORGANISATION_CODE" in failed.stdout + failed.stderr or "org_code" in failed.stdout + failed.stderr
    assert os.readlink(settings.paths.published / "latest") == first_release

    airflow_run("dags", "test", "transform_marts")
    airflow_run("dags", "test", "publish_release")
    table = pd.read_csv(settings.paths.published / "latest" / "benchmarks_network.csv")
    assert sorted(table["period_start"].unique()) == ["2024-04-01", "2024-06-01"]
    quarantine = list((settings.paths.quarantine / "sickness_absence").iterdir())
    assert len(quarantine) == 1 and next(quarantine[0].glob("*.csv")).read_bytes() == corrupt


def test_a_backfill_larger_than_a_batch_is_mapped_over_batches_that_each_load_their_files(
        airflow_run, airflow_env, synthetic_year, settings_env):
    """A year of synthetic months in batches of five: three mapped validate_and_load task instances,
    one after another (the writer pool has one slot), every month loaded once."""
    import sqlite3

    from pipelines.ledger import Ledger

    written = synthetic_year("sickness_absence")
    airflow_env["CULTURE_OUTCOMES_VALIDATION_BATCH_FILES"] = "5"

    airflow_run("dags", "test", "ingest_sickness_absence")

    database = Path(airflow_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))
    with sqlite3.connect(database) as db:
        mapped = db.execute("select map_index, state from task_instance where dag_id = 'ingest_sickness_absence' "
                            "and task_id = 'validate_and_load' order by map_index").fetchall()
    assert mapped == [(0, "success"), (1, "success"), (2, "success")]
    loaded = Ledger(settings_env().paths.state).extracts("sickness_absence", status="loaded")
    assert sorted(extract["file_name"] for extract in loaded) == sorted(path.name for path in written["sickness_absence"])


def test_one_airflow_process_runs_ingest_transform_and_publish_in_turn(airflow_run, airflow_env, publisher,
                                                                       settings_env, tmp_path):
    # What `culture-outcomes demo` and the benchmarks run: every DAG forked from one warm Airflow
    # process. Publishing right after transform in it once failed on DuckDB's one-configuration rule.
    _, _, add = publisher
    add(real_sickness_files()[:2])
    timings = tmp_path / "timings.json"
    result = subprocess.run(
        [sys.executable, "-m", "dags._run_dags", "--timings", str(timings),
         "ingest_sickness_absence", "ingest_no_such_source", "ingest_ods_trusts", "transform_marts",
         "publish_release"],
        env=airflow_env, cwd=PROJECT_ROOT, capture_output=True, text=True)

    runs = json.loads(timings.read_text())
    states = {dag_id: run["state"] for dag_id, run in runs.items()}
    assert states == {"ingest_sickness_absence": "success", "ingest_no_such_source": "failed",
                      "ingest_ods_trusts": "failed",  # this publisher has no ODS page
                      "transform_marts": "success", "publish_release": "success"}, result.stdout[-3000:]
    # ODS first, and alone: the other ingests validate organisation codes against what it loads.
    out = result.stdout
    assert "[1/5] airflow dags test ingest_ods_trusts" in out
    assert out.index("ingest_ods_trusts: failed in") < out.index("airflow dags test ingest_sickness_absence")
    # each DAG's own time, as its fork measured it (the runner imports for transform meanwhile)
    assert all(0 < run["seconds"] < 600 for run in runs.values())
    assert result.returncode == 1  # one DAG failed: said so, after running the rest
    assert "ingest_no_such_source could not run" in result.stdout
    assert "publish_release: success" in result.stdout and "peak memory" in result.stdout
    assert "Airflow started in" in result.stdout  # once, before the first DAG (the benchmarks read it)
    assert "execution API is built in each DAG run instead" not in result.stdout  # built once, trimmed
    latest = settings_env().paths.published / "latest"
    assert len(json.loads((latest / "manifest.json").read_text())["source_extracts"]) == 2
    # dbt's parse is kept for the next transform, which then re-parses only what changed.
    assert (settings_env().paths.state / "dbt_partial_parse" / "target" / "partial_parse.msgpack").is_file()


def test_one_airflow_process_stops_when_transform_fails(airflow_run, airflow_env, tmp_path):
    timings = tmp_path / "timings.json"
    env = {**airflow_env, "CULTURE_OUTCOMES_WAREHOUSE_DUCKDB_PATH": str(tmp_path)}  # a folder: cannot be opened
    result = subprocess.run(
        [sys.executable, "-m", "dags._run_dags", "--timings", str(timings), "transform_marts", "publish_release"],
        env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)

    assert result.returncode == 1
    assert list(json.loads(timings.read_text())) == ["transform_marts"]
    assert "stopping: transform_marts failed" in result.stdout


def test_an_unmigrated_metadata_database_stops_the_run_before_any_dag(airflow_env, tmp_path):
    # The runner checks the migrations once for every DAG it forks (each fork no longer does).
    timings = tmp_path / "timings.json"
    result = subprocess.run(
        [sys.executable, "-m", "dags._run_dags", "--timings", str(timings), "ingest_sickness_absence",
         "transform_marts"], env=airflow_env, cwd=PROJECT_ROOT, capture_output=True, text=True)

    assert result.returncode == 1
    assert "airflow db migrate" in result.stdout + result.stderr
    assert "airflow dags test" not in result.stdout and not timings.exists()


def test_the_runner_sets_a_new_installation_up_beside_its_own_start(airflow_env, settings_env, tmp_path):
    # What `culture-outcomes demo` and the benchmarks run on an empty AIRFLOW_HOME: `culture-outcomes
    # setup` in a process of its own while the runner imports, waited for before the first DAG (the
    # transform, which builds on empty raw tables, needs the pool and dbt's parse).
    timings, target = tmp_path / "timings.json", tmp_path / "dbt_target"
    result = subprocess.run(
        [sys.executable, "-m", "dags._run_dags", "--setup", "--dbt-target-path", str(target), "--timings",
         str(timings), "transform_marts"],
        env=airflow_env, cwd=PROJECT_ROOT, capture_output=True, text=True)

    out = result.stdout
    assert result.returncode == 0, (out + result.stderr)[-4000:]
    assert {dag_id: run["state"] for dag_id, run in json.loads(timings.read_text()).items()} == {
        "transform_marts": "success"}
    assert (out.index("== culture-outcomes setup (") < out.index("culture-outcomes setup done in")
            < out.index("Airflow started in") < out.index("airflow dags test"))
    pool = subprocess.run([AIRFLOW, "pools", "get", "warehouse_writer", "-o", "json"], env=airflow_env,
                          cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert [(p["pool"], int(p["slots"])) for p in json.loads(pool.stdout)] == [("warehouse_writer", 1)]
    assert (target / "manifest.json").is_file()  # dbt's parse where it was asked, and kept for the builds
    assert (settings_env().paths.state / "dbt_partial_parse" / "target" / "partial_parse.msgpack").is_file()


def test_a_failed_setup_stops_the_runner_before_any_dag(airflow_env, tmp_path):
    timings = tmp_path / "timings.json"
    env = {**airflow_env, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path}/no/such/folder/airflow.db"}
    result = subprocess.run(
        [sys.executable, "-m", "dags._run_dags", "--setup", "--timings", str(timings), "ingest_sickness_absence"],
        env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)

    assert result.returncode == 1
    assert "culture-outcomes setup failed" in result.stdout
    assert "airflow dags test" not in result.stdout
    assert json.loads(timings.read_text()) == {}
