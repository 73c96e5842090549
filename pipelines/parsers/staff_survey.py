"""NHS Staff Survey workbooks: the benchmark report data and the detailed organisational results.

**Benchmark report Excel data** (``parse_benchmark_workbook``, PARSERS/SEEN): one workbook per
survey year restating the four years before it (re-weighted, so every restated year is kept and
the workbook's latest year is its vintage). Data sheets are those whose header contains
``org_id``; each is one benchmarking group, whose label changes between years and is normalised
to a key (:func:`benchmark_group_key`). Columns ``<VAR>_<YYYY>`` hold scores (0-10) or fractions
(``response_rate`` and question proportions such as ``q11a``); ``<VAR>_n_<YYYY>`` their base
counts, stored as the denominator.

**Detailed spreadsheets, organisational results** (``parse_detailed_workbook``, PARSERS/SEEN):
``Notes`` then question-block sheets; the question id is only in the merged row-1 text
("Q26a - I often think about leaving..."), the header is row 5 and data start at row 6. Each
question is a ``Base (number of responses)`` column then ``% <option>`` columns (0-100, stored as
fractions with the option as breakdown). ``PEOPLE PROMISE ELEMENTS`` alternates
``<code> - score`` and base columns. Only ``Occupation Group`` weighted rows are kept when the
sheet has a ``Weighting`` column. Question numbers move between years; known moves are mapped to
stable measure ids through :data:`QUESTION_ALIASES`.

Withheld values are blank cells (``-``, ``*``, ``<10``, ``<11``, ``NA`` are accepted too): they
become suppressed observations, never zero. Cells blank for a whole column (a measure not
published that year) or a whole organisation-year (not surveyed) are not observations at all.
The publisher's threshold is "below ten" (GUESS between 10 and 11), so ``min_responses`` lets
the pipeline impose its own: a value whose base is below it is marked suppressed with token
``"<min_responses>"`` (e.g. ``"<11"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipelines.parsers.common import Cell, ParsedExtract, match_columns, normalise_header, observation_frame
from pipelines.parsers.errors import ParseError
from pipelines.parsers.spreadsheet import (
    Header,
    Sheet,
    Workbook,
    cell_text,
    check_no_duplicates,
    column_letter,
    is_blank,
    locate_label,
    open_workbook,
    percent_scale,
    read_header,
    record,
    row_code,
    row_number,
    slug,
)

TOKENS = ("-", "*", "<10", "<11", "NA")
BLANK_TOKEN = "blank"  # the publisher withholds a value by leaving its cell empty
SCORE_UNIT, FRACTION_UNIT = "score_0_10", "fraction"

# Survey reporting units: 3/5-character ODS codes, sector codes such as R1F1 and compound units
# such as 01T/01V.
SURVEY_CODE = re.compile(r"^[A-Z0-9]{3,5}(/[A-Z0-9]{3,5})*$")
_AGGREGATE = re.compile(r"^(england|national|average|median|best|worst|all |total|benchmark)", re.IGNORECASE)

# Known question-number moves, (survey year, published id) -> stable measure id. Thinking about
# leaving ("I often think about leaving this organisation") was Q22a in 2021, Q24a in 2022 and
# Q26a from 2023. Years after the last entry are read with the last year's numbering (the
# questionnaire is assumed unchanged until this table says otherwise); earlier years keep the
# published id.
QUESTION_ALIASES: dict[tuple[int, str], str] = {
    (2021, "q22a"): "thinking_about_leaving",
    (2022, "q24a"): "thinking_about_leaving",
    (2023, "q26a"): "thinking_about_leaving",
    (2024, "q26a"): "thinking_about_leaving",
    (2025, "q26a"): "thinking_about_leaving",
}
# People Promise sheet element names that are themes, not elements.
ELEMENT_ALIASES = {
    "staff_engagement": "theme_engagement",
    "engagement": "theme_engagement",
    "morale": "theme_morale",
}

BENCHMARK_ALIASES: dict[str, tuple[str, ...]] = {
    "org_code": ("org_id", "ODS code"),
    "org_name": ("org_name", "Organisation name"),
    "org_type": ("org_type_reporting_name", "org_type", "benchmarking group"),
}
DETAILED_ALIASES: dict[str, tuple[str, ...]] = {
    "org_code": ("ODS code", "Org code", "Organisation code", "Trust code"),
    "org_name": ("Organisation name", "Organisation", "Trust name", "Org name"),
    "org_type": ("Benchmarking group", "Benchmark group", "Comparator group"),
    "region": ("Region", "NHS England region", "NHSE region"),
    "icb": ("ICS", "ICB", "ICS name", "ICB name", "Integrated Care System"),
    "weighting": ("Weighting",),
}
_BASE = re.compile(r"^(?P<var>[a-z0-9_]+?)_n_(?P<year>(?:19|20)\d{2})$")
_VALUE = re.compile(r"^(?P<var>[a-z0-9_]+?)_(?P<year>(?:19|20)\d{2})$")
_QUESTION_PROPORTION = re.compile(r"^q\d+[a-z]?$")
_QUESTION_ID = re.compile(r"^\s*q\s*(\d+)\s*([a-z]?)\b", re.IGNORECASE)
_ELEMENT = re.compile(r"^(?P<code>.+?)\s*-\s*score$", re.IGNORECASE)
_REGION_CODE = re.compile(r"^Y\d{2}$")
_ICB_CODE = re.compile(r"^Q[A-Z0-9]{2}$")
_YEAR_IN_NOTES = re.compile(
    r"staff\s+survey\s+(20\d{2})\b|\b(20\d{2})\s+(?:nhs\s+)?staff\s+survey", re.IGNORECASE
)
_YEAR_IN_NAME = re.compile(r"nss\s*(\d{2})(?!\d)", re.IGNORECASE)


def benchmark_group_key(label: object) -> str:
    """Normalise a benchmarking group label across years to a key.

    "Acute&Acute Community Trusts" and "Acute and Acute & Community Trusts" -> ``acute``;
    "MH&LD, MH, LD&Community Trusts" and the long 2023+ wording -> ``mental_health``; also
    ``acute_specialist``, ``community``, ``ambulance``, ``icb``, ``social_enterprise``; any other
    label is kept as its slug.
    """
    text = normalise_header(label).replace("&", " and ")
    words = set(re.findall(r"[a-z]+", text))
    if "ambulance" in words:
        return "ambulance"
    if "specialist" in words:
        return "acute_specialist"
    if words & {"mental", "mh", "ld"} or "learning disabilit" in text:
        return "mental_health"
    if "acute" in words:
        return "acute"
    if "community" in words and "interest" not in words:
        return "community"
    if words & {"icb", "icbs"} or "integrated care board" in text:
        return "icb"
    if "social enterprise" in text or "interest compan" in text:
        return "social_enterprise"
    return slug(label)


def stable_measure(year: int, question: str) -> str:
    """The stable measure id of a published question id in a survey year (see QUESTION_ALIASES)."""
    known = sorted({y for y, _ in QUESTION_ALIASES})
    lookup = known[-1] if year > known[-1] else year
    return QUESTION_ALIASES.get((lookup, question), question)


def _unit(var: str) -> str:
    return FRACTION_UNIT if var == "response_rate" or _QUESTION_PROPORTION.match(var) else SCORE_UNIT


def _period(year: int) -> dict[str, object]:
    return {"period_start": date(year, 1, 1), "period_end": date(year, 12, 31), "grain": "survey_year"}


def _apply_threshold(value: Cell, base: Cell, min_responses: int | None) -> Cell:
    """A blank value becomes a suppressed one; a value on too few responses is suppressed."""
    if value.value is None and value.token is None:
        return Cell(None, BLANK_TOKEN)
    if (
        min_responses is not None
        and value.value is not None
        and base.value is not None
        and base.value < min_responses
    ):
        return Cell(None, f"<{min_responses}")
    return value


def _check_range(cell: Cell, top: float, sheet: Sheet, row: int, column: str) -> None:
    if cell.value is not None and not 0 <= cell.value <= top:
        raise sheet.error(f"value {cell.value} outside the published range 0-{top:g}", row=row, column=column)


def _is_empty(cell: Cell) -> bool:
    return cell.value is None and cell.token is None


# --- benchmark report workbook ------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """A ``<VAR>_<YYYY>`` column and the position of its ``<VAR>_n_<YYYY>`` base, if any."""

    var: str
    year: int
    position: int
    base: int | None
    label: str  # the published header, for messages


@dataclass(frozen=True)
class _Value:
    """One cell read from a data row, with what is needed to emit or skip it."""

    row: int
    code: str
    ids: dict[str, object]
    column: _Column
    value: Cell
    base: Cell


def parse_benchmark_workbook(path: Path, *, min_responses: int | None = None) -> ParsedExtract:
    """Read a benchmark report workbook: every organisation, restated year and measure."""
    path = Path(path)
    book = open_workbook(path)
    notes: list[str] = []
    rows: list[dict[str, object]] = []
    data_sheets = 0
    for name in book.sheet_names:
        sheet = book.sheet(name)
        found = locate_label(sheet, ("org_id",), search_rows=5)
        if found is None:
            continue
        data_sheets += 1
        rows.extend(_benchmark_sheet(sheet, found[0], min_responses, notes))
    if not data_sheets:
        raise ParseError(
            f"no data sheet: no sheet has an 'org_id' header in its first rows; sheets present: {book.sheet_names}",
            file=path,
            row=1,
            column="org_id",
        )
    frame = observation_frame(rows)
    check_no_duplicates(frame, file=path)
    years = sorted({d.year for d in frame["period_start"]})
    if not years:
        raise ParseError("the data sheets hold no values", file=path, row=2, column="org_id")
    return ParsedExtract(frame, "benchmark_workbook", str(years[-1]), [str(y) for y in years], notes)


def _benchmark_columns(sheet: Sheet, header: Header) -> list[_Column]:
    """Every ``<VAR>_<YYYY>`` column with its base column."""
    bases: dict[tuple[str, int], int] = {}
    values: list[tuple[str, int, int]] = []
    for position, label in enumerate(header.labels):
        text = normalise_header(label)
        if found := _BASE.match(text):
            bases[(found["var"], int(found["year"]))] = position
        elif found := _VALUE.match(text):
            values.append((found["var"], int(found["year"]), position))
    if not values:
        raise sheet.error(
            "no <VAR>_<YYYY> measure columns in the header", row=header.first_row, column="<VAR>_<YYYY>"
        )
    return [
        _Column(var, year, position, bases.get((var, year)), header.text(position))
        for var, year, position in values
    ]


def _benchmark_sheet(
    sheet: Sheet, header_row: int, min_responses: int | None, notes: list[str]
) -> list[dict]:
    """One benchmarking group's sheet as observations."""
    header = read_header(sheet, header_row, two_rows=False)
    positions = match_columns(
        header.labels,
        BENCHMARK_ALIASES,
        required=("org_code",),
        file=sheet.file,
        sheet=sheet.name,
        row=header_row,
    )
    columns = _benchmark_columns(sheet, header)
    values = list(_benchmark_values(sheet, header, positions, columns))
    scales = _fraction_scales(sheet, values, notes)
    live_columns = {v.column.position for v in values if not _is_empty(v.value)}
    live_years = {(v.row, v.column.year) for v in values if not _is_empty(v.value) or not _is_empty(v.base)}
    rows = []
    for v in values:
        if v.column.position not in live_columns or (v.row, v.column.year) not in live_years:
            continue
        rows.append(_benchmark_record(sheet, v, scales.get(v.column.position, 1.0), min_responses))
    return rows


