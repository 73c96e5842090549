"""Synthetic NHS Sickness Absence Rates: organisation-level monthly CSVs in the published layouts.

Months before April 2022 use the pre-2022 layout (``Date`` as ``2015-JAN``, ``FTE Days Sick``,
``SA Rate (%)`` with a ``%`` sign); later months the current one (REAL layout, CRLF line ends,
names with commas double-quoted). Rates follow the planted truth: lower with better culture,
a seasonal winter peak, and a step up for the shifted trusts over the last nine months.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import date
from pathlib import Path

from pipelines.synthetic.world import World, write_monthly

CURRENT_HEADER = (
    "DATE,NHSE_REGION_CODE,NHSE_REGION_NAME,ICS_CODE,ICS_NAME,ORG_CODE,ORG_NAME,ORG_TYPE,"
    "FTE_DAYS_LOST,FTE_DAYS_AVAILABLE,SICKNESS_ABSENCE_RATE_PERCENT"
).split(",")
LEGACY_HEADER = ["Date", "Org Code", "Org Name", "Org Type", "FTE Days Sick", "FTE Days Available", "SA Rate (%)"]
LAYOUT_CHANGE = date(2022, 4, 1)
SHIFT_SIZE = 1.6  # percentage points added to a shifted trust's rate


def rate_and_days(world: World, code: str, month: date) -> tuple[float, float]:
    """FTE days lost and available for one trust-month, from the planted truth."""
    rng = world.rng("sickness", code, month)
    size = 800 + 9000 * abs(math.sin(int.from_bytes(code.encode(), "little")))
    available = round(size * 30.4 * (0.97 + 0.06 * rng.random()), 5)
    winter = 0.6 * math.cos(2 * math.pi * (month.month - 1) / 12)
    rate = 4.9 - 0.55 * world.culture_effect * world.culture_at(code, month) + winter + rng.normal(scale=0.25)
    if code in world.default_shifted_trusts and month >= world.shift_start():
        rate += SHIFT_SIZE
    rate = min(max(rate, 1.0), 12.0)
    return round(available * rate / 100, 5), available


def file_name(month: date) -> str:
    return f"NHS Sickness Absence rates CSV, {month:%B %Y}.csv"


def render_month(world: World, month: date, drop: frozenset[str] = frozenset()) -> bytes:
    """One month's file as the publisher writes it (``drop`` omits trusts, for bad-extract tests)."""
    legacy = month < LAYOUT_CHANGE
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(LEGACY_HEADER if legacy else CURRENT_HEADER)
    month_end = _month_end(month)
    for org in world.open_organisations(month_end):
        if org.code in drop:
            continue
        lost, available = rate_and_days(world, org.code, month)
        rate = round(lost / available * 100, 2)
        if legacy:
            writer.writerow(
                [f"{month:%Y}-{month:%b}".upper(), org.code, org.name, org.org_type, lost, available, f"{rate}%"]
            )
        else:
            writer.writerow(
                [
                    month_end.strftime("%d/%m/%Y"), org.region_code, org.region_name, org.icb_code,
                    org.icb_name, org.code, org.name, org.org_type, lost, available, f"{rate:.2f}",
                ]
            )
    return buffer.getvalue().encode("utf-8")


def write(world: World, out_dir: Path) -> list[Path]:
    """Write every month's file into the publication page's folder."""
    return write_monthly(world, out_dir, file_name, lambda month: render_month(world, month))


def _month_end(month: date) -> date:
    from pipelines.parsers.common import month_end

    return month_end(month.year, month.month)
