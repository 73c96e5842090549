"""A pass/fail screen gives GX only the columns its checks name, and decides as it would on all.

GX copies every column of a frame whenever a check selects its rows, so a screen over only the
columns it reads is cheaper (benchmarks/FINDINGS.md, section 19). These tests run real GX
validations and look at the frames GX was given.
"""

from __future__ import annotations

import pandas as pd
import pytest
from great_expectations.execution_engine import pandas_execution_engine

from pipelines.validation import suites


@pytest.fixture
def frames_given(monkeypatch) -> list[pd.DataFrame]:
    """Every frame GX makes a batch of from now on."""
    given: list[pd.DataFrame] = []
    real = pandas_execution_engine.PandasExecutionEngine.get_batch_data_and_markers

    def recorded(self, batch_spec):
        given.append(batch_spec["batch_data"])
        return real(self, batch_spec)

    monkeypatch.setattr(pandas_execution_engine.PandasExecutionEngine, "get_batch_data_and_markers", recorded)
    return given


def test_the_screen_of_whole_table_checks_reads_only_the_columns_they_name(inpatient, frames_given):
    report = suites.validate(inpatient.table, source_id="fft", layout=inpatient.layout,
                             file_name="inpatient.xlsm", parameters={"min_orgs": 1, "max_orgs": 10_000})

    assert report.passed
    checked = {column for e in suites.load_suite("fft", inpatient.layout)["expectations"]
               for column in ([e["kwargs"]["column"]] if "column" in e["kwargs"] else e["kwargs"]["column_list"])}
    prepared = suites.prepare_frame(inpatient.table)
    assert frames_given, "GX was given no frame"
    for screened in frames_given:  # GX asks for its batch's data more than once
        assert set(screened.columns) <= checked and len(screened.columns) < len(prepared.columns)
        assert len(screened) == len(inpatient.table)


def test_a_duplicated_row_fails_the_screen_and_its_findings_quote_the_whole_row(inpatient, frames_given):
    table = pd.concat([inpatient.table, inpatient.table.iloc[[5]]], ignore_index=True)

    report = suites.validate(table, source_id="fft", layout=inpatient.layout, file_name="inpatient.xlsm",
                             parameters={"min_orgs": 1, "max_orgs": 10_000})

    assert [finding.expectation for finding in report.errors] == ["expect_compound_columns_to_be_unique"]
    widths = {len(frame.columns) for frame in frames_given}
    assert len(widths) == 2, "a screen over the checked columns, then the full results over all of them"
    duplicated_row = int(inpatient.table["source_row"].iloc[5])
    assert {example["row"] for example in report.errors[0].examples} == {duplicated_row}


def test_a_renamed_column_is_still_missing_for_the_screen(inpatient):
    table = inpatient.table.rename(columns={"measure": "measure_name"})

    report = suites.validate(table, source_id="fft", layout=inpatient.layout, file_name="inpatient.xlsm",
                             parameters={})

    assert not report.passed
    assert any(finding.column == "measure" for finding in report.errors)
