"""The XLSX extract's data rows, written as XML column by column, make the workbook the per-cell
xlsxwriter writer made: the same package member for member (byte for byte but the creation time),
so the same cells, types, number formats, marker alignment, sheets, frozen panes, autofilter,
column widths and Notes sheet, for a table with everything awkward in it (suppressed rows, missing
values, NaN / inf, text needing XML escaping, every unit, booleans, dates, numbers as objects),
for edge shapes of it, and when it is split over several sheets.

``reference_write_xlsx`` is the per-cell writer that ``write_xlsx`` replaced, kept here only as the
reference.
"""

from __future__ import annotations

import math
import re
import warnings
import zipfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook
from test_disclosure import METRICS, RULES, crafted_facts

from pipelines.benchmark.schema import text_column
from pipelines.benchmark.tables import compute_benchmark_table
from pipelines.publish import extracts
from pipelines.publish.disclosure import CELL_STATISTICS, MARKER, disclose_benchmark_table

NOTES = extracts.Notes(title="Benchmarks for the network", reference={"release_id": "r1", "created_at": "now"},
                       metrics=METRICS, method_summary={"ranking": "1 = best"},
                       disclosure=["fewer than 5 responses"], columns={"value": "the value"})

NAMES = ["Saint Helen's & Knowsley – Whiston", 'The <Royal> "Free" & Co', "  leading spaces", "trailing space ",
         "tab\tinside", "two\nlines", "bell \x07", "a literal _x0041_", "emoji 😀 trust", "", "\xa0non-breaking",
         "carriage\r return", "a > b & c < d"]


def reference_write_xlsx(table: pd.DataFrame, path: Path, notes: extracts.Notes,
                         progress: Any = None) -> Path:
    """The former ``extracts.write_xlsx``: every data cell through xlsxwriter's per-cell API."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
        "strings_to_urls": False, "nan_inf_to_errors": False,
    })
    formats = extracts._Formats(book)
    plan = extracts._column_plan(table)
    hidden = extracts.suppressed_rows(table)
    units = (table["unit"].astype(object).to_numpy() if "unit" in table.columns
             else np.full(len(table), None, dtype=object))
    unit_formats = {u: formats.number(extracts.UNIT_FORMATS.get(str(u), "General")) for u in pd.unique(units)}
    columns = []
    for name, kind, _ in plan:
        if kind == "date":
            dates = pd.to_datetime(table[name], errors="coerce")
            columns.append(np.array([None if pd.isna(v) else v.to_pydatetime() for v in dates], dtype=object))
        else:
            columns.append(table[name].astype(object).to_numpy())
    missing = [pd.isna(values) for values in columns]
    fixed = [formats.number(pattern) if pattern else None for _, _, pattern in plan]
    per_sheet = extracts.EXCEL_MAX_ROWS - 1
    n_sheets = max(1, math.ceil(len(table) / per_sheet))
    for part in range(n_sheets):
        sheet = book.add_worksheet(extracts.DATA_SHEET if part == 0 else f"{extracts.DATA_SHEET} ({part + 1})")
        first, last = part * per_sheet, min(len(table), (part + 1) * per_sheet)
        for c, (name, _, _) in enumerate(plan):
            sheet.set_column(c, c, extracts._width(name, list(columns[c][first:first + 2000])))
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(last - first, 1), len(plan) - 1)
        sheet.set_row(0, 30)
        for c, (name, _, _) in enumerate(plan):
            sheet.write_string(0, c, name, formats.header)
        cell_statistics = {c for c, (name, _, _) in enumerate(plan) if name in CELL_STATISTICS}
        for r in range(first, last):
            row = r - first + 1
            if progress is not None and r and r % extracts.PROGRESS_EVERY == 0:
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
    extracts._write_notes(book, formats, notes, table)
    book.close()
    return path


def awkward(table: pd.DataFrame) -> pd.DataFrame:
    """A disclosed benchmark table with every kind of value the writer has a rule for."""
    out = table.reset_index(drop=True).copy()
    n = len(out)
    i = np.arange(n)
    out["org_name"] = text_column(np.array(NAMES, dtype=object)[i % len(NAMES)])
    units = np.array([*extracts.UNIT_FORMATS, "other", None], dtype=object)
    out["unit"] = text_column(units[(i // 3) % len(units)])
    value = out["value"].to_numpy(dtype="float64", na_value=np.nan)
    for k, number in enumerate([np.inf, -np.inf, 0.1 + 0.2, -0.0, 1e20, 1.5e-7, 123456789012345678.0, 2 / 3]):
        value[k + 1::23] = number
    out["value"] = pd.array(value, dtype="Float64")  # Float64: NaN -> NA, inf stays
    median = out["median"].to_numpy(dtype="float64", na_value=np.nan)
    median[5::11], median[6::11] = np.nan, np.inf
    out["median"] = median  # a plain float column holding NaN
    mixed = np.array([1, "n/a", b"raw", 2.5, None, np.nan, np.inf, Decimal("1.25"), pd.NA, True, 7], dtype=object)
    out["target"] = pd.Series(mixed[i % len(mixed)], dtype=object)  # a unit column of objects
    out["funnel_ratio"] = pd.Series(mixed[(i + 3) % len(mixed)], dtype=object)  # a fixed-format one
    starts = out["period_start"].to_numpy(dtype="datetime64[ns]", copy=True)
    for k, moment in enumerate(["1900-01-01", "1900-02-28", "1900-03-01T12:30:15.250001", "NaT",
                                "1899-12-30T06:00", "2024-02-29T23:59:59.999999"]):
        starts[k * 7] = np.datetime64(moment, "ns")
    out["period_start"] = starts
    latest = out["is_latest_period"].astype("boolean")
    latest[::5] = pd.NA
    out["is_latest_period"] = latest
    out["comparator"] = out["comparator"].astype("str")  # pandas' own string dtype
    out["grain"] = out["grain"].astype("category")
    reasons = out["distribution_reason"].to_numpy(dtype=object, copy=True)
    reasons[1], reasons[2] = "x" * 40_000, "😀" * 20_000  # beyond Excel's 32767 UTF-16 units
    out["distribution_reason"] = reasons
    out["weight"] = np.linspace(0, 1, n)  # a numeric column with no fixed format: General
    out["weight_n"] = pd.array(np.where(i % 4 == 0, None, i), dtype="Int64")
    return out


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    disclosed, _ = disclose_benchmark_table(compute_benchmark_table(crafted_facts()), RULES)
    out = awkward(disclosed)
    assert out["suppressed"].sum() >= 5 and out["value"].isna().any()
    return out


def members(path: Path) -> list[tuple[str, tuple[int, ...], bytes]]:
    """(name, timestamp, content) of each member of the package, its creation time masked."""
    with zipfile.ZipFile(path) as package:
        return [(info.filename, info.date_time,
                 re.sub(rb"<dcterms:(created|modified) [^>]*>[^<]*</dcterms:", b"", package.read(info)))
                for info in package.infolist()]


def readback(path: Path) -> dict[str, Any]:
    """What openpyxl reads from each sheet: properties, and every cell's value, type and style."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a repaired or odd package would warn
        book = openpyxl.load_workbook(path)
    sheets = {}
    for sheet in book.worksheets:
        sheets[sheet.title] = {
            "freeze_panes": sheet.freeze_panes, "auto_filter": sheet.auto_filter.ref,
            "dimensions": sheet.dimensions,
            "widths": {key: dim.width for key, dim in sheet.column_dimensions.items()},
            "heights": {key: dim.height for key, dim in sheet.row_dimensions.items() if dim.height},
            "cells": [[(cell.coordinate, cell.value, type(cell.value).__name__, cell.data_type, cell.number_format,
                        cell.alignment.horizontal, cell.alignment.wrap_text, cell.font.b, cell.fill.fgColor.rgb)
                       for cell in row] for row in sheet.iter_rows()],
        }
    return sheets


