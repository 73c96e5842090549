"""How dbt is run: its environment and variables, derived from the pipeline's one configuration.

Used by the transform DAG (through Cosmos) and by the CLI and tests (directly), so both run dbt
with identical settings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipelines.config import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DBT_MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
#: What a scheduled refresh adds to ``dbt build``: no unit tests. They check the models' logic on fixed
#: inputs, so they give the same answer on every refresh; dbt recommends running them in development
#: and CI only (the test suite's builds run them), and they were 6 of a refresh's 239 dbt nodes, ~1 s.
PRODUCTION_BUILD_FLAGS: tuple[str, ...] = ("--exclude-resource-type", "unit_test")
#: The schema of the staging models (incremental: see :func:`reset_staging_built_by_another_project`).
STAGING_SCHEMA = "staging"
#: The profile in ``profiles.yml``. Every dbt command names it, as Cosmos does: dbt keeps a parse for
#: reuse only by a command with the same ``--profile`` (and target, variables and connection).
DBT_PROFILE = "culture_outcomes"
#: dbt's parse as Cosmos caches it (``<cache>/target/partial_parse.msgpack``), beside its manifest.
PARTIAL_PARSE_FILES = ("partial_parse.msgpack", "manifest.json")


def dbt_env(settings: Settings) -> dict[str, str]:
    """Environment variables profiles.yml reads (absolute paths: Cosmos runs from a temp copy)."""
    warehouse = settings.warehouse
    return {
        "CULTURE_OUTCOMES_DUCKDB_PATH": str(warehouse.duckdb_path),
        "CULTURE_OUTCOMES_DUCKDB_RAW_DIR": str(warehouse.duckdb_raw_dir),
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


def dbt_arguments(settings: Settings, *args: str, target_path: Path | None = None) -> list[str]:
    """``dbt``'s arguments for the command ``args`` against the configured warehouse."""
    arguments = [
        *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--profile", DBT_PROFILE, "--target", settings.warehouse.target, "--vars", json.dumps(dbt_vars(settings)),
    ]
    if target_path is not None:
        arguments += ["--target-path", str(target_path)]
    return arguments


def dbt_process_env(settings: Settings) -> dict[str, str]:
    """The environment a dbt command runs in: this process's, with what profiles.yml reads."""
    return {**os.environ, **dbt_env(settings)}


def dbt_failure(settings: Settings, args: Sequence[str], output: str) -> str:
    """What the analyst reads when a dbt command failed: the command, the warehouse, dbt's last lines."""
    tail = "\n".join(output.splitlines()[-40:])
    return f"dbt {' '.join(args)} failed on the {settings.warehouse.target} warehouse:\n{tail}"


def run_dbt(settings: Settings, *args: str, target_path: Path | None = None) -> subprocess.CompletedProcess:
    """Run a dbt command against the configured warehouse; raise with dbt's output when it fails."""
    command = [str(Path(sys.executable).with_name("dbt")), *dbt_arguments(settings, *args, target_path=target_path)]
    result = subprocess.run(command, env=dbt_process_env(settings), cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(dbt_failure(settings, args, result.stdout + result.stderr))
    return result


def partial_parse_cache(settings: Settings) -> Path:
    """Where the transform's builds keep dbt's parse between runs (Cosmos's ``cache_dir``)."""
    return settings.paths.state / "dbt_partial_parse"


def parse_project(settings: Settings, target_path: Path | None = None) -> None:
    """``dbt parse`` (the manifest the DAGs render from), kept for the transform's first build.

    Without it the first build of a deployment parses all 240 nodes again (about 4 s); with it,
    dbt checks the files' hashes and parses only what changed since.
    """
    run_dbt(settings, "parse", target_path=target_path)
    cache = partial_parse_cache(settings) / "target"
    cache.mkdir(parents=True, exist_ok=True)
    for name in PARTIAL_PARSE_FILES:
        _copy_atomically((target_path or DBT_PROJECT_DIR / "target") / name, cache / name)


def reuse_partial_parse(settings: Settings, target_path: Path) -> None:
    """Give a dbt command run into ``target_path`` the transform's latest parse, when there is one.

    dbt reuses it only if the project, profile, target and variables match, and otherwise parses
    everything as it would have; a stale parse costs nothing but the copy.
    """
    cached = partial_parse_cache(settings) / "target" / PARTIAL_PARSE_FILES[0]
    if cached.is_file():
        target_path.mkdir(parents=True, exist_ok=True)
        _copy_atomically(cached, target_path / PARTIAL_PARSE_FILES[0])


def _copy_atomically(source: Path, destination: Path) -> None:
    """Copy so that a reader (a build running beside) sees the old file or the new, never half of one."""
    partial = destination.with_name(f".{destination.name}.{os.getpid()}")
    shutil.copyfile(source, partial)
    os.replace(partial, destination)


def project_fingerprint(settings: Settings) -> hashlib._Hash:
    """A hash of what dbt builds with: dbt's and the adapter's versions, the target, the variables and
    every file of the project (its build output and logs aside)."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    adapter = "dbt-duckdb" if settings.warehouse.target == "duckdb" else "dbt-postgres"
    digest.update(json.dumps([version("dbt-core"), version(adapter), settings.warehouse.target,
                              dbt_vars(settings)], sort_keys=True).encode())
    for path in sorted(DBT_PROJECT_DIR.rglob("*")):
        relative = path.relative_to(DBT_PROJECT_DIR)
        if path.is_file() and relative.parts[0] not in {"target", "logs", "dbt_packages"}:
            digest.update(str(relative).encode() + b"\0" + path.read_bytes())
    return digest


def reset_staging_built_by_another_project(settings: Settings, warehouse: Any) -> bool:
    """Drop the staging schema when another dbt project built it; True when it was dropped.

    The observation staging models are incremental: a refresh restages only the observations whose
    raw rows changed, and keeps every other row as the SQL of the build that staged it made it. After
    an upgrade, an edited model or macro, or other variables, those rows could differ from what the
    project now makes, so the next build must restage everything: dropping the schema (nothing but
    dbt's staging tables and seed live there) makes it build them in full. The project's fingerprint
    is kept in the state folder, one per warehouse target; without one the schema is dropped too.
    """
    current = project_fingerprint(settings).hexdigest()[:32]
    marker = settings.paths.state / f"dbt_staging_built_by.{settings.warehouse.target}"
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == current:
        return False
    warehouse.execute(f"drop schema if exists {STAGING_SCHEMA} cascade")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(current + "\n", encoding="utf-8")
    log.info("staging will be built in full: the dbt project, its variables or dbt changed since the last "
             "build (or this is the first)")
    return True
