"""The environment the project's Airflow runs with (embedded default: SQLite metadata, local files).

One definition for the demo, the tests, the local UI and the docs, so every Airflow process sees
the same DAGs folder, the same metadata database and the same telemetry settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.config import PROJECT_ROOT


def airflow_environment(airflow_home: Path | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    home = airflow_home or Path(os.environ.get("AIRFLOW_HOME", PROJECT_ROOT / "airflow_home"))
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": env.get("AIRFLOW__CORE__UNIT_TEST_MODE", "False"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": env.get(
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}"
            ),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": env.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "DO_NOT_TRACK": "1",
            "SCARF_ANALYTICS": "false",
            "GX_ANALYTICS_ENABLED": "false",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH", "")])),
        }
    )
    return env
