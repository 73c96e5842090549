"""DAG integrity: the DAGs folder loads cleanly in Airflow 3.3 and follows the project's rules.

The DagBag is loaded once, in a fresh interpreter with a throw-away AIRFLOW_HOME and the project's
Airflow environment (pipelines/airflow_env.py), exactly as the dag-processor parses the folder; the
facts the tests need are passed back as JSON. Import hygiene (no pandas / GX / dbt at module level)
is checked in one fresh interpreter per DAG file, since any earlier import would hide it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from pipelines.sources.catalogue import SOURCES

ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = ROOT / "dags"
DBT_PROJECT = ROOT / "dbt_project"
MANIFEST = DBT_PROJECT / "target" / "manifest.json"
OWNER = "culture-outcomes"
HEAVY_MODULES = ("pandas", "great_expectations", "dbt")
# Tasks allowed to run without retries, and why.
NO_RETRY_TASKS = {
    "validate_and_load": "a failed validation is deterministic: the extract is quarantined, a retry repeats it",
    "report_quarantined": "it only reports what validate_and_load quarantined; a retry reports it again",
}
INGEST_DAG_IDS = {f"ingest_{spec.id}": spec for spec in SOURCES}

dagbag_group = pytest.mark.xdist_group("ops_dagbag")  # one DagBag load per xdist worker


def project_env(home: Path) -> dict[str, str]:
    """The project's Airflow environment on a throw-away AIRFLOW_HOME and data folder, with none of
    the caller's Airflow or pipeline overrides."""
    from pipelines.airflow_env import airflow_environment

    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "CULTURE_OUTCOMES_"))}
    base["CULTURE_OUTCOMES_PATHS_DATA_DIR"] = str(home / "data")
    return airflow_environment(airflow_home=home / "airflow_home", base=base)


