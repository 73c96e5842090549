"""A check GX could not run says why, instead of ``None values outside the allowed set``.

GX 1.x reports a check that could not run with one exception record per metric it needed; only a
flat record was read, so the reason was lost and the count printed as ``None``.
"""

from __future__ import annotations

import pandas as pd

from pipelines.validation import suites


def _validate(table):
    return suites.validate(table, source_id="fft", layout="inpatient", file_name="inpatient.xlsm", parameters={})


def test_a_column_the_file_lacks_is_named_as_missing(inpatient):
    report = _validate(inpatient.table.drop(columns="suppression_token"))

    messages = [finding.message for finding in report.errors]
    assert messages and all(message == "inpatient.xlsm: required column 'suppression_token' is missing"
                            for message in messages), messages


def test_a_check_of_a_column_made_from_a_missing_one_says_so(inpatient):
    report = _validate(inpatient.table.drop(columns="unit"))

    messages = {finding.message for finding in report.errors}
    assert "inpatient.xlsm: required column 'unit' is missing" in messages
    assert ("inpatient.xlsm: column 'value_if_percent' could not be made, as a column it is made from is "
            "missing") in messages, messages


def test_a_check_that_raised_gives_gxs_reason():
    frame = pd.DataFrame({"source_row": [2, 3], "value": ["twelve", "7"]})  # text where a number belongs
    check = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "value", "min_value": 0,
                                                                         "max_value": 100}, "meta": {}}
    with suites._configurations_built_once():
        (result,) = suites._full_results(frame, "raises", [check], {}, None)["results"]

    message = suites._finding(result, frame, "file.csv").message
    assert message.startswith("file.csv: check expect_column_values_to_be_between could not run (")
    assert "must either be None or of the same type" in message, message  # GX's own reason


def test_the_derived_columns_named_are_those_prepare_frame_adds(inpatient):
    """The message for a derived column relies on this list; it must follow ``prepare_frame``."""
    table = inpatient.table
    assert set(suites.prepare_frame(table).columns) - set(table.columns) == suites.DERIVED_COLUMNS
