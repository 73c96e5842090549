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

from collections import defaultdict
from pathlib import Path

from pipelines.parsers.common import ParsedExtract
from pipelines.parsers.sickness_absence import ALIASES as ORG_LEVEL_ALIASES
from pipelines.parsers.sickness_absence import MISSING_TOKENS
from pipelines.parsers.workforce import Line, finish, month_bounds, observation, read_lines, slug

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


def parse(path: Path) -> ParsedExtract:
    """Read one monthly by-reason file into observations (one per reason line)."""
    path = Path(path)
    _, lines = read_lines(path, ALIASES, REQUIRED)
    rows: list[dict[str, object]] = []
    reason_sums: dict[tuple[object, ...], float] = defaultdict(float)
    repeated_totals: dict[tuple[object, ...], set[float]] = defaultdict(set)
    for line in lines:
        row, days = _row(line)
        rows.append(row)
        key = (row["org_code"], str(row["period_start"]), str(row["breakdown"]).split("|")[0])
        reason_sums[key] += days or 0.0
        repeated = line.value("fte_days_lost", tokens=MISSING_TOKENS).value
        if repeated is not None:
            repeated_totals[key].add(repeated)
    return finish(path, rows, LAYOUT, _check_totals(reason_sums, repeated_totals))


def _row(line: Line) -> tuple[dict[str, object], float | None]:
    reason = slug(line.text("reason"))
    if not reason:
        raise line.error(f"expected an absence reason, found {line.text('reason')[:40]!r}", "reason")
    days = line.value("fte_days_lost_reason", tokens=MISSING_TOKENS)
    available = line.value("fte_days_available", tokens=MISSING_TOKENS)
    row = observation(
        line,
        line.organisation(),
        period=month_bounds(line.month()),
        measure=MEASURE,
        breakdown=f"{line.staff_group('staff_group', total='all')}|{reason}",
        cell=days,
        unit="fte_days",
        numerator=days.value,
        denominator=available.value,
    )
    return row, days.value


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
