"""Organisation Data Service reference files: NHS trusts (``etr``, care trusts ``ect``) and successors.

``etr.csv`` / ``ect.csv`` (REAL): no header, 27 double-quoted columns. Column 1 organisation code,
2 name, 3 National Grouping (NHS England region Y56..Y63, W00 Wales), 4 High Level Health
Geography (ICB), 10 postcode, 11 open date (YYYYMMDD), 12 close date (YYYYMMDD or empty). Closed
trusts stay in the file with their close date, which is how mergers show up.

``succ.csv`` (PARSERS): no header, five columns ``old_code, new_code, reason (F/O/R),
effective_date (YYYYMMDD), indicator (F further succession / X closed / blank)``.

Both are reference data, not observations: each parser returns its own small typed table. The
pure functions :func:`resolve_successors` and :func:`find_splits` turn succession records into
the code mapping the warehouse uses; chains are followed to the end and splits are reported,
never silently resolved to one of the successors.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from pipelines.parsers.common import ParsedExtract, check_ods_code, read_csv_rows
from pipelines.parsers.errors import ParseError

ETR_WIDTH = 27
SUCC_WIDTH = 5
# Canonical name -> 1-based column in etr/ect (the file has no header to match by name).
ETR_FIELDS: dict[str, int] = {
    "org_code": 1,
    "org_name": 2,
    "region_code": 3,
    "icb_code": 4,
    "postcode": 10,
    "open_date": 11,
    "close_date": 12,
}
SUCC_FIELDS: dict[str, int] = {"old_code": 1, "new_code": 2, "reason": 3, "effective_date": 4, "indicator": 5}
TRUST_COLUMNS: dict[str, str] = {
    "org_code": "string",
    "org_name": "string",
    "region_code": "string",
    "icb_code": "string",
    "postcode": "string",
    "open_date": "datetime64[s]",
    "close_date": "datetime64[s]",
    "source_row": "Int64",
}
SUCCESSOR_COLUMNS: dict[str, str] = {
    "old_code": "string",
    "new_code": "string",
    "reason": "string",
    "effective_date": "datetime64[s]",
    "indicator": "string",
    "source_row": "Int64",
}
SUCCESSION_REASONS = frozenset({"F", "O", "R"})
SUCCESSION_INDICATORS = frozenset({"F", "X", ""})
_GROUPING_CODE = re.compile(r"^[A-Z0-9]{3}$")  # region (Y56, W00) and ICB (QHG, Q99) codes
_YYYYMMDD = re.compile(r"^\d{8}$")


class _Record:
    """One headerless line, with readers that name the file, line and column (by position) on failure."""

    def __init__(self, path: Path, number: int, fields: list[str], positions: dict[str, int]) -> None:
        self.path, self.number, self.fields, self.positions = path, number, fields, positions

    def column(self, name: str) -> str:
        return f"{name} (column {self.positions[name]})"

    def text(self, name: str) -> str:
        return self.fields[self.positions[name] - 1].strip()

    def error(self, message: str, name: str) -> ParseError:
        return ParseError(message, file=self.path, row=self.number, column=self.column(name))

    def code(self, name: str) -> str:
        return check_ods_code(self.text(name), file=self.path, row=self.number, column=self.column(name))

    def date(self, name: str, *, required: bool) -> date | None:
        text = self.text(name)
        if not text and not required:
            return None
        try:
            if not _YYYYMMDD.match(text):
                raise ValueError(text)
            return datetime.strptime(text, "%Y%m%d").date()
        except ValueError:
            raise self.error(f"expected a date like 20230331, found {text[:20]!r}", name) from None

    def grouping(self, name: str) -> str | None:
        text = self.text(name).upper()
        if text and not _GROUPING_CODE.match(text):
            raise self.error(f"expected a 3-character region or ICB code, found {text[:20]!r}", name)
        return text or None


def _records(path: Path, width: int, positions: dict[str, int]) -> list[_Record]:
    """Every non-blank line; a line with the wrong number of fields is an error naming it."""
    records = []
    for number, fields in enumerate(read_csv_rows(path), start=1):
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != width:
            raise ParseError(f"expected {width} fields, found {len(fields)}", file=path, row=number)
        records.append(_Record(path, number, fields, positions))
    if not records:
        raise ParseError("the file has no data lines", file=path, row=1)
    return records


def _frame(rows: list[dict[str, object]], columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=list(columns))
    for name, dtype in columns.items():
        if dtype.startswith("datetime"):
            frame[name] = pd.to_datetime(frame[name]).astype(dtype)
        else:
            frame[name] = frame[name].astype(dtype)
    return frame


def _latest(rows: list[dict[str, object]], names: tuple[str, ...]) -> str:
    """The latest of the named date columns (YYYY-MM-DD): the file's own idea of "as at"."""
    return max(d for row in rows for name in names if isinstance(d := row[name], date)).isoformat()


