"""Property: whatever bytes or cells a CSV holds, these parsers succeed or raise ParseError only.

A parser that crashes with a KeyError or a pandas error on a strange file stops the whole run
without saying which cell was wrong; a ParseError names the file, row and column for the analyst.
"""

from __future__ import annotations

import csv
import io
import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.parsers import ods, sickness_absence_reason, sickness_absence_staff_group, turnover, workforce
from pipelines.parsers.common import OBSERVATION_COLUMNS, ParsedExtract
from pipelines.parsers.errors import ParseError
from tests.parsers.both_readers import assert_same_outcome

WORKFORCE = ("Date,NHSE_Region_Code,NHSE_Region_Name,ICS code,ICS name,Org Code,Org Name,Cluster Group,"
             "Benchmark Group,Staff Group Sort Order,Staff Group,Data Type,Total")
CORE1 = "DATA_MONTH,DATA_LEVEL,ORG_CODE,ORG_NAME,NHSE_REGION_NAME,ICS_NAME,MAIN_STAFF_GROUP,STAFF_GROUP_1,FTE,HEADCOUNT"
TURNOVER = ("Period,Type,Org code,Org name,NHSE region code,NHSE region name,ICS code,ICS name,Cluster group,"
            "Benchmark group,Staff group,HC,FTE")
STAFF_GROUP = ("DATE,NHSE_REGION_CODE,NHSE_REGION_NAME,ICS_CODE,ICS_NAME,ORG_CODE,ORG_NAME,ORG_TYPE,CLUSTER_GROUP,"
               "BENCHMARK_GROUP,STAFF_GROUP,FTE_DAYS_LOST,FTE_DAYS_AVAILABLE,SICKNESS_ABSENCE_RATE_PERCENT")
REASON = "DATE,NHSE_CODE,NHSE_NAME,ORG_CODE,ORG_NAME,STAFF_GROUP,REASON,FTE_DAYS_AVAILABLE,FTE_DAYS_LOST,FTE_DAYS_LOST_REASON"

# name -> (parser, header fields or None for headerless files, field count)
PARSERS: dict[str, tuple[Callable[[Path], ParsedExtract], list[str] | None, int]] = {
    "workforce_staff_group_organisation": (workforce.parse, WORKFORCE.split(","), 13),
    "workforce_core1": (workforce.parse, CORE1.split(","), 10),
    "turnover": (turnover.parse, TURNOVER.split(","), 13),
    "sickness_absence_staff_group": (sickness_absence_staff_group.parse, STAFF_GROUP.split(","), 14),
    "sickness_absence_reason": (sickness_absence_reason.parse, REASON.split(","), 10),
    "ods_trusts": (ods.parse_trusts, None, ods.ETR_WIDTH),
    "ods_successors": (ods.parse_successors, None, ods.SUCC_WIDTH),
}

