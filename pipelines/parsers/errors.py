"""The one exception every parser raises, so callers and analysts get the same kind of message."""

from __future__ import annotations

from pathlib import Path


class ParseError(ValueError):
    """A published file could not be read as its layout says.

    It names the file, and where known the sheet, the 1-based row (as a spreadsheet or text
    editor shows it) and the column, so the analyst can open the file and look at the cell.
    """

    def __init__(
        self,
        message: str,
        *,
        file: Path | str,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = str(file)
        self.sheet = sheet
        self.row = row
        self.column = column
        self.reason = message
        where = [f"file {Path(self.file).name}"]
        if sheet is not None:
            where.append(f"sheet {sheet!r}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}")
