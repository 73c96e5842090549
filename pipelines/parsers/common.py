"""Shared reading rules for published files: header matching, cell values, the observation table.

Publishers rename, reorder and add columns between years, and each has its own missing-value
tokens. Every parser therefore matches headers by normalised name through an alias table and
reads cells through :func:`parse_number`, which keeps suppression tokens as flags, never zero.

Every observation source produces the same long table (:data:`OBSERVATION_COLUMNS`): one row per
organisation, period, measure and breakdown. That single shape is what the expectation suites,
the warehouse loader and the dbt staging models rely on.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from pipelines.parsers.errors import ParseError

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
_HTML_START = re.compile(rb"^\s*(<!doctype html|<html|<\?xml)", re.IGNORECASE)


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
    text = "" if name is None else str(name)
    text = text.replace(_BOM, "").replace("\n", " ")
    return re.sub(r"\s+", " ", text).strip().casefold()


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
class CsvTable:
    """A CSV file's header as published, canonical column positions, and its data lines."""

    header: list[str]
    positions: dict[str, int]
    records: list[tuple[int, list[str]]]

    def header_of(self, canonical: str) -> str:
        """The published header text of a canonical column, for messages that name the column."""
        return self.header[self.positions[canonical]] if canonical in self.positions else canonical


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


def month_end(year: int, month: int) -> date:
    """The last day of a month (published periods are month ends)."""
    return (pd.Timestamp(year=year, month=month, day=1) + pd.offsets.MonthEnd(0)).date()


def observation_frame(records: list[dict[str, object]]) -> pd.DataFrame:
    """Build the canonical observation table with its declared dtypes and column order."""
    frame = pd.DataFrame.from_records(records, columns=list(OBSERVATION_COLUMNS))
    for name, dtype in OBSERVATION_COLUMNS.items():
        if dtype.startswith("datetime"):
            frame[name] = pd.to_datetime(frame[name]).astype(dtype)
        else:
            frame[name] = frame[name].astype(dtype)
    return frame


def reject_duplicates(frame: pd.DataFrame, *, file: Path | str, sheet: str | None = None) -> None:
    """Two rows for the same organisation, period, measure and breakdown cannot both be right."""
    key = ["org_code", "period_start", "measure", "breakdown"]
    dupes = frame[frame.duplicated(key, keep="first")]
    if not dupes.empty:
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
