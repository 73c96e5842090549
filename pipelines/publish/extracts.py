"""One extract in three formats: CSV, Parquet and a formatted XLSX workbook.

* CSV: every column; a suppressed cell and its derived statistics show the publisher's marker
  ``*`` (:data:`pipelines.publish.disclosure.MARKER`); other missing values are empty.
* Parquet: the typed table (dates as dates); suppressed values are null with ``suppressed``
  true (a typed column cannot hold ``*``).
* XLSX: the same rows as the CSV on a ``Benchmarks`` sheet (split over more sheets beyond Excel's
  row limit) with a frozen header row, an autofilter, column widths, number formats per unit
  (percent 0-100, fraction as %, 0-10 scores, counts, FTE) and ``*`` for suppressed cells; a
  ``Notes`` sheet with the release reference, the suppression rules, metric definitions
  (``marts.dim_metric``), methods (``benchmarks.benchmark_methods``) and a column dictionary.

  xlsxwriter writes the workbook except the data rows. Writing a cell through its API costs about
  4 us, which made the XLSX most of a release's time, so the rows' XML is built a column at a time
  (numpy decides each cell, one comprehension per column and kind formats them) and put into the
  sheets xlsxwriter wrote (:func:`write_xlsx`). It is the XML xlsxwriter's constant_memory mode
  writes for those cells, byte for byte: ``tests/publish/test_xlsx_writer.py`` compares the
  workbook with one written a cell at a time.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from pipelines.publish.disclosure import CELL_STATISTICS, MARKER

DATA_SHEET = "Benchmarks"
NOTES_SHEET = "Notes"
EXCEL_MAX_ROWS = 1_048_576

#: Columns expressed in the row's unit: formatted by the unit.
UNIT_COLUMNS: frozenset[str] = frozenset({
    "value", "comparator_value", "median", "q1", "q3", "best", "worst",
    "ci_lower", "ci_upper", "ci_lower_998", "ci_upper_998",
    "funnel_lower_95", "funnel_upper_95", "funnel_lower_998", "funnel_upper_998",
    "funnel_adj_lower_95", "funnel_adj_upper_95", "funnel_adj_lower_998", "funnel_adj_upper_998",
    "spc_mean", "spc_lpl", "spc_upl", "spc_lower_2sigma", "spc_upper_2sigma", "target", "trend_slope",
})
UNIT_FORMATS: dict[str, str] = {
    "percent": "0.00",
    "fraction": "0.0%",
    "score_0_10": "0.00",
    "count": "#,##0",
    "headcount": "#,##0",
    "fte": "#,##0.0",
}
WHOLE_NUMBER_COLUMNS = frozenset({"rank", "comparator_n", "spc_points"})
RATIO_COLUMNS = frozenset({"funnel_ratio", "funnel_phi", "funnel_tau2", "trend_chi2", "funnel_size"})
#: Columns written as "0.0" rather than by unit.
ONE_DECIMAL_COLUMNS = frozenset({"percentile"})
#: Columns formatted as whole numbers when every value is whole, else with two decimals.
COUNT_COLUMNS = frozenset({"numerator", "denominator"})


@dataclass
class Notes:
    """What the ``Notes`` sheet says about an extract."""

    title: str
    reference: dict[str, Any]
    metrics: pd.DataFrame = field(default_factory=pd.DataFrame)
    methods: pd.DataFrame = field(default_factory=pd.DataFrame)
    method_summary: dict[str, str] = field(default_factory=dict)
    disclosure: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)


def suppressed_rows(table: pd.DataFrame) -> np.ndarray:
    if "suppressed" not in table.columns:
        return np.zeros(len(table), dtype=bool)
    return table["suppressed"].astype("boolean").fillna(False).to_numpy(dtype=bool)


def export_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The table for CSV: ``*`` in a suppressed row's cell statistics, dates as ISO dates."""
    out = table.copy()
    for name in out.columns:  # plain floats write faster and identically (missing -> empty)
        if isinstance(out[name].dtype, pd.Float64Dtype):
            out[name] = out[name].to_numpy(dtype="float64", na_value=np.nan)
    hidden = suppressed_rows(out)
    for name in CELL_STATISTICS:
        if name in out.columns and hidden.any():
            column = out[name].astype(object).to_numpy(copy=True)
            column[hidden] = MARKER
            out[name] = pd.Series(column, index=out.index, dtype=object)
    return out