def _reject_repeats(records: list[_Record], keys: list[tuple[str, ...]], name: str, what: str) -> None:
    """The same organisation (or succession) twice in one reference file cannot both be right."""
    first_seen: dict[tuple[str, ...], int] = {}
    for record, key in zip(records, keys, strict=True):
        if key in first_seen:
            raise record.error(f"{what} {'->'.join(key)} already given at row {first_seen[key]}", name)
        first_seen[key] = record.number


# --- trusts -------------------------------------------------------------------------------------


def parse_trusts(path: Path, *, vintage: str | None = None) -> ParsedExtract:
    """Read an ``etr`` (or ``ect``) file: one row per organisation, open and closed.

    ``vintage`` labels the release; without it the latest open or close date in the file is used
    (YYYY-MM-DD), since the file itself carries no publication date.
    """
    path = Path(path)
    records = _records(path, ETR_WIDTH, ETR_FIELDS)
    rows = [_trust(record) for record in records]
    _reject_repeats(records, [(str(row["org_code"]),) for row in rows], "org_code", "organisation")
    label = vintage or _latest(rows, ("open_date", "close_date"))
    kind = "care trusts (ect)" if path.name.lower().startswith("ect") else "NHS trusts (etr)"
    return ParsedExtract(table=_frame(rows, TRUST_COLUMNS), layout="etr", vintage=label, periods=[label],
                         notes=[f"{len(rows)} {kind}"])


def _trust(record: _Record) -> dict[str, object]:
    opened = record.date("open_date", required=True)
    closed = record.date("close_date", required=False)
    if opened and closed and closed < opened:
        raise record.error(f"close date {closed} is before the open date {opened}", "close_date")
    return {
        "org_code": record.code("org_code"),
        "org_name": record.text("org_name"),
        "region_code": record.grouping("region_code"),
        "icb_code": record.grouping("icb_code"),
        "postcode": record.text("postcode") or None,
        "open_date": opened,
        "close_date": closed,
        "source_row": record.number,
    }


# --- successors ---------------------------------------------------------------------------------


def parse_successors(path: Path) -> ParsedExtract:
    """Read a ``succ`` file: one row per succession record; vintage = latest effective date."""
    path = Path(path)
    records = _records(path, SUCC_WIDTH, SUCC_FIELDS)
    rows = [_succession(record) for record in records]
    keys = [(str(row["old_code"]), str(row["new_code"])) for row in rows]
    _reject_repeats(records, keys, "new_code", "succession")
    label = _latest(rows, ("effective_date",))
    notes = [f"{old} is succeeded by several organisations: {', '.join(new)}" for old, new in find_splits(keys).items()]
    return ParsedExtract(table=_frame(rows, SUCCESSOR_COLUMNS), layout="succ", vintage=label, periods=[label],
                         notes=notes)


def _succession(record: _Record) -> dict[str, object]:
    reason = record.text("reason").upper()
    if reason not in SUCCESSION_REASONS:
        raise record.error(f"expected a succession reason F, O or R, found {reason[:20]!r}", "reason")
    indicator = record.text("indicator").upper()
    if indicator not in SUCCESSION_INDICATORS:
        raise record.error(f"expected an indicator F, X or blank, found {indicator[:20]!r}", "indicator")
    return {
        "old_code": record.code("old_code"),
        "new_code": record.code("new_code"),
        "reason": reason,
        "effective_date": record.date("effective_date", required=True),
        "indicator": indicator or None,
        "source_row": record.number,
    }


def find_splits(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Old codes with more than one successor, each with its sorted successors.

    A split trust's activity cannot be given to one successor without a decision about how to
    divide it, so splits are listed for a person to resolve rather than picked automatically.
    """
    successors: dict[str, set[str]] = defaultdict(set)
    for old, new in pairs:
        successors[old].add(new)
    return {old: sorted(new) for old, new in sorted(successors.items()) if len(new) > 1}


def resolve_successors(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Map every predecessor to its final successor, following chains (A->B, B->C gives A->C).

    ``pairs`` are (old code, new code), e.g. ``zip(table.old_code, table.new_code)``.

    - A split predecessor (several successors, see :func:`find_splits`) is left out of the
      mapping and a chain stops at it: its history stays under its own code until someone
      decides how to divide it, rather than going to whichever successor happened to come first.
    - A self-pair (A->A) says nothing and is ignored.
    - A cycle raises ValueError naming the codes, since no final successor exists.
    """
    pairs = [(old, new) for old, new in pairs if old != new]
    splits = find_splits(pairs)
    direct = {old: new for old, new in pairs if old not in splits}
    return {old: _final_successor(old, direct) for old in sorted(direct)}


def _final_successor(old: str, direct: dict[str, str]) -> str:
    chain = [old]
    code = direct[old]
    while code in direct:
        if code in chain:
            cycle = " -> ".join([*chain[chain.index(code):], code])
            raise ValueError(f"succession cycle: {cycle}")
        chain.append(code)
        code = direct[code]
    return code