def _benchmark_values(
    sheet: Sheet, header: Header, positions: dict[str, int], columns: list[_Column]
) -> Iterator[_Value]:
    """Read every measure cell of every organisation row."""
    fallback_group = sheet.name
    for number, cells in sheet.iter_rows(header.last_row + 1):
        code = row_code(
            sheet,
            header,
            cells,
            number=number,
            position=positions["org_code"],
            pattern=SURVEY_CODE,
            aggregate=_AGGREGATE,
            label_positions=[positions[k] for k in ("org_name", "org_type") if k in positions],
        )
        if code is None:
            continue
        ids = _ids(cells, positions)
        ids["benchmark_group"] = benchmark_group_key(ids["org_type"] or fallback_group)
        for column in columns:
            yield _Value(number, code, ids, column, *_value_and_base(sheet, header, cells, number, column))


def _value_and_base(
    sheet: Sheet, header: Header, cells: list[object], number: int, column: _Column
) -> tuple[Cell, Cell]:
    def read(position: int | None) -> Cell:
        return row_number(sheet, header, cells, position, row=number, tokens=TOKENS)

    value, base = read(column.position), read(column.base)
    if _unit(column.var) == SCORE_UNIT:
        _check_range(value, 10, sheet, number, header.text(column.position))
    if base.value is not None and base.value < 0:
        raise sheet.error(
            f"negative base count {base.value}", row=number, column=header.text(column.base or 0)
        )
    return value, base


