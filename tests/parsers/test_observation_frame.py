"""Property: the observation table holds exactly the text and dates each row was given.

A long file's text columns are converted once per distinct value and repeated by position
(:func:`pipelines.parsers.common.observation_frame`), a short file's row by row, and a parser may
give one array per column or one dict per row; whatever mix of repeated, empty, missing or
non-ASCII values a file holds, every way gives what converting every row on its own gives.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.parsers import common
from pipelines.parsers.common import OBSERVATION_COLUMNS, observation_frame

TEXTS = st.one_of(st.none(), st.just(math.nan), st.just(""), st.sampled_from(["RC9", "RD8", "Nurses", "Ü é"]),
                  st.text(max_size=6))


def _columns(org_names: list[object]) -> dict[str, object]:
    count = len(org_names)
    columns: dict[str, object] = {name: None for name in OBSERVATION_COLUMNS}
    columns.update(org_name=np.array(org_names, dtype=object), source_row=np.arange(count),
                   period_start=np.zeros(count, dtype="datetime64[s]"),
                   period_end=np.zeros(count, dtype="datetime64[s]"),
                   value=np.zeros(count), numerator=np.zeros(count), denominator=np.zeros(count),
                   suppressed=np.zeros(count, dtype=bool))
    return columns


@pytest.mark.parametrize("by_distinct_value", [True, False], ids=["each-distinct-value-once", "row-by-row"])
@given(org_names=st.lists(TEXTS, min_size=1, max_size=40))
def test_each_row_keeps_its_own_text_or_its_absence(by_distinct_value, org_names):
    threshold = common.TEXTS_BY_DISTINCT_VALUE
    common.TEXTS_BY_DISTINCT_VALUE = 0 if by_distinct_value else 10**9
    try:
        column = observation_frame(_columns(org_names))["org_name"]
        from_records = observation_frame([{"org_name": name, "source_row": row} for row, name in enumerate(org_names)])
    finally:
        common.TEXTS_BY_DISTINCT_VALUE = threshold

    expected = pd.array(org_names, dtype="string")
    assert column.dtype == expected.dtype
    assert column.array.equals(expected)
    assert [None if pd.isna(v) else v for v in column] == [None if pd.isna(v) else v for v in org_names]
    assert from_records["org_name"].array.equals(expected)  # one dict per row gives the same column


DATES = st.one_of(st.none(), st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2040, 12, 31)),
                  st.sampled_from([dt.date(2024, 3, 1), dt.date(2024, 3, 31)]))


@given(starts=st.lists(DATES, min_size=1, max_size=40))
def test_each_row_keeps_its_own_date_or_its_absence(starts):
    frame = observation_frame([{"period_start": start, "source_row": row} for row, start in enumerate(starts)])

    expected = np.array([np.datetime64("NaT") if d is None else np.datetime64(d) for d in starts], dtype="datetime64[s]")
    np.testing.assert_array_equal(frame["period_start"].to_numpy(), expected)
    assert frame["period_start"].dtype == np.dtype("datetime64[s]")
