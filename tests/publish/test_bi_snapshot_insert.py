"""The BI snapshot's tables go into DuckDB as Arrow with their text dictionary-encoded: the rows that
arrive are exactly those of the frame, as reading the pandas frame itself gives them."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pyarrow as pa

from pipelines.publish.bi import as_arrow

COLUMNS = "org_code varchar, note varchar, value double, n bigint, flag boolean, period_start date"


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "org_code": pd.Series(["RC9", None, "RD8", "RC9", "Ü é", ""], dtype=object),
        "note": pd.Series([None] * 6, dtype=object),
        "value": pd.array([1.5, None, 0.0, -2.25, 1e300, 3.0], dtype="Float64"),
        "n": pd.array([1, None, 3, 4, 5, 2**40], dtype="Int64"),
        "flag": pd.array([True, None, False, True, False, True], dtype="boolean"),
        "period_start": pd.to_datetime(["2024-01-01", None, "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"]),
    })


def _inserted(rows: object) -> list[tuple]:
    with duckdb.connect() as con:
        con.execute(f"create table t ({COLUMNS})")
        con.register("_incoming", rows)
        con.execute("insert into t by name select * from _incoming")
        return con.execute("select * from t order by rowid").fetchall()


def test_the_rows_inserted_from_arrow_are_those_the_pandas_frame_gives():
    frame = _frame()

    converted = as_arrow(frame)

    assert isinstance(converted, pa.Table)
    assert pa.types.is_dictionary(converted.schema.field("org_code").type)
    assert _inserted(converted) == _inserted(frame)
    assert _inserted(converted)[1] == (None, None, None, None, None, None)


def test_a_column_of_other_python_objects_is_left_to_the_frame():
    frame = _frame().assign(period_start=pd.Series([dt.date(2024, m, 1) for m in range(1, 7)], dtype=object))

    assert as_arrow(frame) is frame
