"""ODS reference files: real etr/ect vintages, synthetic etr/succ, succession chains and splits."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipelines.parsers.errors import ParseError
from pipelines.parsers.ods import find_splits, parse_successors, parse_trusts, resolve_successors
from pipelines.sources.catalogue import get_source
from pipelines.synthetic import ods as synthetic
from pipelines.synthetic.world import World

REAL = Path(__file__).resolve().parents[2].parent / "shared/data/real"
REAL_ODS = REAL / "ods"
needs_real = pytest.mark.skipif(
    not REAL_ODS.is_dir(), reason=f"real ODS files not available at {REAL_ODS} (they live beside the project)"
)
ETR_VINTAGES = ["etr_2021-22_vintage.csv", "etr_2022-23_vintage.csv"]


def _line_count(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


# --- real files ---------------------------------------------------------------------------------


@needs_real
@pytest.mark.parametrize("name", ETR_VINTAGES)
def test_real_etr_puts_rc9_and_rd8_in_icb_qhg_in_the_east_of_england(name) -> None:
    extract = parse_trusts(REAL_ODS / name)
    table = extract.table.set_index("org_code")
    assert extract.layout == "etr"
    for code in ("RC9", "RD8"):
        assert (table.loc[code, "icb_code"], table.loc[code, "region_code"]) == ("QHG", "Y61")
    assert len(extract.table) == _line_count(REAL_ODS / name)
    assert extract.table.org_code.is_unique
    assert set(extract.table.region_code) <= {f"Y{n}" for n in range(56, 64)} | {"W00"}


@needs_real
def test_real_etr_2022_23_shows_ra4_closed_on_31_march_2023() -> None:
    later = parse_trusts(REAL_ODS / "etr_2022-23_vintage.csv").table.set_index("org_code")
    earlier = parse_trusts(REAL_ODS / "etr_2021-22_vintage.csv").table.set_index("org_code")
    assert later.loc["RA4", "close_date"] == pd.Timestamp("2023-03-31")
    assert pd.isna(earlier.loc["RA4", "close_date"])
    assert later.loc["RA4", "open_date"] == pd.Timestamp("1991-04-01")
    assert str(later.close_date.dtype) == "datetime64[s]"


@needs_real
def test_real_ect_care_trusts_read_with_the_same_layout() -> None:
    path = REAL_ODS / "ect_2022-23_vintage.csv"
    extract = parse_trusts(path)
    assert extract.layout == "etr" and len(extract.table) == _line_count(path)
    assert extract.table.org_code.str.startswith("T").all()
    assert "care trusts" in extract.notes[0]


@needs_real
def test_real_etr_vintage_defaults_to_the_latest_date_and_can_be_given() -> None:
    path = REAL_ODS / "etr_2022-23_vintage.csv"
    assert parse_trusts(path).vintage == "2023-06-30"  # RVY's close date
    assert parse_trusts(path, vintage="2023-Q1").vintage == "2023-Q1"


# --- synthetic files ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module")
def ods_files(world: World, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("ods")
    return synthetic.write_trusts(world, folder)[0], synthetic.write_successors(world, folder)[0]


def test_synthetic_file_names_match_the_ods_link_patterns(ods_files) -> None:
    trusts, successors = ods_files
    assert re.search(get_source("ods_trusts").link_pattern, trusts.name)
    assert re.search(get_source("ods_successors").link_pattern, successors.name)
    assert not re.search(get_source("ods_trusts").link_pattern, successors.name)


def test_synthetic_etr_lists_every_organisation_with_closed_ones_dated(world, ods_files) -> None:
    trusts, _ = ods_files
    assert all(line.count('","') == 26 for line in trusts.read_text().splitlines())
    table = parse_trusts(trusts).table.set_index("org_code")
    assert set(table.index) == {o.code for o in world.organisations}
    closed = {o.code: o.close_date for o in world.organisations if o.close_date}
    assert len(closed) == 2
    for code, closed_on in closed.items():
        assert table.loc[code, "close_date"] == pd.Timestamp(closed_on)
    assert table.close_date.notna().sum() == 2


def test_two_step_succession_chain_resolves_to_the_final_successor(world, ods_files) -> None:
    _, successors = ods_files
    extract = parse_successors(successors)
    table = extract.table
    assert extract.layout == "succ" and len(table) == 2
    first, second = (s for s in world.successions)
    assert table.indicator.tolist()[0] == "F" and pd.isna(table.indicator.tolist()[1])
    mapping = resolve_successors(zip(table.old_code, table.new_code, strict=True))
    assert mapping == {first.old: second.new, second.old: second.new}
    assert table.effective_date.tolist()[0] == pd.Timestamp(first.effective)
    assert extract.vintage == second.effective.isoformat() and extract.notes == []


def test_chains_resolve_transitively_whatever_the_order() -> None:
    pairs = [("C", "D"), ("A", "B"), ("B", "C"), ("X", "Y")]
    assert resolve_successors(pairs) == {"A": "D", "B": "D", "C": "D", "X": "Y"}


def test_a_split_is_reported_not_silently_picked(tmp_path) -> None:
    pairs = [("RAA", "RBB"), ("RAA", "RCC"), ("RDD", "RBB"), ("RZZ", "RAA")]
    assert find_splits(pairs) == {"RAA": ["RBB", "RCC"]}
    # The split code keeps its own history; a chain into it stops there.
    assert resolve_successors(pairs) == {"RDD": "RBB", "RZZ": "RAA"}
    path = tmp_path / "succ.csv"
    path.write_text("".join(f'"{o}","{n}","R","20230401",""\n' for o, n in pairs))
    assert parse_successors(path).notes == ["RAA is succeeded by several organisations: RBB, RCC"]


@pytest.mark.parametrize("pairs", [[("A", "B"), ("B", "A")], [("Z", "A"), ("A", "B"), ("B", "C"), ("C", "A")]])
def test_a_succession_cycle_raises_naming_the_codes(pairs) -> None:
    with pytest.raises(ValueError, match="cycle: A -> .*A"):
        resolve_successors(pairs)


def test_a_self_succession_is_ignored() -> None:
    assert resolve_successors([("A", "A"), ("B", "C")]) == {"B": "C"}


# --- broken files -------------------------------------------------------------------------------

ETR_LINE = ('"RC9","BEDFORDSHIRE HOSPITALS NHS FOUNDATION TRUST","Y61","QHG","LEWSEY ROAD","","","LUTON","",'
            '"LU4 0DZ","19920401","","","","","","","","","","","0","","G","","",""')
SUCC_LINE = '"RAA","RBB","R","20230401","F"'


def _write(folder: Path, lines: list[str], name: str = "etr.csv") -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


TRUST_BROKEN = {
    "wrong_field_count": ([ETR_LINE, ETR_LINE.replace("RC9", "RD8") + ',""'], 2, None),
    "header_row": (['"Code",' + ETR_LINE.split(",", 1)[1], ETR_LINE], 1, "org_code (column 1)"),
    "bad_open_date": ([ETR_LINE.replace("19920401", "1992-04-01")], 1, "open_date (column 11)"),
    "close_before_open": ([ETR_LINE.replace('"19920401",""', '"19920401","19910101"')], 1, "close_date (column 12)"),
    "bad_region": ([ETR_LINE.replace('"Y61"', '"East of England"')], 1, "region_code (column 3)"),
    "duplicated_code": ([ETR_LINE, ETR_LINE], 2, "org_code (column 1)"),
    "html_error_page": (["<html><body>Not found</body></html>"], 1, None),
    "truncated": ([ETR_LINE, ETR_LINE[:60]], 2, None),
}


@pytest.mark.parametrize("case", list(TRUST_BROKEN))
def test_broken_etr_raises_parse_error_naming_file_row_and_column(tmp_path, case) -> None:
    lines, row, column = TRUST_BROKEN[case]
    path = _write(tmp_path, lines)
    if case == "truncated":
        path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ParseError) as caught:
        parse_trusts(path)
    assert (Path(caught.value.file), caught.value.row, caught.value.column) == (path, row, column)


SUCC_BROKEN = {
    "wrong_field_count": ([SUCC_LINE + ',""'], 1, None),
    "bad_reason": ([SUCC_LINE.replace('"R"', '"Q"')], 1, "reason (column 3)"),
    "bad_indicator": ([SUCC_LINE.replace('"F"', '"Y"')], 1, "indicator (column 5)"),
    "bad_date": ([SUCC_LINE.replace("20230401", "20230431")], 1, "effective_date (column 4)"),
    "bad_code": ([SUCC_LINE.replace('"RBB"', '"R B"')], 1, "new_code (column 2)"),
    "duplicated_pair": ([SUCC_LINE, SUCC_LINE], 2, "new_code (column 2)"),
}


@pytest.mark.parametrize("case", list(SUCC_BROKEN))
def test_broken_succ_raises_parse_error_naming_file_row_and_column(tmp_path, case) -> None:
    lines, row, column = SUCC_BROKEN[case]
    path = _write(tmp_path, lines, "succ.csv")
    with pytest.raises(ParseError) as caught:
        parse_successors(path)
    assert (Path(caught.value.file), caught.value.row, caught.value.column) == (path, row, column)


def test_successor_dates_are_typed(tmp_path) -> None:
    table = parse_successors(_write(tmp_path, [SUCC_LINE], "succ.csv")).table
    assert table.effective_date.tolist() == [pd.Timestamp(date(2023, 4, 1))]
    assert str(table.effective_date.dtype) == "datetime64[s]"
