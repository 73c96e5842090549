"""Shared reading of published Excel workbooks (.xlsx / .xlsm) through python-calamine.

Publishers' workbooks are laid out for people: titles above the table, a header found only by
its label, two-row headers whose upper row holds merged group labels ("Breakdown of Responses")
over the names below, aggregate rows mixed with the data. The helpers here turn that into what a
parser needs - a sheet's cells by 1-based row number (as Excel shows them), header labels located
and combined by text, and numbers read through :func:`pipelines.parsers.common.parse_number` -
and turn every failure (HTML error page saved as .xlsx, truncated download, missing sheet, missing
header, odd cell) into a :class:`ParseError` naming the file, sheet, row and column.

Calamine (Rust) is used because it reads a national workbook in milliseconds; there is
deliberately no fallback reader, so every workbook is read the same way.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
from python_calamine import CalamineError, CalamineWorkbook

from pipelines.parsers.common import (
    OBSERVATION_COLUMNS,
    Cell,
    normalise_header,
    parse_number,
    reject_duplicates,
)
from pipelines.parsers.errors import ParseError

_ZIP_MAGIC = b"PK\x03\x04"
_HTML_START = re.compile(rb"^\s*(<!doctype html|<html|<head|<body|<\?xml)", re.IGNORECASE)
_SLUG = re.compile(r"[^a-z0-9]+")

# ((first_row, first_col), (last_row, last_col)), 0-based and inclusive, as calamine reports them.
MergedRange = tuple[tuple[int, int], tuple[int, int]]


def column_letter(index: int) -> str:
    """Excel's letter for a 0-based column index (0 -> A, 27 -> AB), for messages people can follow."""
    letters = ""
    index += 1
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def slug(text: object) -> str:
    """A lower-case identifier from a published label ("Strongly agree" -> strongly_agree)."""
    return _SLUG.sub("_", normalise_header(text).replace("'", "").replace("\u2019", "")).strip("_")


def cell_text(raw: object) -> str:
    """A cell as trimmed text: blank for empty cells, whole numbers without a trailing ``.0``.

    Calamine returns numbers as floats, so a code or label typed as a number must not come back
    as ``"123.0"``.
    """
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, float):
        if math.isfinite(raw) and raw.is_integer():
            return str(int(raw))
        return repr(raw)
    if isinstance(raw, (datetime, date, time)):
        return raw.isoformat()
    return " ".join(str(raw).replace("\ufeff", "").split())


def is_blank(raw: object) -> bool:
    """True for an empty cell or one holding only white space."""
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


def is_number(raw: object) -> bool:
    """True for a numeric cell (booleans and dates are not numbers)."""
    return isinstance(raw, (int, float)) and not isinstance(raw, bool)


def read_number(
    raw: object,
    *,
    tokens: Iterable[str] = (),
    file: Path | str,
    sheet: str | None,
    row: int | None,
    column: str,
    percent_sign: bool = False,
) -> Cell:
    """Read one numeric cell of a workbook: a finite number, a withheld-value token, or blank.

    Adds to :func:`parse_number` what workbooks bring: date and time cells (an Excel cell
    formatted as a date where a count belongs), integers too large for a float, and text such as
    ``1e999`` that would otherwise become infinity. Anything else that is not a number raises a
    ParseError naming the cell; nothing else is ever raised.
    """
    where = {"file": file, "sheet": sheet, "row": row, "column": column}
    if isinstance(raw, (datetime, date, time, timedelta)):
        raise ParseError(f"expected a number, found a date or time ({raw})", **where)
    if isinstance(raw, int) and not isinstance(raw, bool):
        try:
            raw = float(raw)
        except OverflowError:
            raise ParseError("expected a number, found an integer too large to store", **where) from None
    if not isinstance(raw, (str, int, float, type(None))):
        raise ParseError(f"expected a number, found a {type(raw).__name__} value", **where)
    try:
        cell = parse_number(raw, tokens=tokens, percent_sign=percent_sign, **where)
    except (OverflowError, ValueError) as exc:
        if isinstance(exc, ParseError):
            raise
        raise ParseError(f"expected a number, found {str(raw)[:40]!r}", **where) from exc
    if cell.value is not None and not math.isfinite(cell.value):
        raise ParseError(f"expected a finite number, found {str(raw)[:40]!r}", **where)
    return cell


def percent_scale(values: Iterable[float]) -> float:
    """100 when shares are published as 0-100, 1 when as fractions 0-1.

    Publishers use both. The majority of non-zero values decides, so one stray value above 1 in
    a fraction column is reported as out of range instead of shrinking the column a hundredfold.
    """
    positive = [v for v in values if v > 0]
    return 100.0 if positive and sum(v > 1.0 + 1e-9 for v in positive) > len(positive) / 2 else 1.0


