"""The volume check compares like with like: the newest period of each release.

Staff Survey benchmark workbooks restate five survey years, and measures introduced in 2021 (the
People Promise) gain a year of history with every release, so each workbook has many more rows
than the one before while the newest year's rows stay steady.
"""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.ingest import ExtractRejected, Outcome, ingest_source, newest_period_rows


@pytest.fixture
def survey_site(synthetic_year):
    return synthetic_year("staff_survey_benchmark", years=5)["staff_survey_benchmark"]


def test_restated_workbooks_that_grow_with_history_all_load(survey_site, settings_env):
    from pipelines.parsers.staff_survey import parse_benchmark_workbook

    sizes = [len(parse_benchmark_workbook(path).table) for path in sorted(survey_site)]
    assert max(sizes) > min(sizes) * 1.5  # the whole-file row count would fail a 20% tolerance

    outcomes = ingest_source("staff_survey_benchmark", settings_env(), progress=lambda _: None)

    assert [type(outcome) for outcome in outcomes] == [Outcome] * len(survey_site)
    assert {outcome.status for outcome in outcomes} == {"loaded"}


def test_a_workbook_whose_newest_year_lost_a_third_of_its_rows_is_still_quarantined(survey_site, settings_env):
    import openpyxl

    newest = sorted(survey_site)[-1]
    book = openpyxl.load_workbook(newest)
    for sheet in book.worksheets:
        sheet.delete_rows(2, (sheet.max_row - 1) // 2)  # half the units of every benchmarking group
    book.save(newest)

    outcomes = ingest_source("staff_survey_benchmark", settings_env(), progress=lambda _: None)

    assert all(isinstance(outcome, Outcome) for outcome in outcomes[:-1])
    assert isinstance(outcomes[-1], ExtractRejected)
    assert "rows in the file's newest period" in str(outcomes[-1])


def test_newest_period_rows_counts_only_the_latest_period():
    table = pd.DataFrame({"period_start": pd.to_datetime(["2023-01-01", "2024-01-01", "2024-01-01"])})
    assert newest_period_rows(table) == 2
    assert newest_period_rows(pd.DataFrame({"org_code": ["A", "B"]})) == 2
