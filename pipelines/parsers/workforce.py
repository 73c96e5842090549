"""NHS Workforce Statistics: staff in post by staff group and organisation (two published packs).

Layout ``staff_group_organisation`` (SEEN, profile of the March 2025 file):
``Date,NHSE_Region_Code,NHSE_Region_Name,ICS code,ICS name,Org Code,Org Name,Cluster Group,
Benchmark Group,Staff Group Sort Order,Staff Group,Data Type,Total``. Long format: one line per
organisation, month, staff group and ``Data Type`` (``FTE`` or ``HC``); ``Staff Group = Total`` is
the organisation total. The file is cumulative (it restates at least the previous 12 months), and
``Date`` is an ISO month end (other members of the same zip use DD/MM/YYYY: both are accepted).

Layout ``core1`` (PARSERS), the pack that replaces it from autumn 2025:
``DATA_MONTH, DATA_LEVEL, ORG_CODE, ORG_NAME, NHSE_REGION_NAME, ICS_NAME, MAIN_STAFF_GROUP,
STAFF_GROUP_1, FTE, HEADCOUNT``. National, regional and ICS lines sit in the same file; only
``DATA_LEVEL = Organisation`` lines are kept.

Both give measures ``staff_in_post_fte`` (unit ``fte``) and ``staff_in_post_headcount`` (unit
``headcount``) with the staff-group slug as breakdown (``total`` for the organisation total). A
total is never added to its parts and FTE never to headcount: each published number is one row.

This module also holds the small line-reading helpers the other workforce-statistics parsers
(turnover, sickness absence by staff group and by reason) share, because they all read the same
organisation columns and the same staff-group labels.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from pipelines.parsers.common import (
    Cell,
    CsvTable,
    ParsedExtract,
    check_ods_code,
    csv_records,
    match_columns,
    month_end,
    normalise_header,
    observation_frame,
    parse_number,
    reject_duplicates,
)
from pipelines.parsers.errors import ParseError
from pipelines.parsers.sickness_absence import ALIASES as SICKNESS_ALIASES
from pipelines.parsers.sickness_absence import parse_month

SOURCE_ID = "workforce_staff_in_post"
MISSING_TOKENS = ("*", "-", "..", "NA", "n/a")

# Organisation columns shared by the workforce-statistics files (canonical -> published names).
ORGANISATION_ALIASES: dict[str, tuple[str, ...]] = {
    "org_code": SICKNESS_ALIASES["org_code"],
    "org_name": SICKNESS_ALIASES["org_name"],
    "org_type": SICKNESS_ALIASES["org_type"],
    "region_code": SICKNESS_ALIASES["region_code"] + ("NHSE region code",),
    "region_name": ("NHSE_REGION_NAME", "NHSE_Region_Name", "NHSE region name", "Region Name"),
    "icb_code": SICKNESS_ALIASES["icb_code"],
    "icb_name": ("ICS_NAME", "ICS name", "ICB_NAME", "ICB name"),
    "cluster_group": ("CLUSTER_GROUP", "Cluster Group"),
    "benchmark_group": ("BENCHMARK_GROUP", "Benchmark Group"),
}

ALIASES: dict[str, tuple[str, ...]] = {
    **ORGANISATION_ALIASES,
    "date": SICKNESS_ALIASES["date"] + ("DATA_MONTH", "Data Month"),
    "staff_group_sort": ("Staff Group Sort Order",),
    "staff_group": ("Staff Group", "STAFF_GROUP"),
    "data_type": ("Data Type", "DATA_TYPE"),
    "total": ("Total", "Value"),
    "data_level": ("DATA_LEVEL", "Data Level"),
    "main_staff_group": ("MAIN_STAFF_GROUP", "Main Staff Group"),
    "staff_group_1": ("STAFF_GROUP_1", "Staff Group 1"),
    "fte": ("FTE",),
    "headcount": ("HEADCOUNT", "Headcount", "HC"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "staff_group_organisation": ("date", "org_code", "org_name", "staff_group", "data_type", "total"),
    "core1": ("date", "data_level", "org_code", "org_name", "main_staff_group", "fte", "headcount"),
}

# Data Type -> (measure, unit): the two are separate series, never summed.
DATA_TYPES: dict[str, tuple[str, str]] = {
    "fte": ("staff_in_post_fte", "fte"),
    "hc": ("staff_in_post_headcount", "headcount"),
    "headcount": ("staff_in_post_headcount", "headcount"),
}

# Core 1 DATA_LEVEL values (PARSERS: National, NHS England region, ICS area, Organisation).
ORGANISATION_LEVELS = frozenset({"organisation", "organisations", "org", "trust"})
AGGREGATE_LEVELS = frozenset(
    {"national", "england", "nhs england region", "nhse region", "region", "ics area", "ics", "icb", "ics/icb"}
)

# The seven NHS England regions, for layouts that give only the region's name.
REGION_CODES: dict[str, str] = {
    "london": "Y56",
    "south west": "Y58",
    "south east": "Y59",
    "midlands": "Y60",
    "east of england": "Y61",
    "north west": "Y62",
    "north east and yorkshire": "Y63",
}

# Labels meaning "every staff group": the organisation total.
TOTAL_LABELS = frozenset({"total", "all staff groups", "all staff", "all"})
# Different labels for the same staff group across packs (normalised label -> canonical label).
STAFF_GROUP_SYNONYMS: dict[str, str] = {
    "hchs doctors - all grades": "HCHS doctors",
    "hchs doctors (all grades)": "HCHS doctors",
    "hchs doctors - consultant": "Consultant",
}


# --- helpers shared by the workforce-statistics parsers ----------------------------------------


def slug(text: str) -> str:
    """A stable identifier for a published label: case-folded, ``&`` as ``and``, words joined by ``_``.

    Publishers change capitalisation between months (``HCHS Doctors`` / ``HCHS doctors``); the
    slug makes such variants one series.
    """
    folded = normalise_header(text).replace("&", " and ")
    return re.sub(r"[\W_]+", "_", folded).strip("_")


@lru_cache(maxsize=1024)
def staff_group_slug(label: str, *, total: str) -> str:
    """The breakdown for a staff-group label; ``total`` is what the organisation total is called."""
    key = normalise_header(label)
    if key in TOTAL_LABELS:
        return total
    return slug(STAFF_GROUP_SYNONYMS.get(key, key))


@dataclass(frozen=True)
class Line:
    """One data line of a CSV file, with readers that name the file, line and column on failure."""

    path: Path
    table: CsvTable
    number: int
    fields: list[str]

    def text(self, name: str) -> str:
        """The stripped cell of a canonical column, or ``""`` when the layout lacks the column."""
        position = self.table.positions.get(name)
        return self.fields[position].strip() if position is not None else ""

    def error(self, message: str, name: str | None = None) -> ParseError:
        column = self.table.header_of(name) if name is not None else None
        return ParseError(message, file=self.path, row=self.number, column=column)

    def value(self, name: str, *, tokens: Iterable[str] = MISSING_TOKENS, percent_sign: bool = False) -> Cell:
        """A numeric cell; infinities are refused because no published count or rate is infinite."""
        cell = parse_number(
            self.text(name),
            tokens=tokens,
            file=self.path,
            row=self.number,
            column=self.table.header_of(name),
            percent_sign=percent_sign,
        )
        if cell.value is not None and not math.isfinite(cell.value):
            raise self.error(f"expected a finite number, found {self.text(name)[:40]!r}", name)
        return cell

    def month(self, name: str = "date") -> date:
        """The month end of a date cell (DD/MM/YYYY, ISO YYYY-MM-DD or YYYY-MMM)."""
        text = self.text(name)
        known = _known_month(text)
        if known is not None:
            return known
        return parse_month(text, file=self.path, row=self.number, column=self.table.header_of(name))

    def org_code(self, name: str = "org_code") -> str:
        return check_ods_code(self.text(name), file=self.path, row=self.number, column=self.table.header_of(name))

    def staff_group(self, name: str, *, total: str) -> str:
        label = self.text(name)
        breakdown = staff_group_slug(label, total=total)
        if not breakdown:
            raise self.error(f"expected a staff group, found {label[:40]!r}", name)
        return breakdown

    def organisation(self) -> dict[str, object]:
        """The observation's organisation columns; the cluster group stands in for a missing type."""
        cluster = self.text("cluster_group") or None
        region_code = self.text("region_code") or REGION_CODES.get(normalise_header(self.text("region_name")))
        return {
            "org_code": self.org_code(),
            "org_name": self.text("org_name"),
            "org_type": self.text("org_type") or cluster,
            "region_code": region_code or None,
            "icb_code": self.text("icb_code") or None,
            "benchmark_group": self.text("benchmark_group") or cluster,
        }