def write_csv(table: pd.DataFrame, path: Path) -> Path:
    export_frame(table).to_csv(path, index=False, date_format="%Y-%m-%d")
    return path


def write_parquet(table: pd.DataFrame, path: Path) -> Path:
    """The typed table; datetime columns holding only dates are written as Parquet dates."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    for name in table.columns:
        values = table[name]
        if pd.api.types.is_datetime64_any_dtype(values):
            present = values.dropna()
            if (present == present.dt.normalize()).all():
                index = arrow.schema.get_field_index(name)
                arrow = arrow.set_column(index, name, arrow.column(name).cast(pa.date32()))
    pq.write_table(arrow, path)
    return path


def write_extract(table: pd.DataFrame, folder: Path, stem: str, notes: Notes,
                  progress: Callable[[str], Any] | None = None) -> list[Path]:
    """``<stem>.csv``, ``.parquet`` and ``.xlsx`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_csv(table, folder / f"{stem}.csv"),
        write_parquet(table, folder / f"{stem}.parquet"),
        write_xlsx(table, folder / f"{stem}.xlsx", notes, progress=progress),
    ]


@dataclass(frozen=True)
class ExtractJob:
    """One extract to write: its rows, where, under which name, with which notes sheet."""

    rows: pd.DataFrame
    folder: Path
    stem: str
    notes: Notes


def write_extract_job(job: ExtractJob) -> list[Path]:
    """:func:`write_extract` for one job (what a release's worker processes are given)."""
    return write_extract(job.rows, job.folder, job.stem, job.notes)


# --- XLSX ------------------------------------------------------------------------------------------------------

def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


class _Formats:
    def __init__(self, book: Any) -> None:
        self.book = book
        self._cache: dict[str, Any] = {}
        self.header = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DCE6F1",
                                       "bottom": 1})
        self.marker = book.add_format({"align": "center"})
        self.date = self.number("yyyy-mm-dd")

    def number(self, pattern: str) -> Any:
        if pattern not in self._cache:
            self._cache[pattern] = self.book.add_format({"num_format": pattern})
        return self._cache[pattern]


def _column_plan(table: pd.DataFrame) -> list[tuple[str, str, Any]]:
    """(name, kind, fixed number format) per column; kind: unit, number, date, bool, text."""
    plan = []
    for name in table.columns:
        column = table[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            plan.append((name, "date", "yyyy-mm-dd"))
        elif pd.api.types.is_bool_dtype(column):
            plan.append((name, "bool", None))
        elif name in UNIT_COLUMNS:
            plan.append((name, "unit", None))
        elif name in WHOLE_NUMBER_COLUMNS:
            plan.append((name, "number", "0"))
        elif name in ONE_DECIMAL_COLUMNS:
            plan.append((name, "number", "0.0"))
        elif name in RATIO_COLUMNS:
            plan.append((name, "number", "0.000"))
        elif name in COUNT_COLUMNS:
            values = pd.to_numeric(column, errors="coerce").dropna().to_numpy(dtype=float)
            whole = bool(values.size == 0 or np.all(np.floor(values) == values))
            plan.append((name, "number", "#,##0" if whole else "#,##0.00"))
        elif pd.api.types.is_numeric_dtype(column):
            plan.append((name, "number", "General"))
        else:
            plan.append((name, "text", None))
    return plan


def _width(name: str, values: list[Any]) -> float:
    sample = [len(str(v)) for v in values[:2000] if not _is_missing(v)]
    longest = max([len(name), *sample]) if sample else len(name)
    return float(min(max(longest + 2, 8), 45))


PROGRESS_EVERY = 250_000
#: Table rows whose cells are turned into XML together: enough for the column-wise work to pay off,
#: few enough that a sheet of a million rows never holds more than one block of cell strings.
BLOCK_ROWS = 10_000


def write_xlsx(table: pd.DataFrame, path: Path, notes: Notes, progress: Callable[[str], Any] | None = None) -> Path:
    """The formatted workbook; xlsxwriter writes all of it but the data rows, which are added as XML.

    The rules are a cell at a time (see :class:`_DataCells`), but through xlsxwriter's per-cell
    API they cost about 4 us a cell, most of the time of a release. So xlsxwriter builds the
    workbook with each data sheet's header row only (formats, widths, frozen pane, autofilter over
    the full range, the Notes sheet), and the rows' XML, decided column by column, is then put
    into those sheets (:func:`_add_rows`): the same XML, byte for byte, as xlsxwriter's
    constant_memory mode writes for the same cells, in about a quarter of the time.
    """
    import xlsxwriter

    package = io.BytesIO()  # the workbook without its data rows: small
    book = xlsxwriter.Workbook(package, {
        "constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
        "strings_to_urls": False, "nan_inf_to_errors": False,
    })
    formats = _Formats(book)
    plan = _column_plan(table)
    per_sheet = EXCEL_MAX_ROWS - 1
    parts = [(first, min(len(table), first + per_sheet)) for first in range(0, max(len(table), 1), per_sheet)]
    cells = _DataCells(table, plan, formats, parts)
    sheets: dict[str, tuple[str, Callable[[BinaryIO], None]]] = {}
    for part, (first, last) in enumerate(parts):
        name = DATA_SHEET if part == 0 else f"{DATA_SHEET} ({part + 1})"
        sheet = book.add_worksheet(name)
        for c, (column, _, _) in enumerate(plan):
            sheet.set_column(c, c, _width(column, cells.sample(c, first)))
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(last - first, 1), len(plan) - 1)
        sheet.set_row(0, 30)
        for c, (column, _, _) in enumerate(plan):
            sheet.write_string(0, c, column, formats.header)

        def write_rows(out: BinaryIO, part: int = part) -> None:
            cells.write_rows(part, out, path.name, progress)

        if cells.last_rows[part] is not None:  # else the sheet is complete as it is
            sheets[name] = (cells.dimension(part), write_rows)
    # xlsxwriter gives a format its style (xf) index when it writes out a cell using it, and lists
    # only indexed formats in styles.xml. The data cells do not pass through it, so their formats are
    # indexed here (Format._get_xf_index, what xlsxwriter calls itself), in the order writing cell by
    # cell did: styles.xml and each cell's s="..." stay what they were.
    for cell_format in cells.first_formats:
        cell_format._get_xf_index()
    _write_notes(book, formats, notes, table)
    for cell_format in cells.last_row_formats:
        cell_format._get_xf_index()
    book.close()
    _add_rows(package, path, sheets)
    return path


# What a cell of the data rows holds (_Block.kinds).
_EMPTY, _NUMBER, _TEXT, _BOOL, _MARKER = range(5)


@dataclass
class _Block:
    """One column's cells over a block of rows, decided for all of them at once."""

    kinds: np.ndarray  # _EMPTY / _NUMBER / _TEXT / _BOOL / _MARKER per row
    styles: np.ndarray  # the cell's format as an index into _DataCells.formats; -1: none
    numbers: np.ndarray  # float64: the value of a number cell
    values: np.ndarray | None  # object: the value of a text or boolean cell


class _DataCells:
    """The data rows of the workbook as cell XML, with the rules of one cell at a time.

    A suppressed row shows the marker (centred) in every :data:`CELL_STATISTICS` column; a missing
    value is no cell; text columns are strings, bool columns booleans, date columns Excel dates
    (``yyyy-mm-dd``); unit columns take the row's unit format (``General`` for another unit),
    other numeric columns their fixed format; a str / bytes value in a numeric column is a string;
    a number that is not finite is no cell. Each rule is applied to a column's block of rows with
    numpy, and the cells' XML is formatted in one comprehension per column and kind.
    """

    def __init__(self, table: pd.DataFrame, plan: list[tuple[str, str, Any]], formats: _Formats,
                 parts: list[tuple[int, int]]) -> None:
        from xlsxwriter.utility import xl_col_to_name

        self.table, self.plan, self.parts = table, plan, parts
        self.formats: list[Any] = []  # every format a data cell can have; _Block.styles index it
        self.marker = self._style(formats.marker)
        self.date = self._style(formats.date)
        self.fixed = [self._style(formats.number(pattern)) if pattern else -1 for _, _, pattern in plan]
        units = (table["unit"].astype(object).to_numpy() if "unit" in table.columns
                 else np.full(len(table), None, dtype=object))
        codes, uniques = pd.factorize(units, use_na_sentinel=False)
        by_unit = np.array([self._style(formats.number(UNIT_FORMATS.get(str(u), "General"))) for u in uniques],
                           dtype=np.int16)
        self.unit_styles = by_unit[codes]
        self.hidden = suppressed_rows(table)
        self.marked = [name in CELL_STATISTICS for name, _, _ in plan]
        self.columns = [xl_col_to_name(c) for c in range(len(plan))]
        self._texts: dict[str, str] = {}
        self._order_formats(formats.header)

    def _style(self, cell_format: Any) -> int:
        """The format's index in ``formats`` (by identity: _Formats hands out one object per pattern)."""
        for index, known in enumerate(self.formats):
            if known is cell_format:
                return index
        self.formats.append(cell_format)
        return len(self.formats) - 1

    def _order_formats(self, header: Any) -> None:
        """The order in which writing cell by cell gave the data's formats their style index.

        In constant_memory mode xlsxwriter indexes a format when the row using it is flushed:
        the header row and every data row when the next row is written, but each sheet's last row
        only at ``close``, after the Notes sheet. ``first_formats`` are indexed before the notes,
        ``last_row_formats`` after; this also finds each sheet's last row with a cell.
        """
        n = len(self.table)
        written = np.zeros(n, dtype=bool)
        uses = []  # (part, table row, column, style) of each style's first cell in a part
        for c in range(len(self.plan)):
            block = self.block(c, 0, n)
            written |= block.kinds != _EMPTY
            for part, (start, stop) in enumerate(self.parts):
                found, at = np.unique(block.styles[start:stop], return_index=True)
                uses += [(part, start + i, c, s) for s, i in zip(found.tolist(), at.tolist(), strict=True) if s >= 0]
        self.last_rows = [start + int(np.flatnonzero(written[start:stop])[-1]) if written[start:stop].any() else None
                          for start, stop in self.parts]
        first: dict[int, tuple[int, ...]] = {}
        for part, row, c, style in uses:
            key = (1, part, c) if row == self.last_rows[part] else (0, row, c)
            first[style] = min(key, first.get(style, key))
        ordered = sorted(first, key=first.__getitem__)
        self.first_formats = ([header] if self.last_rows[0] is not None else []) + [
            self.formats[s] for s in ordered if first[s][0] == 0]
        self.last_row_formats = [self.formats[s] for s in ordered if first[s][0] == 1]

    def sample(self, c: int, first: int) -> list[Any]:
        """A sheet's first 2000 values of column ``c`` as :func:`_width` measures them."""
        _, kind, _ = self.plan[c]
        values = self.table.iloc[first:first + 2000, c]
        if kind == "date":
            dates = pd.to_datetime(values, errors="coerce")
            return [None if pd.isna(v) else v.to_pydatetime() for v in dates]
        return list(values.astype(object).to_numpy())

    def block(self, c: int, start: int, stop: int) -> _Block:
        """What each of table rows ``start:stop`` holds in column ``c``."""
        _, kind, _ = self.plan[c]
        column = self.table.iloc[start:stop, c]
        size = stop - start
        kinds = np.zeros(size, dtype=np.int8)
        styles = np.full(size, -1, dtype=np.int16)
        numbers = np.zeros(size)
        values = None
        marker = self.hidden[start:stop] if self.marked[c] else np.zeros(size, dtype=bool)
        if kind in ("text", "bool"):
            values = column.astype(object).to_numpy()
            kinds[~pd.isna(values)] = _TEXT if kind == "text" else _BOOL
        elif kind == "date":
            numbers, present = _excel_serials(column)
            kinds[present] = _NUMBER
        elif pd.api.types.is_numeric_dtype(column):
            numbers = column.to_numpy(dtype="float64", na_value=np.nan)
            kinds[np.isfinite(numbers)] = _NUMBER
        else:  # numbers in an object column: a str / bytes among them is written as a string
            values = column.astype(object).to_numpy()
            for i in np.flatnonzero(~pd.isna(values) & ~marker).tolist():
                if isinstance(values[i], (str, bytes)):
                    kinds[i] = _TEXT
                elif math.isfinite(number := float(values[i])):
                    kinds[i], numbers[i] = _NUMBER, number
        is_number = kinds == _NUMBER
        if kind == "unit":
            styles[is_number] = self.unit_styles[start:stop][is_number]
        elif kind == "date":
            styles[is_number] = self.date
        elif kind == "number":
            styles[is_number] = self.fixed[c]
        kinds[marker] = _MARKER
        styles[marker] = self.marker
        return _Block(kinds, styles, numbers, values)

    def dimension(self, part: int) -> str:
        """The used range of a data sheet (``<dimension ref>``): header row to its last row with a cell."""
        from xlsxwriter.utility import xl_range

        start, _ = self.parts[part]
        last = self.last_rows[part]
        return xl_range(0, 0, 0 if last is None else last - start + 1, len(self.plan) - 1)

    def write_rows(self, part: int, out: BinaryIO, name: str, progress: Callable[[str], Any] | None) -> None:
        """The ``<row>`` elements of a data sheet, UTF-8, a block of rows at a time."""
        start, stop = self.parts[part]
        marks = range(max(PROGRESS_EVERY, -(-start // PROGRESS_EVERY) * PROGRESS_EVERY), stop, PROGRESS_EVERY)
        bounds = sorted({*range(start, stop, BLOCK_ROWS), *marks, stop})
        for first, last in itertools.pairwise(bounds):
            if progress is not None and first in marks:
                progress(f"  {name}: {first} of {len(self.table)} rows written")
            out.write(self.rows_xml(part, first, last).encode("utf-8"))

    def rows_xml(self, part: int, start: int, stop: int) -> str:
        """Table rows ``start:stop`` as the ``<row>`` elements of their sheet (none for a row without cells)."""
        numbers = np.arange(start - self.parts[part][0] + 2, stop - self.parts[part][0] + 2)
        width = len(self.plan)
        grid = np.full((stop - start, width + 2), "", dtype=object)  # <row>, the cells, </row>
        written = np.zeros(stop - start, dtype=bool)
        for c in range(width):
            block = self.block(c, start, stop)
            written |= block.kinds != _EMPTY
            self._cells_xml(c, block, numbers, grid[:, c + 1])
        grid[written, 0] = np.array([f'<row r="{n}">' for n in numbers[written].tolist()], dtype=object)
        grid[written, width + 1] = "</row>"
        if len(self._texts) > 100_000:  # strings are cached for repeats; a column of distinct ones would grow it
            self._texts.clear()
        return "".join(grid.ravel().tolist())

    def _cells_xml(self, c: int, block: _Block, numbers: np.ndarray, out: np.ndarray) -> None:
        """Each cell's ``<c>`` element (as xlsxwriter writes it) into ``out``, a kind at a time."""
        col = self.columns[c]
        for kind in np.unique(block.kinds).tolist():
            if kind == _EMPTY:
                continue
            at = np.flatnonzero(block.kinds == kind)
            rows = numbers[at].tolist()
            if kind == _NUMBER:
                styles = block.styles[at]
                mids = {s: f'" s="{self.formats[s]._get_xf_index()}"><v>' for s in np.unique(styles).tolist()}
                values = block.numbers[at].tolist()
                if len(mids) == 1:
                    (mid,) = mids.values()
                    cells = [f'<c r="{col}{n}{mid}{x:.16G}</v></c>' for n, x in zip(rows, values, strict=True)]
                else:
                    cells = [f'<c r="{col}{n}{mids[s]}{x:.16G}</v></c>'
                             for n, s, x in zip(rows, styles.tolist(), values, strict=True)]
            elif kind == _TEXT:
                texts, known = self._texts, self._texts.get
                strings = map(str, block.values[at].tolist())
                cells = [f'<c r="{col}{n}" t="inlineStr">{known(s) or texts.setdefault(s, _inline_string(s))}</c>'
                         for n, s in zip(rows, strings, strict=True)]
            elif kind == _BOOL:
                cells = [f'<c r="{col}{n}" t="b"><v>{1 if v else 0}</v></c>'
                         for n, v in zip(rows, block.values[at].tolist(), strict=True)]
            else:
                marker = f'" s="{self.formats[self.marker]._get_xf_index()}" t="inlineStr">{_inline_string(MARKER)}</c>'
                cells = [f'<c r="{col}{n}{marker}' for n in rows]
            out[at] = np.array(cells, dtype=object)


_EXCEL_EPOCH = np.datetime64("1899-12-31", "us")
_DAY_US = 86_400_000_000


def _excel_serials(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A datetime column as Excel serial dates (and where it has a value), the float xlsxwriter's
    ``write_datetime`` computes from the Python datetime (microseconds; 1900 date system)."""
    if getattr(column.dtype, "tz", None) is not None and column.notna().any():
        raise TypeError(f"{column.name}: Excel has no time zones; write naive datetimes")
    values = column.to_numpy(dtype="datetime64[us]")
    present = ~np.isnat(values)
    micros = np.where(present, (values - _EXCEL_EPOCH).astype(np.int64), 0)
    days, rest = np.divmod(micros, _DAY_US)
    seconds, fraction = np.divmod(rest, 1_000_000)
    serials = days + (seconds.astype(np.float64) + fraction.astype(np.float64) / 1e6) / 86400
    serials[days == 1] -= 1  # xlsxwriter reads a datetime on 1900-01-01 as a time-only value
    serials[serials > 59] += 1  # Excel's 1900-02-29
    return serials, present


# xlsxwriter's escaping of an inline string (Worksheet._write_cell, XMLwriter._xml_inline_string).
_ESCAPE_LIKE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL_CHARACTERS = re.compile(r"([\x00-\x08\x0b-\x1f])")
_EDGE_WHITESPACE = re.compile(r"^\s|\s$")
_XLSX_STRING_MAX = 32767  # UTF-16 units


def _inline_string(value: str) -> str:
    """The ``<is>`` element of a string cell, as xlsxwriter's constant_memory mode writes it.

    Excel's 32767-unit limit truncates; control characters become ``_xHHHH_`` (and a literal
    ``_xHHHH_`` is escaped as ``_x005F_xHHHH_``); leading or trailing whitespace is preserved;
    ``&``, ``<`` and ``>`` are escaped.
    """
    if len(value) > _XLSX_STRING_MAX // 2 and len(value.encode("utf-16-le", "surrogatepass")) // 2 > _XLSX_STRING_MAX:
        units = 0
        for index, char in enumerate(value):
            units += 2 if ord(char) > 0xFFFF else 1
            if units > _XLSX_STRING_MAX:
                value = value[:index]
                break
    value = _ESCAPE_LIKE.sub(r"_x005F\1", value)
    value = _CONTROL_CHARACTERS.sub(lambda match: f"_x{ord(match.group(1)):04X}_", value)
    value = value.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    space = ' xml:space="preserve"' if _EDGE_WHITESPACE.search(value) else ""
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<is><t{space}>{value}</t></is>"


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _sheet_members(package: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet name -> its XML in the package, as ``xl/workbook.xml`` and its relationships say."""
    workbook = ElementTree.fromstring(package.read("xl/workbook.xml"))
    relationships = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): str(rel.get("Target")) for rel in relationships}
    members = {}
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        target = targets[sheet.get(_RELATIONSHIP)]
        members[str(sheet.get("name"))] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return members


def _add_rows(package: io.BytesIO, path: Path, sheets: dict[str, tuple[str, Callable[[BinaryIO], None]]]) -> None:
    """Write the package to ``path`` with each named sheet's rows inserted and its dimension set.

    Every other member is copied unchanged (name, timestamp, compression). A sheet's XML goes
    through a temporary file so its size is known before it enters the zip: Zip64 is then used
    only for a member that needs it (over 2 GB), as Excel prefers.
    """
    with zipfile.ZipFile(package) as source, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as target:
        rows_of = {member: sheets[name] for name, member in _sheet_members(source).items() if name in sheets}
        for info in source.infolist():
            copy = zipfile.ZipInfo(info.filename, info.date_time)
            copy.compress_type, copy.external_attr = info.compress_type, info.external_attr
            data = source.read(info)
            if info.filename not in rows_of:
                target.writestr(copy, data)
                continue
            dimension, write_rows = rows_of[info.filename]
            head, tail = data.split(b"</sheetData>", 1)
            head = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>'.encode(), head, count=1)
            with tempfile.TemporaryFile() as xml:
                xml.write(head)
                write_rows(xml)
                xml.write(b"</sheetData>" + tail)
                copy.file_size = xml.tell()
                xml.seek(0)
                with target.open(copy, "w") as member:
                    shutil.copyfileobj(xml, member, 1 << 20)


def _write_notes(book: Any, formats: _Formats, notes: Notes, table: pd.DataFrame) -> None:
    sheet = book.add_worksheet(NOTES_SHEET)
    title = book.add_format({"bold": True, "font_size": 14})
    heading = book.add_format({"bold": True, "font_size": 12})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 45)
    sheet.set_column(2, 2, 70)
    sheet.set_column(3, 8, 24)
    row = 0
    sheet.write_string(row, 0, notes.title, title)
    row += 2

    def section(name: str) -> None:
        nonlocal row
        sheet.write_string(row, 0, name, heading)
        row += 1

    def pairs(items: list[tuple[str, Any]]) -> None:
        nonlocal row
        for key, value in items:
            sheet.write_string(row, 0, str(key), formats.header)
            sheet.write_string(row, 1, "" if _is_missing(value) else str(value), wrap)
            row += 1
        row += 1

    def frame(rows: pd.DataFrame) -> None:
        nonlocal row
        for c, name in enumerate(rows.columns):
            sheet.write_string(row, c, str(name), formats.header)
        row += 1
        for values in rows.itertuples(index=False):
            for c, value in enumerate(values):
                if not _is_missing(value):
                    sheet.write_string(row, c, str(value), wrap)
            row += 1
        row += 1

    section("Release")
    pairs([("release_id", notes.reference.get("release_id")), ("created_at", notes.reference.get("created_at")),
           ("code_version", notes.reference.get("code_version")), ("network", notes.reference.get("network")),
           ("rows in this extract", len(table)),
           ("manifest", "manifest.json in the release folder lists every file with its SHA-256")])
    section("Suppression")
    pairs([(f"rule {i + 1}", line) for i, line in enumerate(notes.disclosure)])
    metrics = notes.metrics
    if not metrics.empty and "metric_id" in table.columns:
        present = set(table["metric_id"].dropna().astype(str))
        shown = metrics[metrics["metric_id"].astype(str).isin(present)] if present else metrics
        keep = [c for c in ("metric_id", "metric_name", "description", "unit", "polarity", "benchmark_method",
                            "numerator_definition", "denominator_definition", "source", "domain")
                if c in shown.columns]
        section("Metric definitions (marts.dim_metric)")
        frame(shown[keep])
    section("Methods")
    pairs(list(notes.method_summary.items()))
    if not notes.methods.empty:
        frame(notes.methods)
    section("Unit formats in this workbook")
    pairs([(unit, f"number format {pattern}") for unit, pattern in UNIT_FORMATS.items()])
    section("Columns")
    frame(pd.DataFrame({"column": list(table.columns),
                        "meaning": [notes.columns.get(c, "") for c in table.columns]}))

