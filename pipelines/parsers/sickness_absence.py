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
from datetime import date, datetime
from pathlib import Path

from pipelines.parsers.common import (
    ParsedExtract,
    check_ods_code,
    csv_records,
    month_end,
    observation_frame,
    parse_number,
    reject_duplicates,
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


def parse(path: Path) -> ParsedExtract:
    """Read one monthly organisation-level file into observations (one per organisation and month)."""
    path = Path(path)
    csv_table = csv_records(path, ALIASES, REQUIRED)
    positions = csv_table.positions
    legacy = "fte days sick" in {h.casefold() for h in csv_table.header}
    header_of = csv_table.header_of
    rows: list[dict[str, object]] = []
    for line, fields in csv_table.records:
        def cell(name: str, _fields: list[str] = fields) -> str:
            return _fields[positions[name]] if name in positions else ""

        period = parse_month(cell("date"), file=path, row=line, column=header_of("date"))
        numbers = {
            name: parse_number(
                cell(name),
                tokens=MISSING_TOKENS,
                file=path,
                row=line,
                column=header_of(name),
                percent_sign=(name == "rate"),
            )
            for name in ("fte_days_lost", "fte_days_available", "rate")
        }
        token = next((c.token for c in numbers.values() if c.suppressed), None)
        rows.append(
            {
                "org_code": check_ods_code(cell("org_code"), file=path, row=line, column=header_of("org_code")),
                "org_name": cell("org_name").strip(),
                "org_type": cell("org_type").strip() or None,
                "region_code": cell("region_code").strip() or None,
                "icb_code": cell("icb_code").strip() or None,
                "benchmark_group": None,
                "period_start": period.replace(day=1),
                "period_end": period,
                "grain": "month",
                "measure": MEASURE,
                "breakdown": "all",
                "value": numbers["rate"].value,
                "numerator": numbers["fte_days_lost"].value,
                "denominator": numbers["fte_days_available"].value,
                "unit": "percent",
                "suppressed": token is not None,
                "suppression_token": token,
                "source_sheet": None,
                "source_row": line,
            }
        )
    table = observation_frame(rows)
    reject_duplicates(table, file=path)
    periods = sorted({d.strftime("%Y-%m") for d in table["period_start"]})
    return ParsedExtract(
        table=table,
        layout="org_monthly_legacy" if legacy else "org_monthly",
        vintage=periods[-1],
        periods=periods,
    )
