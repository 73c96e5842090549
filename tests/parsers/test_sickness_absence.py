"""The organisation-level sickness absence parser on the real files and on every published variant."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.parsers import sickness_absence
from pipelines.parsers.errors import ParseError
from tests.conftest import real_sickness_files

HEADER = (
    "DATE,NHSE_REGION_CODE,NHSE_REGION_NAME,ICS_CODE,ICS_NAME,ORG_CODE,ORG_NAME,ORG_TYPE,"
    "FTE_DAYS_LOST,FTE_DAYS_AVAILABLE,SICKNESS_ABSENCE_RATE_PERCENT"
)
ROW = '30/04/2024,Y61,East of England,QHG,"NHS Bedfordshire, Luton and Milton Keynes ICB",RC9,BEDFORDSHIRE HOSPITALS NHS FOUNDATION TRUST,Acute,4861.61,124327.23,3.91'


def write(tmp_path: Path, text: str, name: str = "NHS Sickness Absence rates CSV, April 2024.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_real_month_parses_and_the_published_rate_equals_days_lost_over_available():
    for path in real_sickness_files():
        extract = sickness_absence.parse(path)
        table = extract.table
        assert extract.layout == "org_monthly"
        assert len(table) == sum(1 for _ in path.open()) - 1
        recomputed = (table["numerator"] / table["denominator"] * 100).round(2)
        assert (recomputed - table["value"]).abs().max() < 0.0051
        assert table["period_start"].nunique() == 1


def test_real_files_show_the_2024_25_mergers_and_quoted_names():
    files = real_sickness_files()
    first = set(sickness_absence.parse(files[0]).table["org_code"])
    last = set(sickness_absence.parse(files[-1]).table["org_code"])
    assert {"R1C", "RAP", "RRP", "RY9", "RYK", "TAF"} <= first - last
    assert "G6V2S" in last - first
    table = sickness_absence.parse(files[0]).table
    assert table.loc[table["org_code"] == "0AR", "region_code"].iloc[0] == "QZZ"


def test_the_pre_2022_layout_reads_month_names_and_percent_signs(tmp_path):
    path = write(tmp_path, "Date,Org Code,Org Name,Org Type,FTE Days Sick,FTE Days Available,SA Rate (%)\n"
                           "2015-JAN,RC9,BEDFORDSHIRE,Acute,100,2000,5.00%\n")
    extract = sickness_absence.parse(path)
    row = extract.table.iloc[0]
    assert extract.layout == "org_monthly_legacy"
    assert str(row["period_end"].date()) == "2015-01-31" and row["value"] == 5.0


@pytest.mark.parametrize(
    ("text", "row", "column", "words"),
    [
        (HEADER.replace("ORG_CODE", "ORGANISATION") + "\n" + ROW + "\n", 1, "org_code", "not found"),
        (HEADER + "\n" + ROW.replace(",3.91", ",three") + "\n", 2, "SICKNESS_ABSENCE_RATE_PERCENT", "expected a number"),
        (HEADER + "\n" + ROW + "\n" + ROW + "\n", 3, "org_code", "duplicate"),
        (HEADER + "\n" + ROW.replace("RC9", "R!9") + "\n", 2, "ORG_CODE", "ODS"),
        (HEADER + "\n" + ROW.replace("30/04/2024", "31/13/2024") + "\n", 2, "DATE", "date"),
        (HEADER + "\n" + ROW[:60], 2, None, "truncated"),
        ("<!DOCTYPE html><html><body>Service unavailable</body></html>", 1, None, "HTML"),
    ],
    ids=["renamed-column", "non-numeric", "duplicated-row", "bad-code", "bad-date", "truncated", "html-error-page"],
)
def test_malformed_input_names_the_file_row_and_column(tmp_path, text, row, column, words):
    path = write(tmp_path, text)
    with pytest.raises(ParseError) as caught:
        sickness_absence.parse(path)
    error = caught.value
    assert error.file == str(path) and error.row == row and error.column == column
    assert words.lower() in str(error).lower() and path.name in str(error)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_no_input_raises_anything_but_a_parse_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.csv"
    path.write_text(HEADER + "\n" + text, encoding="utf-8")
    try:
        sickness_absence.parse(path)
    except ParseError:
        pass
