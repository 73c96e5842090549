"""Sickness absence by reason: the repeated FTE_DAYS_LOST total is never summed over reasons."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from pipelines.parsers.errors import ParseError
from pipelines.parsers.sickness_absence_reason import MEASURE, parse
from pipelines.sources.catalogue import SOURCES
from pipelines.synthetic import sickness_absence_reason as synthetic
from pipelines.synthetic.sickness_absence import rate_and_days
from pipelines.synthetic.world import World
from tests.parsers.both_readers import (
    assert_bad_cell_named,
    assert_readers_agree,
    assert_same_extract,
    with_cells,
)

MONTH = date(2024, 1, 1)


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module")
def january(world: World, tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("reason") / synthetic.file_name(MONTH)
    path.write_bytes(synthetic.render_month(world, MONTH))
    return path, parse(path)


def test_file_names_match_only_the_reason_link_pattern(world: World) -> None:
    names = [synthetic.file_name(m) for m in world.months]
    for spec in SOURCES:
        hits = [bool(re.search(spec.link_pattern, n)) for n in names]
        assert all(hits) if spec.id == "sickness_absence_reason" else not any(hits), spec.id


def test_one_observation_per_reason_with_staff_group_and_reason_in_the_breakdown(january) -> None:
    _, extract = january
    table = extract.table
    assert extract.layout == "reason_monthly" and extract.vintage == "2024-01"
    assert set(table.measure) == {MEASURE} and set(table.unit) == {"fte_days"}
    assert "all|s10_anxiety_stress_depression_other_psychiatric_illnesses" in set(table.breakdown)
    assert "nurses_and_health_visitors|s13_cold_cough_flu_influenza" in set(table.breakdown)
    assert (table.value == table.numerator).all()
    assert extract.notes == []  # every group's reasons add up to its repeated total


def test_reason_days_sum_to_the_organisation_total_not_n_times_it(world, january) -> None:
    path, extract = january
    table = extract.table
    lost, available = rate_and_days(world, "RC9", MONTH)
    rc9 = table[(table.org_code == "RC9") & table.breakdown.str.startswith("all|")]
    reasons = len(rc9)
    assert reasons == len(synthetic.REASONS)
    assert rc9.value.sum() == pytest.approx(lost, abs=1e-3)
    assert rc9.value.sum() != pytest.approx(reasons * lost, rel=0.5)
    assert set(rc9.denominator) == {available}
    assert path.read_text().count(f",{lost},") == reasons  # the trap: the total repeats on every line


def test_a_repeated_total_that_disagrees_with_its_reasons_is_noted(tmp_path) -> None:
    lines = [f"{ORG},All staff groups,S10 Anxiety/stress/depression,1000,30,20",
             f"{ORG},All staff groups,S11 Back problems,1000,30,5"]
    extract = parse(_write(tmp_path, lines))
    assert len(extract.notes) == 1 and "add up to 25.00000" in extract.notes[0]


# --- hand-written files -------------------------------------------------------------------------

HEADER = "DATE,NHSE_CODE,NHSE_NAME,ORG_CODE,ORG_NAME,STAFF_GROUP,REASON,FTE_DAYS_AVAILABLE,FTE_DAYS_LOST,FTE_DAYS_LOST_REASON"
ORG = "31/01/2024,Y61,East of England,RC9,BEDFORDSHIRE HOSPITALS"
GOOD = [
    f"{ORG},All staff groups,S10 Anxiety/stress/depression,1000,30,20",
    f"{ORG},All staff groups,\"S13 Cold, Cough, Flu - Influenza\",1000,30,10",
]


def _write(folder: Path, lines: list[str] = GOOD, header: str = HEADER) -> Path:
    path = folder / "reason.csv"
    path.write_text("\r\n".join([header, *lines]) + "\r\n", encoding="utf-8")
    return path


def test_hand_written_file_reads_the_reason_days_not_the_repeated_total(tmp_path) -> None:
    table = parse(_write(tmp_path)).table
    assert table.value.tolist() == [20.0, 10.0]
    assert table.breakdown.tolist() == ["all|s10_anxiety_stress_depression", "all|s13_cold_cough_flu_influenza"]
    assert table.region_code.tolist() == ["Y61", "Y61"]


BROKEN = {
    "missing_reason_days_column": (lambda p: _write(p, [g.rsplit(",", 1)[0] for g in GOOD], HEADER.rsplit(",", 1)[0]), 1, "fte_days_lost_reason"),
    "non_numeric_reason_days": (lambda p: _write(p, [GOOD[0].replace(",20", ",2O")]), 2, "FTE_DAYS_LOST_REASON"),
    "duplicated_row": (lambda p: _write(p, [*GOOD, GOOD[1]]), 4, "org_code"),
    "empty_reason": (lambda p: _write(p, [GOOD[0].replace("S10 Anxiety/stress/depression", "")]), 2, "REASON"),
    "wrong_field_count": (lambda p: _write(p, [GOOD[0].replace(",All staff groups", "")]), 2, None),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_file_raises_parse_error_naming_file_row_and_column(tmp_path, case) -> None:
    build, row, column = BROKEN[case]
    path = build(tmp_path)
    with pytest.raises(ParseError) as caught:
        parse(path)
    assert (Path(caught.value.file), caught.value.row, caught.value.column) == (path, row, column)


# --- the column reader against the line reader ---------------------------------------------------


def test_column_reader_gives_exactly_the_line_readers_extract(january) -> None:
    path, extract = january
    assert_same_extract(assert_readers_agree(parse, path), extract)


def test_column_reader_notes_disagreeing_totals_word_for_word_as_the_line_reader(tmp_path) -> None:
    lines = [f"{ORG},All staff groups,S10 Anxiety/stress/depression,1000,30,20",
             f"{ORG},All staff groups,S11 Back problems,1000,30,5",
             f"{ORG},Midwives,S11 Back problems,100,3,*",
             f"{ORG},Midwives,S12 Other,100,4,1.5"]
    extract = assert_readers_agree(parse, _write(tmp_path, lines))
    assert len(extract.notes) == 1 and "differs between reason lines [3.0, 4.0]" in extract.notes[0]


@pytest.mark.parametrize(
    ("line", "column", "value", "words"),
    [
        (5000, "FTE_DAYS_LOST_REASON", "2O", "expected a number, found '2O'"),
        (6000, "FTE_DAYS_LOST", "lots", "expected a number, found 'lots'"),
        (7000, "REASON", "", "expected an absence reason"),
        (9000, "ORG_CODE", "RC", "not an ODS organisation code"),
    ],
)
def test_a_bad_cell_deep_in_a_long_file_is_named_exactly_as_the_line_reader_names_it(
    january, tmp_path, line, column, value, words
) -> None:
    source, _ = january
    path = tmp_path / source.name
    path.write_bytes(with_cells(source.read_bytes(), {(line, column): value}))
    assert_bad_cell_named(parse, path, line, column, words)
