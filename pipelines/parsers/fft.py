"""Friends and Family Test (FFT) monthly workbooks, trust level, every setting.

NHS England publishes one macro workbook per setting and month (TEMPLATE layouts):

- The period and the setting are read **only** from the title cell ``Notes!A2`` ("Inpatient
  Friends and Family Test (FFT) Data - July 2025"): file names are inconsistent.
- The trust-level sheet depends on the setting (:data:`SETTINGS`). Its header is found by the
  organisation-code label and has two rows: identifiers, totals and percentages above, merged
  "Breakdown of Responses" / "Mode of Collection" labels over the Likert and mode names below.
- Aggregate rows (England including/excluding independent sector, "Selection (excluding
  suppressed data)") precede the trusts and are skipped; any other row that carries figures but
  no valid ODS code is an error, because silently dropping it would lose a provider.
- ``*`` (1-4 responses, plus secondary suppression), ``-`` (not calculable) and ``NA`` (not
  available) are kept as suppressed observations with their token, never as zero.
- Before 1 April 2020 the question was "would you recommend" and the sheets say "Percentage
  Recommended": that series is emitted as ``percentage_recommended`` /
  ``percentage_not_recommended`` and is never joined with ``percentage_positive``.

Each trust gives up to three observations per touch point: ``percentage_positive`` (fraction,
numerator Very Good + Good, denominator Total Responses, which includes Don't Know),
``percentage_negative`` (numerator Poor + Very Poor) and ``total_responses`` (count). The
breakdown is the setting (``inpatient``) or setting and maternity touch point
(``maternity_q2_birth``).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipelines.parsers.common import (
    ODS_CODE_PATTERN,
    Cell,
    ParsedExtract,
    match_columns,
    month_end,
    normalise_header,
    observation_frame,
)
from pipelines.parsers.errors import ParseError
from pipelines.parsers.spreadsheet import (
    Header,
    Sheet,
    cell_text,
    check_no_duplicates,
    find_label,
    is_number,
    open_workbook,
    percent_scale,
    read_header,
    record,
    row_code,
    row_number,
)

SOURCE_ID = "fft"
TOKENS = ("*", "-", "NA")
QUESTION_CHANGE = date(2020, 4, 1)
TITLE_CELL = ("Notes", 2, 0)  # sheet, 1-based row, 0-based column: A2


@dataclass(frozen=True)
class Table:
    """One trust-level sheet of a setting: its name (and tolerated alternatives) and breakdown."""

    sheets: tuple[str, ...]
    breakdown: str


@dataclass(frozen=True)
class Setting:
    """A setting's published layout: its trust-level sheets and where the header label sits."""

    layout: str
    tables: tuple[Table, ...]
    header_row: int  # the row the publisher puts the label row on (used in messages only)


_MATERNITY_TOUCH_POINTS = ("q1_antenatal", "q2_birth", "q3_postnatal_ward", "q4_postnatal_community")

SETTINGS: dict[str, Setting] = {
    "inpatient": Setting("inpatient", (Table(("Trusts",), "inpatient"),), 10),
    "ae": Setting("ae", (Table(("Trusts", "Orgs"), "ae"),), 3),
    "ambulance": Setting("ambulance", (Table(("PTS Org",), "ambulance"),), 8),
    "outpatient": Setting("outpatient", (Table(("Orgs", "Trusts"), "outpatient"),), 10),
    "maternity": Setting(
        "maternity",
        tuple(Table((f"Trusts Q{i}",), f"maternity_{tp}") for i, tp in enumerate(_MATERNITY_TOUCH_POINTS, 1)),
        10,
    ),
    # GUESS: not seen; assumed to be the same Likert block without Total Eligible.
    "mental_health": Setting("mental_health", (Table(("Trusts", "Orgs"), "mental_health"),), 10),
    "community": Setting("community", (Table(("Trusts", "Orgs"), "community"),), 10),
}

# How titles name each setting (normalised text before "Friends and Family Test").
SETTING_NAMES: dict[str, str] = {
    "inpatient": "inpatient",
    "inpatients": "inpatient",
    "a&e": "ae",
    "a & e": "ae",
    "a and e": "ae",
    "accident and emergency": "ae",
    "maternity": "maternity",
    "outpatient": "outpatient",
    "outpatients": "outpatient",
    "ambulance": "ambulance",
    "patient transport": "ambulance",
    "patient transport services": "ambulance",
    "mental health": "mental_health",
    "community": "community",
    "community health": "community",
}

