"""A pass/fail screen does not hash the whole extract for GX's batch fingerprint.

GX hashes every value of a pandas batch to mark the batch it validated; for a screen, whose result
is never kept, that hash cost 7-10% of a backfill (benchmarks/FINDINGS.md, section 15). The reports
written with Data Docs still carry the fingerprint. These tests run real GX validations and count
GX's own hashing.
"""

from __future__ import annotations

import pytest
from great_expectations.execution_engine import pandas_execution_engine

from pipelines.validation import suites


@pytest.fixture
def fingerprints(monkeypatch) -> list[str]:
    """Every fingerprint GX computes from now on (its own function, counted)."""
    made: list[str] = []
    real = pandas_execution_engine.hash_pandas_dataframe

    def counted(df):
        made.append(real(df))
        return made[-1]

    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", counted)
    return made


def test_a_screened_extract_is_validated_without_hashing_its_values(inpatient, fingerprints):
    report = suites.validate(inpatient.table, source_id="fft", layout=inpatient.layout,
                             file_name="inpatient.xlsm", parameters={})

    assert report.passed and report.evaluated > 0
    assert fingerprints == []


def test_a_failing_check_is_still_found_by_the_screen_without_the_hash(inpatient, fingerprints):
    table = inpatient.table.copy()
    table.loc[3, "org_code"] = None

    report = suites.validate(table, source_id="fft", layout=inpatient.layout, file_name="inpatient.xlsm",
                             parameters={})

    assert not report.passed
    assert any(finding.column == "org_code" for finding in report.errors)


def test_a_report_with_data_docs_keeps_the_batch_fingerprint(inpatient, tmp_path, fingerprints):
    report = suites.validate(inpatient.table, source_id="fft", layout=inpatient.layout,
                             file_name="inpatient.xlsm", parameters={}, docs_dir=tmp_path / "docs")

    assert report.passed and len(fingerprints) == 1
    assert report.raw_result["meta"]["batch_markers"]["pandas_data_fingerprint"] == fingerprints[0]
    assert pandas_execution_engine.HASH_THRESHOLD == 1e9, "the screen's threshold is restored"