def _fraction_scales(sheet: Sheet, values: list[_Value], notes: list[str]) -> dict[int, float]:
    """100 for a fraction column published as 0-100 (noted), so it is stored as 0-1."""
    by_column: dict[int, list[float]] = {}
    for v in values:
        if _unit(v.column.var) == FRACTION_UNIT and v.value.value is not None:
            by_column.setdefault(v.column.position, []).append(v.value.value)
    scales = {position: percent_scale(found) for position, found in by_column.items()}
    labels = {v.column.position: v.column.label for v in values}
    for position in sorted(p for p, scale in scales.items() if scale != 1.0):
        notes.append(f"{sheet.name}: column {labels[position]!r} published as 0-100, stored as a fraction")
    return scales


def _benchmark_record(sheet: Sheet, v: _Value, scale: float, min_responses: int | None) -> dict[str, object]:
    threshold = None if v.column.var == "response_rate" else min_responses
    cell = _apply_threshold(v.value, v.base, threshold)
    value = None if cell.value is None else cell.value / scale
    if value is not None and value > 1 and _unit(v.column.var) == FRACTION_UNIT:
        raise sheet.error(f"fraction {cell.value} above 100%", row=v.row, column=v.column.label)
    return record(
        cell,
        **v.ids,
        org_code=v.code,
        **_period(v.column.year),
        measure=v.column.var,
        breakdown="all",
        value=value,
        denominator=v.base.value,
        unit=_unit(v.column.var),
        source_sheet=sheet.name,
        source_row=v.row,
    )