ALIASES: dict[str, tuple[str, ...]] = {
    "icb_code": ("ICB Code", "STP Code", "CCG Code"),
    "org_code": ("Trust Code", "Org Code", "Organisation Code", "Provider Code"),
    "org_name": ("Trust Name", "Org Name", "Organisation Name", "Provider Name"),
    "total_responses": ("Total Responses",),
    "total_eligible": ("Total Eligible",),
    "percentage_positive": ("Percentage Positive",),
    "percentage_negative": ("Percentage Negative",),
    "percentage_recommended": ("Percentage Recommended",),
    "percentage_not_recommended": ("Percentage Not Recommended",),
    "very_good": ("Very Good",),
    "good": ("Good",),
    "poor": ("Poor",),
    "very_poor": ("Very Poor",),
    "extremely_likely": ("Extremely Likely",),
    "likely": ("Likely",),
    "unlikely": ("Unlikely",),
    "extremely_unlikely": ("Extremely Unlikely",),
}
CODE_LABELS = ALIASES["org_code"]
COUNT_COLUMNS = (
    "total_responses",
    "very_good",
    "good",
    "poor",
    "very_poor",
    "extremely_likely",
    "likely",
    "unlikely",
    "extremely_unlikely",
)


@dataclass(frozen=True)
class Family:
    """A question's pair of published percentages and the Likert answers summed into each."""

    positive: str
    negative: str
    positive_parts: tuple[str, str]
    negative_parts: tuple[str, str]


FAMILIES = (
    Family("percentage_positive", "percentage_negative", ("very_good", "good"), ("poor", "very_poor")),
    Family(
        "percentage_recommended",
        "percentage_not_recommended",
        ("extremely_likely", "likely"),
        ("unlikely", "extremely_unlikely"),
    ),
)

_MONTHS = "|".join(calendar.month_name[1:])
_TITLE = re.compile(
    rf"^(?P<setting>.+?)\s+friends\s+(?:and|&)\s+family\s+test\b.*?\b(?P<month>{_MONTHS})\s+(?P<year>\d{{4}})\s*$",
    re.IGNORECASE,
)
_AGGREGATE = re.compile(
    r"^(england|selection|total|national|all (trusts|organisations|providers))\b", re.IGNORECASE
)
_ODS_CODE = re.compile(ODS_CODE_PATTERN)


@dataclass(frozen=True)
class Title:
    """What the title cell says: the setting's layout id and the month (its first day)."""

    layout: str
    month: date


def parse_title(raw: object, *, file: Path | str) -> Title:
    """Read the setting and month from the title cell, the only reliable place for both."""
    sheet, row, column = TITLE_CELL
    text = cell_text(raw)
    found = _TITLE.match(text)
    if not found:
        raise ParseError(
            f"expected a title like 'Inpatient Friends and Family Test (FFT) Data - July 2025', found {text[:80]!r}",
            file=file,
            sheet=sheet,
            row=row,
            column="A",
        )
    setting = SETTING_NAMES.get(normalise_header(found["setting"]))
    if setting is None:
        raise ParseError(
            f"unknown FFT setting {found['setting']!r} in the title (known: {sorted(set(SETTING_NAMES))})",
            file=file,
            sheet=sheet,
            row=row,
            column="A",
        )
    month = list(calendar.month_name).index(found["month"].title())
    return Title(setting, date(int(found["year"]), month, 1))


def parse(path: Path) -> ParsedExtract:
    """Read one FFT workbook into trust-level observations for its month and setting."""
    path = Path(path)
    book = open_workbook(path)
    notes = book.sheet(TITLE_CELL[0])
    title = parse_title(notes.value(TITLE_CELL[1], TITLE_CELL[2]), file=path)
    setting = SETTINGS[title.layout]
    messages = _file_name_note(path, title)
    rows: list[dict[str, object]] = []
    for table in setting.tables:
        sheet = book.sheet(*table.sheets)
        rows.extend(_read_table(sheet, table, setting, title.month, messages))
    frame = observation_frame(rows)
    check_no_duplicates(frame, file=path)
    return ParsedExtract(
        table=frame,
        layout=setting.layout,
        vintage=f"{title.month:%Y-%m}",
        periods=[f"{title.month:%Y-%m}"],
        notes=messages,
    )


def _file_name_note(path: Path, title: Title) -> list[str]:
    """Say so when the file name names another month: the title wins, but analysts should know."""
    named = re.search(rf"({_MONTHS})[-_ ]?(\d{{4}})", path.name, re.IGNORECASE)
    if named and (named[1].title(), int(named[2])) != (
        calendar.month_name[title.month.month],
        title.month.year,
    ):
        return [
            f"file name says {named[1]} {named[2]} but the title says {title.month:%B %Y}: the title is used"
        ]
    return []


