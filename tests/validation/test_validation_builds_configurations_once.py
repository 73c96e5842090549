"""Validation builds each expectation's GX configuration once per run, and reports exactly the same.

:func:`pipelines.validation.suites._configurations_built_once` patches GX's
``Expectation.configuration`` for the length of one validation (it was 40% of each extract's
validation time). These tests prove the findings do not change, that the patch is in force only
during a run, and that it is removed even when a run fails.
"""

from __future__ import annotations

from contextlib import nullcontext

import pandas as pd
import pytest

from pipelines.validation import suites


def _broken(table: pd.DataFrame) -> pd.DataFrame:
    """A copy with a blank code, a repeated row, a share above 100% and a count below zero."""
    broken = pd.concat([table, table.iloc[[3]]], ignore_index=True)
    broken.loc[0, "org_code"] = None
    share = broken.index[broken["unit"] == "fraction"][0]
    broken.loc[share, "value"] = 1.7
    count = broken.index[broken["unit"] == "count"][0]
    broken.loc[count, "value"] = -4.0
    return broken


def _validate(table: pd.DataFrame, parameters: dict[str, object]) -> suites.ValidationReport:
    return suites.validate(table, source_id="fft", layout="inpatient", file_name="inpatient.xlsm",
                           parameters=parameters)


@pytest.mark.parametrize("parameters", [{}, {"min_rows": 5_000, "max_rows": 6_000, "min_orgs": 1, "max_orgs": 2}],
                         ids=["no baseline", "volumes out of range"])
def test_a_failing_extract_gives_the_same_findings_with_and_without_the_cache(inpatient, monkeypatch, parameters):
    cached = _validate(_broken(inpatient.table), parameters).as_dict()
    monkeypatch.setattr(suites, "_configurations_built_once", nullcontext)
    uncached = _validate(_broken(inpatient.table), parameters).as_dict()

    assert cached == uncached
    assert {finding["expectation"] for finding in cached["findings"]} >= {
        "expect_column_values_to_not_be_null",
        "expect_compound_columns_to_be_unique",
        "expect_column_values_to_be_between",
    }
    examples = [example for finding in cached["findings"] for example in finding["examples"]]
    assert examples and all(example["row"] is not None for example in examples)


def test_a_passing_extract_passes_with_the_cache(inpatient, fft_month):
    report = _validate(inpatient.table, {"release_period_start": pd.Timestamp(fft_month)})

    assert report.passed, report.summary()
    assert report.evaluated == len(suites.load_suite("fft", "inpatient")["expectations"]) - len(report.skipped)


def test_configurations_are_built_once_only_during_a_run():
    from great_expectations.expectations.core import ExpectColumnToExist
    from great_expectations.expectations.expectation import Expectation

    unpatched = Expectation.__dict__["configuration"]
    expectation = ExpectColumnToExist(column="org_code")
    assert expectation.configuration is not expectation.configuration

    with suites._configurations_built_once():
        assert expectation.configuration is expectation.configuration
        assert expectation.configuration.kwargs["column"] == "org_code"

    assert Expectation.__dict__["configuration"] is unpatched
    assert expectation.configuration is not expectation.configuration


def test_the_patch_is_removed_when_a_run_fails():
    from great_expectations.expectations.expectation import Expectation

    unpatched = Expectation.__dict__["configuration"]
    with pytest.raises(RuntimeError, match="mid-run"), suites._configurations_built_once():
        raise RuntimeError("mid-run")

    assert Expectation.__dict__["configuration"] is unpatched
