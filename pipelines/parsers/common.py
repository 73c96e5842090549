"""Shared reading rules for published files: header matching, cell values, the observation table.

Publishers rename, reorder and add columns between years, and each has its own missing-value
tokens. Every parser therefore matches headers by normalised name through an alias table and
reads cells through :func:`parse_number`, which keeps suppression tokens as flags, never zero.

Every observation source produces the same long table (:data:`OBSERVATION_COLUMNS`): one row per
organisation, period, measure and breakdown. That single shape is what the expectation suites,
the warehouse loader and the dbt staging models rely on.

CSV files are read line by line (:func:`csv_records`), the reference whose errors name the file,
line and column; long plain files are also read column by column (:func:`csv_columns`, Arrow),
checking each distinct value once, and handed back to the line reader on anything unusual
(:func:`read_by_columns_or_lines`), so the result and every error message are the same either way.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from pipelines.parsers.errors import ParseError

T = TypeVar("T")

# The canonical long layout of every observation source (name -> pandas dtype).
OBSERVATION_COLUMNS: dict[str, str] = {
    "org_code": "string",
    "org_name": "string",
    "org_type": "string",
    "region_code": "string",
    "icb_code": "string",
    "benchmark_group": "string",
    "period_start": "datetime64[s]",
    "period_end": "datetime64[s]",
    "grain": "string",
    "measure": "string",
    "breakdown": "string",
    "value": "Float64",
    "numerator": "Float64",
    "denominator": "Float64",
    "unit": "string",
    "suppressed": "boolean",
    "suppression_token": "string",
    "source_sheet": "string",
    "source_row": "Int64",
}

ODS_CODE_PATTERN = r"^[A-Z0-9]{3}([A-Z0-9]{2})?$"
_ODS_CODE = re.compile(ODS_CODE_PATTERN)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_BOM = "\ufeff"
_SPACES = re.compile(r"\s+")
_HTML_START = re.compile(rb"^\s*(<!doctype html|<html|<\?xml)", re.IGNORECASE)
# A number parse_number can only read as float(text): Arrow converts these in bulk (RE2 syntax).
_PLAIN_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"
# A double-quoted field on one line ("" an escaped quote), closed before a comma, a line break or
# the end of the text. Written as an unrolled loop: the per-character alternative is 2x slower.
_QUOTED_FIELD = re.compile(r'"[^"\r\n]*(?:""[^"\r\n]*)*"(?![^,\r\n])')


@dataclass(frozen=True)
class Cell:
    """A parsed numeric cell: its value, or the publisher's token when the value is withheld."""

    value: float | None
    token: str | None = None

    @property
    def suppressed(self) -> bool:
        return self.token is not None


@dataclass
class ParsedExtract:
    """What a parser hands on: the typed table plus what it learnt about the publication."""

    table: pd.DataFrame
    layout: str
    vintage: str
    periods: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def normalise_header(name: object) -> str:
    """Trim, strip a BOM, collapse inner white space and case-fold, so aliases match reliably."""
    return _normalised("" if name is None else str(name))


@lru_cache(maxsize=65536)
def _normalised(text: str) -> str:
    """Cached on the text, not the object: labels repeat on every line, and ``1`` and ``True`` hash alike."""
    text = text.replace(_BOM, "").replace("\n", " ")
    return _SPACES.sub(" ", text).strip().casefold()


def match_columns(
    headers: Sequence[object],
    aliases: Mapping[str, Iterable[str]],
    *,
    required: Iterable[str],
    file: Path | str,
    sheet: str | None = None,
    row: int | None = 1,
) -> dict[str, int]:
    """Map canonical names to column positions through the alias table.

    Raises a ParseError naming the missing column (and what was found instead) when a required
    column is absent, and naming the duplicate when two headers claim the same canonical name.
    """
    positions: dict[str, int] = {}
    normalised = [normalise_header(h) for h in headers]
    for canonical, names in aliases.items():
        wanted = {normalise_header(n) for n in names} | {normalise_header(canonical)}
        hits = [i for i, h in enumerate(normalised) if h in wanted]
        if len(hits) > 1:
            raise ParseError(
                f"column {canonical!r} appears {len(hits)} times (headers {[headers[i] for i in hits]})",
                file=file,
                sheet=sheet,
                row=row,
                column=str(headers[hits[1]]),
            )
        if hits:
            positions[canonical] = hits[0]
    missing = [name for name in required if name not in positions]
    if missing:
        expected = " or ".join(repr(a) for a in list(aliases[missing[0]])[:3])
        raise ParseError(
            f"required column {missing[0]!r} not found (expected a header like {expected}); "
            f"headers present: {[str(h) for h in headers if str(h).strip()]}",
            file=file,
            sheet=sheet,
            row=row,
            column=missing[0],
        )
    return positions


