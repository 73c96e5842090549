"""The derived columns the suites check, row by row: what each holds for the rows that have one."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pipelines.parsers.common import OBSERVATION_COLUMNS
from pipelines.validation.suites import DERIVED_COLUMNS, VALUE_BY_UNIT, prepare_frame

ROWS = [
    # org, period, unit, value, numerator, denominator, suppressed
    ("RC9", "2024-05-01", "percent", 80.0, 8.0, 10.0, False),     # consistent
    ("RC9", "2024-05-01", "percent", 75.0, 8.0, 10.0, False),     # 5 points off
    ("RD8", "2024-05-01", "fraction", 0.79, 8.0, 10.0, False),    # 0.01 off, at 100x
    ("RD8", "2024-04-01", "percent", 50.0, 1.0, 0.0, False),      # no denominator to compare with
    ("RWK", "2024-04-01", "count", 12.0, None, None, False),
    ("RWK", "2024-04-01", "fte", 3.5, None, None, False),
    ("RWK", "2024-05-01", None, 4.0, 1.0, 2.0, False),            # no unit
    ("RYC", "2024-05-01", "percent", None, None, None, True),     # suppressed, withheld
    ("RYC", "2024-05-01", "score_0_10", 7.1, None, None, True),   # suppressed, yet a value
]


@pytest.fixture
def table() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=["org_code", "period_start", "unit", "value", "numerator", "denominator",
                                        "suppressed"])
    frame["period_start"] = pd.to_datetime(frame["period_start"]).astype("datetime64[s]")
    return frame.astype({name: OBSERVATION_COLUMNS[name] for name in frame.columns if name != "period_start"})


def _floats(series: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else round(float(v), 9) for v in series]


def test_rate_discrepancy_is_the_gap_between_value_and_its_fraction_at_the_published_precision(table):
    prepared = prepare_frame(table)
    assert _floats(prepared["rate_discrepancy"]) == [0.0, 5.0, 1.0, None, None, None, None, None, None]


def test_value_by_unit_columns_hold_the_value_only_for_their_units(table):
    prepared = prepare_frame(table)
    assert _floats(prepared["value_if_percent"]) == [80.0, 75.0, None, 50.0, None, None, None, None, None]
    assert _floats(prepared["value_if_fraction"]) == [None, None, 0.79, None, None, None, None, None, None]
    assert _floats(prepared["value_if_score_0_10"]) == [None] * 8 + [7.1]
    assert _floats(prepared["value_if_count"]) == [None] * 4 + [12.0, 3.5, None, None, None]
    assert all(prepared[name].dtype == "float64" for name in VALUE_BY_UNIT)  # NumPy's: GX's range check is fast on it


def test_newest_period_suppressed_values_and_successors_are_marked(table):
    prepared = prepare_frame(table, successors={"RWK": "RX1"})
    assert prepared["in_newest_period"].tolist() == [1, 1, 1, 0, 0, 0, 1, 1, 1]
    assert prepared["suppressed_with_value"].tolist() == [False] * 8 + [True]
    assert prepared["resolved_org_code"].tolist() == ["RC9", "RC9", "RD8", "RD8", "RX1", "RX1", "RX1", "RYC", "RYC"]


def test_the_parsed_table_is_left_as_it_was_and_every_derived_column_is_added(table):
    before = table.copy()
    prepared = prepare_frame(table)
    pd.testing.assert_frame_equal(table, before)
    assert list(prepared.columns[:len(table.columns)]) == list(table.columns)
    assert set(prepared.columns[len(table.columns):]) == DERIVED_COLUMNS


def test_an_empty_table_gets_empty_derived_columns(table):
    prepared = prepare_frame(table.iloc[0:0])
    assert len(prepared) == 0 and set(prepared.columns) >= DERIVED_COLUMNS


def test_a_rate_without_its_denominator_is_not_compared(table):
    first = table.iloc[:1].copy()
    first.loc[first.index[0], "denominator"] = pd.NA
    assert math.isnan(prepare_frame(first)["rate_discrepancy"].iloc[0])


def test_a_row_without_a_period_does_not_hide_the_newest_period(table):
    table.loc[table.index[3], "period_start"] = pd.NaT
    assert prepare_frame(table)["in_newest_period"].tolist() == [1, 1, 1, 0, 0, 0, 1, 1, 1]
