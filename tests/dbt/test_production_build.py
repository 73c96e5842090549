"""A scheduled refresh builds every model and data test but not the unit tests (CI runs those)."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.config import load_settings
from pipelines.transform import PRODUCTION_BUILD_FLAGS, run_dbt


def _listed(tmp_path: Path, *flags: str) -> dict[str, set[str]]:
    """dbt's own selection for ``dbt build`` with ``flags``: resource type -> node names."""
    listed = run_dbt(load_settings(), "ls", "--resource-type", "all", "--output", "json", "--quiet", *flags,
                     "--log-path", str(tmp_path / "logs"), target_path=tmp_path / "target").stdout
    nodes: dict[str, set[str]] = {}
    for line in listed.splitlines():
        if line.startswith("{"):
            node = json.loads(line)
            nodes.setdefault(node["resource_type"], set()).add(node["name"])
    return nodes


def test_a_scheduled_build_leaves_out_the_unit_tests_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.setenv("CULTURE_OUTCOMES_PATHS_DATA_DIR", str(tmp_path / "data"))
    everything = _listed(tmp_path)
    scheduled = _listed(tmp_path, *PRODUCTION_BUILD_FLAGS)

    assert len(everything["unit_test"]) == 7 and "unit_test" not in scheduled
    assert {kind: names for kind, names in everything.items() if kind != "unit_test"} == scheduled
    # 85 data tests: the not_null checks of every model are constraints of its contract, not tests
    # (test_staging_contract.py); the seed keeps its 13.
    assert len(scheduled["model"]) > 20 and len(scheduled["test"]) > 80