def _ids(cells: list[object], positions: dict[str, int]) -> dict[str, object]:
    """Organisation identifiers of a row (region and ICB only when they are codes)."""

    def text(name: str) -> str | None:
        position = positions.get(name)
        return (
            (cell_text(cells[position]) or None) if position is not None and position < len(cells) else None
        )

    region, icb = text("region"), text("icb")
    return {
        "org_name": text("org_name"),
        "org_type": text("org_type"),
        "region_code": region if region and _REGION_CODE.match(region) else None,
        "icb_code": icb if icb and _ICB_CODE.match(icb) else None,
    }


# --- detailed organisational results -------------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    """One question (or People Promise element): its measure, base column and value columns."""

    measure: str
    base: int | None
    values: tuple[tuple[int, str], ...]  # (position, breakdown)
    unit: str


def parse_detailed_workbook(path: Path, *, min_responses: int | None = None) -> ParsedExtract:
    """Read the detailed organisational results: every question option and People Promise score."""
    path = Path(path)
    book = open_workbook(path)
    year = survey_year(book)
    notes: list[str] = []
    rows: list[dict[str, object]] = []
    for name in book.sheet_names:
        if normalise_header(name) == "notes":
            continue
        sheet = book.sheet(name)
        found = locate_label(sheet, DETAILED_ALIASES["org_code"], search_rows=10)
        if found is None:
            notes.append(f"sheet {name!r} skipped: no 'ODS code' header")
            continue
        rows.extend(_detailed_sheet(sheet, found[0], year, min_responses, notes))
    if not rows:
        raise ParseError(
            f"no question sheet: no sheet has an 'ODS code' header in row 5; sheets present: {book.sheet_names}",
            file=path,
            row=5,
            column="ODS code",
        )
    frame = observation_frame(rows)
    check_no_duplicates(frame, file=path)
    return ParsedExtract(frame, "detailed_organisational", str(year), [str(year)], notes)


def survey_year(book: Workbook) -> int:
    """The survey year: from a Notes cell ("NHS Staff Survey 2024"), else the file name (NSS24)."""
    if book.find_sheet("Notes"):
        for _, cells in book.sheet("Notes").iter_rows(1):
            for raw in cells:
                if isinstance(raw, str) and (found := _YEAR_IN_NOTES.search(raw)):
                    return int(found[1] or found[2])
    if found := _YEAR_IN_NAME.search(book.path.name):
        return 2000 + int(found[1])
    raise ParseError(
        "survey year not found: no 'NHS Staff Survey <year>' text in Notes and no NSS<YY> in the file name",
        file=book.path,
        sheet="Notes",
        row=1,
        column="A",
    )


def _detailed_sheet(
    sheet: Sheet, header_row: int, year: int, min_responses: int | None, notes: list[str]
) -> list[dict[str, object]]:
    """One question-block sheet (or the People Promise sheet) as observations."""
    header = read_header(sheet, header_row, two_rows=False)
    positions = match_columns(
        header.labels,
        DETAILED_ALIASES,
        required=("org_code",),
        file=sheet.file,
        sheet=sheet.name,
        row=header_row,
    )
    identifiers = set(positions.values())
    if normalise_header(sheet.name) == "people promise elements":
        blocks = _element_blocks(sheet, header, identifiers)
    else:
        blocks = _question_blocks(sheet, header, identifiers, year, notes)
    rows: list[dict[str, object]] = []
    for number, cells in _kept_rows(sheet, header, positions):
        code = row_code(
            sheet,
            header,
            cells,
            number=number,
            position=positions["org_code"],
            pattern=SURVEY_CODE,
            aggregate=_AGGREGATE,
            label_positions=identifiers,
        )
        if code is None:
            continue
        ids = {
            **_ids(cells, positions),
            "org_code": code,
            **_period(year),
            "source_sheet": sheet.name,
            "source_row": number,
        }
        ids["benchmark_group"] = benchmark_group_key(ids["org_type"]) if ids["org_type"] else None
        for block in blocks:
            rows.extend(_block_records(sheet, header, cells, number, block, ids, min_responses))
    return rows


