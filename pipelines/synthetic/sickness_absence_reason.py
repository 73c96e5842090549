"""Synthetic NHS Sickness Absence rates by reason (SYNTHETIC DATA).

One file per month: ``DATE,NHSE_CODE,NHSE_NAME,ORG_CODE,ORG_NAME,STAFF_GROUP,REASON,
FTE_DAYS_AVAILABLE,FTE_DAYS_LOST,FTE_DAYS_LOST_REASON``. Like the real file, ``FTE_DAYS_LOST``
repeats the staff group's total on every reason line, and the reasons' own days
(``FTE_DAYS_LOST_REASON``) add up to it. The totals are the staff-group file's
(:func:`pipelines.synthetic.sickness_absence_staff_group.staff_group_days`), so all three
sickness files agree. Colds and flu peak in winter; anxiety, stress and depression lead all year.
Staff groups the benchmarking file blanks (330 FTE days available or fewer) are left out.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np

from pipelines.parsers.common import month_end
from pipelines.synthetic.sickness_absence_staff_group import GroupDays, staff_group_days
from pipelines.synthetic.workforce import StaffInPost, csv_fields, staff_in_post
from pipelines.synthetic.world import World, write_monthly

HEADER = [
    "DATE", "NHSE_CODE", "NHSE_NAME", "ORG_CODE", "ORG_NAME", "STAFF_GROUP", "REASON",
    "FTE_DAYS_AVAILABLE", "FTE_DAYS_LOST", "FTE_DAYS_LOST_REASON",
]
STAFF_GROUPS = ("All staff groups", "Nurses & health visitors", "Support to clinical staff")
# Reason -> typical share of days lost (national mix, roughly); flu is scaled by season.
REASONS: dict[str, float] = {
    "S10 Anxiety/stress/depression/other psychiatric illnesses": 0.245,
    "S11 Back problems": 0.05,
    "S12 Other musculoskeletal problems": 0.085,
    "S13 Cold, Cough, Flu - Influenza": 0.12,
    "S15 Chest & respiratory problems": 0.04,
    "S16 Headache / migraine": 0.03,
    "S17 Benign and malignant tumours, cancers": 0.035,
    "S19 Heart, cardiac & circulatory problems": 0.015,
    "S25 Gastrointestinal problems": 0.08,
    "S26 Genitourinary & gynaecological disorders": 0.03,
    "S27 Infectious diseases": 0.05,
    "S28 Injury, fracture": 0.04,
    "S30 Pregnancy related disorders": 0.02,
    "S98 Other known causes - not elsewhere classified": 0.07,
    "S99 Unknown causes / Not specified": 0.05,
}
_FLU = list(REASONS).index("S13 Cold, Cough, Flu - Influenza")


def file_name(month: date) -> str:
    return f"NHS Sickness Absence rates by reason, {month:%B %Y}.csv"


def write(world: World, out_dir: Path) -> list[Path]:
    """Write every month's file into the publication page's folder."""
    panel = staff_in_post(world)
    return write_monthly(world, out_dir, file_name, lambda month: render_month(world, month, panel))


def render_month(world: World, month: date, panel: StaffInPost | None = None) -> bytes:
    """One month's file: every reason for each published staff group of each open trust."""
    panel = panel or staff_in_post(world)
    day = month_end(month.year, month.month)
    reasons = [csv_fields([reason]) for reason in REASONS]
    lines = [csv_fields(HEADER)]
    for org in world.open_organisations(day):
        prefix = csv_fields([day.strftime("%d/%m/%Y"), org.region_code, org.region_name, org.code, org.name])
        rng = world.rng("sickness-reason", org.code, month)
        for group in staff_group_days(world, panel, org.code, month):
            if group.staff_group not in STAFF_GROUPS or group.blanked:
                continue
            label = csv_fields([group.staff_group])
            for reason, days in zip(reasons, reason_days(group, month, rng), strict=True):
                lines.append(f"{prefix},{label},{reason},{group.available},{group.lost},{days}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def reason_days(group: GroupDays, month: date, rng: np.random.Generator) -> list[float]:
    """The group's days lost split across reasons; rounded to 5 dp and adding up to the total."""
    shares = np.array(list(REASONS.values()))
    shares[_FLU] *= 1 + 0.8 * math.cos(2 * math.pi * (month.month - 1) / 12)
    shares = rng.dirichlet(shares / shares.sum() * 200)
    days = [round(group.lost * share, 5) for share in shares[:-1]]
    return [*days, round(group.lost - sum(days), 5)]