def run_python(script: str, env: dict[str, str], *args: str) -> dict:
    result = subprocess.run([sys.executable, "-c", script, *args], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT=")]
    assert result.returncode == 0 and lines, (
        f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return json.loads(lines[-1].removeprefix("RESULT="))


@pytest.fixture(scope="session")
def dbt_manifest(tmp_path_factory) -> Path:
    """dags/transform.py renders dbt from dbt_project/target/manifest.json (built by `make setup` /
    `culture-outcomes setup`). Build it when absent, as setup would, under a lock (xdist workers)
    and atomically (whoever reads it sees a whole file)."""
    if MANIFEST.is_file():
        return MANIFEST
    assert (DBT_PROJECT / "dbt_project.yml").is_file(), "dbt_project/dbt_project.yml is missing"
    from pipelines.config import load_settings
    from pipelines.transform import dbt_env

    key = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"culture-outcomes-dbt-parse-{key}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not MANIFEST.is_file():
            work = tmp_path_factory.mktemp("dbt_parse")
            settings = load_settings(environ={"CULTURE_OUTCOMES_PATHS_DATA_DIR": str(work / "data")})
            result = subprocess.run(
                [str(Path(sys.executable).with_name("dbt")), "parse", "--project-dir", "dbt_project",
                 "--profiles-dir", "dbt_project", "--target-path", str(work / "target"),
                 "--log-path", str(work / "logs")],
                env={**os.environ, **dbt_env(settings)}, cwd=ROOT, capture_output=True, text=True, timeout=600,
            )
            if result.returncode != 0:
                pytest.fail(f"dbt parse failed, so the transform DAG cannot load:\n{result.stdout[-4000:]}")
            MANIFEST.parent.mkdir(parents=True, exist_ok=True)
            partial = MANIFEST.with_name(f".manifest.json.{os.getpid()}")
            shutil.copyfile(work / "target" / "manifest.json", partial)
            os.replace(partial, MANIFEST)
    return MANIFEST


DAGBAG_SCRIPT = r"""
import json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
import dags._wiring as wiring

def assets(condition):
    if condition is None:
        return []
    if hasattr(condition, "objects"):
        return [asset for item in condition.objects for asset in assets(item)]
    return [[condition.name, condition.uri]]

bag = DagBag(dag_folder=sys.argv[1])
facts = {"import_errors": {str(k): v for k, v in bag.import_errors.items()}, "dags": {}, "wiring": {
    "owner": wiring.OWNER,
    "source_assets": {key: [a.name, a.uri] for key, a in wiring.SOURCE_ASSETS.items()},
    "marts_asset": [wiring.MARTS_ASSET.name, wiring.MARTS_ASSET.uri],
}}
for dag_id, dag in bag.dags.items():
    timetable = dag.timetable
    condition = getattr(timetable, "asset_condition", None)
    try:
        DagSerialization.to_dict(dag)
        serialization_error = None
    except Exception as error:
        serialization_error = repr(error)
    facts["dags"][dag_id] = {
        "fileloc": dag.fileloc,
        "default_args": {k: v for k, v in dag.default_args.items() if k in ("owner", "retries")},
        "tags": sorted(dag.tags),
        "max_active_runs": dag.max_active_runs,
        "timetable": type(timetable).__name__,
        "cron": getattr(timetable, "expression", None),
        "asset_condition": type(condition).__name__ if condition is not None else None,
        "assets": assets(condition),
        "tasks": [{"task_id": t.task_id, "retries": t.retries, "owner": t.owner} for t in dag.tasks],
        "serialization_error": serialization_error,
    }
print("RESULT=" + json.dumps(facts, default=str))
"""


@pytest.fixture(scope="session")
def dagbag(dbt_manifest, tmp_path_factory) -> dict:
    return run_python(DAGBAG_SCRIPT, project_env(tmp_path_factory.mktemp("dagbag")), str(DAGS_FOLDER))


@pytest.fixture(scope="session")
def dags(dagbag) -> dict[str, dict]:
    assert dagbag["dags"], "the DAGs folder produced no DAG"
    return dagbag["dags"]


@dagbag_group
def test_the_dags_folder_loads_without_import_errors(dagbag):
    errors = "\n\n".join(f"{path}:\n{error}" for path, error in dagbag["import_errors"].items())
    assert not dagbag["import_errors"], f"import errors:\n{errors}"


@dagbag_group
def test_every_dag_serializes(dags):
    failures = {dag_id: facts["serialization_error"] for dag_id, facts in dags.items() if facts["serialization_error"]}
    assert not failures


@dagbag_group
def test_every_dag_has_the_project_owner_tag_and_one_active_run(dags, dagbag):
    assert dagbag["wiring"]["owner"] == OWNER
    for dag_id, facts in dags.items():
        assert facts["default_args"].get("owner") == OWNER, dag_id
        assert {task["owner"] for task in facts["tasks"]} == {OWNER}, dag_id
        assert OWNER in facts["tags"], dag_id
        assert facts["max_active_runs"] == 1, dag_id


@dagbag_group
def test_every_dag_retries_by_default_and_tasks_retry_unless_exempt(dags):
    for dag_id, facts in dags.items():
        assert facts["default_args"].get("retries", 0) >= 1, f"{dag_id}: default_args retries must be >= 1"
        for task in facts["tasks"]:
            if task["task_id"] in NO_RETRY_TASKS:
                continue
            assert task["retries"] >= 1, f"{dag_id}.{task['task_id']} has no retries"


@dagbag_group
def test_every_source_has_an_ingest_dag_on_its_catalogue_schedule(dags):
    ingest = {dag_id for dag_id in dags if dag_id.startswith("ingest_")}
    assert ingest == set(INGEST_DAG_IDS)
    for dag_id, spec in INGEST_DAG_IDS.items():
        facts = dags[dag_id]
        assert facts["timetable"] == "CronTriggerTimetable", dag_id
        assert facts["cron"] == spec.schedule, f"{dag_id}: {facts['cron']} != catalogue {spec.schedule}"


@dagbag_group
def test_transform_runs_when_any_source_asset_is_updated(dags, dagbag):
    expected = {(f"raw_{spec.id}", spec.asset_uri) for spec in SOURCES}
    assert {tuple(asset) for asset in dagbag["wiring"]["source_assets"].values()} == expected
    facts = dags["transform_marts"]
    assert facts["timetable"] == "AssetTriggeredTimetable"
    assert facts["asset_condition"] == "AssetAny", "transform runs on an update of ANY source"
    assert {tuple(asset) for asset in facts["assets"]} == expected


@dagbag_group
def test_publish_runs_on_the_marts_asset(dags, dagbag):
    facts = dags["publish_release"]
    assert facts["timetable"] == "AssetTriggeredTimetable"
    assert [tuple(asset) for asset in facts["assets"]] == [tuple(dagbag["wiring"]["marts_asset"])]


IMPORT_SCRIPT = r"""
import importlib, json, sys, traceback

HEAVY = sys.argv[2].split(",")
first_importer = {}

class Spy:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in HEAVY and top not in first_importer:
            first_importer[top] = "".join(traceback.format_stack(limit=25)[:-1])
        return None

sys.meta_path.insert(0, Spy())
importlib.import_module(sys.argv[1])
loaded = sorted(name for name in HEAVY if name in sys.modules)
print("RESULT=" + json.dumps({"loaded": loaded, "importers": {n: first_importer.get(n, "") for n in loaded}}))
"""


@pytest.mark.parametrize("dag_file", sorted(p.name for p in DAGS_FOLDER.glob("*.py") if p.name != "__init__.py"))
def test_importing_a_dag_file_does_not_import_pandas_gx_or_dbt(dag_file, dbt_manifest, tmp_path):
    module = f"dags.{dag_file.removesuffix('.py')}"
    result = run_python(IMPORT_SCRIPT, project_env(tmp_path), module, ",".join(HEAVY_MODULES))
    details = "\n".join(f"--- {name} first imported from:\n{stack}" for name, stack in result["importers"].items())
    assert not result["loaded"], f"{module} imports {result['loaded']} at module level:\n{details}"


BUILT_SCRIPT = """
import json, runpy, sys
from airflow.sdk import DAG
built = sorted(v.dag_id for v in runpy.run_path(sys.argv[1]).values() if isinstance(v, DAG))
print("RESULT=" + json.dumps(built))
"""


@pytest.mark.parametrize("running", [None, "ingest_fft"])
def test_parsing_the_ingest_file_to_run_one_dag_builds_only_that_dag(running, tmp_path):
    # Airflow names the DAG it is about to run in the parsing context (a task, `dags test`);
    # the dag-processor names none and gets every source's DAG.
    env = project_env(tmp_path)
    if running:
        env["_AIRFLOW_PARSING_CONTEXT_DAG_ID"] = running
    built = run_python(BUILT_SCRIPT, env, str(DAGS_FOLDER / "ingest_sources.py"))
    assert built == ([running] if running else sorted(INGEST_DAG_IDS))