def write_both(table: pd.DataFrame, folder: Path) -> tuple[Path, Path, list[str], list[str]]:
    folder.mkdir(parents=True, exist_ok=True)
    old_lines: list[str] = []
    new_lines: list[str] = []
    old = reference_write_xlsx(table, folder / "reference.xlsx", NOTES, progress=old_lines.append)
    new = extracts.write_xlsx(table, folder / "benchmarks.xlsx", NOTES, progress=new_lines.append)
    return old, new, [line.replace("reference.xlsx", "benchmarks.xlsx") for line in old_lines], new_lines


def test_the_workbook_is_the_per_cell_writers_member_for_member(table, tmp_path):
    old, new, _, _ = write_both(table, tmp_path)
    assert members(new) == members(old)


def test_every_cell_reads_back_as_the_per_cell_writer_wrote_it(table, tmp_path):
    old, new, _, _ = write_both(table, tmp_path)
    expected, got = readback(old), readback(new)
    assert list(got) == ["Benchmarks", "Notes"]
    assert got == expected
    cells = got["Benchmarks"]["cells"]
    assert len(cells) == len(table) + 1 and len(cells[0]) == len(table.columns)


def test_suppressed_missing_escaped_and_typed_values_read_back_as_the_rules_say(table, tmp_path):
    path = extracts.write_xlsx(table, tmp_path / "benchmarks.xlsx", NOTES)
    sheet = openpyxl.load_workbook(path)["Benchmarks"]
    header = [cell.value for cell in sheet[1]]
    assert header == list(table.columns) and sheet["A1"].font.b
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:CC{len(table) + 1}"
    at = {name: c + 1 for c, name in enumerate(header)}
    hidden = extracts.suppressed_rows(table)
    for r in range(len(table)):
        row = r + 2
        if hidden[r]:
            for name in CELL_STATISTICS:
                cell = sheet.cell(row, at[name])
                assert (cell.value, cell.data_type, cell.alignment.horizontal) == ("*", "s", "center")
            continue
        name = table.at[r, "org_name"]
        if not re.search(r"[\x07\r]|_x", name):  # stored as _xHHHH_ escapes, which openpyxl does not decode
            assert sheet.cell(row, at["org_name"]).value == name
        value = table.at[r, "value"]
        cell = sheet.cell(row, at["value"])
        if pd.isna(value) or not math.isfinite(value):
            assert cell.value is None
        else:  # xlsxwriter writes 16 significant digits
            assert cell.value == float(f"{value:.16G}")
            assert cell.number_format == extracts.UNIT_FORMATS.get(str(table.at[r, "unit"]), "General")
        latest = table.at[r, "is_latest_period"]
        assert sheet.cell(row, at["is_latest_period"]).value == (None if pd.isna(latest) else bool(latest))
        start = table.at[r, "period_start"]
        cell = sheet.cell(row, at["period_start"])
        if pd.isna(start):
            assert cell.value is None
        elif start >= pd.Timestamp("1900-03-01"):  # Excel's calendar is off by a day before
            assert cell.number_format == "yyyy-mm-dd"  # openpyxl reads times to the millisecond
            assert abs(cell.value - start.to_pydatetime()) < timedelta(milliseconds=1)
        target = table.at[r, "target"]
        if isinstance(target, (str, bytes)):
            assert sheet.cell(row, at["target"]).value == str(target)
    assert sheet.cell(3, at["distribution_reason"]).value == "x" * 32_767  # Excel's limit
    assert sheet.cell(2, at["weight"]).number_format == "General"