def parse_number(
    raw: object,
    *,
    tokens: Iterable[str] = (),
    file: Path | str,
    row: int | None,
    column: str,
    sheet: str | None = None,
    percent_sign: bool = False,
) -> Cell:
    """Read one numeric cell. Blank -> missing; a known token -> suppressed; else a finite number.

    Thousands separators are accepted; a trailing ``%`` only where the layout publishes one.
    Anything else raises a ParseError naming the cell, because a silently dropped value would
    change a trust's published figure.
    """
    if raw is None:
        return Cell(None)
    if isinstance(raw, bool):
        raise ParseError(f"expected a number, found {raw!r}", file=file, sheet=sheet, row=row, column=column)
    if isinstance(raw, (int, float)):
        if isinstance(raw, float) and math.isnan(raw):
            return Cell(None)
        if isinstance(raw, int):
            raw = float(raw) if abs(raw) < 1e300 else math.inf
        if math.isinf(raw):
            raise ParseError(f"expected a finite number, found {raw!r}", file=file, sheet=sheet, row=row, column=column)
        return Cell(float(raw))
    text = str(raw).replace(_BOM, "").strip()
    if text == "":
        return Cell(None)
    for token in tokens:
        if text.casefold() == token.casefold():
            return Cell(None, token)
    candidate = text.replace(",", "")
    if percent_sign and candidate.endswith("%"):
        candidate = candidate[:-1].strip()
    if not _NUMBER.match(candidate):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise ParseError(
            f"expected a number, found {shown!r}", file=file, sheet=sheet, row=row, column=column
        )
    number = float(candidate)
    if math.isinf(number):
        raise ParseError(f"expected a finite number, found {text[:40]!r}", file=file, sheet=sheet, row=row, column=column)
    return Cell(number)


def check_ods_code(raw: object, *, file: Path | str, row: int | None, column: str, sheet: str | None = None) -> str:
    """Return the upper-cased ODS code or raise naming the cell (codes are 3 or 5 characters)."""
    code = "" if raw is None else str(raw).replace(_BOM, "").strip().upper()
    if not _ODS_CODE.match(code):
        shown = code if len(code) <= 20 else code[:17] + "..."
        raise ParseError(
            f"not an ODS organisation code: {shown!r} (expected 3 or 5 letters/digits)",
            file=file,
            sheet=sheet,
            row=row,
            column=column,
        )
    return code


def read_text(path: Path) -> str:
    """Decode a published text file, refusing HTML error pages and binary content with a clear message."""
    data = path.read_bytes()
    if not data.strip():
        raise ParseError("the file is empty", file=path, row=1)
    if _HTML_START.match(data[:512]):
        raise ParseError(
            "the file is an HTML page, not data (the publisher probably served an error page)",
            file=path,
            row=1,
        )
    if b"\x00" in data[:4096]:
        raise ParseError("the file is binary, not CSV text", file=path, row=1)
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ParseError("the file is neither UTF-8 nor Windows-1252 text", file=path, row=1)  # pragma: no cover


def read_csv_rows(path: Path) -> list[list[str]]:
    """Read every CSV record; a record with an unterminated quote (a truncated file) is an error."""
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = [row for row in reader]
    except csv.Error as exc:
        hint = " - the file ends inside a quoted field, so it looks truncated" if "end of data" in str(exc) else ""
        raise ParseError(f"malformed CSV ({exc}){hint}", file=path, row=reader.line_num) from exc
    if text and not text.endswith(("\n", "\r")) and rows:
        # A last record without its newline may have been cut mid-line by a broken download.
        last = rows[-1]
        if len(last) < len(rows[0]):
            raise ParseError(
                f"the last line has {len(last)} fields, the header {len(rows[0])}: the file looks truncated",
                file=path,
                row=len(rows),
            )
    return rows


