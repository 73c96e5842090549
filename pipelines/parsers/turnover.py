"""NHS Workforce Statistics, organisation-level turnover: leavers, joiners and their denominators.

Layout ``organisation_turnover`` (PARSERS): ``Period,Type,Org code,Org name,NHSE region code,
NHSE region name,ICS code,ICS name,Cluster group,Benchmark group,Staff group,HC,FTE``.

- ``Type`` ``Leavers`` / ``Joiners``: ``Period`` is ``YYYYMM to YYYYMM``, twelve months counted
  inclusively; the observation spans the first month's first day to the last month's last day
  (grain ``rolling_12m``). A snapshot-to-snapshot span (``202303 to 202403``) is accepted too,
  because both conventions are in use.
- ``Type`` ``Denoms``: staff in post at one snapshot, ``Period`` a single month (``YYYYMM`` or a
  date) -> grain ``month``. A file carries the denominators at the start and at the end of the
  twelve months. The later pack's ``Denominator at start/end of period`` with a range is read too.

Measures ``leavers_fte``, ``leavers_hc``, ``joiners_fte``, ``joiners_hc``, ``denominator_fte``,
``denominator_hc`` (units ``fte`` / ``headcount``), breakdown = staff-group slug (``all`` for all
staff groups). ``.`` is the publisher's missing value: it is stored as missing, never 0. Counts of
five or fewer are published as they are and are read as they are.

The turnover rate is derived, not published: :func:`leaver_rate`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date
from functools import partial
from pathlib import Path

import numpy as np

from pipelines.parsers.common import (
    Cell,
    CellColumn,
    ParsedExtract,
    month_end,
    normalise_header,
    period_columns,
    spread,
)
from pipelines.parsers.workforce import (
    MISSING_TOKENS,
    ORGANISATION_ALIASES,
    ColumnLines,
    Line,
    finish,
    interleave,
    month_bounds,
    observation,
    observations,
    read_observations,
)

SOURCE_ID = "turnover"
LAYOUT = "organisation_turnover"
MISSING = "."  # the publisher's "no value" (not a suppression)
COUNT_TOKENS = (MISSING, *MISSING_TOKENS)

ALIASES: dict[str, tuple[str, ...]] = {
    **ORGANISATION_ALIASES,
    "period": ("Period", "PERIOD"),
    "type": ("Type", "TYPE"),
    "staff_group": ("Staff group", "STAFF_GROUP"),
    "hc": ("HC", "Headcount", "HEADCOUNT"),
    "fte": ("FTE",),
}
REQUIRED = ("period", "type", "org_code", "org_name", "staff_group", "hc", "fte")

# Type (normalised) -> (measure stem, which month of the period a denominator describes).
TYPES: dict[str, tuple[str, str | None]] = {
    "leavers": ("leavers", None),
    "joiners": ("joiners", None),
    "denoms": ("denominator", "single"),
    "denominator": ("denominator", "single"),
    "denominators": ("denominator", "single"),
    "denominator at start of period": ("denominator", "start"),
    "denominator at end of period": ("denominator", "end"),
}
COLUMNS: tuple[tuple[str, str, str], ...] = (("fte", "fte", "fte"), ("hc", "hc", "headcount"))

_RANGE = re.compile(r"^(\d{4})(\d{2})\s*to\s*(\d{4})(\d{2})$", re.IGNORECASE)
_YYYYMM = re.compile(r"^(\d{4})(\d{2})$")
WINDOW_MONTHS = (12, 13)  # inclusive month labels: "202304 to 202403" or "202303 to 202403"


def leaver_rate(leavers_fte: float, denominator_start_fte: float, denominator_end_fte: float) -> float:
    """The NHS turnover (leaver) rate: leavers FTE over the mean of the start and end denominators.

    Averaging the two staff-in-post snapshots keeps a trust that grew or shrank during the year
    from looking better or worse than it was. Both denominators must be positive and the leavers
    a finite non-negative number, else ValueError: a rate from a zero or missing denominator would
    be meaningless rather than merely large.
    """
    values = {"leavers_fte": leavers_fte, "denominator_start_fte": denominator_start_fte,
              "denominator_end_fte": denominator_end_fte}
    for name, value in values.items():
        if value is None or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    for name in ("denominator_start_fte", "denominator_end_fte"):
        if values[name] <= 0:
            raise ValueError(f"{name} must be positive, got {values[name]!r}")
    if leavers_fte < 0:
        raise ValueError(f"leavers_fte must not be negative, got {leavers_fte!r}")
    return leavers_fte / ((denominator_start_fte + denominator_end_fte) / 2)


def parse(path: Path, *, line_by_line: bool = False) -> ParsedExtract:
    """Read one organisation-level turnover file into observations (two per line: FTE and HC).

    ``line_by_line`` forces the reference line reader (see :func:`read_observations`).
    """
    path = Path(path)
    rows = read_observations(
        path, ALIASES, REQUIRED, by_columns=_by_columns, by_lines=_by_lines, line_by_line=line_by_line
    )
    extract = finish(path, rows, LAYOUT)
    missing = int(extract.table["value"].isna().sum())
    if missing:
        extract.notes.append(f"{missing} value(s) published as missing ('{MISSING}' or blank)")
    return extract


def _by_lines(_table: object, lines: Iterable[Line]) -> list[dict[str, object]]:
    return [row for line in lines for row in _rows(line)]


def _rows(line: Line) -> list[dict[str, object]]:
    stem, snapshot = _type(line)
    period, grain = _period(line, snapshot)
    organisation = line.organisation()
    breakdown = line.staff_group("staff_group", total="all")
    return [
        observation(line, organisation, period=period, grain=grain, measure=f"{stem}_{suffix}",
                    breakdown=breakdown, cell=_count(line, column), unit=unit)
        for column, suffix, unit in COLUMNS
    ]


def _by_columns(lines: ColumnLines) -> dict[str, np.ndarray]:
    stem = lines.each(("type",), lambda line: _type(line)[0])
    codes, found = lines.distinct(("type", "period"), lambda line: _period(line, _type(line)[1]))
    period = period_columns([bounds for bounds, _ in found], codes)
    grain = spread([grain for _, grain in found], codes)
    organisation = lines.organisation()
    breakdown = lines.each(("staff_group",), lambda line: line.staff_group("staff_group", total="all"))
    return interleave([
        observations(lines, organisation, period=period, grain=grain, measure=stem + f"_{suffix}",
                     breakdown=breakdown, cells=_counts(lines, column), unit=unit)
        for column, suffix, unit in COLUMNS
    ])


def _counts(lines: ColumnLines, column: str) -> CellColumn:
    """:func:`_count` of every line."""
    return lines.cells(column, partial(_count, column=column), tokens=COUNT_TOKENS)


def _type(line: Line) -> tuple[str, str | None]:
    """The measure stem and the snapshot a line's ``Type`` names."""
    kind = normalise_header(line.text("type"))
    if kind not in TYPES:
        raise line.error(f"expected Type Leavers, Joiners or Denoms, found {line.text('type')[:40]!r}", "type")
    return TYPES[kind]