def _read_table(
    sheet: Sheet, table: Table, setting: Setting, month: date, notes: list[str]
) -> list[dict[str, object]]:
    """Every trust row of one trust-level sheet as observations."""
    label_row, _ = find_label(sheet, CODE_LABELS, expected_row=setting.header_row)
    header = read_header(sheet, label_row)
    positions = match_columns(
        header.labels,
        ALIASES,
        required=("org_code", "total_responses"),
        file=sheet.file,
        sheet=sheet.name,
        row=header.first_row,
    )
    family = _family(sheet, header, positions)
    if family.positive == "percentage_recommended" and month >= QUESTION_CHANGE:
        notes.append(
            f"{sheet.name}: 'Percentage Recommended' published for {month:%B %Y} (after the April 2020 change)"
        )
    scale = _percent_scale(sheet, header, positions, family, notes)
    period = {"period_start": month, "period_end": month_end(month.year, month.month), "grain": "month"}
    rows: list[dict[str, object]] = []
    for number, cells in sheet.iter_rows(header.last_row + 1):
        code = row_code(
            sheet,
            header,
            cells,
            number=number,
            position=positions["org_code"],
            pattern=_ODS_CODE,
            aggregate=_AGGREGATE,
            label_positions=_label_columns(positions),
        )
        if code is None:
            continue
        context = _Row(sheet, header, positions, number, cells)
        rows.extend(_observations(context, code, family, scale, {**period, "breakdown": table.breakdown}))
    if not rows:
        raise sheet.error(
            "no trust rows found below the header",
            row=header.last_row + 1,
            column=header.text(positions["org_code"]),
        )
    return rows


def _family(sheet: Sheet, header: Header, positions: dict[str, int]) -> Family:
    """Which question the sheet reports, from its percentage headers."""
    for family in FAMILIES:
        if family.positive in positions:
            return family
    raise sheet.error(
        "required column 'Percentage Positive' (or before April 2020 'Percentage Recommended') not found; "
        f"headers present: {[label for label in header.labels if label]}",
        row=header.first_row,
        column="Percentage Positive",
    )


def _percent_scale(
    sheet: Sheet, header: Header, positions: dict[str, int], family: Family, notes: list[str]
) -> float:
    """1 when percentages are fractions (as published), 100 when a file carries 0-100 values."""
    columns = [positions[name] for name in (family.positive, family.negative) if name in positions]
    values = [
        cells[c]
        for _, cells in sheet.iter_rows(header.last_row + 1)
        for c in columns
        if c < len(cells) and is_number(cells[c])
    ]
    if percent_scale(values) == 100.0:
        notes.append(f"{sheet.name}: percentages published as 0-100, stored as fractions 0-1")
        return 100.0
    return 1.0


def _label_columns(positions: dict[str, int]) -> set[int]:
    return {positions[name] for name in ("icb_code", "org_code", "org_name") if name in positions}


@dataclass(frozen=True)
class _Row:
    """One trust row with what is needed to read and locate its cells."""

    sheet: Sheet
    header: Header
    positions: dict[str, int]
    number: int
    cells: list[object]

    def text(self, name: str) -> str | None:
        position = self.positions.get(name)
        value = cell_text(self.cells[position]) if position is not None and position < len(self.cells) else ""
        return value or None

    def number_of(self, name: str) -> Cell:
        """A count or share, checked: never negative, and counts are whole numbers."""
        position = self.positions.get(name)
        cell = row_number(self.sheet, self.header, self.cells, position, row=self.number, tokens=TOKENS)
        column = self.header.text(position) if position is not None else name
        if cell.value is not None and cell.value < 0:
            raise self.sheet.error(
                f"negative value {cell.value} where a count or share belongs", row=self.number, column=column
            )
        if cell.value is not None and name in COUNT_COLUMNS and not cell.value.is_integer():
            raise self.sheet.error(
                f"expected a whole number of responses, found {cell.value}", row=self.number, column=column
            )
        return cell

    def total_of(self, names: tuple[str, ...]) -> float | None:
        """Sum of Likert counts, or None when any of them is withheld or absent."""
        values = [self.number_of(n).value for n in names]
        return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def _observations(
    row: _Row, code: str, family: Family, scale: float, period: dict[str, object]
) -> list[dict[str, object]]:
    """The percentage positive/negative and total responses of one trust row (period: period and breakdown)."""
    common = {
        **period,
        "org_code": code,
        "org_name": row.text("org_name"),
        "icb_code": row.text("icb_code"),
        "source_sheet": row.sheet.name,
        "source_row": row.number,
    }
    total = row.number_of("total_responses")
    out = []
    for measure, parts in (
        (family.positive, family.positive_parts),
        (family.negative, family.negative_parts),
    ):
        share = row.number_of(measure)
        if share.value is None and not share.suppressed:
            continue
        value = None if share.value is None else share.value / scale
        if value is not None and value > 1.0 + 1e-9:
            raise row.sheet.error(
                f"share {share.value} is above 100%",
                row=row.number,
                column=row.header.text(row.positions[measure]),
            )
        out.append(
            record(
                share,
                **common,
                measure=measure,
                value=value,
                numerator=row.total_of(parts),
                denominator=total.value,
                unit="fraction",
            )
        )
    if total.value is not None or total.suppressed:
        out.append(record(total, **common, measure="total_responses", unit="count"))
    return out
