"""The FFT parser recovers what the synthetic publisher planted, for every setting's layout, and
reports malformed workbooks as ParseErrors that point at the file, sheet, row and column."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from pipelines.parsers import fft
from pipelines.parsers.errors import ParseError
from pipelines.sources.catalogue import SOURCES
from pipelines.synthetic import fft as writer
from pipelines.synthetic.world import World

MONTH = date(2025, 10, 1)


@pytest.fixture(scope="module")
def world() -> World:
    return World(years=1)


@pytest.fixture(scope="module")
def truth(world: World) -> writer.FftTruth:
    return writer.FftTruth(world)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, truth: writer.FftTruth) -> dict[str, Path]:
    """One workbook per setting for one month, written by the synthetic publisher."""
    folder = tmp_path_factory.mktemp("fft")
    return {
        s.layout: writer.render(truth, s, MONTH, folder / writer.file_name(s, MONTH)) for s in writer.SETTINGS
    }


def _setting(layout: str) -> writer.Setting:
    return writer.SETTINGS_BY_LAYOUT[layout]


def _row(table: pd.DataFrame, code: str, measure: str, breakdown: str | None = None) -> pd.Series:
    rows = table[(table.org_code == code) & (table.measure == measure)]
    if breakdown is not None:
        rows = rows[rows.breakdown == breakdown]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def _published(
    truth: writer.FftTruth, layout: str, touch: int = 0
) -> list[tuple[writer.Provider, writer.Counts]]:
    setting = _setting(layout)
    return [
        (p, truth.counts(setting, setting.touch_points[touch], p, MONTH))
        for p in writer.providers(truth.world, setting, MONTH)
    ]


# --- planted values -------------------------------------------------------------------------------


def test_percentage_positive_is_very_good_plus_good_over_total_responses_for_a_named_trust(written, truth):
    rows = _published(truth, "inpatient")
    hidden = writer.suppressed_codes(rows)
    provider, counts = next((p, c) for p, c in rows if c.submitted and c.total > 20 and p.code not in hidden)
    table = fft.parse(written["inpatient"]).table

    positive = _row(table, provider.code, "percentage_positive")
    negative = _row(table, provider.code, "percentage_negative")
    total = _row(table, provider.code, "total_responses")

    assert positive.value == pytest.approx((counts.likert[0] + counts.likert[1]) / counts.total, abs=1e-12)
    assert (positive.numerator, positive.denominator) == (counts.likert[0] + counts.likert[1], counts.total)
    assert negative.numerator == counts.likert[3] + counts.likert[4]
    assert (total.value, total.unit) == (counts.total, "count")
    assert positive.unit == "fraction" and not positive.suppressed
    assert positive.period_start == pd.Timestamp(MONTH) and positive.period_end == pd.Timestamp(2025, 10, 31)
    assert (positive.grain, positive.breakdown, positive.icb_code) == (
        "month",
        "inpatient",
        provider.icb_code,
    )


@pytest.mark.parametrize("layout", [s.layout for s in writer.SETTINGS])
def test_every_setting_layout_parses_each_provider_with_its_layout_id(written, truth, layout):
    extract = fft.parse(written[layout])
    setting = _setting(layout)
    expected = {p.code for p in writer.providers(truth.world, setting, MONTH)}

    assert extract.layout == layout
    assert extract.vintage == "2025-10" and extract.periods == ["2025-10"]
    assert set(extract.table.org_code) == expected
    assert set(extract.table.measure) == {"percentage_positive", "percentage_negative", "total_responses"}
    assert list(extract.table.columns) == list(fft.observation_frame([]).columns)


def test_aggregate_rows_are_skipped(written, truth):
    table = fft.parse(written["inpatient"]).table
    assert not table.org_name.str.contains("England|Selection", regex=True).any()
    assert len(table[table.measure == "total_responses"]) == len(_published(truth, "inpatient"))


def test_period_is_read_from_the_title_even_when_the_file_name_disagrees(tmp_path, truth):
    misnamed = tmp_path / "friends-and-family-test-inpatient-data-august-2024.xlsm"
    writer.render(truth, _setting("inpatient"), date(2025, 7, 1), misnamed)

    extract = fft.parse(misnamed)

    assert set(extract.table.period_start) == {pd.Timestamp(2025, 7, 1)}
    assert extract.vintage == "2025-07"
    assert any("title" in note for note in extract.notes)


def test_star_dash_and_na_are_kept_as_suppressed_never_as_zero(written):
    table = pd.concat([fft.parse(path).table for path in written.values()])
    withheld = table[table.suppressed]

    assert {"*", "-", "NA"} <= set(withheld.suppression_token)
    assert withheld.value.isna().all()
    assert not (table.suppressed.fillna(False) & table.value.notna()).any()


def test_a_suppressed_trust_has_a_secondary_suppressed_sibling_in_its_icb(truth):
    for layout in ("inpatient", "ae", "maternity"):
        rows = _published(truth, layout)
        hidden = writer.suppressed_codes(rows)
        primary = {p.code for p, c in rows if c.submitted and 1 <= c.total <= 4}
        for icb in {p.icb_code for p, _ in rows if p.code in primary}:
            in_icb = [p for p, c in rows if p.icb_code == icb and c.submitted and c.total > 0]
            if len(in_icb) > 1:
                assert sum(p.code in hidden for p in in_icb) >= 2


def test_maternity_four_touch_points_with_total_eligible_only_at_birth(written):
    table = fft.parse(written["maternity"]).table
    book = CalamineWorkbook.from_path(str(written["maternity"]))
    headers = {
        name: {str(v) for v in book.get_sheet_by_name(name).to_python(skip_empty_area=False)[9]}
        for name in ("Trusts Q1", "Trusts Q2", "Trusts Q3", "Trusts Q4")
    }

    assert set(table.breakdown) == {
        "maternity_q1_antenatal",
        "maternity_q2_birth",
        "maternity_q3_postnatal_ward",
        "maternity_q4_postnatal_community",
    }
    assert [("Total Eligible" in h) for h in headers.values()] == [False, True, False, False]
    assert set(table.source_sheet) == set(headers)


def test_ambulance_pts_org_sheet_reads_the_lower_case_icb_code_column(written, truth):
    rows = _published(truth, "ambulance")
    table = fft.parse(written["ambulance"]).table
    provider = rows[0][0]

    assert _row(table, provider.code, "total_responses").icb_code == provider.icb_code
    assert set(table.source_sheet) == {"PTS Org"}


def test_independent_sector_provider_codes_are_valid_organisations(written):
    codes = set(fft.parse(written["inpatient"]).table.org_code)
    assert {"NT2", "NQM01", "G3Z1Q"} <= codes


def test_percentage_recommended_before_april_2020_is_a_separate_measure(tmp_path, truth):
    path = writer.render(truth, _setting("inpatient"), date(2019, 5, 1), tmp_path / "old.xlsm")
    extract = fft.parse(path)
    measures = set(extract.table.measure)

    assert measures == {"percentage_recommended", "percentage_not_recommended", "total_responses"}
    row = extract.table[(extract.table.measure == "percentage_recommended") & ~extract.table.suppressed].iloc[
        0
    ]
    assert row.value == pytest.approx(row.numerator / row.denominator)


def test_outlier_trusts_have_far_lower_percentage_positive(world, written):
    table = fft.parse(written["inpatient"]).table
    positive = table[(table.measure == "percentage_positive") & table.value.notna()]
    outliers = positive[positive.org_code.isin(world.default_outlier_trusts)].value
    others = positive[~positive.org_code.isin(world.default_outlier_trusts)].value

    assert len(outliers) >= 1
    assert outliers.max() < others.median() - 0.15


def test_writer_file_names_match_the_catalogue_link_pattern():
    spec = next(s for s in SOURCES if s.id == "fft")
    for setting in writer.SETTINGS:
        assert re.search(spec.link_pattern, writer.file_name(setting, MONTH))
    assert set(spec.layouts) == {s.layout for s in writer.SETTINGS} == set(fft.SETTINGS)


# --- hand-built workbooks ---------------------------------------------------------------------------

HEADER = [
    "ICB Code",
    "Trust Code",
    "Trust Name",
    "Total Responses",
    "Total Eligible",
    "Percentage Positive",
    "Percentage Negative",
]
LIKERT = ["Very Good", "Good", "Neither Good nor Poor", "Poor", "Very Poor", "Don't Know"]


def _workbook(
    path: Path,
    rows: list[list[object]],
    *,
    title: str = "Inpatient Friends and Family Test (FFT) Data - July 2025",
    header: list[str] = HEADER,
    sheet: str = "Trusts",
    percent: float = 1.0,
) -> Path:
    """A minimal inpatient-style workbook: header rows 10-11, England rows 12-14, data from row 15."""
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "Notes"
    notes["A2"] = title
    trusts = book.create_sheet(sheet)
    for col, label in enumerate(header, start=1):
        trusts.cell(10, col, label)
    first = len(header) + 1
    trusts.cell(10, first, "Breakdown of Responses")
    trusts.merge_cells(start_row=10, start_column=first, end_row=10, end_column=first + len(LIKERT) - 1)
    for col, label in enumerate(LIKERT, start=first):
        trusts.cell(11, col, label)
    england = [
        None,
        None,
        "England (including IS)",
        100,
        300,
        0.9 * percent,
        0.05 * percent,
        60,
        30,
        3,
        3,
        2,
        2,
    ]
    trusts.append(england)  # appended after the last used row (11) -> row 12
    trusts.cell(13, 3, "England (excluding IS)")
    trusts.cell(13, 4, 90)
    trusts.cell(14, 3, "Selection (excluding suppressed data)")
    trusts.cell(14, 4, 80)
    for offset, values in enumerate(rows):
        for col, value in enumerate(values, start=1):
            trusts.cell(15 + offset, col, value)
    book.save(path)
    return path


GOOD_ROW = ["QHG", "RC9", "BEDFORDSHIRE HOSPITALS", 100, 300, 0.9, 0.05, 60, 30, 3, 3, 2, 2]


def test_hand_built_tokens_are_suppressed_with_their_token(tmp_path):
    path = _workbook(
        tmp_path / "t.xlsx",
        [
            GOOD_ROW,
            ["QHG", "RD8", "MILTON KEYNES", 3, 10, "*", "*", "*", "*", "*", "*", "*", "*"],
            ["QHG", "NQM01", "INDEPENDENT", 0, 10, "-", "-", 0, 0, 0, 0, 0, 0],
            ["QHG", "G3Z1Q", "INDEPENDENT", "NA", "NA", "NA", "NA", "NA", "NA", "NA", "NA", "NA", "NA"],
        ],
    )
    table = fft.parse(path).table

    assert _row(table, "RD8", "percentage_positive").suppression_token == "*"
    assert pd.isna(_row(table, "RD8", "percentage_positive").value)
    assert _row(table, "RD8", "total_responses").value == 3
    assert _row(table, "NQM01", "percentage_positive").suppression_token == "-"
    assert _row(table, "NQM01", "total_responses").value == 0
    assert _row(table, "G3Z1Q", "total_responses").suppression_token == "NA"
    assert table[table.org_code != "RC9"].value.fillna(-1).isin([3, 0, -1]).all()


def test_percentages_published_as_0_to_100_are_stored_as_fractions_with_a_note(tmp_path):
    row = [*GOOD_ROW[:5], 90.0, 5.0, *GOOD_ROW[7:]]
    path = _workbook(tmp_path / "t.xlsx", [row], percent=100.0)
    extract = fft.parse(path)

    assert _row(extract.table, "RC9", "percentage_positive").value == pytest.approx(0.9)
    assert any("0-100" in note for note in extract.notes)


def test_identifiers_in_the_lower_header_row_are_found(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", [GOOD_ROW])
    book = openpyxl.load_workbook(path)
    sheet = book["Trusts"]
    for col in range(1, len(HEADER) + 1):  # move identifiers down to row 11, leaving the group row above
        sheet.cell(11, col, sheet.cell(10, col).value)
        sheet.cell(10, col, None)
    book.save(path)

    assert _row(fft.parse(path).table, "RC9", "percentage_positive").value == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("setting", "layout"),
    [
        ("A&E", "ae"),
        ("Mental Health", "mental_health"),
        ("Community", "community"),
        ("Outpatient", "outpatient"),
    ],
)
def test_setting_is_read_from_the_title(tmp_path, setting, layout):
    sheet = "Orgs" if layout == "outpatient" else "Trusts"
    title = f"{setting} Friends and Family Test (FFT) Data - March 2024"
    path = _workbook(tmp_path / "t.xlsx", [GOOD_ROW], title=title, sheet=sheet)
    extract = fft.parse(path)

    assert extract.layout == layout
    assert set(extract.table.breakdown) == {layout}
    assert extract.vintage == "2024-03"


# --- malformed input --------------------------------------------------------------------------------


def _error(path: Path) -> ParseError:
    with pytest.raises(ParseError) as caught:
        fft.parse(path)
    assert caught.value.file == str(path)
    assert Path(caught.value.file).name in str(caught.value)
    return caught.value


def test_truncated_workbook_is_a_parse_error_naming_the_file(tmp_path, written):
    data = written["inpatient"].read_bytes()
    path = tmp_path / "friends-and-family-test-inpatient-data-july-2025.xlsm"
    path.write_bytes(data[: len(data) // 2])
    assert "truncated" in _error(path).reason


@pytest.mark.parametrize("name", ["fft.xlsx", "fft.csv"])
def test_html_error_page_saved_as_a_data_file_is_a_parse_error(tmp_path, name):
    path = tmp_path / name
    path.write_text("<!DOCTYPE html><html><body>Service unavailable</body></html>")
    assert "HTML" in _error(path).reason


def test_missing_trust_sheet_names_the_sheet_and_lists_those_present(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", [GOOD_ROW], sheet="Trust data")
    error = _error(path)
    assert error.sheet == "Trusts"
    assert "Trust data" in error.reason


def test_missing_header_label_names_sheet_row_and_column(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", [GOOD_ROW], header=["ICB Code", "Provider", *HEADER[2:]])
    error = _error(path)
    assert (error.sheet, error.row, error.column) == ("Trusts", 10, "Trust Code")


def test_unreadable_title_names_notes_a2(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", [GOOD_ROW], title="FFT data")
    error = _error(path)
    assert (error.sheet, error.row, error.column) == ("Notes", 2, "A")


def test_non_numeric_value_names_sheet_row_and_column(tmp_path):
    path = _workbook(
        tmp_path / "t.xlsx", [GOOD_ROW, [*GOOD_ROW[:1], "RD8", "X", 10, 20, "ninety", *GOOD_ROW[6:]]]
    )
    error = _error(path)
    assert (error.sheet, error.row, error.column) == ("Trusts", 16, "Percentage Positive")


def test_duplicated_trust_rows_name_sheet_row_and_column(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", [GOOD_ROW, GOOD_ROW])
    error = _error(path)
    assert (error.sheet, error.row, error.column) == ("Trusts", 16, "org_code")


def test_figures_without_a_valid_code_name_the_row_and_code_column(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", [GOOD_ROW, ["QHG", "Bedford site", "X", *GOOD_ROW[3:]]])
    error = _error(path)
    assert (error.sheet, error.row, error.column) == ("Trusts", 16, "Trust Code")


def test_percentage_above_one_hundred_percent_is_an_error(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", [GOOD_ROW, ["QHG", "RD8", "X", 10, 20, 1.5, 0.1, *GOOD_ROW[7:]]])
    error = _error(path)
    assert (error.sheet, error.row) == ("Trusts", 16)


def test_fractional_response_count_names_the_cell(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", [GOOD_ROW, ["QHG", "RD8", "X", 10.5, 20, 0.9, 0.1, *GOOD_ROW[7:]]])
    error = _error(path)
    assert (error.sheet, error.row, error.column) == ("Trusts", 16, "Total Responses")
