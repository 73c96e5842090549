"""The Staff Survey parsers recover what the synthetic publisher planted - benchmark scores for
every restated year, question options, People Promise scores - across the label and question
number changes, and report malformed workbooks as ParseErrors pointing at the cell."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipelines.parsers import staff_survey as parser
from pipelines.parsers.errors import ParseError
from pipelines.sources.catalogue import SOURCES
from pipelines.synthetic import staff_survey as writer
from pipelines.synthetic.world import World

RELEASE = 2025


@pytest.fixture(scope="module")
def truth() -> writer.SurveyTruth:
    return writer.SurveyTruth(World(years=1))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("survey")


@pytest.fixture(scope="module")
def benchmark(truth, folder) -> Path:
    return writer.render_benchmark(truth, RELEASE, folder / writer.benchmark_file_name(RELEASE))


@pytest.fixture(scope="module")
def early_benchmark(truth, folder) -> Path:
    return writer.render_benchmark(truth, 2022, folder / writer.benchmark_file_name(2022))


@pytest.fixture(scope="module")
def detailed(truth, folder) -> dict[int, Path]:
    return {
        year: writer.render_detailed(truth, year, folder / writer.detailed_file_name(year))
        for year in (2021, 2022, 2024)
    }


def _unit(truth: writer.SurveyTruth, code: str, year: int = RELEASE) -> writer.Unit:
    return next(u for u in writer.units(truth.world, year) if u.code == code)


def _row(table: pd.DataFrame, code: str, measure: str, year: int, breakdown: str = "all") -> pd.Series:
    rows = table[
        (table.org_code == code)
        & (table.measure == measure)
        & (table.breakdown == breakdown)
        & (table.period_start == pd.Timestamp(year, 1, 1))
    ]
    assert len(rows) == 1, rows
    return rows.iloc[0]


# --- benchmark workbook: planted values ----------------------------------------------------------


def test_named_trust_engagement_equals_what_the_writer_wrote_for_every_year(truth, benchmark):
    table = parser.parse_benchmark_workbook(benchmark).table
    unit = _unit(truth, "RC9")
    for year in range(RELEASE - 4, RELEASE + 1):
        row = _row(table, "RC9", "theme_engagement", year)
        assert row.value == pytest.approx(
            truth.benchmark_value(unit, "theme_engagement", year, RELEASE), abs=1e-9
        )
        assert row.denominator == truth.base_count(unit, "theme_engagement", year)
        assert (row.unit, row.grain, row.benchmark_group) == ("score_0_10", "survey_year", "acute")
        assert row.period_end == pd.Timestamp(year, 12, 31)
    culture = truth.culture(unit, RELEASE)
    assert _row(table, "RC9", "theme_engagement", RELEASE).value == pytest.approx(
        6.8 + 0.35 * culture, abs=1e-4
    )


def test_every_restated_year_is_kept_and_the_vintage_is_the_latest_year(benchmark):
    extract = parser.parse_benchmark_workbook(benchmark)
    assert extract.layout == "benchmark_workbook"
    assert extract.vintage == "2025"
    assert extract.periods == ["2021", "2022", "2023", "2024", "2025"]


def test_restated_years_are_reweighted_between_releases(truth, folder, benchmark):
    earlier = writer.render_benchmark(truth, 2024, folder / writer.benchmark_file_name(2024))
    old = _row(parser.parse_benchmark_workbook(earlier).table, "RC9", "pp1", 2023).value
    new = _row(parser.parse_benchmark_workbook(benchmark).table, "RC9", "pp1", 2023).value
    assert old != new
    assert abs(old - new) < 0.1


def test_measures_units_and_base_counts(benchmark):
    table = parser.parse_benchmark_workbook(benchmark).table
    units = table.groupby("measure").unit.first().to_dict()

    assert {f"pp{i}" for i in range(1, 8)} | {"pp3_2", "pp4_1", "pp4_2", "pp4_3", "m_1"} <= set(units)
    assert units["theme_engagement"] == units["theme_morale"] == units["pp4_2"] == "score_0_10"
    assert units["response_rate"] == units["q11a"] == "fraction"
    fractions = table[table.unit == "fraction"].value.dropna()
    assert fractions.between(0, 1).all()
    assert table[table.unit == "score_0_10"].value.dropna().between(0, 10).all()
    assert set(table.breakdown) == {"all"}


def test_group_label_drift_between_releases_is_normalised(benchmark, early_benchmark):
    late = parser.parse_benchmark_workbook(benchmark).table
    early = parser.parse_benchmark_workbook(early_benchmark).table
    for table in (late, early):
        groups = table.groupby("org_code").benchmark_group.first()
        assert (groups["RC9"], groups["RWK"], groups["RYV"], groups["RYC"]) == (
            "acute",
            "mental_health",
            "community",
            "ambulance",
        )
        assert "acute_specialist" in set(groups) and "social_enterprise" in set(groups)
    assert set(early[early.org_code == "RWK"].org_type) == {"MH&LD, MH, LD&Community Trusts"}
    assert set(late[late.org_code == "RWK"].org_type) == {
        "Mental Health & Learning Disability and Mental Health, Learning Disability & Community Trusts"
    }


def test_people_promise_measures_start_in_2021(early_benchmark):
    table = parser.parse_benchmark_workbook(early_benchmark).table
    years = table.groupby("measure").period_start.agg(lambda s: sorted({d.year for d in s}))
    assert years["pp1"] == [2021, 2022]
    assert years["theme_engagement"] == [2018, 2019, 2020, 2021, 2022]


def test_withheld_small_unit_scores_are_suppressed_never_zero(truth, benchmark):
    table = parser.parse_benchmark_workbook(benchmark).table
    small = table[table.benchmark_group == "social_enterprise"]
    withheld = small[small.suppressed]

    assert len(withheld) > 0
    assert set(withheld.suppression_token) == {"blank"}
    assert withheld.value.isna().all()
    assert (withheld.denominator < writer.PUBLISHER_THRESHOLD).all()


def test_min_responses_suppresses_values_on_too_few_responses(benchmark):
    table = parser.parse_benchmark_workbook(benchmark, min_responses=25).table
    marked = table[table.suppression_token == "<25"]

    assert len(marked) > 0
    assert (marked.denominator < 25).all() and marked.value.isna().all()
    assert not (table[table.measure == "response_rate"].suppressed).any()
    assert not (table[table.denominator >= 25].suppressed).any()


# --- benchmark workbook: hand-built ----------------------------------------------------------------

BENCH_HEADER = [
    "org_id",
    "org_name",
    "org_type_reporting_name",
    "PP1_2024",
    "PP1_n_2024",
    "theme_engagement_2024",
    "response_rate_2024",
    "response_rate_n_2024",
]


def _benchmark_book(
    path: Path,
    rows: list[list[object]],
    header: list[str] = BENCH_HEADER,
    sheet: str = "Acute&Acute Community Trusts",
) -> Path:
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "Notes"
    notes["A1"] = "NHS Staff Survey 2024 benchmark report data"
    data = book.create_sheet(sheet)
    data.append(header)
    for row in rows:
        data.append(row)
    book.save(path)
    return path


def test_tokens_compound_and_sector_codes_in_a_hand_built_benchmark(tmp_path):
    path = _benchmark_book(
        tmp_path / "Benchmark-report-Excel-data-for-2020-2024.xlsx",
        [
            ["RC9", "A", "Acute and Acute & Community Trusts", 7.1, 900, 6.9, 50, 1000],
            ["01T/01V", "B", "Acute and Acute & Community Trusts", "*", 8, "-", 40, 20],
            ["R1F1", "C", "Acute and Acute & Community Trusts", "<10", 9, "NA", 45, 30],
            [None, "Average", None, 7.0, None, 6.8, 0.45, None],
        ],
    )
    extract = parser.parse_benchmark_workbook(path)
    table = extract.table

    assert _row(table, "01T/01V", "pp1", 2024).suppression_token == "*"
    assert _row(table, "01T/01V", "theme_engagement", 2024).suppression_token == "-"
    assert _row(table, "R1F1", "pp1", 2024).suppression_token == "<10"
    assert _row(table, "R1F1", "theme_engagement", 2024).suppression_token == "NA"
    assert table[table.suppressed].value.isna().all()
    # A response-rate column published 0-100 is stored as a fraction, with a note.
    assert _row(table, "R1F1", "response_rate", 2024).value == pytest.approx(0.45)
    assert _row(table, "RC9", "response_rate", 2024).value == pytest.approx(0.5)
    assert any("0-100" in note for note in extract.notes)


def _benchmark_error(path: Path, **kwargs) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parser.parse_benchmark_workbook(path, **kwargs)
    assert caught.value.file == str(path) and path.name in str(caught.value)
    return caught.value


def test_benchmark_without_an_org_id_sheet_is_a_parse_error(tmp_path):
    path = _benchmark_book(
        tmp_path / "b.xlsx", [["RC9", "A", "x", 7.1, 900, 6.9, 0.5, 1000]], header=["ODS", *BENCH_HEADER[1:]]
    )
    error = _benchmark_error(path)
    assert (error.row, error.column) == (1, "org_id")
    assert "Acute&Acute Community Trusts" in error.reason


def test_benchmark_non_numeric_score_names_sheet_row_and_column(tmp_path):
    path = _benchmark_book(
        tmp_path / "b.xlsx",
        [
            ["RC9", "A", "x", 7.1, 900, 6.9, 0.5, 1000],
            ["RD8", "B", "x", "seven", 900, 6.9, 0.5, 1000],
        ],
    )
    error = _benchmark_error(path)
    assert (error.sheet, error.row, error.column) == ("Acute&Acute Community Trusts", 3, "PP1_2024")


def test_benchmark_score_outside_0_to_10_names_the_cell(tmp_path):
    path = _benchmark_book(tmp_path / "b.xlsx", [["RC9", "A", "x", 71, 900, 6.9, 0.5, 1000]])
    error = _benchmark_error(path)
    assert (error.row, error.column) == (2, "PP1_2024")


def test_benchmark_stray_fraction_above_one_names_the_cell(tmp_path):
    path = _benchmark_book(
        tmp_path / "b.xlsx",
        [
            ["RC9", "A", "x", 7.1, 900, 6.9, 0.5, 1000],
            ["RD8", "B", "x", 7.1, 900, 6.9, 0.4, 1000],
            ["RWK", "C", "x", 7.1, 900, 6.9, 45, 1000],
        ],
    )
    error = _benchmark_error(path)
    assert (error.sheet, error.row, error.column) == ("Acute&Acute Community Trusts", 4, "response_rate_2024")


def test_benchmark_duplicated_rows_name_sheet_row_and_column(tmp_path):
    row = ["RC9", "A", "x", 7.1, 900, 6.9, 0.5, 1000]
    error = _benchmark_error(_benchmark_book(tmp_path / "b.xlsx", [row, row]))
    assert (error.sheet, error.row, error.column) == ("Acute&Acute Community Trusts", 3, "org_code")


def test_benchmark_row_with_figures_but_no_code_names_the_cell(tmp_path):
    path = _benchmark_book(tmp_path / "b.xlsx", [["Bedford", "A", "x", 7.1, 900, 6.9, 0.5, 1000]])
    error = _benchmark_error(path)
    assert (error.row, error.column) == (2, "org_id")


def test_truncated_and_html_workbooks_are_parse_errors(tmp_path, benchmark):
    data = benchmark.read_bytes()
    truncated = tmp_path / "Benchmark-report-Excel-data-for-2021-2025.xlsx"
    truncated.write_bytes(data[: len(data) // 3])
    html = tmp_path / "NSS24 detailed spreadsheets organisational results.xlsx"
    html.write_text("<html><head><title>404 Not Found</title></head></html>")

    assert "truncated" in _benchmark_error(truncated).reason
    with pytest.raises(ParseError, match="HTML") as caught:
        parser.parse_detailed_workbook(html)
    assert caught.value.file == str(html)


# --- detailed workbook ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("year", "published"), [(2021, "q22a"), (2022, "q24a"), (2024, "q26a")])
def test_thinking_about_leaving_has_a_stable_id_across_question_numbers(truth, detailed, year, published):
    extract = parser.parse_detailed_workbook(detailed[year])
    table = extract.table
    unit = _unit(truth, "RC9", year)
    question = next(q for _, qs in writer.questionnaire(year) for q in qs if q.number.lower() == published)
    expected = writer.option_percentages(truth, unit, question, year, "Occupation Group")

    assert extract.vintage == str(year) and extract.layout == "detailed_organisational"
    assert published not in set(table.measure)
    rows = table[(table.org_code == "RC9") & (table.measure == "thinking_about_leaving")]
    assert list(rows.breakdown) == [
        "strongly_disagree",
        "disagree",
        "neither_agree_nor_disagree",
        "agree",
        "strongly_agree",
    ]
    assert list(rows.value) == pytest.approx([p / 100 for p in expected])
    assert set(rows.denominator) == {truth.base_count(unit, question.number, year)}
    assert set(rows.unit) == {"fraction"}


def test_only_occupation_group_weighted_rows_are_kept(detailed):
    table = parser.parse_detailed_workbook(detailed[2024]).table
    rows = table[(table.org_code == "RC9") & (table.measure == "q3a")]
    assert len(rows) == 5
    assert set(rows.source_row) == {min(rows.source_row)}


def test_people_promise_scores_match_the_same_years_benchmark_release(truth, detailed):
    table = parser.parse_detailed_workbook(detailed[2024]).table
    unit = _unit(truth, "RWK", 2024)
    row = _row(table, "RWK", "pp4", 2024)

    assert row.value == pytest.approx(truth.benchmark_value(unit, "PP4", 2024, 2024))
    assert (row.unit, row.denominator) == ("score_0_10", truth.base_count(unit, "PP4", 2024))
    assert row.benchmark_group == "mental_health"


def test_identifier_columns_are_found_by_name_in_both_layouts(detailed):
    for year in (2022, 2024):
        table = parser.parse_detailed_workbook(detailed[year]).table
        rc9 = table[table.org_code == "RC9"].iloc[0]
        assert rc9.org_name == "BEDFORDSHIRE HOSPITALS NHS FOUNDATION TRUST"
        assert (rc9.benchmark_group, rc9.icb_code) == ("acute", "QHG")


def test_small_units_withheld_options_are_suppressed(detailed):
    table = parser.parse_detailed_workbook(detailed[2024]).table
    withheld = table[table.suppressed]
    assert len(withheld) > 0 and withheld.value.isna().all()
    assert (withheld.denominator < writer.PUBLISHER_THRESHOLD).all()


def test_survey_year_is_read_from_notes_before_the_file_name(tmp_path, detailed):
    misnamed = tmp_path / "NSS19 detailed spreadsheets organisational results.xlsx"
    misnamed.write_bytes(detailed[2022].read_bytes())
    table = parser.parse_detailed_workbook(misnamed).table
    assert set(table.period_start) == {pd.Timestamp(2022, 1, 1)}
    assert "thinking_about_leaving" in set(table.measure)


def _detailed_book(
    path: Path,
    question: str = "Q26a - I often think about leaving this organisation.",
    values: list[object] | None = None,
    notes: str | None = "NHS Staff Survey 2024",
) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Notes"
    if notes:
        sheet["A1"] = notes
    data = book.create_sheet("YOUR ORGANISATION Q25-26")
    data["E1"] = question
    data.merge_cells("E1:G1")
    header = [
        "ODS code",
        "Organisation name",
        "Benchmarking group",
        "Weighting",
        "Base (number of responses)",
        "% Agree",
        "% Disagree",
    ]
    for col, label in enumerate(header, start=1):
        data.cell(5, col, label)
    rows = [
        ["RC9", "A", "Acute and Acute & Community Trusts", "Occupation Group", 900, 40.0, 60.0],
        ["RC9", "A", "Acute and Acute & Community Trusts", "Unweighted", 900, 41.0, 59.0],
        [
            "RD8",
            "B",
            "Acute and Acute & Community Trusts",
            "Occupation Group",
            *(values or [800, 30.0, 70.0]),
        ],
    ]
    for offset, row in enumerate(rows):
        for col, value in enumerate(row, start=1):
            data.cell(6 + offset, col, value)
    book.save(path)
    return path


def test_survey_year_falls_back_to_the_file_name(tmp_path):
    path = _detailed_book(tmp_path / "NSS23 detailed spreadsheets organisational results.xlsx", notes=None)
    table = parser.parse_detailed_workbook(path).table
    assert set(table.period_start) == {pd.Timestamp(2023, 1, 1)}
    assert _row(table, "RC9", "thinking_about_leaving", 2023, "agree").value == pytest.approx(0.4)


def _detailed_error(path: Path) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parser.parse_detailed_workbook(path)
    assert caught.value.file == str(path) and path.name in str(caught.value)
    return caught.value


def test_detailed_missing_question_text_names_row_one_and_the_column(tmp_path):
    error = _detailed_error(_detailed_book(tmp_path / "d.xlsx", question="Thinking about leaving"))
    assert (error.sheet, error.row, error.column) == ("YOUR ORGANISATION Q25-26", 1, "E")


def test_detailed_non_numeric_share_names_sheet_row_and_column(tmp_path):
    error = _detailed_error(_detailed_book(tmp_path / "d.xlsx", values=[800, "thirty", 70.0]))
    assert (error.sheet, error.row, error.column) == ("YOUR ORGANISATION Q25-26", 8, "% Agree")


def test_detailed_share_above_100_names_the_cell(tmp_path):
    error = _detailed_error(_detailed_book(tmp_path / "d.xlsx", values=[800, 130.0, 70.0]))
    assert (error.row, error.column) == (8, "% Agree")


def test_detailed_without_question_sheets_is_a_parse_error(tmp_path, benchmark):
    error = _detailed_error(_benchmark_book(tmp_path / "NSS24 x.xlsx", [["RC9", "A", "x", 7, 9, 6, 0.5, 10]]))
    assert (error.row, error.column) == (5, "ODS code")


def test_detailed_without_a_survey_year_names_notes(tmp_path):
    error = _detailed_error(_detailed_book(tmp_path / "detailed.xlsx", notes="Organisational results"))
    assert (error.sheet, error.row, error.column) == ("Notes", 1, "A")


def test_detailed_duplicated_rows_name_sheet_row_and_column(tmp_path):
    path = _detailed_book(tmp_path / "NSS24 d.xlsx")
    book = openpyxl.load_workbook(path)
    sheet = book["YOUR ORGANISATION Q25-26"]
    for col in range(1, 8):
        sheet.cell(9, col, sheet.cell(6, col).value)
    book.save(path)
    error = _detailed_error(path)
    assert (error.sheet, error.row, error.column) == ("YOUR ORGANISATION Q25-26", 9, "org_code")


# --- reference tables --------------------------------------------------------------------------------


def test_question_aliases_map_thinking_about_leaving_for_every_known_year_and_later():
    assert parser.stable_measure(2021, "q22a") == "thinking_about_leaving"
    assert parser.stable_measure(2022, "q24a") == "thinking_about_leaving"
    assert parser.stable_measure(2023, "q26a") == "thinking_about_leaving"
    assert parser.stable_measure(2027, "q26a") == "thinking_about_leaving"
    assert parser.stable_measure(2021, "q26a") == "q26a"
    assert parser.stable_measure(2019, "q22a") == "q22a"


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("Acute&Acute Community Trusts", "acute"),
        ("Acute and Acute & Community Trusts", "acute"),
        ("Acute Specialist Trusts", "acute_specialist"),
        ("MH&LD, MH, LD&Community Trusts", "mental_health"),
        (
            "Mental Health & Learning Disability and Mental Health, Learning Disability & Community Trusts",
            "mental_health",
        ),
        ("Community Trusts", "community"),
        ("Ambulance Trusts", "ambulance"),
        ("Integrated Care Boards", "icb"),
        ("Social Enterprises", "social_enterprise"),
        ("Some New Group", "some_new_group"),
    ],
)
def test_benchmark_group_labels_normalise_to_keys(label, key):
    assert parser.benchmark_group_key(label) == key


def test_writer_file_names_match_the_catalogue_link_patterns():
    patterns = {s.id: s.link_pattern for s in SOURCES}
    assert re.search(patterns["staff_survey_benchmark"], writer.benchmark_file_name(2025))
    assert re.search(patterns["staff_survey_detailed"], writer.detailed_file_name(2025))
