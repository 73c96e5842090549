"""The observation sources' dbt properties describe the layout the loader writes.

The eight observation sources share one long layout, so ``models/staging/_observations__models.yml``
and ``_observations__sources.yml`` write its columns once (YAML anchors). These tests hold that one
description to the loader's (``OBSERVATION_COLUMNS`` and ``LINEAGE_COLUMNS``): a column added to the
layout without its contract fails here, by name, before a build would fail on the contract.
"""

from __future__ import annotations

from typing import Any

import yaml

from pipelines.parsers.common import OBSERVATION_COLUMNS
from pipelines.sources.catalogue import SOURCES
from pipelines.transform import DBT_PROJECT_DIR
from pipelines.warehouse.loader import LINEAGE_COLUMNS, _sql_type

STAGING = DBT_PROJECT_DIR / "models" / "staging"
OBSERVATION_SOURCES = [spec for spec in SOURCES if spec.kind == "observations"]


def _properties(name: str) -> dict[str, Any]:
    return yaml.safe_load((STAGING / name).read_text(encoding="utf-8"))


def _loader_layout() -> dict[str, str]:
    return {name: _sql_type(dtype) for name, dtype in OBSERVATION_COLUMNS.items()} | LINEAGE_COLUMNS


def test_every_staged_observation_model_contracts_the_loaders_columns_and_types():
    models = _properties("_observations__models.yml")["models"]
    assert len(models) == len(OBSERVATION_SOURCES)
    for model in models:
        assert model["config"]["contract"]["enforced"] is True, model["name"]
        assert {column["name"]: column["data_type"] for column in model["columns"]} == _loader_layout(), model["name"]


def test_every_raw_observation_table_is_described_with_the_loaders_columns():
    sources = {source["name"]: source for source in _properties("_observations__sources.yml")["sources"]}
    for spec in OBSERVATION_SOURCES:
        (table,) = sources[spec.raw_database]["tables"]
        assert table["name"] == spec.id
        assert {column["name"] for column in table["columns"]} == set(_loader_layout()), spec.id


def test_each_staged_observation_model_states_the_grains_its_source_publishes():
    for model in _properties("_observations__models.yml")["models"]:
        grain_tests = [test["accepted_values"] for test in model["data_tests"]
                       if "accepted_values" in test and test["accepted_values"].get("column_name") == "grain"]
        assert len(grain_tests) == 1, model["name"]
        assert set(grain_tests[0]["arguments"]["values"]) <= {"month", "rolling_12m", "survey_year"}, model["name"]
