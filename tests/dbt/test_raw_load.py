"""Loading an extract into the warehouse's raw schema, on DuckDB and on PostgreSQL: one extract's rows
replaced as a whole, dates stored as dates, and a column a new layout brings added to the table."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import empty_warehouse

from pipelines.warehouse.connection import connect
from pipelines.warehouse.loader import Extract, load_extract, load_extracts

TARGETS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


def _load(warehouse, table: pd.DataFrame, sha256: str) -> int:
    return load_extract(warehouse, "fft", table, sha256=sha256, vintage="2025-10", layout="ae",
                        file_name=f"{sha256}.xlsx")


@pytest.mark.parametrize("target", TARGETS)
def test_an_extract_loaded_again_replaces_its_rows_a_new_column_is_added_and_dates_stay_dates(tmp_path, target):
    first = pd.DataFrame({"org_code": ["RC9", "RD8"], "value": [91.5, 88.0],
                          "period_start": pd.to_datetime(["2025-10-01", None]).astype("datetime64[s]")})
    with empty_warehouse(target, tmp_path) as settings, connect(settings, raw_of="fft") as warehouse:
        assert _load(warehouse, first, "a" * 64) == 2
        assert _load(warehouse, first, "a" * 64) == 2  # the same extract again: replaced, not doubled
        widened = first.assign(breakdown=["all", "all"])
        _load(warehouse, widened, "b" * 64)

        rows = warehouse.query('select extract_sha256, org_code, breakdown, cast(period_start as varchar) as day '
                               'from raw."fft" order by 1, 2')
        kind = warehouse.query("select data_type from information_schema.columns where table_schema = 'raw' "
                               "and table_name = 'fft' and column_name = 'period_start'")["data_type"].iloc[0]

    assert rows["extract_sha256"].str[0].tolist() == ["a", "a", "b", "b"]
    assert rows["breakdown"].isna().tolist() == [True, True, False, False]
    assert kind.lower() == "date"
    assert rows["day"].iloc[0] == "2025-10-01" and pd.isna(rows["day"].iloc[1])


@pytest.mark.parametrize("target", TARGETS)
def test_a_column_added_by_a_load_that_failed_is_added_again_by_the_next(tmp_path, target):
    """A batch's connection remembers each raw table's columns so its next extracts load without
    asking; a load that fails takes back the column it added, and must not be remembered as adding it."""
    first = pd.DataFrame({"org_code": ["RC9"], "value": [91.5]})
    with empty_warehouse(target, tmp_path) as settings, connect(settings, raw_of="fft") as warehouse:
        _load(warehouse, first, "a" * 64)
        with pytest.raises(Exception):  # noqa: B017,PT011 - DuckDB and PostgreSQL raise their own errors
            _load(warehouse, first.assign(breakdown=["all"], value=["not a number"]), "b" * 64)
        _load(warehouse, first.assign(breakdown=["all"]), "c" * 64)

        rows = warehouse.query('select extract_sha256, breakdown from raw."fft" order by 1')

    assert rows["extract_sha256"].str[0].tolist() == ["a", "c"]
    assert rows["breakdown"].tolist()[1] == "all"


@pytest.mark.parametrize("target", TARGETS)
def test_extracts_loaded_as_a_group_replace_each_ones_rows_whatever_their_columns(tmp_path, target):
    """A backfill loads its files in groups (one transaction): each extract is replaced whole, one
    loaded before is not doubled, and extracts of different columns in one group keep their values."""
    narrow = pd.DataFrame({"org_code": ["RC9", "RD8"], "value": [91.5, 88.0]})
    wide = pd.DataFrame({"org_code": ["RC9"], "value": [70.0], "breakdown": ["all"]})
    with empty_warehouse(target, tmp_path) as settings, connect(settings, raw_of="fft") as warehouse:
        _load(warehouse, narrow, "a" * 64)
        counts = load_extracts(warehouse, "fft", [
            Extract(narrow, "a" * 64, "2025-10", "ae", "a.xlsx"),  # loaded before: replaced
            Extract(narrow.assign(value=[1.0, 2.0]), "b" * 64, "2025-11", "ae", "b.xlsx"),
            Extract(wide, "c" * 64, "2025-12", "ae", "c.xlsx"),
        ])
        rows = warehouse.query('select extract_sha256, file_name, org_code, value, breakdown from raw."fft" order by 1, 3')

    assert counts == [2, 2, 1]
    assert rows["extract_sha256"].str[0].tolist() == ["a", "a", "b", "b", "c"]
    assert rows["value"].tolist() == [91.5, 88.0, 1.0, 2.0, 70.0]
    assert rows["file_name"].tolist() == ["a.xlsx", "a.xlsx", "b.xlsx", "b.xlsx", "c.xlsx"]
    assert rows["breakdown"].isna().tolist() == [True, True, True, True, False]


def test_raw_tables_an_earlier_version_kept_in_the_warehouse_file_move_to_their_sources_files(tmp_path):
    from pipelines.warehouse.loader import ensure_raw_tables

    table = pd.DataFrame({"org_code": ["RC9"], "value": [91.5], "layout_only": ["kept"]})
    with empty_warehouse("duckdb", tmp_path) as settings:
        with connect(settings) as old:  # the layout before December 2026: raw tables in the warehouse file
            _load(old, table, "a" * 64)
            _load(old, table, "b" * 64)
        with connect(settings, raw_of="fft") as raw:  # loaded since the upgrade, before the first transform
            _load(raw, table.drop(columns="layout_only"), "b" * 64)
            _load(raw, table.drop(columns="layout_only"), "c" * 64)

        ensure_raw_tables(settings)
        ensure_raw_tables(settings)  # nothing left to move the second time

        with connect(settings, raw_of="fft", read_only=True) as raw:
            moved = raw.query('select extract_sha256, layout_only from raw."fft" order by 1')
        with connect(settings, read_only=True) as warehouse:
            left = warehouse.query("select count(*) as n from information_schema.tables where table_schema = 'raw'")
    assert moved["extract_sha256"].str[0].tolist() == ["a", "b", "c"]  # b: as loaded since, not twice
    assert moved["layout_only"].iloc[0] == "kept" and moved["layout_only"].iloc[1:].isna().all()
    assert left["n"].iloc[0] == 0
