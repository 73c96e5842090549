"""How dbt is run: its environment and variables, derived from the pipeline's one configuration.

Used by the transform DAG (through Cosmos) and by the CLI and tests (directly), so both run dbt
with identical settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pipelines.config import PROJECT_ROOT, Settings

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DBT_MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
#: What a scheduled refresh adds to ``dbt build``: no unit tests. They check the models' logic on fixed
#: inputs, so they give the same answer on every refresh; dbt recommends running them in development
#: and CI only (the test suite's builds run them), and they were 6 of a refresh's 239 dbt nodes, ~1 s.
PRODUCTION_BUILD_FLAGS: tuple[str, ...] = ("--exclude-resource-type", "unit_test")


def dbt_env(settings: Settings) -> dict[str, str]:
    """Environment variables profiles.yml reads (absolute paths: Cosmos runs from a temp copy)."""
    warehouse = settings.warehouse
    return {
        "CULTURE_OUTCOMES_DUCKDB_PATH": str(warehouse.duckdb_path),
        "CULTURE_OUTCOMES_PG_HOST": warehouse.postgres_host,
        "CULTURE_OUTCOMES_PG_PORT": str(warehouse.postgres_port),
        "CULTURE_OUTCOMES_PG_USER": warehouse.postgres_user,
        "CULTURE_OUTCOMES_PG_PASSWORD": warehouse.postgres_password,
        "CULTURE_OUTCOMES_PG_DBNAME": warehouse.postgres_dbname,
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }


def dbt_vars(settings: Settings) -> dict[str, object]:
    """The dbt project variables that come from configuration (network, disclosure, attribution)."""
    return {
        "network_members": list(settings.network.members),
        "network_icb_codes": list(settings.network.icb_codes),
        "network_region_codes": list(settings.network.region_codes),
        "network_name": settings.network.name,
        "successor_attribution": settings.publishing.successor_attribution,
        "staff_survey_min_responses": settings.disclosure.staff_survey_min_responses,
        "patient_experience_min_count": settings.disclosure.patient_experience_min_count,
    }


def run_dbt(settings: Settings, *args: str, target_path: Path | None = None) -> subprocess.CompletedProcess:
    """Run a dbt command against the configured warehouse; raise with dbt's output when it fails."""
    command = [
        str(Path(sys.executable).with_name("dbt")), *args,
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target", settings.warehouse.target, "--vars", json.dumps(dbt_vars(settings)),
    ]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    result = subprocess.run(
        command, env={**os.environ, **dbt_env(settings)}, cwd=DBT_PROJECT_DIR, capture_output=True, text=True
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise RuntimeError(f"dbt {' '.join(args)} failed on the {settings.warehouse.target} warehouse:\n{tail}")
    return result