@lru_cache(maxsize=4096)
def _known_month(text: str) -> date | None:
    """Dates repeat on every line of a file: read each distinct text once (None if unreadable)."""
    try:
        return parse_month(text, file="", row=None, column="")
    except ParseError:
        return None


def read_lines(
    path: Path, aliases: Mapping[str, Iterable[str]], required: Iterable[str]
) -> tuple[CsvTable, Iterator[Line]]:
    """The file's table and its data lines as :class:`Line` objects."""
    table = csv_records(path, aliases, required)
    return table, (Line(path, table, number, fields) for number, fields in table.records)


@lru_cache(maxsize=4096)
def month_bounds(month: date) -> tuple[date, date]:
    """First and last day of the month containing ``month``."""
    return month.replace(day=1), month_end(month.year, month.month)


def observation(
    line: Line,
    organisation: Mapping[str, object],
    *,
    period: tuple[date, date],
    measure: str,
    breakdown: str,
    cell: Cell,
    unit: str,
    grain: str = "month",
    numerator: float | None = None,
    denominator: float | None = None,
    token: str | None = None,
) -> dict[str, object]:
    """One row of the observation table; ``token`` overrides the cell's own suppression token."""
    token = token if token is not None else cell.token
    return {
        **organisation,
        "period_start": period[0],
        "period_end": period[1],
        "grain": grain,
        "measure": measure,
        "breakdown": breakdown,
        "value": cell.value,
        "numerator": numerator,
        "denominator": denominator,
        "unit": unit,
        "suppressed": token is not None,
        "suppression_token": token,
        "source_sheet": None,
        "source_row": line.number,
    }


