"""The organisation-level sickness absence parser on the real files and on every published variant."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.parsers import sickness_absence
from pipelines.parsers.errors import ParseError
from pipelines.synthetic import sickness_absence as synthetic
from pipelines.synthetic.world import World
from tests.conftest import published_name, real_sickness_files
from tests.parsers.both_readers import (
    assert_readers_agree,
    assert_same_error,
    assert_same_outcome,
    with_cells,
)

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


# --- the column reader against the line reader ---------------------------------------------------


def test_column_reader_gives_exactly_the_line_readers_extract_on_every_real_month():
    for path in real_sickness_files():
        assert_readers_agree(sickness_absence.parse, path)


def test_column_reader_gives_exactly_the_line_readers_extract_on_synthetic_months(tmp_path):
    world = World()
    for month in (date(2022, 3, 1), date(2024, 4, 1)):
        path = write(tmp_path, synthetic.render_month(world, month).decode("utf-8"), synthetic.file_name(month))
        assert_readers_agree(sickness_absence.parse, path)


def test_column_reader_reads_the_pre_2022_layout_and_tokens_like_the_line_reader(tmp_path):
    path = write(tmp_path, "Date,Org Code,Org Name,Org Type,FTE Days Sick,FTE Days Available,SA Rate (%)\n"
                           "2015-JAN,RC9,BEDFORDSHIRE,Acute,100,2000,5.00%\n"
                           "2015-JAN,RD8,MILTON KEYNES,Acute,*,\"1,500\",-\n")
    extract = assert_readers_agree(sickness_absence.parse, path)
    assert extract.layout == "org_monthly_legacy" and extract.table["suppression_token"].tolist()[1] == "*"


@pytest.mark.parametrize(
    ("line", "column", "value", "words"),
    [
        (150, "SICKNESS_ABSENCE_RATE_PERCENT", "three", "expected a number, found 'three'"),
        (200, "ORG_CODE", "R!9", "ODS"),
        (250, "DATE", "31/13/2024", "expected a date"),
    ],
)
def test_a_bad_cell_in_a_real_month_is_named_exactly_as_the_line_reader_names_it(tmp_path, line, column, value, words):
    source = real_sickness_files()[0]
    path = tmp_path / published_name(source)
    path.write_bytes(with_cells(source.read_bytes(), {(line, column): value}))
    error = assert_same_error(sickness_absence.parse, path)
    assert (error.file, error.row, error.column) == (str(path), line, column)
    assert words in str(error)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["", " ", "*", "-", "NA", "3.91", "1,234.5", "5%", "1e3", "+2", "RC9", "R!9",
                                 "30/04/2024", "2015-JAN", "31/13/2024", '"a,b"', "x"]), min_size=11, max_size=11))
def test_any_cells_in_a_well_formed_line_give_what_the_line_reader_gives(tmp_path_factory, cells):
    path = tmp_path_factory.mktemp("cells") / "cells.csv"
    path.write_text(HEADER + "\n" + ROW + "\n" + ",".join(cells) + "\n", encoding="utf-8")
    assert_same_outcome(sickness_absence.parse, path)
