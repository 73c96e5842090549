"""Property tests: whatever a workbook cell holds, the spreadsheet cell readers either return a value
or raise ParseError - never another exception that would crash a load without naming the cell."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.parsers import fft
from pipelines.parsers.common import Cell
from pipelines.parsers.errors import ParseError
from pipelines.parsers.spreadsheet import (
    Sheet,
    cell_text,
    column_letter,
    locate_label,
    percent_scale,
    read_header,
    read_number,
    row_code,
)
from pipelines.parsers.staff_survey import SURVEY_CODE, TOKENS, benchmark_group_key, stable_measure

# Text a workbook can hold (XML forbids most control characters and lone surrogates).
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
ANY_CELL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["1e999", "-1e400", "1,000", "12%", " 7 ", "NaN", "inf", "*", "<10", "na", "\ufeff3"]),
    st.dates(),
    st.datetimes(),
    st.times(),
    st.timedeltas(),
    st.decimals(allow_nan=True),
    st.binary(max_size=8),
)
WHERE = {"file": Path("x.xlsx"), "sheet": "Trusts", "row": 15, "column": "Percentage Positive"}


@given(ANY_CELL, st.booleans())
def test_read_number_returns_a_finite_cell_or_raises_parse_error(raw, percent_sign):
    try:
        cell = read_number(raw, tokens=TOKENS, percent_sign=percent_sign, **WHERE)
    except ParseError as error:
        assert (error.sheet, error.row, error.column) == ("Trusts", 15, "Percentage Positive")
        return
    assert isinstance(cell, Cell)
    assert cell.value is None or math.isfinite(cell.value)
    assert not (cell.suppressed and cell.value is not None)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_finite_numbers_read_back_exactly_from_cells_and_text(value):
    assert read_number(value, **WHERE).value == value
    assert read_number(repr(value), **WHERE).value == value


@given(st.integers(min_value=0, max_value=10**12))
def test_thousands_separators_are_accepted(value):
    assert read_number(f"{value:,}", **WHERE).value == value


@given(st.sampled_from(TOKENS), st.sampled_from(["", " ", "  "]), st.booleans())
def test_tokens_are_suppressed_never_zero(token, pad, upper):
    text = pad + (token.upper() if upper else token.lower()) + pad
    cell = read_number(text, tokens=TOKENS, **WHERE)
    assert cell.suppressed and cell.value is None and cell.token == token


@given(ANY_CELL)
def test_cell_text_never_raises_and_is_trimmed(raw):
    text = cell_text(raw)
    assert isinstance(text, str) and text == text.strip()


@given(st.lists(st.floats(min_value=0, max_value=1)))
def test_fractions_are_never_rescaled(values):
    assert percent_scale(values) == 1.0


@given(TEXT)
def test_fft_title_is_a_title_or_a_parse_error_at_notes_a2(text):
    try:
        title = fft.parse_title(text, file="x.xlsm")
    except ParseError as error:
        assert (error.sheet, error.row, error.column) == ("Notes", 2, "A")
        return
    assert title.layout in fft.SETTINGS and title.month.day == 1


@given(
    st.sampled_from(sorted(fft.SETTING_NAMES)),
    st.dates(min_value=date(2013, 1, 1), max_value=date(2099, 12, 1)),
)
def test_published_titles_round_trip(setting, day):
    title = fft.parse_title(
        f"{setting.title()} Friends and Family Test (FFT) Data - {day:%B %Y}", file="x.xlsm"
    )
    assert title.layout == fft.SETTING_NAMES[setting]
    assert title.month == day.replace(day=1)


@given(TEXT)
def test_group_labels_and_question_ids_never_raise(label):
    assert isinstance(benchmark_group_key(label), str)
    assert isinstance(stable_measure(2024, label), str)


@given(st.integers(min_value=0, max_value=20000))
def test_column_letters_are_excel_letters(index):
    letters = column_letter(index)
    assert letters.isalpha() and letters.isupper()
    assert sum((ord(c) - 64) * 26**i for i, c in enumerate(reversed(letters))) == index + 1


GRID_CELL = st.one_of(
    st.none(),
    st.just(""),
    TEXT,
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["Trust Code", "ORG CODE", "England", "*", "RC9", "01T/01V"]),
)
GRID = st.lists(st.lists(GRID_CELL, min_size=0, max_size=8), min_size=1, max_size=8)


@given(GRID)
def test_header_location_and_row_classification_raise_only_parse_errors(rows):
    sheet = Sheet(Path("x.xlsx"), "Trusts", rows)
    found = locate_label(sheet, fft.CODE_LABELS)
    if found is None:
        return
    header = read_header(sheet, found[0])
    assert all(isinstance(label, str) for label in header.labels)
    for number, cells in sheet.iter_rows(header.last_row + 1):
        try:
            code = row_code(
                sheet,
                header,
                cells,
                number=number,
                position=found[1],
                pattern=SURVEY_CODE,
                aggregate=fft._AGGREGATE,
            )
        except ParseError as error:
            assert (error.sheet, error.row) == ("Trusts", number)
            continue
        assert code is None or SURVEY_CODE.match(code)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid inpatient workbook whose row-15 trust cells the property test overwrites."""
    path = tmp_path_factory.mktemp("prop") / "template.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book["Notes"]["A2"] = "Inpatient Friends and Family Test (FFT) Data - July 2025"
    sheet = book.create_sheet("Trusts")
    labels = [
        "ICB Code",
        "Trust Code",
        "Trust Name",
        "Total Responses",
        "Percentage Positive",
        "Percentage Negative",
        "Very Good",
        "Good",
        "Neither Good nor Poor",
        "Poor",
        "Very Poor",
        "Don't Know",
    ]
    for col, label in enumerate(labels, start=1):
        sheet.cell(10, col, label)
    sheet.cell(11, 7, "Very Good")  # the lower header row
    book.save(path)
    return path


WRITABLE = st.one_of(
    st.none(),
    TEXT,
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(10**6), 10**6),
    st.sampled_from(["*", "-", "NA", "RC9", "NQM01", "England (including IS)"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(WRITABLE, min_size=12, max_size=12))
def test_fft_parse_of_any_trust_row_returns_observations_or_a_parse_error(template, tmp_path, values):
    book = openpyxl.load_workbook(template)
    for col, value in enumerate(values, start=1):
        book["Trusts"].cell(15, col, value)
    path = tmp_path / "row.xlsx"
    book.save(path)
    try:
        table = fft.parse(path).table
    except ParseError as error:
        assert error.file == str(path)
        return
    assert not (table.suppressed & table.value.notna()).any()
    assert table[table.unit == "fraction"].value.dropna().between(0, 1).all()
    counts = table[table.unit == "count"].value.dropna()
    assert ((counts >= 0) & (counts % 1 == 0)).all()


def test_decimal_and_binary_cells_are_parse_errors():
    with pytest.raises(ParseError):
        read_number(Decimal("1.5"), **WHERE)
    with pytest.raises(ParseError):
        read_number(b"12", **WHERE)