@dataclass(frozen=True)
class CsvHeader:
    """A CSV file's header as published and the canonical column positions found in it."""

    header: list[str]
    positions: dict[str, int]

    def header_of(self, canonical: str) -> str:
        """The published header text of a canonical column, for messages that name the column."""
        return self.header[self.positions[canonical]] if canonical in self.positions else canonical


@dataclass(frozen=True)
class CsvTable(CsvHeader):
    """A CSV file's header and its data lines, each as (line number, fields)."""

    records: list[tuple[int, list[str]]]


def csv_records(path: Path, aliases: Mapping[str, Iterable[str]], required: Iterable[str]) -> CsvTable:
    """Header positions and (line number, fields) for every non-blank data line of a CSV file.

    Lines whose field count differs from the header's are reported by line number, because a
    shifted column would otherwise put a number under the wrong measure.
    """
    rows = read_csv_rows(path)
    if not rows:
        raise ParseError("the file has no header line", file=path, row=1)
    header = [h.replace(_BOM, "").strip() for h in rows[0]]
    positions = match_columns(header, aliases, required=required, file=path, row=1)
    records: list[tuple[int, list[str]]] = []
    for index, fields in enumerate(rows[1:], start=2):
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise ParseError(
                f"this line has {len(fields)} fields but the header has {len(header)}"
                + (" (the file looks truncated)" if index == len(rows) else ""),
                file=path,
                row=index,
            )
        records.append((index, fields))
    if not records:
        raise ParseError("the file has a header but no data lines", file=path, row=2)
    return CsvTable(header=header, positions=positions, records=records)


class ReadLineByLine(Exception):  # noqa: N818 - an instruction to the caller, not an error shown to anyone
    """A whole-column reader met a cell it will not judge: read the file line by line instead."""