def finish(path: Path, rows: list[dict[str, object]], layout: str, notes: list[str] | None = None) -> ParsedExtract:
    """Type the rows, refuse duplicates, and label the extract with its months.

    The vintage is the latest month in the file (a cumulative file restates older months, and its
    publication is named after the newest); ``periods`` lists every month an observation ends in.
    """
    if not rows:
        raise ParseError("the file has no organisation-level data lines", file=path, row=2)
    table = observation_frame(rows)
    reject_duplicates(table, file=path)
    periods = sorted({f"{stamp:%Y-%m}" for stamp in table["period_end"].unique()})
    return ParsedExtract(table=table, layout=layout, vintage=periods[-1], periods=periods, notes=notes or [])


# --- staff in post ------------------------------------------------------------------------------


def parse(path: Path) -> ParsedExtract:
    """Read one staff-in-post file (either pack) into observations, one per published number."""
    path = Path(path)
    table, lines = read_lines(path, ALIASES, required=())
    layout = detect_layout(table)
    match_columns(table.header, ALIASES, required=REQUIRED[layout], file=path)
    reader = _core1_rows if layout == "core1" else _staff_group_organisation_rows
    rows = [row for line in lines for row in reader(line)]
    return finish(path, rows, layout)


def detect_layout(table: CsvTable) -> str:
    """Core 1 has a DATA_LEVEL / MAIN_STAFF_GROUP / HEADCOUNT column; the older pack has none."""
    core1_columns = {"data_level", "main_staff_group", "staff_group_1", "headcount"}
    return "core1" if core1_columns & table.positions.keys() else "staff_group_organisation"


def _staff_group_organisation_rows(line: Line) -> list[dict[str, object]]:
    data_type = normalise_header(line.text("data_type"))
    if data_type not in DATA_TYPES:
        raise line.error(f"expected Data Type FTE or HC, found {line.text('data_type')[:40]!r}", "data_type")
    measure, unit = DATA_TYPES[data_type]
    return [
        observation(
            line,
            line.organisation(),
            period=month_bounds(line.month()),
            measure=measure,
            breakdown=line.staff_group("staff_group", total="total"),
            cell=line.value("total"),
            unit=unit,
        )
    ]


def _core1_rows(line: Line) -> list[dict[str, object]]:
    level = normalise_header(line.text("data_level"))
    if level in AGGREGATE_LEVELS:
        return []
    if level not in ORGANISATION_LEVELS:
        raise line.error(
            f"unknown DATA_LEVEL {line.text('data_level')[:40]!r} (expected Organisation, National, "
            "NHS England region or ICS area)",
            "data_level",
        )
    organisation = line.organisation()
    period = month_bounds(line.month())
    breakdown = _core1_breakdown(line)
    return [
        observation(line, organisation, period=period, measure=measure, breakdown=breakdown,
                    cell=line.value(column), unit=unit)
        for column, (measure, unit) in (("fte", DATA_TYPES["fte"]), ("headcount", DATA_TYPES["hc"]))
    ]


def _core1_breakdown(line: Line) -> str:
    """``All staff groups`` in both columns is the total; in STAFF_GROUP_1 only, the main group's."""
    main = line.staff_group("main_staff_group", total="total")
    sub_label = line.text("staff_group_1")
    if main == "total" or not sub_label or normalise_header(sub_label) in TOTAL_LABELS:
        return main
    return line.staff_group("staff_group_1", total=main)
