"""Holding the CSV parsers' whole-column readers to their line readers.

Each CSV parser reads a plain file column by column and falls back to reading it line by line on
anything unusual; the line reader is the reference, and the only one whose errors anyone sees.
These helpers check both halves of that promise: the same extract from both readers, and the
same ParseError (message, file, row, column) for a bad cell. The column reader is run with the
line reader switched off, so a silent fall-back cannot make a comparison trivially true.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from pipelines.parsers import common
from pipelines.parsers.common import ParsedExtract
from pipelines.parsers.errors import ParseError

Parser = Callable[..., ParsedExtract]


def _line_reader_refused(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("the column reader stepped aside: the file was read line by line")


def by_columns_only(parse: Parser, path: Path) -> ParsedExtract:
    """The extract from the column reader, failing the test if the line reader was needed."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(common, "csv_records", _line_reader_refused)
        return parse(path)


def assert_same_extract(first: ParsedExtract, second: ParsedExtract) -> None:
    pd.testing.assert_frame_equal(first.table, second.table, check_exact=True)
    assert (first.layout, first.vintage, first.periods, first.notes) == (
        second.layout, second.vintage, second.periods, second.notes)


def assert_readers_agree(parse: Parser, path: Path) -> ParsedExtract:
    """Both readers give the same extract, and the column reader really read the file."""
    extract = by_columns_only(parse, path)
    assert_same_extract(extract, parse(path, line_by_line=True))
    return extract


def error_of(parse: Parser, path: Path, **options: object) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse(path, **options)
    return caught.value


def assert_same_error(parse: Parser, path: Path) -> ParseError:
    """The parser's error is the line reader's, word for word; returns it for further checks."""
    error = error_of(parse, path)
    reference = error_of(parse, path, line_by_line=True)
    assert (str(error), error.file, error.row, error.column) == (
        str(reference), reference.file, reference.row, reference.column)
    return error


def outcome(parse: Parser, path: Path, **options: object) -> ParsedExtract | tuple[str, int | None, str | None]:
    """An extract, or the error's (message, row, column): what a caller of the parser sees."""
    try:
        return parse(path, **options)
    except ParseError as error:
        return str(error), error.row, error.column


def assert_same_outcome(parse: Parser, path: Path) -> None:
    """Whatever the file holds, the parser does what its line reader alone would do."""
    result, reference = outcome(parse, path), outcome(parse, path, line_by_line=True)
    if isinstance(result, ParsedExtract) and isinstance(reference, ParsedExtract):
        assert_same_extract(result, reference)
    else:
        assert result == reference


def with_cells(data: bytes, changes: dict[tuple[int, str], str]) -> bytes:
    """A copy of a CSV file with some cells replaced, keyed by (line number, published header)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    for (line, column), value in changes.items():
        rows[line - 1][rows[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def assert_bad_cell_named(parse: Parser, path: Path, line: int, column: str, words: str) -> None:
    """Both readers refuse the file at exactly this line and column, with these words."""
    error = assert_same_error(parse, path)
    assert (Path(error.file), error.row, error.column) == (path, line, column)
    assert words in str(error)