@dataclass(frozen=True)
class Sheet:
    """One worksheet's cells, addressed by 1-based row (as Excel shows it) and 0-based column."""

    file: Path
    name: str
    rows: list[list[object]]
    merged: tuple[MergedRange, ...] = ()

    @property
    def height(self) -> int:
        return len(self.rows)

    def row(self, number: int) -> list[object]:
        """The cells of a 1-based row (an empty list beyond the last row)."""
        return self.rows[number - 1] if 1 <= number <= len(self.rows) else []

    def value(self, number: int, column: int) -> object:
        """One cell by 1-based row and 0-based column; None outside the used area."""
        cells = self.row(number)
        return cells[column] if 0 <= column < len(cells) else None

    def iter_rows(self, first: int) -> Iterator[tuple[int, list[object]]]:
        """(row number, cells) from a 1-based row to the end."""
        for number in range(max(first, 1), len(self.rows) + 1):
            yield number, self.rows[number - 1]

    def error(self, message: str, *, row: int | None = None, column: str | None = None) -> ParseError:
        """A ParseError located on this sheet."""
        return ParseError(message, file=self.file, sheet=self.name, row=row, column=column)

    def spread_merged(self, number: int) -> list[str]:
        """Row texts with each merged range's label copied into every cell it covers."""
        texts = [cell_text(v) for v in self.row(number)]
        for (top, left), (bottom, right) in self.merged:
            if top + 1 <= number <= bottom + 1:
                label = cell_text(self.value(top + 1, left))
                texts.extend([""] * (right + 1 - len(texts)))
                for column in range(left, right + 1):
                    texts[column] = texts[column] or label
        return texts


class Workbook:
    """An opened workbook: its sheet names and sheets read on demand (each read once)."""

    def __init__(self, path: Path, book: CalamineWorkbook) -> None:
        self.path = path
        self._book = book
        self.sheet_names: list[str] = list(book.sheet_names)
        self._cache: dict[str, Sheet] = {}

    def find_sheet(self, *candidates: str) -> str | None:
        """The first sheet whose name matches a candidate (case and spacing ignored)."""
        present = {normalise_header(n): n for n in self.sheet_names}
        return next(
            (present[normalise_header(c)] for c in candidates if normalise_header(c) in present), None
        )

    def sheet(self, name: str, *alternatives: str) -> Sheet:
        """A sheet by name (or an alternative name); a ParseError listing the sheets present if absent."""
        found = self.find_sheet(name, *alternatives)
        if found is None:
            wanted = " or ".join(repr(n) for n in (name, *alternatives))
            raise ParseError(
                f"sheet {wanted} not found; sheets present: {self.sheet_names}", file=self.path, sheet=name
            )
        if found not in self._cache:
            self._cache[found] = self._read(found)
        return self._cache[found]

    def _read(self, name: str) -> Sheet:
        try:
            raw = self._book.get_sheet_by_name(name)
            rows = raw.to_python(skip_empty_area=False)
            merged = tuple(raw.merged_cell_ranges or ())
        except CalamineError as exc:
            raise ParseError(
                f"the sheet cannot be read, the workbook is damaged or truncated ({exc})",
                file=self.path,
                sheet=name,
            ) from exc
        return Sheet(self.path, name, [list(r) for r in rows], merged)


def open_workbook(path: Path | str) -> Workbook:
    """Open an .xlsx/.xlsm workbook, refusing HTML error pages, other formats and truncated files."""
    path = Path(path)
    try:
        head = path.read_bytes()[:512]
    except OSError as exc:
        raise ParseError(f"the file cannot be read ({exc.strerror})", file=path) from exc
    if not head.strip():
        raise ParseError("the file is empty", file=path)
    if _HTML_START.match(head):
        raise ParseError(
            "the file is an HTML page, not a workbook (the publisher probably served an error page)",
            file=path,
        )
    if not head.startswith(_ZIP_MAGIC):
        raise ParseError("the file is not an Excel .xlsx/.xlsm workbook (no zip signature)", file=path)
    try:
        book = CalamineWorkbook.from_path(str(path))
    except CalamineError as exc:
        raise ParseError(
            f"the workbook cannot be opened, it looks truncated or damaged ({exc})", file=path
        ) from exc
    return Workbook(path, book)


def locate_label(sheet: Sheet, labels: Iterable[str], *, search_rows: int = 60) -> tuple[int, int] | None:
    """(1-based row, 0-based column) of the first cell reading one of ``labels``, or None."""
    wanted = {normalise_header(label) for label in labels}
    for number, cells in sheet.iter_rows(1):
        if number > search_rows:
            break
        for column, raw in enumerate(cells):
            if isinstance(raw, str) and normalise_header(raw) in wanted:
                return number, column
    return None


def find_label(
    sheet: Sheet, labels: Sequence[str], *, search_rows: int = 60, expected_row: int | None = None
) -> tuple[int, int]:
    """Like :func:`locate_label`, but a missing header is a ParseError.

    Headers move between releases, so they are found by a label, never by position. The error
    names the first label sought and the row where the layout usually puts it.
    """
    found = locate_label(sheet, labels, search_rows=search_rows)
    if found is None:
        raise sheet.error(
            f"header not found: no cell reads {' or '.join(repr(n) for n in labels)} in rows 1-{search_rows}",
            row=expected_row or 1,
            column=labels[0],
        )
    return found


