"""One extract in three formats: CSV, Parquet and a formatted XLSX workbook.

* CSV: every column; a suppressed cell and its derived statistics show the publisher's marker
  ``*`` (:data:`pipelines.publish.disclosure.MARKER`); other missing values are empty.
* Parquet: the typed table (dates as dates); suppressed values are null with ``suppressed``
  true (a typed column cannot hold ``*``).
* XLSX (xlsxwriter): the same rows as the CSV on a ``Benchmarks`` sheet (split over more sheets
  beyond Excel's row limit) with a frozen header row, an autofilter, column widths, number formats
  per unit (percent 0-100, fraction as %, 0-10 scores, counts, FTE) and ``*`` for suppressed
  cells; a ``Notes`` sheet with the release reference, the suppression rules, metric definitions
  (``marts.dim_metric``), methods (``benchmarks.benchmark_methods``) and a column dictionary.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def write_xlsx(table: pd.DataFrame, path: Path, notes: Notes, progress: Callable[[str], Any] | None = None) -> Path:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
        "strings_to_urls": False, "nan_inf_to_errors": False,
    })
    formats = _Formats(book)
    plan = _column_plan(table)
    hidden = suppressed_rows(table)
    units = (table["unit"].astype(object).to_numpy() if "unit" in table.columns
             else np.full(len(table), None, dtype=object))
    unit_formats = {u: formats.number(UNIT_FORMATS.get(str(u), "General")) for u in pd.unique(units)}
    columns = []
    for name, kind, _ in plan:
        if kind == "date":
            dates = pd.to_datetime(table[name], errors="coerce")
            columns.append(np.array([None if pd.isna(v) else v.to_pydatetime() for v in dates], dtype=object))
        else:
            columns.append(table[name].astype(object).to_numpy())
    missing = [pd.isna(values) for values in columns]
    fixed = [formats.number(pattern) if pattern else None for _, _, pattern in plan]
    per_sheet = EXCEL_MAX_ROWS - 1
    n_sheets = max(1, math.ceil(len(table) / per_sheet))
    for part in range(n_sheets):
        sheet = book.add_worksheet(DATA_SHEET if part == 0 else f"{DATA_SHEET} ({part + 1})")
        first, last = part * per_sheet, min(len(table), (part + 1) * per_sheet)
        for c, (name, _, _) in enumerate(plan):
            sheet.set_column(c, c, _width(name, list(columns[c][first:first + 2000])))
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(last - first, 1), len(plan) - 1)
        sheet.set_row(0, 30)
        for c, (name, _, _) in enumerate(plan):
            sheet.write_string(0, c, name, formats.header)
        cell_statistics = {c for c, (name, _, _) in enumerate(plan) if name in CELL_STATISTICS}
        for r in range(first, last):
            row = r - first + 1
            if progress is not None and r and r % PROGRESS_EVERY == 0:
                progress(f"  {path.name}: {r} of {len(table)} rows written")
            marked = hidden[r]
            for c, (_, kind, _) in enumerate(plan):
                if marked and c in cell_statistics:
                    sheet.write_string(row, c, MARKER, formats.marker)
                    continue
                if missing[c][r]:
                    continue
                value = columns[c][r]
                if kind == "text":
                    sheet.write_string(row, c, str(value))
                elif kind == "bool":
                    sheet.write_boolean(row, c, bool(value))
                elif kind == "date":
                    sheet.write_datetime(row, c, value, formats.date)
                elif isinstance(value, (str, bytes)):
                    sheet.write_string(row, c, str(value))
                else:
                    number = float(value)
                    if not math.isfinite(number):
                        continue
                    cell_format = unit_formats[units[r]] if kind == "unit" else fixed[c]
                    sheet.write_number(row, c, number, cell_format)
    _write_notes(book, formats, notes, table)
    book.close()
    return path


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

