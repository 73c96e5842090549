"""The DAG runner builds Airflow's in-process Execution API with its newest versions only.

The runner's tasks are its only client and speak the Task SDK's version, so that version must be
served exactly as Airflow's full app serves it. Each check runs in a fresh interpreter: the trim
replaces Airflow's version bundle for the rest of the process.
"""

from __future__ import annotations

import json
import subprocess
import sys

from pipelines.config import PROJECT_ROOT

ROUTES_OF_SDK_VERSION = """
import json, sys
from airflow.sdk.api.datamodels._generated import API_VERSION
from airflow.sdk.execution_time.supervisor import in_process_api_server
if sys.argv[1] == "trimmed":
    from dags._run_dags import _only_recent_api_versions
    _only_recent_api_versions()
app = in_process_api_server().app
app._cadwyn_initialize()
routes = app.router.versioned_routers[API_VERSION].routes
print(json.dumps({"versions": sorted(app.router.versioned_routers),
                  "routes": sorted(f"{sorted(r.methods)} {r.path} {r.name}" for r in routes)}))
"""


def _routes(which: str) -> dict[str, list[str]]:
    result = subprocess.run([sys.executable, "-c", ROUTES_OF_SDK_VERSION, which], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_trimmed_execution_api_serves_the_task_sdks_version_with_every_route_of_the_full_one():
    full, trimmed = _routes("full"), _routes("trimmed")

    assert trimmed["routes"] == full["routes"] and len(trimmed["routes"]) > 20
    assert len(trimmed["versions"]) < len(full["versions"])