@pytest.mark.parametrize("shape", ["empty", "one row", "suppressed rows only", "blank rows", "a format only in the "
                                   "last row", "no unit column"])
def test_edge_shapes_of_the_table_give_the_per_cell_writers_workbook(table, tmp_path, shape):
    rows = table.copy()
    if shape == "empty":
        rows = rows.iloc[:0]
    elif shape == "one row":
        rows = rows.iloc[:1]
    elif shape == "suppressed rows only":
        rows = rows[extracts.suppressed_rows(rows)]
    elif shape == "blank rows":  # rows without a single cell, in the middle and at the end
        rows = rows.iloc[:40].copy()
        rows.loc[[10, 11, 39]] = None
    elif shape == "a format only in the last row":  # formats are indexed in the order cells are flushed
        rows = rows.iloc[:30].copy()
        rows["unit"] = "percent"
        rows.loc[29, ["unit", "suppressed", "value"]] = ["fte", False, 12.5]
    else:
        rows = rows.drop(columns=["unit"])
    old, new, _, _ = write_both(rows, tmp_path)
    assert members(new) == members(old)


def test_a_table_beyond_the_row_limit_is_split_over_sheets_as_before(table, tmp_path, monkeypatch):
    monkeypatch.setattr(extracts, "EXCEL_MAX_ROWS", 41)  # 40 data rows a sheet
    monkeypatch.setattr(extracts, "PROGRESS_EVERY", 30)
    monkeypatch.setattr(extracts, "BLOCK_ROWS", 7)
    rows = table.copy()
    rows["unit"] = "percent"
    # Formats are indexed as rows are flushed, a sheet's last row at close (after the Notes sheet):
    # fte is used by sheet 1's last row and inside sheet 2, fraction only by sheet 2's last row.
    for r, unit in [(39, "fte"), (46, "fte"), (79, "fraction")]:
        rows.loc[r, ["unit", "suppressed", "value"]] = [unit, False, 12.5]
    old, new, old_lines, new_lines = write_both(rows, tmp_path)
    assert members(new) == members(old)
    sheets = math.ceil(len(rows) / 40)
    assert openpyxl.load_workbook(new, read_only=True).sheetnames == [
        "Benchmarks", *[f"Benchmarks ({k})" for k in range(2, sheets + 1)], "Notes"]
    assert readback(new) == readback(old)
    assert new_lines == old_lines and len(new_lines) == (len(rows) - 1) // 30


def test_the_workbook_opens_in_calamine_and_openpyxl_without_warnings(table, tmp_path):
    old, new, _, _ = write_both(table, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        openpyxl.load_workbook(new)
        openpyxl.load_workbook(new, read_only=True).close()
    books = CalamineWorkbook.from_path(str(new)), CalamineWorkbook.from_path(str(old))
    assert books[0].sheet_names == books[1].sheet_names == ["Benchmarks", "Notes"]
    for name in books[0].sheet_names:
        got, expected = (book.get_sheet_by_name(name).to_python() for book in books)
        assert got == expected
    rows = books[0].get_sheet_by_name("Benchmarks").to_python()
    assert rows[0] == list(table.columns) and len(rows) == len(table) + 1
