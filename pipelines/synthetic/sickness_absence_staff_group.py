"""Synthetic NHS Sickness Absence benchmarking file by staff group (SYNTHETIC DATA).

One file per month in the published layout: the organisation-level columns plus
``CLUSTER_GROUP, BENCHMARK_GROUP, STAFF_GROUP`` (``ICS_CODE`` / ``ICS_NAME`` only from August
2022). Each trust has an ``All staff groups`` line carrying exactly the organisation-level file's
numbers (:func:`pipelines.synthetic.sickness_absence.rate_and_days`), then one line per staff
group: days available split by the trust's staff mix (from the workforce panel), days lost split
so that support staff are off more and doctors less, adding up to the trust's total. A staff group
with 330 FTE days available or fewer has its days lost and rate blanked, as the publisher does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from pipelines.parsers.common import month_end
from pipelines.synthetic.sickness_absence import rate_and_days
from pipelines.synthetic.workforce import (
    LEAVES,
    StaffInPost,
    benchmark_group,
    cluster_group,
    csv_fields,
    staff_in_post,
)
from pipelines.synthetic.world import Organisation, World, write_monthly

ICS_COLUMNS_FROM = date(2022, 8, 1)
BLANKING_THRESHOLD = 330.0
ALL_STAFF_GROUPS = "All staff groups"
# Staff group -> sickness absence relative to the trust's overall rate.
RELATIVE_RATE: dict[str, float] = {
    "HCHS doctors": 0.35,
    "Nurses & health visitors": 1.15,
    "Midwives": 1.2,
    "Ambulance staff": 1.3,
    "Scientific, therapeutic & technical staff": 0.9,
    "Support to clinical staff": 1.45,
    "NHS infrastructure support": 0.85,
}


@dataclass(frozen=True)
class GroupDays:
    """A staff group's FTE days lost and available in one trust-month."""

    staff_group: str
    lost: float
    available: float

    @property
    def blanked(self) -> bool:
        return self.staff_group != ALL_STAFF_GROUPS and self.available <= BLANKING_THRESHOLD


def staff_group_days(world: World, panel: StaffInPost, code: str, month: date) -> list[GroupDays]:
    """``All staff groups`` (the organisation-level numbers) then each staff group that has staff.

    The groups' days lost and available add up to the organisation's (to rounding), so the
    staff-group and by-reason files agree with the organisation-level file.
    """
    lost, available = rate_and_days(world, code, month)
    shares = panel.shares[panel.org_index[code]]
    weights = shares * np.array([RELATIVE_RATE[g.label] for g in LEAVES])
    groups = [GroupDays(ALL_STAFF_GROUPS, lost, available)]
    for group, share, weight in zip(LEAVES, shares, weights / weights.sum(), strict=True):
        if share > 0:
            groups.append(GroupDays(group.label, round(lost * weight, 5), round(available * share, 5)))
    return groups


def header(month: date) -> list[str]:
    ics = ["ICS_CODE", "ICS_NAME"] if month >= ICS_COLUMNS_FROM else []
    return [
        "DATE", "NHSE_REGION_CODE", "NHSE_REGION_NAME", *ics, "ORG_CODE", "ORG_NAME", "ORG_TYPE",
        "CLUSTER_GROUP", "BENCHMARK_GROUP", "STAFF_GROUP", "FTE_DAYS_LOST", "FTE_DAYS_AVAILABLE",
        "SICKNESS_ABSENCE_RATE_PERCENT",
    ]


def file_name(month: date) -> str:
    return f"NHS Sickness Absence benchmarking tool, {month:%B %Y}.csv"


def write(world: World, out_dir: Path) -> list[Path]:
    """Write every month's file into the publication page's folder."""
    panel = staff_in_post(world)
    return write_monthly(world, out_dir, file_name, lambda month: render_month(world, month, panel))


def render_month(world: World, month: date, panel: StaffInPost | None = None) -> bytes:
    """One month's benchmarking file."""
    panel = panel or staff_in_post(world)
    lines = [csv_fields(header(month))]
    day = month_end(month.year, month.month)
    for org in world.open_organisations(day):
        prefix = csv_fields(_organisation_fields(panel, org, day, with_ics=month >= ICS_COLUMNS_FROM))
        for group in staff_group_days(world, panel, org.code, month):
            lines.append(f"{prefix},{csv_fields([group.staff_group])},{_measures(group)}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _organisation_fields(panel: StaffInPost, org: Organisation, day: date, *, with_ics: bool) -> list[str]:
    ics = [org.icb_code, org.icb_name] if with_ics else []
    return [
        day.strftime("%d/%m/%Y"), org.region_code, org.region_name, *ics, org.code, org.name, org.org_type,
        cluster_group(org), benchmark_group(org, panel.size(org.code)),
    ]


def _measures(group: GroupDays) -> str:
    """Days lost, days available and rate; lost and rate blank for a blanked small group."""
    if group.blanked:
        return f",{group.available},"
    return f"{group.lost},{group.available},{group.lost / group.available * 100:.2f}"
