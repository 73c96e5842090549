"""NHS Sickness Absence Rates, organisation-level monthly CSV (current and pre-2022 layouts).

Current layout (REAL): ``DATE`` as DD/MM/YYYY month end, ``FTE_DAYS_LOST``,
``FTE_DAYS_AVAILABLE``, ``SICKNESS_ABSENCE_RATE_PERCENT`` (0-100, 2 dp).
Pre-2022 layout (PARSERS): ``Date`` as ``2015-JAN``, ``FTE Days Sick``, ``FTE Days Available``,
``SA Rate (%)`` where rates may carry a ``%`` sign.

One observation per organisation and month: measure ``sickness_absence_rate`` with the days
lost as numerator and the days available as denominator, so the rate can be checked and
re-derived downstream.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import partial
from pathlib import Path

import numpy as np

from pipelines.parsers.common import (
    Cell,
    CsvColumns,
    CsvHeader,
    CsvTable,
    ParsedExtract,
    check_ods_code,
    month_end,
    observation_frame,
    parse_number,
    period_columns,
    read_by_columns_or_lines,
    reject_duplicates,
    spread_fields,
)
from pipelines.parsers.errors import ParseError

SOURCE_ID = "sickness_absence"
MEASURE = "sickness_absence_rate"
MISSING_TOKENS = ("*", "-", "..", "NA", "n/a")

ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("DATE", "Date", "Month"),
    "region_code": ("NHSE_REGION_CODE", "NHSE Region Code", "Region Code"),
    "icb_code": ("ICS_CODE", "ICB_CODE", "ICS code", "ICB code"),
    "org_code": ("ORG_CODE", "Org Code", "Organisation code"),
    "org_name": ("ORG_NAME", "Org Name", "Organisation name"),
    "org_type": ("ORG_TYPE", "Org Type", "Organisation type"),
    "fte_days_lost": ("FTE_DAYS_LOST", "FTE Days Sick", "FTE Days Lost"),
    "fte_days_available": ("FTE_DAYS_AVAILABLE", "FTE Days Available"),
    "rate": ("SICKNESS_ABSENCE_RATE_PERCENT", "SA Rate (%)", "SA Rate", "Sickness Absence Rate (%)"),
}
REQUIRED = ("date", "org_code", "org_name", "fte_days_lost", "fte_days_available", "rate")

_LEGACY_DATE = re.compile(r"^(\d{4})-([A-Za-z]{3})$")


def parse_month(raw: str, *, file: Path, row: int, column: str) -> date:
    """Both published date forms, DD/MM/YYYY (month end) and YYYY-MMM, as the month's last day."""
    text = raw.strip()
    legacy = _LEGACY_DATE.match(text)
    try:
        if legacy:
            parsed = datetime.strptime(f"{legacy.group(1)}-{legacy.group(2).title()}", "%Y-%b")
        elif "/" in text:
            parsed = datetime.strptime(text, "%d/%m/%Y")
        else:
            parsed = datetime.strptime(text[:10], "%Y-%m-%d")
    except ValueError as exc:
        raise ParseError(
            f"expected a date like 30/04/2024 or 2015-JAN, found {text[:30]!r}", file=file, row=row, column=column
        ) from exc
    return month_end(parsed.year, parsed.month)


def parse(path: Path, *, line_by_line: bool = False) -> ParsedExtract:
    """Read one monthly organisation-level file into observations (one per organisation and month).

    A plain file is read column by column, each distinct date, organisation and odd number once;
    anything unusual, a bad cell or ``line_by_line`` sends it to the line reader, whose error names
    the first bad cell (see :func:`read_by_columns_or_lines`).
    """
    path = Path(path)
    layout, rows = read_by_columns_or_lines(
        path,
        ALIASES,
        REQUIRED,
        by_columns=partial(_by_columns, path),
        by_lines=partial(_by_lines, path),
        line_by_line=line_by_line,
    )
    table = observation_frame(rows)
    reject_duplicates(table, file=path)
    periods = sorted({d.strftime("%Y-%m") for d in table["period_start"].unique()})
    return ParsedExtract(table=table, layout=layout, vintage=periods[-1], periods=periods)


NUMBERS = ("fte_days_lost", "fte_days_available", "rate")
ORGANISATION = ("org_code", "org_name", "org_type", "region_code", "icb_code")