def _count(line: Line, column: str) -> Cell:
    """A count cell; the publisher's ``.`` is a plain missing value, not a suppression."""
    cell = line.value(column, tokens=COUNT_TOKENS)
    return Cell(None) if cell.token == MISSING else cell


def _period(line: Line, snapshot: str | None) -> tuple[tuple[date, date], str]:
    """The observation's period and grain from ``Period`` and what the Type says it measures."""
    text = line.text("period")
    window = _RANGE.match(text)
    if snapshot is None:
        if not window:
            raise line.error(f"expected a period like '202304 to 202403', found {text[:40]!r}", "period")
        return _window(line, window), "rolling_12m"
    if snapshot == "single":
        if window:
            raise line.error(f"a denominator is a single month, found the range {text[:40]!r}", "period")
        return month_bounds(_single_month(line, text)), "month"
    if not window:
        raise line.error(f"expected a period like '202304 to 202403', found {text[:40]!r}", "period")
    start, end = _window(line, window)
    return month_bounds(start if snapshot == "start" else end), "month"


def _window(line: Line, match: re.Match[str]) -> tuple[date, date]:
    first_year, first_month, last_year, last_month = (int(g) for g in match.groups())
    if not (1 <= first_month <= 12 and 1 <= last_month <= 12 and first_year >= 1):
        raise line.error(f"period {line.text('period')!r} names a month that does not exist", "period")
    span = (last_year * 12 + last_month) - (first_year * 12 + first_month) + 1
    if span not in WINDOW_MONTHS:
        raise line.error(
            f"expected a twelve-month period, {line.text('period')!r} covers {span} month(s)", "period"
        )
    return date(first_year, first_month, 1), month_end(last_year, last_month)


def _single_month(line: Line, text: str) -> date:
    """``YYYYMM`` as published in the turnover files, or any date form the sickness files use."""
    compact = _YYYYMM.match(text)
    if not compact:
        return line.month("period")
    year, month = int(compact.group(1)), int(compact.group(2))
    if not 1 <= month <= 12 or year < 1:
        raise line.error(f"expected a month like 202403, found {text!r}", "period")
    return month_end(year, month)
