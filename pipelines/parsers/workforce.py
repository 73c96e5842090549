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
organisation columns and the same staff-group labels. Each parser has two readers built on them:
a line reader (:class:`Line`, one line after another: the reference, whose errors name the bad
cell) and a column reader (:class:`ColumnLines`) that applies the same ``Line`` rules once per
distinct value of a plain file, many times faster, and hands anything unusual to the line reader.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, partial
from pathlib import Path
from typing import TypeVar

import numpy as np

from pipelines.parsers.common import (
    Cell,
    CellColumn,
    CsvColumns,
    CsvHeader,
    CsvTable,
    ParsedExtract,
    check_ods_code,
    csv_records,
    match_columns,
    month_end,
    normalise_header,
    observation_frame,
    parse_number,
    period_columns,
    read_by_columns_or_lines,
    reject_duplicates,
    spread,
    spread_fields,
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
    table: CsvHeader
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
    return table, lines_of(path, table)


def lines_of(path: Path, table: CsvTable) -> Iterator[Line]:
    """A table's data lines as :class:`Line` objects."""
    return (Line(path, table, number, fields) for number, fields in table.records)


T = TypeVar("T")
Observations = list[dict[str, object]] | dict[str, np.ndarray]


def read_observations(
    path: Path,
    aliases: Mapping[str, Iterable[str]],
    required: Iterable[str],
    *,
    by_columns: Callable[[ColumnLines], T],
    by_lines: Callable[[CsvTable, Iterator[Line]], T],
    line_by_line: bool = False,
) -> T:
    """Read a file with a whole-column reader, or line by line when it is unusual or a cell is bad.

    Both readers apply the same :class:`Line` rules; the line reader is the reference, and the one
    whose error names the first bad cell (see :func:`read_by_columns_or_lines`).
    """
    return read_by_columns_or_lines(
        path,
        aliases,
        required,
        by_columns=lambda columns: by_columns(ColumnLines(path, columns)),
        by_lines=lambda table: by_lines(table, lines_of(path, table)),
        line_by_line=line_by_line,
    )


@dataclass(frozen=True)
class ColumnLines:
    """A plain file's data lines read column by column, each check once per distinct value.

    The checks are the :class:`Line` methods themselves, run on the first line that carries each
    distinct value (a date, an organisation's cells, a staff-group label) and spread to every line
    carrying it, so the two readers cannot drift apart. Numbers are distinct on almost every line:
    plain decimals are converted in bulk, anything else (blank, token, separators) through
    :meth:`Line.value` once per distinct text.
    """

    path: Path
    columns: CsvColumns

    def __len__(self) -> int:
        return len(self.columns)

    @property
    def line_numbers(self) -> np.ndarray:
        """Each line's number in the file (the observation's ``source_row``)."""
        return self.columns.line_numbers

    def take(self, rows: np.ndarray) -> ColumnLines:
        """Some of the lines (positions into these), in the order given."""
        return ColumnLines(self.path, self.columns.take(rows))

    def distinct(self, canonicals: Sequence[str], read: Callable[[Line], T]) -> tuple[np.ndarray, list[T]]:
        """``read`` once per distinct combination of the named cells: (each line's code, the results).

        ``read`` must look at no other cell. Any error sends the file to the line reader.
        """
        return self.columns.each(canonicals, self._on_line(read))

    def each(self, canonicals: Sequence[str], read: Callable[[Line], T]) -> np.ndarray:
        """``read(line)`` for every line, run once per distinct combination of the named cells."""
        codes, found = self.distinct(canonicals, read)
        return spread(found, codes)

    def organisation(self) -> dict[str, np.ndarray]:
        """:meth:`Line.organisation` for every line, run once per distinct set of organisation cells."""
        codes, found = self.distinct(tuple(ORGANISATION_ALIASES), Line.organisation)
        return spread_fields(found, codes, ORGANISATION_COLUMNS)

    def periods(self, name: str = "date") -> tuple[np.ndarray, np.ndarray]:
        """First and last day of each line's month (:meth:`Line.month`), as datetime64 columns."""
        codes, found = self.distinct((name,), lambda line: month_bounds(line.month(name)))
        return period_columns(found, codes)

    def cells(self, name: str, read: Callable[[Line], Cell], *, tokens: Iterable[str]) -> CellColumn:
        """A numeric column, ``read(line)`` giving a line's cell (see :meth:`CsvColumns.numbers`)."""
        return self.columns.numbers(name, self._on_line(read), tokens=tokens)

    def value(self, name: str, *, tokens: Iterable[str] = MISSING_TOKENS, percent_sign: bool = False) -> CellColumn:
        """:meth:`Line.value` of every line."""
        tokens = tuple(tokens)
        return self.cells(name, lambda line: line.value(name, tokens=tokens, percent_sign=percent_sign), tokens=tokens)

    def _on_line(self, read: Callable[[Line], T]) -> Callable[[int, list[str]], T]:
        return lambda number, fields: read(Line(self.path, self.columns, number, fields))


ORGANISATION_COLUMNS = ("org_code", "org_name", "org_type", "region_code", "icb_code", "benchmark_group")


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


def observations(
    lines: ColumnLines,
    organisation: Mapping[str, np.ndarray],
    *,
    period: tuple[np.ndarray, np.ndarray],
    measure: np.ndarray | str,
    breakdown: np.ndarray | str,
    cells: CellColumn,
    unit: np.ndarray | str,
    grain: np.ndarray | str = "month",
    numerator: np.ndarray | None = None,
    denominator: np.ndarray | None = None,
    token: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """:func:`observation` for every line at once: one column per observation field.

    ``token`` overrides a line's own suppression token where it is not None.
    """
    count = len(lines)
    tokens = cells.tokens if token is None else np.where(token == None, cells.tokens, token)  # noqa: E711
    missing = np.full(count, np.nan)
    return {
        **organisation,
        "period_start": period[0],
        "period_end": period[1],
        "grain": _column(grain, count),
        "measure": _column(measure, count),
        "breakdown": _column(breakdown, count),
        "value": cells.values,
        "numerator": missing if numerator is None else numerator,
        "denominator": missing if denominator is None else denominator,
        "unit": _column(unit, count),
        "suppressed": tokens != None,  # noqa: E711 - element-wise over an object column
        "suppression_token": tokens,
        "source_sheet": np.full(count, None, dtype=object),
        "source_row": lines.line_numbers,
    }


def _column(value: np.ndarray | str, count: int) -> np.ndarray:
    return value if isinstance(value, np.ndarray) else np.full(count, value, dtype=object)


def interleave(blocks: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Observation columns of several blocks of the same lines, in line order: a line's rows together.

    The line reader emits, for each line, one observation per block (FTE, then headcount), so the
    whole-column reader orders its blocks' rows the same way.
    """
    if len(blocks) == 1:
        return dict(blocks[0])
    return {name: np.stack([block[name] for block in blocks], axis=1).reshape(-1) for name in blocks[0]}


def finish(path: Path, rows: Observations, layout: str, notes: list[str] | None = None) -> ParsedExtract:
    """Type the rows, refuse duplicates, and label the extract with its months.

    The vintage is the latest month in the file (a cumulative file restates older months, and its
    publication is named after the newest); ``periods`` lists every month an observation ends in.
    """
    if not len(rows["source_row"] if isinstance(rows, dict) else rows):
        raise ParseError("the file has no organisation-level data lines", file=path, row=2)
    table = observation_frame(rows)
    reject_duplicates(table, file=path)
    periods = sorted({f"{stamp:%Y-%m}" for stamp in table["period_end"].unique()})
    return ParsedExtract(table=table, layout=layout, vintage=periods[-1], periods=periods, notes=notes or [])


# --- staff in post ------------------------------------------------------------------------------


def parse(path: Path, *, line_by_line: bool = False) -> ParsedExtract:
    """Read one staff-in-post file (either pack) into observations, one per published number.

    ``line_by_line`` forces the reference line reader (see :func:`read_observations`).
    """
    path = Path(path)
    layout, rows = read_observations(
        path, ALIASES, (), by_columns=_by_columns, by_lines=partial(_by_lines, path), line_by_line=line_by_line
    )
    return finish(path, rows, layout)


def _by_lines(path: Path, table: CsvTable, lines: Iterator[Line]) -> tuple[str, Observations]:
    layout = _checked_layout(path, table)
    reader = _core1_rows if layout == "core1" else _staff_group_organisation_rows
    return layout, [row for line in lines for row in reader(line)]


def _by_columns(lines: ColumnLines) -> tuple[str, Observations]:
    layout = _checked_layout(lines.path, lines.columns)
    reader = _core1_columns if layout == "core1" else _staff_group_organisation_columns
    return layout, reader(lines)


def _checked_layout(path: Path, table: CsvHeader) -> str:
    layout = detect_layout(table)
    match_columns(table.header, ALIASES, required=REQUIRED[layout], file=path)
    return layout


def detect_layout(table: CsvHeader) -> str:
    """Core 1 has a DATA_LEVEL / MAIN_STAFF_GROUP / HEADCOUNT column; the older pack has none."""
    core1_columns = {"data_level", "main_staff_group", "staff_group_1", "headcount"}
    return "core1" if core1_columns & table.positions.keys() else "staff_group_organisation"


def _staff_group_organisation_rows(line: Line) -> list[dict[str, object]]:
    measure, unit = _data_type(line)
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


def _staff_group_organisation_columns(lines: ColumnLines) -> dict[str, np.ndarray]:
    return observations(
        lines,
        lines.organisation(),
        period=lines.periods(),
        measure=lines.each(("data_type",), lambda line: _data_type(line)[0]),
        breakdown=lines.each(("staff_group",), lambda line: line.staff_group("staff_group", total="total")),
        cells=lines.value("total"),
        unit=lines.each(("data_type",), lambda line: _data_type(line)[1]),
    )


def _data_type(line: Line) -> tuple[str, str]:
    """The (measure, unit) a line's ``Data Type`` names."""
    data_type = normalise_header(line.text("data_type"))
    if data_type not in DATA_TYPES:
        raise line.error(f"expected Data Type FTE or HC, found {line.text('data_type')[:40]!r}", "data_type")
    return DATA_TYPES[data_type]


def _core1_rows(line: Line) -> list[dict[str, object]]:
    if not _core1_kept(line):
        return []
    organisation = line.organisation()
    period = month_bounds(line.month())
    breakdown = _core1_breakdown(line)
    return [
        observation(line, organisation, period=period, measure=measure, breakdown=breakdown,
                    cell=line.value(column), unit=unit)
        for column, (measure, unit) in CORE1_COLUMNS
    ]


def _core1_columns(lines: ColumnLines) -> dict[str, np.ndarray]:
    kept = lines.take(np.flatnonzero(lines.each(("data_level",), _core1_kept).astype(bool)))
    organisation = kept.organisation()
    period = kept.periods()
    breakdown = kept.each(("main_staff_group", "staff_group_1"), _core1_breakdown)
    return interleave([
        observations(kept, organisation, period=period, measure=measure, breakdown=breakdown,
                     cells=kept.value(column), unit=unit)
        for column, (measure, unit) in CORE1_COLUMNS
    ])


CORE1_COLUMNS = (("fte", DATA_TYPES["fte"]), ("headcount", DATA_TYPES["hc"]))


def _core1_kept(line: Line) -> bool:
    """Organisation lines are kept and national, regional and ICS lines skipped; anything else is an error."""
    level = normalise_header(line.text("data_level"))
    if level in AGGREGATE_LEVELS:
        return False
    if level not in ORGANISATION_LEVELS:
        raise line.error(
            f"unknown DATA_LEVEL {line.text('data_level')[:40]!r} (expected Organisation, National, "
            "NHS England region or ICS area)",
            "data_level",
        )
    return True


def _core1_breakdown(line: Line) -> str:
    """``All staff groups`` in both columns is the total; in STAFF_GROUP_1 only, the main group's."""
    main = line.staff_group("main_staff_group", total="total")
    sub_label = line.text("staff_group_1")
    if main == "total" or not sub_label or normalise_header(sub_label) in TOTAL_LABELS:
        return main
    return line.staff_group("staff_group_1", total=main)
