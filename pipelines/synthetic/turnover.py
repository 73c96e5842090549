"""Synthetic NHS Workforce Statistics turnover: leavers, joiners and denominators (SYNTHETIC DATA).

One file per month: for each trust open at its end, the twelve months to that month's leavers and
joiners (``Period`` ``YYYYMM to YYYYMM``) and the staff-in-post denominators at the start and the
end of the twelve months (``Denoms``, ``Period`` ``YYYYMM``), for all staff groups and a few
staff groups. Denominators come from the staff-in-post panel of
:mod:`pipelines.synthetic.workforce` (less doctors in training and other exclusions), so the two
sources agree.

The planted truth: a trust's leaver rate is ``0.10 - 0.015 * culture_effect * culture`` plus
noise (:func:`planted_leaver_rate`), so better culture means fewer leavers. Joiners make up the
change in staff in post. A few group-level counts are published as ``.`` (missing), and counts
of five or fewer appear as they are, as in the real files.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from pipelines.parsers.common import month_end
from pipelines.synthetic.workforce import (
    StaffInPost,
    benchmark_group,
    cluster_group,
    csv_fields,
    staff_in_post,
)
from pipelines.synthetic.world import Organisation, World, _add_months, write_monthly

HEADER = [
    "Period", "Type", "Org code", "Org name", "NHSE region code", "NHSE region name", "ICS code", "ICS name",
    "Cluster group", "Benchmark group", "Staff group", "HC", "FTE",
]
ALL_STAFF_GROUPS = "All staff groups"
DENOMINATOR_SHARE = 0.94  # staff in post counted for turnover (doctors in training etc. excluded)
# Staff group -> leaver rate relative to the trust's all-staff rate.
GROUP_RATE: dict[str, float] = {
    "Nurses & health visitors": 0.95,
    "HCHS doctors": 0.8,
    "Support to clinical staff": 1.25,
    "NHS infrastructure support": 1.0,
}
HC_PER_FTE = 1.15
MISSING_SHARE = 0.005  # share of group-level lines published with '.' counts


def planted_leaver_rate(world: World, code: str, month: date) -> float:
    """The all-staff leaver rate planted for the twelve months to ``month`` (first day)."""
    noise = world.rng("turnover", code, month).normal(scale=0.006)
    rate = 0.10 - 0.015 * world.culture_effect * world.culture_at(code, month) + noise
    return float(min(max(rate, 0.03), 0.25))


def file_name(month: date) -> str:
    return f"NHS Workforce Statistics, {month:%B %Y} Organisation level turnover.csv"


def write(world: World, out_dir: Path) -> list[Path]:
    """Write every month's file into the publication page's folder."""
    panel = staff_in_post(world)
    return write_monthly(world, out_dir, file_name, lambda month: render_month(world, month, panel))


def render_month(world: World, month: date, panel: StaffInPost | None = None) -> bytes:
    """One month's file: leavers, joiners and both denominators per trust and staff group."""
    panel = panel or staff_in_post(world)
    first = _add_months(month, -11)
    lines = [csv_fields(HEADER)]
    for org in world.open_organisations(month_end(month.year, month.month)):
        lines.extend(_org_lines(world, panel, org, first, month))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _org_lines(world: World, panel: StaffInPost, org: Organisation, first: date, last: date) -> list[str]:
    rate = planted_leaver_rate(world, org.code, last)
    rng = world.rng("turnover", "groups", org.code, last)
    start, end = panel.leaf_fte(org.code, first), panel.leaf_fte(org.code, last)
    groups = {ALL_STAFF_GROUPS: (sum(start.values()), sum(end.values()), rate, False)}
    for group, relative in GROUP_RATE.items():
        if end[group] > 0:
            groups[group] = (start[group], end[group], rate * relative * rng.lognormal(0, 0.1),
                             rng.random() < MISSING_SHARE)
    prefix = csv_fields([
        org.code, org.name, org.region_code, org.region_name, org.icb_code, org.icb_name, cluster_group(org),
        benchmark_group(org, panel.size(org.code)),
    ])
    window = f"{first:%Y%m} to {last:%Y%m}"
    lines = []
    for group, (fte_start, fte_end, group_rate, missing) in groups.items():
        den_start, den_end = round(fte_start * DENOMINATOR_SHARE, 2), round(fte_end * DENOMINATOR_SHARE, 2)
        leavers = round(group_rate * (den_start + den_end) / 2, 2)
        joiners = round(max(leavers + den_end - den_start + rng.normal(scale=0.01 * leavers + 0.1), 0.0), 2)
        label = csv_fields([group])
        counts = [("Leavers", window, leavers, missing), ("Joiners", window, joiners, missing),
                  ("Denoms", f"{first:%Y%m}", den_start, False), ("Denoms", f"{last:%Y%m}", den_end, False)]
        for kind, period, fte, blank in counts:
            hc, value = (".", ".") if blank else (f"{np.ceil(fte * HC_PER_FTE):.0f}", f"{fte:.2f}")
            lines.append(f"{period},{kind},{prefix},{label},{hc},{value}")
    return lines

