"""Turnover: rolling twelve-month leavers and joiners, snapshot denominators, the leaver rate."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.parsers.errors import ParseError
from pipelines.parsers.turnover import leaver_rate, parse
from pipelines.sources.catalogue import get_source
from pipelines.synthetic import turnover as synthetic
from pipelines.synthetic.world import World
from tests.parsers.both_readers import (
    assert_bad_cell_named,
    assert_readers_agree,
    assert_same_extract,
    with_cells,
)

MONTH = date(2025, 9, 1)


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module")
def september(world: World, tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("turnover") / synthetic.file_name(MONTH)
    path.write_bytes(synthetic.render_month(world, MONTH))
    return path, parse(path)


def _write(folder: Path, text: str) -> Path:
    path = folder / "turnover.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _rate_of(table: pd.DataFrame, code: str, breakdown: str = "all") -> float:
    rows = table[(table.org_code == code) & (table.breakdown == breakdown)]
    leavers = rows[rows.measure == "leavers_fte"].value.item()
    denominators = rows[rows.measure == "denominator_fte"].sort_values("period_start").value.tolist()
    return leaver_rate(leavers, *denominators)


def test_synthetic_file_names_match_only_the_turnover_link_pattern(world: World) -> None:
    names = [synthetic.file_name(m) for m in world.months]
    assert all(re.search(get_source("turnover").link_pattern, n) for n in names)
    assert not any(re.search(get_source("workforce_staff_in_post").link_pattern, n) for n in names)


def test_leavers_and_joiners_cover_twelve_months_and_denominators_one_month(september) -> None:
    _, extract = september
    table = extract.table
    assert extract.layout == "organisation_turnover" and extract.vintage == "2025-09"
    assert set(table.measure) == {"leavers_fte", "leavers_hc", "joiners_fte", "joiners_hc",
                                  "denominator_fte", "denominator_hc"}
    rolling = table[table.measure.str.startswith(("leavers", "joiners"))]
    assert set(rolling.grain) == {"rolling_12m"}
    assert set(zip(rolling.period_start, rolling.period_end, strict=True)) == {
        (pd.Timestamp("2024-10-01"), pd.Timestamp("2025-09-30"))}
    denominators = table[table.measure.str.startswith("denominator")]
    assert set(denominators.grain) == {"month"}
    assert set(denominators.period_end) == {pd.Timestamp("2024-10-31"), pd.Timestamp("2025-09-30")}
    assert dict(table[["measure", "unit"]].drop_duplicates().values)["leavers_hc"] == "headcount"
    assert "all" in set(table.breakdown) and "nurses_and_health_visitors" in set(table.breakdown)


def test_leaver_rate_of_a_named_trust_is_the_planted_rate(world, september) -> None:
    table = september[1].table
    assert _rate_of(table, "RC9") == pytest.approx(synthetic.planted_leaver_rate(world, "RC9", MONTH), abs=1e-4)


def test_better_culture_means_fewer_leavers_across_trusts(world, september) -> None:
    table = september[1].table
    codes = sorted(set(table.org_code))
    rates = [_rate_of(table, code) for code in codes]
    culture = [world.culture_at(code, MONTH) for code in codes]
    assert np.corrcoef(rates, culture)[0, 1] < -0.5


def test_dot_is_a_missing_value_not_zero_and_not_a_suppression(september) -> None:
    path, extract = september
    assert ",.,." in path.read_text()
    missing = extract.table[extract.table.value.isna()]
    assert len(missing) > 0 and not missing.suppressed.any() and missing.suppression_token.isna().all()
    assert any("missing" in note for note in extract.notes)


@pytest.mark.parametrize(
    ("leavers", "start", "end", "expected"),
    [(10.0, 90.0, 110.0, 0.1), (0.0, 50.0, 50.0, 0.0), (3.0, 20.0, 40.0, 0.1)],
)
def test_leaver_rate_divides_by_the_mean_of_the_two_denominators(leavers, start, end, expected) -> None:
    assert leaver_rate(leavers, start, end) == pytest.approx(expected)


@pytest.mark.parametrize(("start", "end"), [(0.0, 100.0), (100.0, 0.0), (-5.0, 100.0), (float("nan"), 100.0)])
def test_leaver_rate_refuses_non_positive_or_missing_denominators(start, end) -> None:
    with pytest.raises(ValueError, match="denominator|finite"):
        leaver_rate(5.0, start, end)


# --- hand-written files -------------------------------------------------------------------------

HEADER = ("Period,Type,Org code,Org name,NHSE region code,NHSE region name,ICS code,ICS name,Cluster group,"
          "Benchmark group,Staff group,HC,FTE")
ORG = "RC9,BEDFORDSHIRE HOSPITALS,Y61,East of England,QHG,BLMK,Acute,Acute - Large"
GOOD = [
    f"202304 to 202403,Leavers,{ORG},All staff groups,700,612.5",
    f"202304 to 202403,Joiners,{ORG},All staff groups,3,2.6",
    f"202304,Denoms,{ORG},All staff groups,6800,6000",
    f"31/03/2024,Denoms,{ORG},All staff groups,7000,6250",
    f"202304 to 202403,Leavers,{ORG},Midwives,.,.",
]


def _sample(lines: list[str] = GOOD, header: str = HEADER) -> str:
    return "\r\n".join([header, *lines]) + "\r\n"


def test_hand_written_file_reads_small_counts_as_published_and_dates_as_denominator_months(tmp_path) -> None:
    table = parse(_write(tmp_path, _sample())).table
    joiners = table[(table.measure == "joiners_hc")]
    assert joiners.value.item() == 3.0 and not joiners.suppressed.item()  # <= 5 is published as is
    ends = table[table.measure == "denominator_fte"].period_end.tolist()
    assert ends == [pd.Timestamp("2023-04-30"), pd.Timestamp("2024-03-31")]
    assert leaver_rate(612.5, 6000, 6250) == pytest.approx(0.1)
    assert table[table.breakdown == "midwives"].value.isna().all()


def test_denominators_at_start_and_end_of_period_read_their_own_months(tmp_path) -> None:
    lines = [f"202304 to 202403,Denominator at start of period,{ORG},All staff groups,6800,6000",
             f"202304 to 202403,Denominator at end of period,{ORG},All staff groups,7000,6250"]
    table = parse(_write(tmp_path, _sample(lines))).table
    fte = table[table.measure == "denominator_fte"]
    assert fte.period_start.tolist() == [pd.Timestamp("2023-04-01"), pd.Timestamp("2024-03-01")]
    assert set(fte.grain) == {"month"}


BROKEN = {
    "truncated": (lambda: _sample()[:-12].rstrip("\r\n"), 6, None),
    "html_error_page": (lambda: "<html><head><title>404</title></head></html>", 1, None),
    "missing_column": (lambda: _sample([g.rsplit(",", 1)[0] for g in GOOD], HEADER.rsplit(",", 1)[0]), 1, "fte"),
    "unknown_renamed_column": (lambda: _sample(header=HEADER.replace("Type", "Movement")), 1, "type"),
    "non_numeric_value": (lambda: _sample([GOOD[0].replace("612.5", "n.a.")]), 2, "FTE"),
    "wrong_field_count": (lambda: _sample([GOOD[0], GOOD[1] + ",", GOOD[2]]), 3, None),
    "duplicated_row": (lambda: _sample([*GOOD, GOOD[2]]), 7, "org_code"),
    "period_not_twelve_months": (lambda: _sample([GOOD[0].replace("202304 to", "202309 to")]), 2, "Period"),
    "denominator_with_a_range": (lambda: _sample([GOOD[2].replace("202304,", "202304 to 202403,")]), 2, "Period"),
    "unknown_type": (lambda: _sample([GOOD[0].replace("Leavers", "Movers")]), 2, "Type"),
    "impossible_month": (lambda: _sample([GOOD[2].replace("202304,", "202313,")]), 2, "Period"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_file_raises_parse_error_naming_file_row_and_column(tmp_path, case) -> None:
    text, row, column = BROKEN[case]
    path = _write(tmp_path, text())
    with pytest.raises(ParseError) as caught:
        parse(path)
    assert (Path(caught.value.file), caught.value.row, caught.value.column) == (path, row, column)


# --- the column reader against the line reader ---------------------------------------------------


def test_column_reader_gives_exactly_the_line_readers_extract(september) -> None:
    path, extract = september
    assert_same_extract(assert_readers_agree(parse, path), extract)
    assert any("missing" in note for note in extract.notes)


def test_column_reader_reads_every_period_form_like_the_line_reader(tmp_path) -> None:
    lines = [*GOOD, f"202304 to 202403,Denominator at start of period,{ORG},Midwives,68,60",
             f"202304 to 202403,Denominator at end of period,{ORG},Midwives,70,62.5",
             f"202303 to 202403,Joiners,{ORG},Midwives,1,0.8"]
    assert_readers_agree(parse, _write(tmp_path, _sample(lines)))


@pytest.mark.parametrize(
    ("kind", "column", "value", "words"),
    [
        ("Leavers", "FTE", "n.a.", "expected a number, found 'n.a.'"),
        ("Joiners", "Period", "202309 to 202403", "expected a twelve-month period"),
        ("Denoms", "Period", "202304 to 202403", "a denominator is a single month"),
        ("Denoms", "Type", "Movers", "expected Type Leavers, Joiners or Denoms"),
        ("Leavers", "Org code", "R!9", "not an ODS organisation code"),
    ],
)
def test_a_bad_cell_deep_in_a_long_file_is_named_exactly_as_the_line_reader_names_it(
    september, tmp_path, kind, column, value, words
) -> None:
    source, _ = september
    lines = source.read_text().splitlines()
    line = next(number for number, text in enumerate(lines, start=1) if number > 3000 and f",{kind}," in text)
    path = _write(tmp_path, with_cells(source.read_bytes(), {(line, column): value}).decode())
    assert_bad_cell_named(parse, path, line, column, words)
