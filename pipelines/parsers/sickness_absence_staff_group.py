"""NHS Sickness Absence Rates, benchmarking file by staff group (monthly CSV).

Layout ``staff_group_monthly`` (PARSERS): the organisation-level columns (see
:mod:`pipelines.parsers.sickness_absence`) plus ``CLUSTER_GROUP, BENCHMARK_GROUP, STAFF_GROUP``.
``ICS_CODE`` / ``ICS_NAME`` appear only from about August 2022, so they are optional.

The publisher blanks the measures of a staff group whose ``FTE_DAYS_AVAILABLE`` is 330 or less
(too few staff for a stable rate). Such a line is stored as suppressed with the token
``blank<=330``; an empty cell on a larger staff group is a plain missing value, not a
suppression, because nothing says the publisher withheld it.

One observation per organisation, month and staff group: measure ``sickness_absence_rate``
(unit ``percent``) with days lost as numerator and days available as denominator, breakdown the
staff-group slug (``all`` for ``All staff groups``, the organisation-wide line).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from pipelines.parsers.common import Cell, ParsedExtract
from pipelines.parsers.sickness_absence import ALIASES as ORG_LEVEL_ALIASES
from pipelines.parsers.sickness_absence import MEASURE, MISSING_TOKENS
from pipelines.parsers.sickness_absence import REQUIRED as ORG_LEVEL_REQUIRED
from pipelines.parsers.workforce import (
    ORGANISATION_ALIASES,
    CellColumn,
    ColumnLines,
    Line,
    finish,
    month_bounds,
    observation,
    observations,
    read_observations,
)

SOURCE_ID = "sickness_absence_staff_group"
LAYOUT = "staff_group_monthly"
BLANKING_THRESHOLD = 330.0  # FTE days available at or below which the publisher blanks the measures
BLANKED_TOKEN = "blank<=330"

ALIASES: dict[str, tuple[str, ...]] = {
    **ORG_LEVEL_ALIASES,
    "cluster_group": ORGANISATION_ALIASES["cluster_group"],
    "benchmark_group": ORGANISATION_ALIASES["benchmark_group"],
    "staff_group": ("STAFF_GROUP", "Staff Group"),
}
REQUIRED = (*ORG_LEVEL_REQUIRED, "staff_group")


def parse(path: Path, *, line_by_line: bool = False) -> ParsedExtract:
    """Read one monthly benchmarking file into observations (one per organisation and staff group).

    ``line_by_line`` forces the reference line reader (see :func:`read_observations`).
    """
    path = Path(path)
    rows = read_observations(
        path, ALIASES, REQUIRED, by_columns=_by_columns, by_lines=_by_lines, line_by_line=line_by_line
    )
    extract = finish(path, rows, LAYOUT)
    blanked = int((extract.table["suppression_token"] == BLANKED_TOKEN).sum())
    if blanked:
        extract.notes.append(f"{blanked} staff group(s) blanked by the publisher (FTE days available <= 330)")
    return extract


def _by_lines(_table: object, lines: Iterable[Line]) -> list[dict[str, object]]:
    return [_row(line) for line in lines]


def _by_columns(lines: ColumnLines) -> dict[str, np.ndarray]:
    lost = lines.value("fte_days_lost", tokens=MISSING_TOKENS)
    available = lines.value("fte_days_available", tokens=MISSING_TOKENS)
    rate = lines.value("rate", tokens=MISSING_TOKENS, percent_sign=True)
    return observations(
        lines,
        lines.organisation(),
        period=lines.periods(),
        measure=MEASURE,
        breakdown=lines.each(("staff_group",), lambda line: line.staff_group("staff_group", total="all")),
        cells=rate,
        unit="percent",
        numerator=lost.values,
        denominator=available.values,
        token=suppression_tokens(lost, available, rate),
    )


def _row(line: Line) -> dict[str, object]:
    lost = line.value("fte_days_lost", tokens=MISSING_TOKENS)
    available = line.value("fte_days_available", tokens=MISSING_TOKENS)
    rate = line.value("rate", tokens=MISSING_TOKENS, percent_sign=True)
    return observation(
        line,
        line.organisation(),
        period=month_bounds(line.month()),
        measure=MEASURE,
        breakdown=line.staff_group("staff_group", total="all"),
        cell=rate,
        unit="percent",
        numerator=lost.value,
        denominator=available.value,
        token=suppression_token(lost, available, rate),
    )


def suppression_token(lost: Cell, available: Cell, rate: Cell) -> str | None:
    """Why the rate is absent: the publisher's token, or ``blank<=330`` for a blanked small group.

    A line whose rate is published is never suppressed, even if another cell carries a token,
    because the flag describes the observation's value.
    """
    if rate.value is not None:
        return None
    token = next((cell.token for cell in (rate, lost, available) if cell.suppressed), None)
    if token is not None:
        return token
    small = available.value is not None and available.value <= BLANKING_THRESHOLD
    return BLANKED_TOKEN if lost.value is None and small else None


def suppression_tokens(lost: CellColumn, available: CellColumn, rate: CellColumn) -> np.ndarray:
    """:func:`suppression_token` of every line: only lines without a rate can have one, and they are few."""
    tokens = np.full(len(rate.values), None, dtype=object)
    for row in np.flatnonzero(np.isnan(rate.values)):
        tokens[row] = suppression_token(lost.cell(row), available.cell(row), rate.cell(row))
    return tokens
