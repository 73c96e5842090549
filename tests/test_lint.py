"""House style is part of the build: ruff (with the Airflow AIR rules) and sqlfluff must be clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_python_passes_ruff_including_the_airflow_rules():
    result = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dbt_models_pass_sqlfluff():
    result = subprocess.run(
        [str(BIN / "sqlfluff"), "lint", "models", "--disable-progress-bar", "--nocolor"],
        cwd=PROJECT_ROOT / "dbt_project", capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
