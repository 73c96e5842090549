"""NHS Sickness Absence Rates by reason (monthly CSV).

Layout ``reason_monthly`` (SEEN): ``DATE,NHSE_CODE,NHSE_NAME,ORG_CODE,ORG_NAME,STAFF_GROUP,REASON,
FTE_DAYS_AVAILABLE,FTE_DAYS_LOST,FTE_DAYS_LOST_REASON``.

The trap: ``FTE_DAYS_LOST`` repeats the organisation's (staff group's) total on every reason line;
the reason's own days are ``FTE_DAYS_LOST_REASON``. Summing ``FTE_DAYS_LOST`` over reasons would
multiply the total by the number of reasons, so it is read only to check the file: the reasons
should add up to it, and a note says where they do not.

One observation per organisation, month, staff group and reason: measure
``fte_days_lost_by_reason`` (unit ``fte_days``), value and numerator the reason's days lost,
denominator the days available; breakdown ``<staff group slug>|<reason slug>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.parsers.common import ParsedExtract
from pipelines.parsers.sickness_absence import ALIASES as ORG_LEVEL_ALIASES
from pipelines.parsers.sickness_absence import MISSING_TOKENS
from pipelines.parsers.workforce import (
    ColumnLines,
    Line,
    Observations,
    finish,
    month_bounds,
    observation,
    observations,
    read_observations,
    slug,
)

SOURCE_ID = "sickness_absence_reason"
LAYOUT = "reason_monthly"
MEASURE = "fte_days_lost_by_reason"
# Reasons should add up to the repeated total within rounding (days are published to 5 dp).
TOTAL_TOLERANCE = 0.01

ALIASES: dict[str, tuple[str, ...]] = {
    **ORG_LEVEL_ALIASES,
    "region_code": (*ORG_LEVEL_ALIASES["region_code"], "NHSE_CODE"),
    "staff_group": ("STAFF_GROUP", "Staff Group"),
    "reason": ("REASON", "Reason", "Absence Reason"),
    "fte_days_lost_reason": ("FTE_DAYS_LOST_REASON", "FTE Days Lost Reason"),
}
REQUIRED = ("date", "org_code", "org_name", "staff_group", "reason", "fte_days_available", "fte_days_lost_reason")


def parse(path: Path, *, line_by_line: bool = False) -> ParsedExtract:
    """Read one monthly by-reason file into observations (one per reason line).

    ``line_by_line`` forces the reference line reader (see :func:`read_observations`).
    """
    path = Path(path)
    rows, repeated = read_observations(
        path, ALIASES, REQUIRED, by_columns=_by_columns, by_lines=_by_lines, line_by_line=line_by_line
    )
    extract = finish(path, rows, LAYOUT)
    extract.notes.extend(_check_totals(*_totals(extract, repeated)))
    return extract


def _by_lines(_table: object, lines: Iterable[Line]) -> tuple[Observations, list[float | None]]:
    """The observations, and each line's repeated FTE_DAYS_LOST (read only to check the reasons' sum)."""
    rows: list[dict[str, object]] = []
    repeated: list[float | None] = []
    for line in lines:
        rows.append(_row(line))
        repeated.append(line.value("fte_days_lost", tokens=MISSING_TOKENS).value)
    return rows, repeated


def _by_columns(lines: ColumnLines) -> tuple[Observations, list[float | None]]:
    days = lines.value("fte_days_lost_reason", tokens=MISSING_TOKENS)
    available = lines.value("fte_days_available", tokens=MISSING_TOKENS)
    rows = observations(
        lines,
        lines.organisation(),
        period=lines.periods(),
        measure=MEASURE,
        breakdown=lines.each(("staff_group", "reason"), lambda line: _breakdown(line, _reason(line))),
        cells=days,
        unit="fte_days",
        numerator=days.values,
        denominator=available.values,
    )
    repeated = lines.value("fte_days_lost", tokens=MISSING_TOKENS).values
    totals = repeated.astype(object)
    totals[np.isnan(repeated)] = None
    return rows, totals.tolist()


def _row(line: Line) -> dict[str, object]:
    reason = _reason(line)
    days = line.value("fte_days_lost_reason", tokens=MISSING_TOKENS)
    available = line.value("fte_days_available", tokens=MISSING_TOKENS)
    return observation(
        line,
        line.organisation(),
        period=month_bounds(line.month()),
        measure=MEASURE,
        breakdown=_breakdown(line, reason),
        cell=days,
        unit="fte_days",
        numerator=days.value,
        denominator=available.value,
    )


def _reason(line: Line) -> str:
    """The reason's slug; a line without a reason is an error."""
    reason = slug(line.text("reason"))
    if not reason:
        raise line.error(f"expected an absence reason, found {line.text('reason')[:40]!r}", "reason")
    return reason


