"""Sickness absence by staff group: agreement with the organisation file, blanking, optional ICS."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipelines.parsers import sickness_absence as org_level
from pipelines.parsers.errors import ParseError
from pipelines.parsers.sickness_absence_staff_group import BLANKED_TOKEN, parse
from pipelines.sources.catalogue import SOURCES
from pipelines.synthetic import sickness_absence as synthetic_org_level
from pipelines.synthetic import sickness_absence_staff_group as synthetic
from pipelines.synthetic.world import World
from tests.parsers.both_readers import (
    assert_bad_cell_named,
    assert_readers_agree,
    assert_same_extract,
    with_cells,
)


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def _render(world: World, month: date, folder: Path) -> Path:
    path = folder / synthetic.file_name(month)
    path.write_bytes(synthetic.render_month(world, month))
    return path


@pytest.fixture(scope="module")
def april_2024(world: World, tmp_path_factory: pytest.TempPathFactory):
    path = _render(world, date(2024, 4, 1), tmp_path_factory.mktemp("staff_group"))
    return path, parse(path)


def test_file_names_match_only_the_staff_group_link_pattern(world: World) -> None:
    names = [synthetic.file_name(m) for m in world.months]
    for spec in SOURCES:
        hits = [bool(re.search(spec.link_pattern, n)) for n in names]
        assert all(hits) if spec.id == "sickness_absence_staff_group" else not any(hits), spec.id


def test_all_staff_groups_line_carries_the_organisation_level_figures(world, april_2024, tmp_path) -> None:
    month = date(2024, 4, 1)
    org_path = tmp_path / synthetic_org_level.file_name(month)
    org_path.write_bytes(synthetic_org_level.render_month(world, month))
    organisation = org_level.parse(org_path).table.set_index("org_code")
    everyone = april_2024[1].table.query("breakdown == 'all'").set_index("org_code")
    assert set(everyone.index) == set(organisation.index)
    for column in ("value", "numerator", "denominator", "period_end"):
        pd.testing.assert_series_equal(everyone[column], organisation.loc[everyone.index, column], check_names=False)


def test_staff_groups_add_up_to_the_organisation(april_2024) -> None:
    table = april_2024[1].table
    groups = table[table.breakdown != "all"].groupby("org_code")[["denominator"]].sum()
    everyone = table[table.breakdown == "all"].set_index("org_code")[["denominator"]]
    assert (groups - everyone.loc[groups.index]).abs().max().item() < 0.01


def test_small_staff_groups_are_blanked_and_flagged_not_zero(april_2024) -> None:
    path, extract = april_2024
    table = extract.table
    blanked = table[table.suppression_token == BLANKED_TOKEN]
    assert 0 < len(blanked) < 20
    assert blanked.suppressed.all() and blanked.value.isna().all() and blanked.numerator.isna().all()
    assert (blanked.denominator <= 330).all()
    assert (table[~table.suppressed].denominator > 330).all()
    assert any("blanked" in note for note in extract.notes)


def test_ics_columns_are_optional_before_august_2022(world, tmp_path) -> None:
    before = parse(_render(world, date(2022, 7, 1), tmp_path)).table
    after = parse(_render(world, date(2022, 8, 1), tmp_path)).table
    assert before.icb_code.isna().all()
    assert after[after.org_code == "RC9"].icb_code.iloc[0] == "QHG"


def test_cluster_and_benchmark_groups_are_read(april_2024) -> None:
    rc9 = april_2024[1].table.query("org_code == 'RC9' and breakdown == 'all'").iloc[0]
    assert rc9.org_type == "Acute" and rc9.benchmark_group.startswith("Acute - ")


# --- hand-written files -------------------------------------------------------------------------

HEADER = ("DATE,NHSE_REGION_CODE,NHSE_REGION_NAME,ICS_CODE,ICS_NAME,ORG_CODE,ORG_NAME,ORG_TYPE,CLUSTER_GROUP,"
          "BENCHMARK_GROUP,STAFF_GROUP,FTE_DAYS_LOST,FTE_DAYS_AVAILABLE,SICKNESS_ABSENCE_RATE_PERCENT")
ORG = "30/04/2024,Y61,East of England,QHG,BLMK ICB,RC9,BEDFORDSHIRE HOSPITALS,Acute,Acute,Acute - Large"
GOOD = [
    f"{ORG},All staff groups,9000.5,180000,5.00",
    f"{ORG},Midwives,,300.5,",
    f"{ORG},Nurses & health visitors,,50000,",
    f"{ORG},Ambulance staff,*,*,*",
    f"{ORG},Central functions,10,*,2.00",
]


def _write(folder: Path, lines: list[str] = GOOD, header: str = HEADER) -> Path:
    path = folder / "benchmarking.csv"
    path.write_text("\r\n".join([header, *lines]) + "\r\n", encoding="utf-8")
    return path


def test_blank_on_a_small_group_is_suppressed_but_on_a_large_group_is_plain_missing(tmp_path) -> None:
    table = parse(_write(tmp_path)).table.set_index("breakdown")
    assert table.loc["midwives", "suppression_token"] == BLANKED_TOKEN
    assert table.loc["midwives", "denominator"] == 300.5
    assert not table.loc["nurses_and_health_visitors", "suppressed"]
    assert pd.isna(table.loc["nurses_and_health_visitors", "value"])
    assert table.loc["ambulance_staff", "suppression_token"] == "*"
    assert table.loc["all", "numerator"] == 9000.5
    # A published rate is never flagged suppressed, whatever another cell of its line says.
    assert not table.loc["central_functions", "suppressed"] and table.loc["central_functions", "value"] == 2.0


BROKEN = {
    "missing_staff_group_column": (lambda p: _write(p, [g.split(",All")[0] for g in GOOD[:1]], HEADER.replace("STAFF_GROUP,", "")), 1, "staff_group"),
    "non_numeric_rate": (lambda p: _write(p, [GOOD[0].replace("5.00", "five")]), 2, "SICKNESS_ABSENCE_RATE_PERCENT"),
    "duplicated_row": (lambda p: _write(p, [*GOOD, GOOD[0]]), 7, "org_code"),
    "wrong_field_count": (lambda p: _write(p, [GOOD[0] + ",1"]), 2, None),
    "empty_staff_group": (lambda p: _write(p, [GOOD[0].replace("All staff groups", " - ")]), 2, "STAFF_GROUP"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_file_raises_parse_error_naming_file_row_and_column(tmp_path, case) -> None:
    build, row, column = BROKEN[case]
    path = build(tmp_path)
    with pytest.raises(ParseError) as caught:
        parse(path)
    assert (Path(caught.value.file), caught.value.row, caught.value.column) == (path, row, column)


# --- the column reader against the line reader ---------------------------------------------------


def test_column_reader_gives_exactly_the_line_readers_extract(april_2024) -> None:
    path, extract = april_2024
    assert_same_extract(assert_readers_agree(parse, path), extract)
    assert any("blanked" in note for note in extract.notes)


def test_column_reader_reads_layouts_without_ics_columns_like_the_line_reader(world, tmp_path) -> None:
    assert_readers_agree(parse, _render(world, date(2022, 7, 1), tmp_path))


def test_column_reader_keeps_tokens_blanks_and_percent_signs_as_the_line_reader_does(tmp_path) -> None:
    lines = [*GOOD, GOOD[0].replace("All staff groups", "Midwives 2").replace("5.00", " 5.00% "),
             GOOD[0].replace("All staff groups", "Support").replace("9000.5", '"9,000.5"').replace("5.00", "n/a")]
    extract = assert_readers_agree(parse, _write(tmp_path, lines))
    assert extract.table.set_index("breakdown").loc["support", "suppression_token"] == "n/a"


@pytest.mark.parametrize(
    ("line", "column", "value", "words"),
    [
        (1000, "SICKNESS_ABSENCE_RATE_PERCENT", "five", "expected a number, found 'five'"),
        (1200, "FTE_DAYS_AVAILABLE", "inf", "expected a number, found 'inf'"),
        (1400, "STAFF_GROUP", " - ", "expected a staff group"),
        (1470, "DATE", "31/04/2024", "expected a date"),
    ],
)
def test_a_bad_cell_deep_in_a_long_file_is_named_exactly_as_the_line_reader_names_it(
    april_2024, tmp_path, line, column, value, words
) -> None:
    source, _ = april_2024
    path = tmp_path / source.name
    path.write_bytes(with_cells(source.read_bytes(), {(line, column): value}))
    assert_bad_cell_named(parse, path, line, column, words)