# Values the layouts really hold, so generated lines get past the first check and reach later ones.
PLAUSIBLE = st.sampled_from([
    "", " ", "RC9", "rc9", "R1F1", "QHG", "Y61", "2025-03-31", "31/03/2025", "2015-JAN", "2025-02-30",
    "202304 to 202403", "202304", "202313", "20230401", "20230431", "FTE", "HC", "Total", "All staff groups",
    "HCHS Doctors", "Organisation", "National", "Leavers", "Joiners", "Denoms", "R", "F", "X", ".", "*", "-",
    "0", "5", "330", "12.5", "1,234.5", "5.00%", "1e999", "-1e999", "NaN", "inf", "0x10", "\u00a0", "\ufeffRC9",
])
CELL = st.one_of(PLAUSIBLE, st.text(max_size=12))
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run(parser: Callable[[Path], ParsedExtract], data: bytes) -> None:
    """Parse ``data`` as a file: success must give a well-formed table, failure a ParseError."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "extract.csv"
        path.write_bytes(data)
        try:
            extract = parser(path)
        except ParseError as error:
            assert error.file == str(path)
            return
    assert len(extract.table) > 0 and extract.vintage
    if list(extract.table.columns) == list(OBSERVATION_COLUMNS):
        values = extract.table.value.dropna().astype(float)
        assert all(math.isfinite(v) for v in values)


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


@pytest.mark.parametrize("name", list(PARSERS))
@SETTINGS
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_parse_or_raise_parse_error_only(name: str, data: bytes) -> None:
    _run(PARSERS[name][0], data)


@pytest.mark.parametrize("name", list(PARSERS))
@SETTINGS
@given(text=st.text(max_size=400))
def test_arbitrary_text_after_a_real_header_parses_or_raises_parse_error_only(name: str, text: str) -> None:
    parser, header, _ = PARSERS[name]
    prefix = ",".join(header) + "\r\n" if header else ""
    _run(parser, (prefix + text).encode("utf-8"))


@pytest.mark.parametrize("name", list(PARSERS))
@SETTINGS
@given(data=st.data())
def test_arbitrary_cells_in_well_formed_lines_parse_or_raise_parse_error_only(name: str, data: st.DataObject) -> None:
    parser, header, width = PARSERS[name]
    row = st.lists(CELL, min_size=width, max_size=width)
    rows = data.draw(st.lists(row, min_size=1, max_size=4))
    _run(parser, _csv_bytes(([header] if header else []) + rows))


# One valid line per layout; the property below replaces one of its cells with anything.
VALID_LINES: dict[str, list[str]] = {
    "workforce_staff_group_organisation": "2025-03-31,Y61,East of England,QHG,BLMK,RC9,BEDFORDSHIRE,Acute,Acute - Large,1,Total,FTE,6123.45".split(","),
    "workforce_core1": "2025-10-31,Organisation,RC9,BEDFORDSHIRE,East of England,BLMK,All staff groups,All staff groups,6100.5,6900".split(","),
    "turnover": "202304 to 202403,Leavers,RC9,BEDFORDSHIRE,Y61,East of England,QHG,BLMK,Acute,Acute - Large,All staff groups,700,612.5".split(","),
    "sickness_absence_staff_group": "30/04/2024,Y61,East of England,QHG,BLMK,RC9,BEDFORDSHIRE,Acute,Acute,Acute - Large,Midwives,,300.5,".split(","),
    "sickness_absence_reason": "31/01/2024,Y61,East of England,RC9,BEDFORDSHIRE,All staff groups,S11 Back problems,1000,30,20".split(","),
    "ods_trusts": ["RC9", "BEDFORDSHIRE HOSPITALS", "Y61", "QHG", "", "", "", "LUTON", "", "LU4 0DZ", "19920401", "",
                   *[""] * 9, "0", "", "G", "", "", ""],
    "ods_successors": ["RAA", "RBB", "R", "20230401", "F"],
}


@pytest.mark.parametrize("name", list(PARSERS))
@SETTINGS
@given(data=st.data())
def test_one_arbitrary_cell_in_a_valid_line_parses_or_raises_parse_error_only(name: str, data: st.DataObject) -> None:
    parser, header, _ = PARSERS[name]
    line = list(VALID_LINES[name])
    line[data.draw(st.integers(0, len(line) - 1))] = data.draw(CELL)
    _run(parser, _csv_bytes(([header] if header else []) + [line]))


@pytest.mark.parametrize("name", list(PARSERS))
def test_the_valid_lines_do_parse(name: str) -> None:
    parser, header, _ = PARSERS[name]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "extract.csv"
        path.write_bytes(_csv_bytes(([header] if header else []) + [VALID_LINES[name]]))
        assert len(parser(path).table) >= 1


# --- the column readers against the line readers ---------------------------------------------------

# The CSV parsers that read a plain file column by column; their line reader is the reference.
BY_COLUMNS = [name for name in PARSERS if not name.startswith("ods")]
# Cells that test how a file is split into lines and fields: quotes, embedded breaks, blanks.
AWKWARD = st.sampled_from(['"RC9"', '"a,b"', '"a""b"', '"a"b', 'a"b', '"', '""', '"a\nb"', " ", "\t", "\u00a0"])
LINE_END = st.sampled_from(["\r\n", "\n", "\r"])


def _same_outcome(parser: Callable[..., ParsedExtract], data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "extract.csv"
        path.write_bytes(data)
        assert_same_outcome(parser, path)


@pytest.mark.parametrize("name", BY_COLUMNS)
@SETTINGS
@given(data=st.data())
def test_any_cell_in_valid_lines_gives_what_the_line_reader_gives(name: str, data: st.DataObject) -> None:
    parser, header, _ = PARSERS[name]
    lines = [list(VALID_LINES[name]) for _ in range(data.draw(st.integers(1, 3)))]
    for line in lines:
        line[data.draw(st.integers(0, len(line) - 1))] = data.draw(CELL)
    _same_outcome(parser, _csv_bytes([header, *lines]))


@pytest.mark.parametrize("name", BY_COLUMNS)
@SETTINGS
@given(data=st.data())
def test_any_quoting_and_line_breaks_give_what_the_line_reader_gives(name: str, data: st.DataObject) -> None:
    parser, header, _ = PARSERS[name]
    texts = [",".join(header)]
    for _ in range(data.draw(st.integers(1, 3))):
        fields = list(VALID_LINES[name])
        fields[data.draw(st.integers(0, len(fields) - 1))] = data.draw(st.one_of(AWKWARD, CELL))
        texts.append(",".join(fields) if data.draw(st.booleans()) else "")
    ends = [data.draw(LINE_END) for _ in texts]
    text = "".join(t + e for t, e in zip(texts, ends, strict=True))
    _same_outcome(parser, (text if data.draw(st.booleans()) else text.rstrip("\r\n")).encode("utf-8"))


@pytest.mark.parametrize("name", BY_COLUMNS)
@SETTINGS
@given(text=st.text(max_size=400))
def test_arbitrary_text_after_a_real_header_gives_what_the_line_reader_gives(name: str, text: str) -> None:
    parser, header, _ = PARSERS[name]
    _same_outcome(parser, (",".join(header) + "\r\n" + text).encode("utf-8"))