def _breakdown(line: Line, reason: str) -> str:
    """``<staff group slug>|<reason slug>``."""
    return f"{line.staff_group('staff_group', total='all')}|{reason}"


def _totals(
    extract: ParsedExtract, repeated: Sequence[float | None]
) -> tuple[dict[tuple[object, ...], float], dict[tuple[object, ...], set[float]]]:
    """Per organisation, month and staff group: the reasons' days added up, and the repeated totals.

    Added in line order, so the sums (and the note's figures) do not depend on how the file was read.
    """
    table = extract.table
    codes, names = _group_keys(table)
    sums = [0.0] * len(names)
    totals: list[set[float]] = [set() for _ in names]
    days = table["value"].fillna(0.0).to_numpy(dtype=float).tolist()  # a missing day adds nothing
    for code, day, total in zip(codes.tolist(), days, repeated, strict=True):
        sums[code] += day
        if total is not None:
            totals[code].add(total)
    return dict(zip(names, sums, strict=True)), {name: found for name, found in zip(names, totals, strict=True) if found}


def _group_keys(table: pd.DataFrame) -> tuple[np.ndarray, list[tuple[str, str, str]]]:
    """Each row's code for its (organisation, month, staff group), and those keys in code order.

    Worked out on the distinct values of each column, not row by row.
    """
    org_codes, orgs = pd.factorize(table["org_code"])
    month_codes, months = pd.factorize(table["period_start"])
    breakdown_codes, breakdowns = pd.factorize(table["breakdown"])
    group_of_breakdown, groups = pd.factorize(np.array([b.split("|")[0] for b in breakdowns], dtype=object))
    groups = groups.tolist()
    group_codes = group_of_breakdown[breakdown_codes]
    codes = pd.factorize((org_codes * len(months) + month_codes) * len(groups) + group_codes)[0]
    first = np.unique(codes, return_index=True)[1]
    org_names, month_names = orgs.tolist(), [str(month.date()) for month in months]
    names = list(zip(
        [org_names[code] for code in org_codes[first]],
        [month_names[code] for code in month_codes[first]],
        [groups[code] for code in group_codes[first]],
        strict=True,
    ))
    return codes, names


def _check_totals(
    reason_sums: dict[tuple[object, ...], float], repeated_totals: dict[tuple[object, ...], set[float]]
) -> list[str]:
    """A note when the repeated FTE_DAYS_LOST differs between lines or from the reasons' sum.

    Only a note, not an error: the reasons' own days are what the source publishes; a mismatch
    says the layout may have changed and someone should look, with the first few cases named.
    """
    problems = []
    for key in sorted(repeated_totals, key=str):
        where = " ".join(map(str, key))
        totals = sorted(repeated_totals[key])
        if len(totals) > 1:
            problems.append(f"{where}: FTE_DAYS_LOST differs between reason lines {totals}")
        elif abs(reason_sums[key] - totals[0]) > TOTAL_TOLERANCE + 1e-6 * abs(totals[0]):
            problems.append(f"{where}: reasons add up to {reason_sums[key]:.5f}, FTE_DAYS_LOST says {totals[0]:.5f}")
    if not problems:
        return []
    return [f"{len(problems)} organisation/staff group total(s) disagree with their reasons: " + "; ".join(problems[:5])]
