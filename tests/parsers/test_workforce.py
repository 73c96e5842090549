"""Staff in post: both published packs, both date forms, cumulative vintages, and broken files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipelines.parsers.errors import ParseError
from pipelines.parsers.workforce import parse, staff_group_slug
from pipelines.sources.catalogue import get_source
from pipelines.synthetic import workforce as synthetic
from pipelines.synthetic.world import World
from tests.parsers.both_readers import (
    assert_bad_cell_named,
    assert_readers_agree,
    assert_same_error,
    assert_same_extract,
    by_columns_only,
    with_cells,
)

LEAF_SLUGS = {staff_group_slug(g.label, total="total") for g in synthetic.LEAVES}


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module")
def panel(world: World) -> synthetic.StaffInPost:
    return synthetic.staff_in_post(world)


def _write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


@pytest.fixture(scope="module")
def march_2025(world: World, panel: synthetic.StaffInPost, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("workforce")
    vintage = date(2025, 3, 1)
    path = _write(folder, synthetic.file_name(vintage),
                  synthetic.render_staff_group_organisation(world, vintage, panel))
    return path, parse(path)


@pytest.fixture(scope="module")
def october_2025(world: World, panel: synthetic.StaffInPost, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("core1")
    vintage = date(2025, 10, 1)
    path = _write(folder, synthetic.file_name(vintage), synthetic.render_core1(world, vintage, panel))
    return path, parse(path)


def _value(table: pd.DataFrame, code: str, month: str, measure: str, breakdown: str) -> float:
    rows = table[(table.org_code == code) & (table.period_end == pd.Timestamp(month))
                 & (table.measure == measure) & (table.breakdown == breakdown)]
    assert len(rows) == 1, rows
    return float(rows.value.iloc[0])


def test_synthetic_file_names_match_only_the_workforce_link_pattern(world: World) -> None:
    import re

    names = [synthetic.file_name(m) for m in world.months]
    assert any(n.startswith("Core 1.") for n in names) and any("Staff Group and Organisation" in n for n in names)
    assert all(re.search(get_source("workforce_staff_in_post").link_pattern, n) for n in names)
    assert not any(re.search(get_source("turnover").link_pattern, n) for n in names)


def test_staff_group_organisation_pack_gives_fte_and_headcount_per_staff_group(march_2025) -> None:
    _, extract = march_2025
    table = extract.table
    assert extract.layout == "staff_group_organisation"
    assert extract.vintage == "2025-03"
    assert extract.periods == [f"{m:%Y-%m}" for m in pd.date_range("2024-04-01", "2025-03-01", freq="MS")]
    assert set(table.measure) == {"staff_in_post_fte", "staff_in_post_headcount"}
    assert dict(table[["measure", "unit"]].drop_duplicates().values) == {
        "staff_in_post_fte": "fte", "staff_in_post_headcount": "headcount"}
    assert (table.grain == "month").all() and not table.suppressed.any()
    rc9 = table[table.org_code == "RC9"].iloc[0]
    assert (rc9.region_code, rc9.icb_code, rc9.org_type) == ("Y61", "QHG", "Acute")
    assert rc9.benchmark_group.startswith("Acute - ")


def test_organisation_total_matches_the_planted_staff_in_post(march_2025, panel) -> None:
    _, extract = march_2025
    planted = panel.total_fte("RC9", date(2025, 3, 1))
    assert _value(extract.table, "RC9", "2025-03-31", "staff_in_post_fte", "total") == pytest.approx(planted, abs=0.01)


def test_total_is_one_row_and_equals_its_parts_never_added_to_them(march_2025) -> None:
    table = march_2025[1].table
    fte = table[(table.measure == "staff_in_post_fte") & (table.period_end == pd.Timestamp("2025-03-31"))]
    per_org = fte.groupby(["org_code", "breakdown"]).value.sum().unstack()
    assert (fte.groupby("org_code").breakdown.apply(lambda b: (b == "total").sum()) == 1).all()
    leaves = per_org[sorted(LEAF_SLUGS & set(per_org.columns))].sum(axis=1)
    assert (leaves - per_org["total"]).abs().max() < 0.1  # rounding of each published figure only


def test_headcount_exceeds_fte_in_every_group(march_2025) -> None:
    table = march_2025[1].table
    key = ["org_code", "period_start", "breakdown"]
    wide = table.pivot_table(index=key, columns="measure", values="value", aggfunc="first")
    assert (wide.staff_in_post_headcount > wide.staff_in_post_fte).all()


def test_case_variant_staff_groups_normalise_to_one_slug(march_2025) -> None:
    path, extract = march_2025
    text = path.read_text()
    assert ",HCHS Doctors," in text and ",HCHS doctors," in text
    doctors = extract.table[(extract.table.breakdown == "hchs_doctors") & (extract.table.org_code == "RC9")]
    assert len(doctors) == 24  # 12 months x FTE and HC, both spellings as one series
    assert not extract.table.breakdown.str.contains("HCHS").any()


def test_dd_mm_yyyy_dates_read_the_same_as_iso(world, panel, tmp_path, march_2025) -> None:
    vintage = date(2025, 3, 1)
    data = synthetic.render_staff_group_organisation(world, vintage, panel, date_format="%d/%m/%Y")
    assert b"\r\n31/03/2025," in data
    british = parse(_write(tmp_path, "dmy Staff Group and Organisation.csv", data))
    pd.testing.assert_frame_equal(british.table, march_2025[1].table)


def test_cumulative_vintages_restate_months_with_small_revisions(world, panel, tmp_path, march_2025) -> None:
    february = date(2025, 2, 1)
    earlier = parse(_write(tmp_path, synthetic.file_name(february),
                           synthetic.render_staff_group_organisation(world, february, panel))).table
    later = march_2025[1].table
    key = ["org_code", "period_start", "measure", "breakdown"]
    both = earlier.merge(later, on=key, suffixes=("_feb", "_mar"))
    assert set(both.period_start.dt.strftime("%Y-%m")) == {f"{m:%Y-%m}" for m in pd.date_range("2024-04", "2025-02", freq="MS")}
    fte = both[both.measure == "staff_in_post_fte"]
    relative = (fte.value_mar - fte.value_feb).abs() / fte.value_feb
    assert (relative > 0).mean() > 0.5 and relative.max() < 0.02


def test_core1_pack_keeps_organisation_lines_only(world, october_2025) -> None:
    path, extract = october_2025
    table = extract.table
    assert extract.layout == "core1" and extract.vintage == "2025-10"
    assert "National,,All organisations" in path.read_text()
    month_end = pd.Timestamp("2025-10-31")
    open_codes = {o.code for o in world.open_organisations(date(2025, 10, 31))}
    assert set(table[table.period_end == month_end].org_code) == open_codes
    assert table[table.org_code == "RC9"].region_code.iloc[0] == "Y61"  # from NHSE_REGION_NAME


def test_core1_staff_groups_use_the_same_slugs_as_the_old_pack(october_2025, march_2025, panel) -> None:
    assert set(october_2025[1].table.breakdown) == set(march_2025[1].table.breakdown)
    planted = panel.total_fte("RC9", date(2025, 10, 1))
    assert _value(october_2025[1].table, "RC9", "2025-10-31", "staff_in_post_fte", "total") == pytest.approx(planted, abs=0.01)


# --- broken files -------------------------------------------------------------------------------

HEADER = ("Date,NHSE_Region_Code,NHSE_Region_Name,ICS code,ICS name,Org Code,Org Name,Cluster Group,"
          "Benchmark Group,Staff Group Sort Order,Staff Group,Data Type,Total")
GOOD = [
    "2025-03-31,Y61,East of England,QHG,\"Bedfordshire, Luton and Milton Keynes\",RC9,BEDFORDSHIRE HOSPITALS,Acute,Acute - Large,1,Total,FTE,6123.45",
    "2025-03-31,Y61,East of England,QHG,\"Bedfordshire, Luton and Milton Keynes\",RC9,BEDFORDSHIRE HOSPITALS,Acute,Acute - Large,1,Total,HC,6890",
    "2025-03-31,Y61,East of England,QHG,\"Bedfordshire, Luton and Milton Keynes\",RC9,BEDFORDSHIRE HOSPITALS,Acute,Acute - Large,3,HCHS doctors,FTE,901.2",
]


def _sample(header: str = HEADER, lines: list[str] = GOOD, end: str = "\r\n") -> str:
    return end.join([header, *lines]) + end


def test_small_hand_written_file_parses(tmp_path) -> None:
    extract = parse(_write(tmp_path, "w.csv", _sample()))
    assert list(extract.table.value) == [6123.45, 6890.0, 901.2]
    assert list(extract.table.breakdown) == ["total", "total", "hchs_doctors"]
    assert extract.table.benchmark_group.iloc[0] == "Acute - Large"


def test_renamed_column_with_a_known_alias_is_read(tmp_path) -> None:
    extract = parse(_write(tmp_path, "w.csv", _sample(HEADER.replace("Org Code", "ORG_CODE"))))
    assert set(extract.table.org_code) == {"RC9"}


BROKEN = {
    "truncated": (lambda: _sample()[:-30].rstrip("\r\n"), 4, None),
    "html_error_page": (lambda: "<!DOCTYPE html><html><body>Service unavailable</body></html>", 1, None),
    "missing_column": (lambda: _sample(HEADER.replace(",Data Type", ""), [g.replace(",FTE,", ",").replace(",HC,", ",") for g in GOOD]), 1, "data_type"),
    "unknown_renamed_column": (lambda: _sample(HEADER.replace("Org Code", "Organisation identifier")), 1, "org_code"),
    "non_numeric_value": (lambda: _sample(lines=[*GOOD[:2], GOOD[2].replace("901.2", "9O1.2")]), 4, "Total"),
    "wrong_field_count": (lambda: _sample(lines=[GOOD[0], GOOD[1] + ",extra", GOOD[2]]), 3, None),
    "duplicated_row": (lambda: _sample(lines=[*GOOD, GOOD[0]]), 5, "org_code"),
    "unknown_data_type": (lambda: _sample(lines=[GOOD[0].replace(",FTE,", ",WTE,")]), 2, "Data Type"),
    "bad_date": (lambda: _sample(lines=[GOOD[0].replace("2025-03-31", "March 2025")]), 2, "Date"),
    "bad_org_code": (lambda: _sample(lines=[GOOD[0].replace(",RC9,", ",Bedford,")]), 2, "Org Code"),
    "infinite_value": (lambda: _sample(lines=[GOOD[0].replace("6123.45", "1e999")]), 2, "Total"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_file_raises_parse_error_naming_file_row_and_column(tmp_path, case) -> None:
    text, row, column = BROKEN[case]
    path = _write(tmp_path, f"{case}.csv", text())
    with pytest.raises(ParseError) as caught:
        parse(path)
    assert (Path(caught.value.file), caught.value.row, caught.value.column) == (path, row, column)


CORE1_HEADER = "DATA_MONTH,DATA_LEVEL,ORG_CODE,ORG_NAME,NHSE_REGION_NAME,ICS_NAME,MAIN_STAFF_GROUP,STAFF_GROUP_1,FTE,HEADCOUNT"


def test_core1_unknown_data_level_is_an_error_not_silently_dropped(tmp_path) -> None:
    lines = ["2025-10-31,Organisation,RC9,BEDFORDSHIRE,East of England,BLMK,All staff groups,All staff groups,6100.5,6900",
             "2025-10-31,Sub-ICB location,06F,BEDFORDSHIRE,East of England,BLMK,All staff groups,All staff groups,1,1"]
    path = _write(tmp_path, "core1.csv", _sample(CORE1_HEADER, lines))
    with pytest.raises(ParseError) as caught:
        parse(path)
    assert (caught.value.row, caught.value.column) == (3, "DATA_LEVEL")


def test_core1_breakdowns_follow_main_and_detailed_staff_groups(tmp_path) -> None:
    prefix = "2025-10-31,Organisation,RC9,BEDFORDSHIRE,East of England,BLMK"
    lines = [f"{prefix},All staff groups,All staff groups,6100.5,6900",
             f"{prefix},Support to clinical staff,All staff groups,1400,1650",
             f"{prefix},Professionally qualified clinical staff,HCHS doctors - All grades,900,930",
             f"{prefix},Professionally qualified clinical staff,HCHS doctors - Consultant,350,360",
             "2025-10-31,National,,All organisations,,,All staff groups,All staff groups,1400000,1500000"]
    table = parse(_write(tmp_path, "core1.csv", _sample(CORE1_HEADER, lines))).table
    fte = table[table.measure == "staff_in_post_fte"]
    assert list(fte.breakdown) == ["total", "support_to_clinical_staff", "hchs_doctors", "consultant"]
    assert list(fte.value) == [6100.5, 1400, 900, 350]


# --- the column reader against the line reader ---------------------------------------------------


@pytest.mark.parametrize("pack", ["march_2025", "october_2025"])
def test_column_reader_gives_exactly_the_line_readers_extract(pack, request) -> None:
    path, extract = request.getfixturevalue(pack)
    assert_same_extract(assert_readers_agree(parse, path), extract)


def test_column_reader_reads_dd_mm_yyyy_dates_and_quoted_names_like_the_line_reader(world, panel, tmp_path) -> None:
    data = synthetic.render_staff_group_organisation(world, date(2025, 3, 1), panel, date_format="%d/%m/%Y")
    path = _write(tmp_path, "dmy.csv", data)
    assert_readers_agree(parse, path)
    quoted = assert_readers_agree(parse, _write(tmp_path, "quoted.csv", _sample()))
    assert list(quoted.table.value) == [6123.45, 6890.0, 901.2]


@pytest.mark.parametrize(
    ("pack", "line", "column", "value", "words"),
    [
        ("march_2025", 3000, "Total", "9O1.2", "expected a number, found '9O1.2'"),
        ("march_2025", 4000, "Org Code", "Bedford", "not an ODS organisation code"),
        ("march_2025", 1234, "Data Type", "WTE", "expected Data Type FTE or HC"),
        ("october_2025", 2000, "HEADCOUNT", "1e999", "expected a finite number"),
        ("october_2025", 2001, "DATA_MONTH", "March 2025", "expected a date"),
        ("october_2025", 7, "DATA_LEVEL", "Sub-ICB location", "unknown DATA_LEVEL"),
    ],
)
def test_a_bad_cell_deep_in_a_long_file_is_named_exactly_as_the_line_reader_names_it(
    pack, line, column, value, words, request, tmp_path
) -> None:
    source, _ = request.getfixturevalue(pack)
    path = _write(tmp_path, source.name, with_cells(source.read_bytes(), {(line, column): value}))
    assert_bad_cell_named(parse, path, line, column, words)


def test_the_first_bad_line_is_named_even_when_a_later_line_has_a_rarer_fault(march_2025, tmp_path) -> None:
    source, _ = march_2025
    changes = {(40000, "Date"): "2025-13-31", (50, "Total"): "n.a.", (30000, "Org Code"): "R!9"}
    path = _write(tmp_path, source.name, with_cells(source.read_bytes(), changes))
    error = assert_same_error(parse, path)
    assert (error.row, error.column) == (50, "Total")


def test_an_aggregate_line_is_skipped_unread_by_both_readers(tmp_path) -> None:
    lines = ["2025-10-31,National,,All organisations,,,All staff groups,All staff groups,lots,many",
             "2025-10-31,Organisation,RC9,BEDFORDSHIRE,East of England,BLMK,All staff groups,All staff groups,6100.5,6900"]
    extract = assert_readers_agree(parse, _write(tmp_path, "core1.csv", _sample(CORE1_HEADER, lines)))
    assert list(extract.table.value) == [6100.5, 6900.0]


def test_an_unusual_but_valid_file_is_read_line_by_line_with_the_same_result(tmp_path) -> None:
    multi_line_name = GOOD[0].replace("BEDFORDSHIRE HOSPITALS", '"BEDFORDSHIRE\nHOSPITALS"')
    path = _write(tmp_path, "w.csv", _sample(lines=[multi_line_name, "", *GOOD[1:]]))
    with pytest.raises(AssertionError, match="read line by line"):
        by_columns_only(parse, path)
    extract = parse(path)
    assert_same_extract(extract, parse(path, line_by_line=True))
    assert list(extract.table.source_row) == [2, 4, 5]


def test_core1_file_with_no_organisation_lines_is_refused_by_both_readers(tmp_path) -> None:
    lines = ["2025-10-31,National,,All organisations,,,All staff groups,All staff groups,1400000,1500000"]
    error = assert_same_error(parse, _write(tmp_path, "core1.csv", _sample(CORE1_HEADER, lines)))
    assert (error.row, "no organisation-level data lines" in str(error)) == (2, True)