def _kept_rows(sheet: Sheet, header: Header, positions: dict[str, int]) -> Iterator[tuple[int, list[object]]]:
    """Data rows, only the ``Occupation Group`` weighted ones when the sheet has a Weighting column."""
    weighting = positions.get("weighting")
    for number, cells in sheet.iter_rows(header.last_row + 1):
        if weighting is not None and weighting < len(cells) and not is_blank(cells[weighting]):
            if normalise_header(cells[weighting]) != "occupation group":
                continue
        yield number, cells


def _question_blocks(
    sheet: Sheet, header: Header, identifiers: set[int], year: int, notes: list[str]
) -> list[_Block]:
    """Split the header into questions: a Base column, then ``% <option>`` columns."""
    texts = sheet.spread_merged(1)
    starts: list[tuple[int, list[tuple[int, str]]]] = []
    for position, label in enumerate(header.labels):
        text = normalise_header(label)
        if position in identifiers or not text:
            continue
        if text.startswith("base"):
            starts.append((position, []))
        elif text.startswith("%"):
            if not starts:
                raise sheet.error(
                    "a '% <option>' column before any 'Base (number of responses)' column",
                    row=header.first_row,
                    column=label,
                )
            starts[-1][1].append((position, slug(text[1:])))
        else:
            notes.append(f"{sheet.name}: column {column_letter(position)} {label!r} ignored")
    return [_question_block(sheet, texts, base, options, year) for base, options in starts]


def _question_block(
    sheet: Sheet, texts: list[str], base: int, options: list[tuple[int, str]], year: int
) -> _Block:
    """One question's block; its id comes from the merged row-1 text over its columns."""
    span = [base, *(p for p, _ in options)]
    text = next((texts[p] for p in span if p < len(texts) and texts[p]), "")
    found = _QUESTION_ID.match(text)
    if not found:
        raise sheet.error(
            f"expected question text like 'Q26a - ...' over this block, found {text[:60]!r}",
            row=1,
            column=column_letter(base),
        )
    if not options:
        raise sheet.error(
            "a question with a base column but no '% <option>' columns", row=1, column=column_letter(base)
        )
    question = f"q{int(found[1])}{found[2].lower()}"
    return _Block(stable_measure(year, question), base, tuple(options), FRACTION_UNIT)


def _element_blocks(sheet: Sheet, header: Header, identifiers: set[int]) -> list[_Block]:
    """People Promise columns: ``<code> - score`` each followed by its base column."""
    blocks: list[_Block] = []
    for position, label in enumerate(header.labels):
        if position in identifiers:
            continue
        if found := _ELEMENT.match(cell_text(label)):
            measure = slug(found["code"])
            blocks.append(
                _Block(ELEMENT_ALIASES.get(measure, measure), None, ((position, "all"),), SCORE_UNIT)
            )
        elif normalise_header(label).startswith("base") and blocks and blocks[-1].base is None:
            blocks[-1] = _Block(blocks[-1].measure, position, blocks[-1].values, SCORE_UNIT)
    if not blocks:
        raise sheet.error("no '<code> - score' columns", row=header.first_row, column="<code> - score")
    return blocks


def _block_records(
    sheet: Sheet,
    header: Header,
    cells: list[object],
    number: int,
    block: _Block,
    ids: dict[str, object],
    min_responses: int | None,
) -> list[dict[str, object]]:
    """A question's option shares (or an element's score) for one organisation."""

    def read(position: int | None) -> Cell:
        return row_number(sheet, header, cells, position, row=number, tokens=TOKENS)

    base = read(block.base)
    cells_read = [(position, breakdown, read(position)) for position, breakdown in block.values]
    if _is_empty(base) and all(_is_empty(c) for _, _, c in cells_read):
        return []
    top, scale = (100.0, 100.0) if block.unit == FRACTION_UNIT else (10.0, 1.0)
    out = []
    for position, breakdown, raw in cells_read:
        _check_range(raw, top, sheet, number, header.text(position))
        cell = _apply_threshold(raw, base, min_responses)
        out.append(
            record(
                cell,
                **ids,
                measure=block.measure,
                breakdown=breakdown,
                value=None if cell.value is None else cell.value / scale,
                denominator=base.value,
                unit=block.unit,
            )
        )
    return out