def _layout(table: CsvHeader) -> str:
    return "org_monthly_legacy" if "fte days sick" in {h.casefold() for h in table.header} else "org_monthly"


def _by_lines(path: Path, table: CsvTable) -> tuple[str, list[dict[str, object]]]:
    return _layout(table), [_row(path, table, line, fields) for line, fields in table.records]


def _row(path: Path, table: CsvHeader, line: int, fields: list[str]) -> dict[str, object]:
    """One line's observation; its cells are checked date first, then the numbers, then the code."""
    period = _period(path, table, line, fields)
    lost, available, rate = (_number(path, table, line, fields, name) for name in NUMBERS)
    token = _first_token((lost, available, rate))
    return _observation(
        _organisation(path, table, line, fields), period, rate=rate.value, lost=lost.value,
        available=available.value, token=token, suppressed=token is not None, line=line,
    )


def _by_columns(path: Path, columns: CsvColumns) -> tuple[str, dict[str, object]]:
    """The observations of a plain file, read a column at a time with the line reader's rules."""
    codes, found = columns.each(("date",), partial(_period, path, columns))
    period = period_columns(found, codes)
    lost, available, rate = (
        columns.numbers(name, partial(_number, path, columns, name=name), tokens=MISSING_TOKENS) for name in NUMBERS
    )
    tokens = np.full(len(columns), None, dtype=object)
    for row in np.flatnonzero((lost.tokens != None) | (available.tokens != None) | (rate.tokens != None)):  # noqa: E711
        tokens[row] = _first_token((lost.cell(row), available.cell(row), rate.cell(row)))
    codes, found = columns.each(ORGANISATION, partial(_organisation, path, columns))
    return _layout(columns), _observation(
        spread_fields(found, codes, ORGANISATION), period, rate=rate.values, lost=lost.values,
        available=available.values, token=tokens, suppressed=tokens != None, line=columns.line_numbers,  # noqa: E711
    )


def _observation(
    organisation: Mapping[str, object],
    period: tuple[object, object],
    *,
    rate: object,
    lost: object,
    available: object,
    token: object,
    suppressed: object,
    line: object,
) -> dict[str, object]:
    """The observation's fields, for one line (values) or for every line (one column per field).

    The rate is the value; the days lost and available are kept as its numerator and denominator.
    """
    return {
        **organisation,
        "benchmark_group": None,
        "period_start": period[0],
        "period_end": period[1],
        "grain": "month",
        "measure": MEASURE,
        "breakdown": "all",
        "value": rate,
        "numerator": lost,
        "denominator": available,
        "unit": "percent",
        "suppressed": suppressed,
        "suppression_token": token,
        "source_sheet": None,
        "source_row": line,
    }


def _cell(table: CsvHeader, fields: list[str], name: str) -> str:
    return fields[table.positions[name]] if name in table.positions else ""


def _period(path: Path, table: CsvHeader, line: int, fields: list[str]) -> tuple[date, date]:
    """First and last day of the line's month."""
    end = parse_month(_cell(table, fields, "date"), file=path, row=line, column=table.header_of("date"))
    return end.replace(day=1), end


def _number(path: Path, table: CsvHeader, line: int, fields: list[str], name: str) -> Cell:
    return parse_number(
        _cell(table, fields, name),
        tokens=MISSING_TOKENS,
        file=path,
        row=line,
        column=table.header_of(name),
        percent_sign=(name == "rate"),
    )


def _first_token(cells: Iterable[Cell]) -> str | None:
    """The observation is suppressed when any of its cells is, with the first such cell's token."""
    return next((cell.token for cell in cells if cell.suppressed), None)


def _organisation(path: Path, table: CsvHeader, line: int, fields: list[str]) -> dict[str, object]:
    code = check_ods_code(_cell(table, fields, "org_code"), file=path, row=line, column=table.header_of("org_code"))
    return {
        "org_code": code,
        "org_name": _cell(table, fields, "org_name").strip(),
        "org_type": _cell(table, fields, "org_type").strip() or None,
        "region_code": _cell(table, fields, "region_code").strip() or None,
        "icb_code": _cell(table, fields, "icb_code").strip() or None,
    }
