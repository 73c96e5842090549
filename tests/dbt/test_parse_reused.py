"""dbt parses the project once, not once per command: the set-up's parse is reused by the transform's
first build, and the build's by ``dbt docs generate`` (a full parse is about 4 s a command).

dbt reuses a parse only for a command with the same ``--profile``, target, variables and
connection. Cosmos names the profile; ``run_dbt`` did not, so the set-up's parse was thrown away
by the first build and the build's by the docs (``Unable to do partial parsing because config vars,
config profile, or config target have changed``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pipelines.transform import (
    DBT_PROJECT_DIR,
    dbt_env,
    parse_project,
    partial_parse_cache,
    reuse_partial_parse,
    run_dbt,
)

pytestmark = pytest.mark.xdist_group("airflow")  # imports the transform DAG
REPARSED = "Unable to do partial parsing"
REUSED = "Partial parsing enabled: 0 files deleted, 0 files added, 0 files changed"


def _as_the_transform_builds(settings, project: Path) -> str:
    """``dbt ls`` in ``project`` (a copy, as Cosmos makes one) with the exact flags and environment
    the transform DAG's Cosmos operator gives its ``dbt build``; dbt's output."""
    import dags.transform as module

    operator = module.transform_marts().get_task("dbt_build")
    command, _ = operator.build_cmd(context={}, cmd_flags=[])
    assert command[1] == "build"
    with operator.profile_config.ensure_profile() as (profile_path, profile_env):
        flags = operator._generate_dbt_flags(str(project), profile_path)
    done = subprocess.run([command[0], "ls", *command[2:], *flags, "--log-level", "debug"],
                          env={**os.environ, **dbt_env(settings), **profile_env}, cwd=project,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    return done.stdout


def test_the_set_ups_parse_serves_the_first_build_and_the_builds_serves_the_docs(tmp_path, settings_env):
    from cosmos import cache

    settings = settings_env()
    parse_project(settings, target_path=tmp_path / "setup_target")

    project = tmp_path / "cosmos_copy"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    kept = cache._get_latest_partial_parse(tmp_path / "no_project_target", partial_parse_cache(settings))
    assert kept is not None, "the set-up kept no parse where the transform's builds look for one"
    cache._copy_partial_parse_to_project(kept, project)
    built = _as_the_transform_builds(settings, project)
    assert REPARSED not in built and REUSED in built

    cache._update_partial_parse_cache(project / "target" / "partial_parse.msgpack", partial_parse_cache(settings))
    docs_target = tmp_path / "docs_target"
    reuse_partial_parse(settings, docs_target)
    documented = run_dbt(settings, "ls", "--log-level", "debug", target_path=docs_target).stdout
    assert REPARSED not in documented and REUSED in documented


def test_no_parse_kept_leaves_a_command_to_parse_in_full(tmp_path, settings_env):
    settings = settings_env()
    reuse_partial_parse(settings, tmp_path / "target")

    assert not (tmp_path / "target").exists()
