"""On DuckDB each dbt source's raw tables are a file of their own: the loader writes the file the
catalogue names, and dbt reads the same file, attached read-only under the name the source gives."""

from __future__ import annotations

import yaml

from pipelines.sources.catalogue import SOURCES
from pipelines.transform import DBT_PROJECT_DIR


def test_profiles_attach_exactly_the_raw_file_of_every_dbt_source_read_only():
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())["culture_outcomes"]["outputs"]["duckdb"]
    attached = {entry["alias"]: entry for entry in profile["attach"]}
    raw_databases = {spec.raw_database for spec in SOURCES}
    assert set(attached) == {f"raw_{name}" for name in raw_databases}
    for name in raw_databases:
        entry = attached[f"raw_{name}"]
        assert entry["path"] == "{{ env_var('CULTURE_OUTCOMES_DUCKDB_RAW_DIR') }}/" + f"{name}.duckdb"
        assert entry["read_only"] is True


def test_every_raw_table_is_read_from_its_sources_raw_file_on_duckdb_and_the_warehouse_on_postgres():
    declared = {}
    for path in (DBT_PROJECT_DIR / "models" / "staging").rglob("_*__sources.yml"):
        for source in yaml.safe_load(path.read_text())["sources"]:
            declared[source["name"]] = source
    for spec in SOURCES:
        source = declared[spec.raw_database]
        assert spec.id in {table["name"] for table in source["tables"]}
        assert source["schema"] == "raw"
        assert source["database"] == (
            f"{{{{ 'raw_{spec.raw_database}' if target.type == 'duckdb' else target.database }}}}")