@dataclass(frozen=True)
class CsvColumns(CsvHeader):
    """The data lines of a plainly laid out CSV file held column by column as Arrow strings.

    Readers that work on whole columns use it: a column's distinct values are few (dates, codes,
    labels), so checking each distinct value once costs little however long the file is. It holds
    exactly the cells :func:`csv_records` would give, in the same order (see :func:`csv_columns`).
    """

    columns: tuple[pa.StringArray, ...]
    line_numbers: np.ndarray  # the line number of each row, as csv_records counts them

    def __len__(self) -> int:
        return len(self.line_numbers)

    def cells(self, canonical: str) -> pa.StringArray:
        """A canonical column's cells, or empty strings when the layout lacks the column."""
        position = self.positions.get(canonical)
        if position is None:
            return pa.array([""] * len(self), pa.string())
        return self.columns[position]

    def take(self, rows: np.ndarray) -> CsvColumns:
        """The same file restricted to some rows (positions into this one), in the order given."""
        indices = pa.array(rows, pa.int64())
        return CsvColumns(
            header=self.header,
            positions=self.positions,
            columns=tuple(column.take(indices) for column in self.columns),
            line_numbers=self.line_numbers[rows],
        )

    def distinct(self, canonicals: Sequence[str], rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Each row's code for its combination of the named cells, and the first row with each code.

        ``rows`` restricts the question to some rows (the codes are then theirs, in their order);
        the first rows are positions in the whole file. Codes number combinations in order of
        first appearance.
        """
        count = len(self) if rows is None else len(rows)
        codes = np.zeros(count, dtype=np.int64)
        for canonical in canonicals:
            if canonical not in self.positions:
                continue  # an absent column is empty on every line: it tells no lines apart
            column = self.cells(canonical)
            encoded = (column if rows is None else column.take(pa.array(rows, pa.int64()))).dictionary_encode()
            combined = codes * len(encoded.dictionary) + encoded.indices.to_numpy(zero_copy_only=False)
            codes = pd.factorize(combined)[0]
        first = np.unique(codes, return_index=True)[1]
        return codes, first if rows is None else rows[first]

    def each(
        self, canonicals: Sequence[str], read: Callable[[int, list[str]], T], rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, list[T]]:
        """``read(line number, fields)`` once per distinct combination of the named cells: (codes, results).

        ``read`` must depend on those cells only; it runs on the first line with each combination.
        An error from it means some line is bad: :class:`ReadLineByLine` is raised so that the
        caller reads the file line by line, which names the first bad cell as it always has.
        """
        codes, first = self.distinct(canonicals, rows)
        try:
            return codes, [read(number, fields) for number, fields in self.fields_of(first)]
        except Exception as error:  # any failure: the line reader decides what to report, and where
            raise ReadLineByLine(str(error)) from error

    def fields_of(self, rows: np.ndarray) -> list[tuple[int, list[str]]]:
        """(line number, fields) of some rows, as csv_records gives them."""
        indices = pa.array(rows, pa.int64())
        fields = zip(*(column.take(indices).to_pylist() for column in self.columns), strict=True)
        return [(int(self.line_numbers[row]), list(line)) for row, line in zip(rows, fields, strict=True)]

    def plain_numbers(self, canonical: str, tokens: Iterable[str] = ()) -> tuple[np.ndarray, np.ndarray]:
        """Cells written as plain decimals (``-12.5``), read in bulk: (values, which cells were plain).

        For such a cell :func:`parse_number` can only return ``float(text)``, and Arrow's conversion
        rounds exactly as ``float`` does; every other cell (blank, token, separators, ``%``,
        exponents, spaces) is left for the caller to read one distinct value at a time.
        """
        column = self.cells(canonical)
        plain = pc.match_substring_regex(column, _PLAIN_DECIMAL)
        folded = [token.casefold() for token in tokens]
        if folded:
            plain = pc.and_(plain, pc.invert(pc.is_in(column, pa.array(folded, pa.string()))))
        mask = plain.to_numpy(zero_copy_only=False)
        values = np.full(len(self), np.nan)
        if mask.any():
            try:
                values[mask] = pc.cast(column.filter(plain), pa.float64()).to_numpy(zero_copy_only=False)
            except pa.ArrowInvalid:  # pragma: no cover - a plain decimal Arrow cannot read: read them singly
                return values, np.zeros(len(self), dtype=bool)
            mask &= np.isfinite(values)
        return values, mask

    def numbers(self, canonical: str, read: Callable[[int, list[str]], Cell], *, tokens: Iterable[str]) -> CellColumn:
        """A numeric column; ``read(line number, fields)`` gives the cell of a line.

        ``read`` must be built on :func:`parse_number` with these ``tokens``: it is asked only
        about the cells that are not plain decimals (once per distinct text), since a plain decimal
        can only be read as its value (see :meth:`plain_numbers`).
        """
        values, plain = self.plain_numbers(canonical, tokens)
        cell_tokens = np.full(len(self), None, dtype=object)
        odd = np.flatnonzero(~plain)
        if len(odd):
            codes, found = self.each((canonical,), read, odd)
            values[odd] = np.array([np.nan if cell.value is None else cell.value for cell in found], dtype=float)[codes]
            cell_tokens[odd] = spread([cell.token for cell in found], codes)
        return CellColumn(values, cell_tokens)


@dataclass(frozen=True)
class CellColumn:
    """Numeric cells of many lines: values (NaN where missing) and suppression tokens (None if none)."""

    values: np.ndarray
    tokens: np.ndarray

    def cell(self, row: int) -> Cell:
        """One line's cell, as the line reader reads it."""
        value = self.values[row]
        return Cell(None if np.isnan(value) else float(value), self.tokens[row])


def spread(found: Sequence[object], codes: np.ndarray) -> np.ndarray:
    """Per-line values from one value per distinct code (an object column; tuples stay whole)."""
    distinct = np.empty(len(found), dtype=object)
    for index, value in enumerate(found):
        distinct[index] = value
    return distinct[codes]


def spread_fields(found: Sequence[Mapping[str, object]], codes: np.ndarray, keys: Iterable[str]) -> dict[str, np.ndarray]:
    """Per-line columns from one mapping per distinct code, one column per key."""
    return {key: spread([values[key] for values in found], codes) for key in keys}


def period_columns(found: Sequence[tuple[date, date]], codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-line period starts and ends (datetime64 columns) from one (start, end) per distinct code."""
    starts = np.array([start for start, _ in found], dtype="datetime64[s]")
    ends = np.array([end for _, end in found], dtype="datetime64[s]")
    return starts[codes], ends[codes]


def csv_columns(path: Path, aliases: Mapping[str, Iterable[str]], required: Iterable[str]) -> CsvColumns | None:
    """The file column by column when Arrow provably reads it as csv_records does, else None.

    Arrow's reader is many times faster than the csv module but laxer: it accepts text after a
    closing quote, and it splits a quoted line break when reading in parallel. So it is used only
    when every quote opens and closes a one-line field, no NUL is present and every line has the
    header's field count; then both read the same records. Anything else returns None, and the
    caller reads the file with :func:`csv_records`, which reports what is wrong with it. Errors
    that do not depend on the reader (an HTML page, a missing column) are raised here too.
    """
    text = read_text(path)
    if "\x00" in text or not _plain_quotes(text):
        return None
    first_line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    try:
        header = [h.replace(_BOM, "").strip() for h in next(csv.reader([first_line], strict=True), [])]
    except csv.Error:  # e.g. a header cell over the csv module's field size limit
        return None
    if not header:
        return None
    names = [f"c{i}" for i in range(len(header))]
    try:
        arrow = pa_csv.read_csv(
            pa.py_buffer(text.encode("utf-8")),
            read_options=pa_csv.ReadOptions(skip_rows=1, column_names=names),
            parse_options=pa_csv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowException:
        return None
    positions = match_columns(header, aliases, required=required, file=path, row=1)
    columns = tuple(column.combine_chunks() for column in arrow.columns)
    if max((pc.max(pc.binary_length(column)).as_py() or 0 for column in columns), default=0) >= csv.field_size_limit():
        return None  # the csv module may refuse so long a cell (bytes bound characters): let csv_records judge
    kept = np.flatnonzero(~_blank_rows(columns, arrow.num_rows))
    if len(kept) == 0:
        return None
    read = CsvColumns(header=header, positions=positions, columns=columns, line_numbers=np.arange(arrow.num_rows) + 2)
    return read if len(kept) == arrow.num_rows else read.take(kept)


def _plain_quotes(text: str) -> bool:
    """Every quote opens a field (at a line start or after a comma) and closes it on the same line."""
    quotes = text.count('"')
    covered = 0
    for match in _QUOTED_FIELD.finditer(text) if quotes else ():
        start = match.start()
        if start and text[start - 1] not in ",\r\n":
            return False
        covered += match.group().count('"')
    return covered == quotes


def _blank_rows(columns: Sequence[pa.StringArray], rows: int) -> np.ndarray:
    """Rows whose every cell is white space, which csv_records skips (an empty line, ``,,,``).

    Judged with ``str.strip`` on the distinct cells of the rows still in question, so it agrees
    with csv_records exactly and, since a data line's first cell is rarely blank, costs little.
    """
    blank = np.ones(rows, dtype=bool)
    for column in columns:
        candidates = np.flatnonzero(blank)
        if len(candidates) == 0:
            break
        cells = column.take(pa.array(candidates, pa.int64())).dictionary_encode()
        empty = np.array([not value.strip() for value in cells.dictionary.to_pylist()], dtype=bool)
        blank[candidates] = empty[cells.indices.to_numpy(zero_copy_only=False)]
    return blank


def read_by_columns_or_lines(
    path: Path,
    aliases: Mapping[str, Iterable[str]],
    required: Iterable[str],
    *,
    by_columns: Callable[[CsvColumns], T],
    by_lines: Callable[[CsvTable], T],
    line_by_line: bool = False,
) -> T:
    """Read a file column by column when it is plain and every cell passes, else line by line.

    The line reader is the reference: it checks one line after another and its error names the
    first bad cell. The column reader gives the same result many times faster on a clean file;
    on anything unusual it steps aside (None from :func:`csv_columns`, or ReadLineByLine), so
    every error still comes from the line reader. ``line_by_line`` forces the reference reader.
    """
    try:
        columns = None if line_by_line else csv_columns(path, aliases, required)
        if columns is not None:
            return by_columns(columns)
    except (ReadLineByLine, ParseError):
        pass  # every error is the line reader's to report, so the message never depends on the path
    return by_lines(csv_records(path, aliases, required))


@lru_cache(maxsize=4096)
def month_end(year: int, month: int) -> date:
    """The last day of a month (published periods are month ends; cached, as every line asks again)."""
    return (pd.Timestamp(year=year, month=month, day=1) + pd.offsets.MonthEnd(0)).date()


def observation_frame(records: list[dict[str, object]] | Mapping[str, object]) -> pd.DataFrame:
    """Build the canonical observation table with its declared dtypes and column order.

    Takes one dict per row, or (faster for long files) one array per column, where a column with
    the same value on every row may be given as that value (None or a string).
    """
    if not isinstance(records, Mapping):
        # Turned into columns first: a frame of the records, then each column cast in place, cost
        # twice as much per file (4.2 against 2.2 ms for a Friends and Family Test file of 427 rows,
        # 0.9 s of a backfill of 420: benchmarks/FINDINGS.md, section 22).
        records = {name: [row.get(name) for row in records] for name in OBSERVATION_COLUMNS}
    count = len(records["source_row"])
    return pd.DataFrame({name: _typed(records[name], dtype, count) for name, dtype in OBSERVATION_COLUMNS.items()})


def _typed(values: object, dtype: str, count: int) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """One column in its declared dtype, converted once (no frame round trip)."""
    constant = values is None or isinstance(values, str)
    if dtype.startswith("datetime"):
        if constant:
            return np.full(count, values, dtype=dtype)
        if isinstance(values, np.ndarray) and values.dtype.kind == "M":
            return values.astype(dtype, copy=False)
        # Python dates are converted once per distinct date: one at a time they cost 0.4 ms a column
        # of a 427-row file (benchmarks/FINDINGS.md, section 22), and a file has a date or two.
        codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
        dates = np.append(np.asarray(list(uniques), dtype=dtype), np.array(["NaT"], dtype=dtype))
        return dates[codes]
    if constant:  # converted once and repeated in C: ten times faster than converting it on every row
        return pd.array([values], dtype=dtype).repeat(count)
    if dtype == "string" and count >= TEXTS_BY_DISTINCT_VALUE:
        return _texts(values, dtype)
    return pd.array(values, dtype=dtype)


#: From how many rows a text column is converted once per distinct value (:func:`_texts`); below it,
#: finding the distinct values costs more than converting every row (a file of a few hundred rows).
TEXTS_BY_DISTINCT_VALUE = 10_000


def _texts(values: object, dtype: str) -> pd.api.extensions.ExtensionArray:
    """A text column converted once per distinct value, then repeated by position in Arrow's C++.

    An observation table repeats a few hundred organisations, measures and breakdowns over every
    row; converting each row's Python string to Arrow's text encoded the same few hundred strings
    millions of times (2.3 s of a workforce backfill's parsing; the same array a third as fast:
    benchmarks/FINDINGS.md, section 22).
    """
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    return pd.array(uniques, dtype=dtype).take(codes, allow_fill=True)


def reject_duplicates(frame: pd.DataFrame, *, file: Path | str, sheet: str | None = None) -> None:
    """Two rows for the same organisation, period, measure and breakdown cannot both be right."""
    key = ["org_code", "period_start", "measure", "breakdown"]
    duplicated = frame.duplicated(key, keep="first")
    if duplicated.any():
        dupes = frame[duplicated]
        first = dupes.iloc[0]
        earlier = frame[(frame[key] == first[key]).all(axis=1)].iloc[0]
        raise ParseError(
            f"duplicate row: organisation {first['org_code']} {first['measure']} "
            f"({first['breakdown']}) for {pd.Timestamp(first['period_start']).date()} already given at row "
            f"{earlier['source_row']}",
            file=file,
            sheet=sheet,
            row=int(first["source_row"]),
            column="org_code",
        )
