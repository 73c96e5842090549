"""The published table's order: read in storage order and sorted in Python exactly as SQL's
``order by metric_id, period_start, comparator, org_code`` would (that ``order by`` once made DuckDB
hold a sorted copy of the national table, 520 MiB of a release's peak memory)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines.config import load_settings
from pipelines.publish.contents import TABLE_ORDER, in_table_order, read_benchmark_table
from tests.publish.test_release_contents import built_warehouse, publish_env


def _shuffled_cells(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = 400
    frame = pd.DataFrame({
        "metric_id": rng.choice(["fft_ae_recommend", "sickness_rate", "staff_engagement", "Zeta", "alpha"], rows),
        "period_start": pd.to_datetime(rng.choice(["2024-04-01", "2023-04-01", "2024-05-01", None], rows)),
        "comparator": rng.choice(["england", "network", "peer"], rows),
        "org_code": rng.choice(["RC9", "RD8", "R1K", "RYV", None], rows),
        "value": rng.random(rows),
    })
    return frame


def test_rows_come_out_in_the_order_sql_gives_nulls_last():
    frame = _shuffled_cells()
    keys = ", ".join(TABLE_ORDER)
    expected = duckdb.sql(f"select {keys} from frame order by {keys}").df()

    ordered = in_table_order(frame.assign(stored_at=range(len(frame))))

    pd.testing.assert_frame_equal(ordered[list(TABLE_ORDER)].astype(object), expected.astype(object))
    assert ordered["period_start"].isna().to_numpy()[-1]  # a missing period sorts after every date
    # Rows with the same key keep their stored order (a stable sort).
    assert ordered.groupby(list(TABLE_ORDER), dropna=False)["stored_at"].is_monotonic_increasing.all()


def test_a_table_already_in_order_is_returned_as_is_without_a_copy():
    ordered = in_table_order(_shuffled_cells())
    assert in_table_order(ordered) is ordered


def test_the_warehouse_table_is_published_in_order_even_when_stored_shuffled(tmp_path, tmp_path_factory):
    settings = load_settings(environ=publish_env(tmp_path, built_warehouse(tmp_path_factory)))
    path = settings.warehouse.duckdb_path
    with duckdb.connect(str(path)) as con:
        stored = con.sql("select * from benchmarks.benchmark_table").df()
        con.execute("create or replace table benchmarks.benchmark_table as "
                    "select * from benchmarks.benchmark_table order by random()")
        expected_keys = con.sql("select " + ", ".join(TABLE_ORDER) + " from benchmarks.benchmark_table order by "
                                + ", ".join(TABLE_ORDER)).df()

    table = read_benchmark_table(settings)

    assert len(table) == len(stored) > 0
    pd.testing.assert_frame_equal(table[list(TABLE_ORDER)].astype(object), expected_keys.astype(object),
                                  check_dtype=False)


@pytest.mark.parametrize("rows", [0, 1])
def test_an_empty_or_single_row_table_is_returned_unchanged(rows):
    frame = _shuffled_cells().head(rows)
    assert in_table_order(frame) is frame


def test_the_table_read_through_arrow_equals_the_contract_cast_with_every_kind_of_missing_value(tmp_path):
    """frame_from_arrow gives what cast_to_schema gives for the same rows: dtypes, values, nulls
    in every column kind, and one shared str object per distinct label."""
    from pipelines.benchmark.schema import COLUMN_TYPES, cast_to_schema, create_table_sql, frame_from_arrow

    rng = np.random.default_rng(3)
    rows = 300
    samples = {
        "double precision": lambda: rng.choice([0.25, 1.5, np.nan, 1e9], rows),
        "bigint": lambda: pd.array(rng.choice([1, 7, 250, None], rows), dtype="Int64"),
        "boolean": lambda: pd.array(rng.choice([True, False, None], rows), dtype="boolean"),
        "date": lambda: pd.to_datetime(rng.choice(["2024-04-01", "2019-01-31", None], rows)),
        "text": lambda: rng.choice(["RC9", "network", "ratio, of sums", None], rows),
    }
    written = cast_to_schema({name: samples[kind]() for name, kind in COLUMN_TYPES.items()})
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create schema benchmarks")
        con.execute(create_table_sql())
        con.execute("insert into benchmarks.benchmark_table select * from written")
        batch = con.sql("select * from benchmarks.benchmark_table").to_arrow_table().to_batches()[0]
        through_pandas = cast_to_schema(con.sql("select * from benchmarks.benchmark_table").df())

    through_arrow = frame_from_arrow(batch)

    pd.testing.assert_frame_equal(through_arrow, through_pandas)
    pd.testing.assert_frame_equal(through_arrow, written)
    text = next(name for name, kind in COLUMN_TYPES.items() if kind == "text")
    labels = through_arrow[text].dropna()
    assert len({id(value) for value in labels}) == labels.nunique()  # one object per distinct label


def test_the_computed_table_is_already_in_the_published_order():
    """The transform stores the table as computed: in this order, a release reads it back and sorts
    nothing (comparators had been ordered network, peer group, England, so every release sorted a
    copy of the national table)."""
    from pipelines.benchmark import compute_benchmark_table
    from tests.benchmark.benchmark_facts import make_facts

    table = compute_benchmark_table(make_facts())

    assert in_table_order(table) is table
    assert list(dict.fromkeys(table["comparator"])) == sorted(set(table["comparator"]))