@dataclass(frozen=True)
class Header:
    """A table header as published: one label per column and the rows it occupies."""

    labels: list[str]
    first_row: int
    last_row: int

    def text(self, position: int) -> str:
        """The published label of a column, for messages."""
        return self.labels[position] if 0 <= position < len(self.labels) else column_letter(position)


def row_number(
    sheet: Sheet,
    header: Header,
    cells: Sequence[object],
    position: int | None,
    *,
    row: int,
    tokens: Iterable[str] = (),
) -> Cell:
    """The numeric cell at a column of a data row; blank where the layout has no such column."""
    if position is None or position >= len(cells):
        return Cell(None)
    return read_number(
        cells[position],
        tokens=tokens,
        file=sheet.file,
        sheet=sheet.name,
        row=row,
        column=header.text(position),
    )


def _is_label_row(sheet: Sheet, number: int) -> bool:
    """A header row holds at least two texts and no numbers (titles hold one, data rows numbers)."""
    cells = sheet.row(number)
    if any(is_number(v) for v in cells):
        return False
    return sum(1 for v in cells if not is_blank(v)) >= 2


def read_header(sheet: Sheet, label_row: int, *, two_rows: bool = True) -> Header:
    """The header at ``label_row``, combined with the row below or above when the header has two.

    In a two-row header the upper row holds identifiers and merged group labels, the lower the
    names under each group. Each column takes its lower label, or the upper one where the lower
    is blank; a lower label used under two groups is qualified by its group ("Mode of Collection
    Other") so that no two columns share a label.
    """
    upper = lower = label_row
    if two_rows and _is_label_row(sheet, label_row + 1):
        lower = label_row + 1
    elif two_rows and label_row > 1 and _is_label_row(sheet, label_row - 1):
        upper = label_row - 1
    if upper == lower:
        return Header([cell_text(v) for v in sheet.row(label_row)], label_row, label_row)
    groups, names = sheet.spread_merged(upper), sheet.spread_merged(lower)
    width = max(len(groups), len(names))
    groups += [""] * (width - len(groups))
    names += [""] * (width - len(names))
    labels = [name or group for group, name in zip(groups, names, strict=True)]
    repeated = {k for k, n in Counter(normalise_header(label) for label in labels if label).items() if n > 1}
    for i, (group, name) in enumerate(zip(groups, names, strict=True)):
        if name and group and group != name and normalise_header(name) in repeated:
            labels[i] = f"{group} {name}"
    return Header(labels, upper, lower)


def check_no_duplicates(frame: pd.DataFrame, *, file: Path | str) -> None:
    """Reject two observations for the same organisation, period, measure and breakdown.

    Wraps :func:`reject_duplicates` so the error also names the sheet of the repeated row, which
    the shared helper cannot know when a workbook's sheets are combined.
    """
    try:
        reject_duplicates(frame, file=file)
    except ParseError as exc:
        key = ["org_code", "period_start", "measure", "breakdown"]
        repeated = frame[frame.duplicated(key, keep="first")].iloc[0]
        first = frame[(frame[key] == repeated[key]).all(axis=1)].iloc[0]
        raise ParseError(
            f"{exc.reason} on sheet {first['source_sheet']!r}",
            file=file,
            sheet=None if pd.isna(repeated["source_sheet"]) else str(repeated["source_sheet"]),
            row=exc.row,
            column=exc.column,
        ) from exc


def record(cell: Cell | None = None, **fields: object) -> dict[str, object]:
    """One observation row with every canonical column (absent ones None).

    ``cell`` supplies the value and the suppression flag and token; explicit ``fields`` win, so a
    parser can rescale the value (0-100 to a fraction) while keeping the cell's token.
    """
    unknown = set(fields) - set(OBSERVATION_COLUMNS)
    if unknown:
        raise TypeError(f"not observation columns: {sorted(unknown)}")
    row: dict[str, object] = dict.fromkeys(OBSERVATION_COLUMNS)
    row["suppressed"] = False
    if cell is not None:
        row.update(value=cell.value, suppressed=cell.suppressed, suppression_token=cell.token)
    row.update(fields)
    return row


def row_code(
    sheet: Sheet,
    header: Header,
    cells: Sequence[object],
    *,
    number: int,
    position: int,
    pattern: re.Pattern[str],
    aggregate: re.Pattern[str],
    label_positions: Iterable[int] = (),
) -> str | None:
    """A data row's organisation code, None for a row to skip, or a ParseError naming the cell.

    Rows to skip are blank rows, notes (text without figures) and aggregate rows (a label such
    as "England (including IS)" anywhere in the row). A row with figures but neither a valid code
    nor an aggregate label is an error: dropping it would silently lose an organisation.
    """
    code = cell_text(cells[position]).upper() if position < len(cells) else ""
    if pattern.match(code):
        return code
    skip = set(label_positions) | {position}
    has_figures = any(is_number(v) for i, v in enumerate(cells) if i not in skip)
    if not has_figures or any(aggregate.match(cell_text(v)) for v in cells if isinstance(v, str)):
        return None
    raise sheet.error(
        f"row has figures but {code or '(blank)'!r} is not a valid organisation code "
        "nor an aggregate label such as 'England'",
        row=number,
        column=header.text(position),
    )
