"""Synthetic NHS Workforce Statistics: staff in post by staff group and organisation (SYNTHETIC DATA).

One file per month, as the publisher releases them:

- before October 2025 the ``NHS Workforce Statistics, <Month> <Year> Staff Group and
  Organisation.csv`` pack (long, ``Data Type`` FTE/HC, a ``Total`` staff group, ISO month-end
  dates), restating the previous twelve months with small revisions, as the real file does;
- from October 2025 the ``Core 1. Staff group - England, NHSE region, ICS and org, <Month>
  <Year>.csv`` pack (national, regional, ICS and organisation lines, FTE and HEADCOUNT columns),
  also restating twelve months.

Numbers come from one planted panel (:func:`staff_in_post`): a size per trust by type, realistic
staff-group shares, 3 % a year growth and small monthly noise. Totals are the sum of their leaf
groups (never of a total and its parts), headcount exceeds FTE in every group, and the staff
group ``HCHS doctors`` is spelt ``HCHS Doctors`` before October 2024, as in the real 2024-25 file.
The turnover and staff-group sickness writers reuse the panel so the sources agree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path

import numpy as np

from pipelines.parsers.common import month_end
from pipelines.synthetic.world import Organisation, World, _add_months

CORE1_FROM = date(2025, 10, 1)
RESTATED_MONTHS = 12
REVISION_SD = 0.002  # relative size of a later vintage's revision to an earlier month
LOWER_CASE_DOCTORS_FROM = date(2024, 10, 1)

STAFF_GROUP_ORGANISATION_HEADER = [
    "Date", "NHSE_Region_Code", "NHSE_Region_Name", "ICS code", "ICS name", "Org Code", "Org Name",
    "Cluster Group", "Benchmark Group", "Staff Group Sort Order", "Staff Group", "Data Type", "Total",
]
CORE1_HEADER = [
    "DATA_MONTH", "DATA_LEVEL", "ORG_CODE", "ORG_NAME", "NHSE_REGION_NAME", "ICS_NAME",
    "MAIN_STAFF_GROUP", "STAFF_GROUP_1", "FTE", "HEADCOUNT",
]


@dataclass(frozen=True)
class StaffGroup:
    """A published staff group: its label and sort order in the old pack, its Core 1 labels."""

    label: str
    sort_order: int
    core1: tuple[str, str]  # (MAIN_STAFF_GROUP, STAFF_GROUP_1)
    hc_ratio: float = 1.0  # headcount per FTE (part-time working)


_PQCS = "Professionally qualified clinical staff"
_ALL = "All staff groups"
# Leaf groups: they add up to the total. Shares by org type follow the national mix roughly.
LEAVES: tuple[StaffGroup, ...] = (
    StaffGroup("HCHS doctors", 3, (_PQCS, "HCHS doctors - All grades"), 1.04),
    StaffGroup("Nurses & health visitors", 14, (_PQCS, "Nurses & health visitors"), 1.13),
    StaffGroup("Midwives", 15, (_PQCS, "Midwives"), 1.22),
    StaffGroup("Ambulance staff", 16, (_PQCS, "Ambulance staff"), 1.05),
    StaffGroup("Scientific, therapeutic & technical staff", 17, (_PQCS, "Scientific, therapeutic & technical staff"), 1.15),
    StaffGroup("Support to clinical staff", 18, ("Support to clinical staff", _ALL), 1.18),
    StaffGroup("NHS infrastructure support", 22, ("NHS infrastructure support", _ALL), 1.10),
)
TOTAL = StaffGroup("Total", 1, (_ALL, _ALL))
PQCS = StaffGroup(_PQCS, 2, (_PQCS, _ALL))
CONSULTANT = StaffGroup("Consultant", 4, (_PQCS, "HCHS doctors - Consultant"), 1.03)
PUBLISHED: tuple[StaffGroup, ...] = tuple(sorted((TOTAL, PQCS, CONSULTANT, *LEAVES), key=lambda g: g.sort_order))
_PQCS_LEAVES = [i for i, g in enumerate(LEAVES) if g.core1[0] == _PQCS]
_DOCTORS = 0

SHARES: dict[str, tuple[float, ...]] = {  # org type -> share of FTE per leaf group (LEAVES order)
    "Acute": (0.15, 0.30, 0.03, 0.0, 0.13, 0.22, 0.17),
    "Acute Specialist": (0.16, 0.32, 0.0, 0.0, 0.16, 0.18, 0.18),
    "Mental Health": (0.07, 0.30, 0.0, 0.0, 0.17, 0.28, 0.18),
    "Community Provider Trust": (0.03, 0.35, 0.01, 0.0, 0.22, 0.20, 0.19),
    "Ambulance": (0.002, 0.03, 0.0, 0.55, 0.01, 0.22, 0.188),
}
SIZES: dict[str, tuple[float, float]] = {  # org type -> range of total FTE
    "Acute": (3000, 12000),
    "Acute Specialist": (1500, 5000),
    "Mental Health": (1500, 6000),
    "Community Provider Trust": (800, 3500),
    "Ambulance": (3000, 6000),
}


def cluster_group(org: Organisation) -> str:
    """The publisher's cluster group (a coarse org type: specialist trusts are acute)."""
    return "Acute" if org.org_type == "Acute Specialist" else org.org_type


def benchmark_group(org: Organisation, size: float) -> str:
    """The publisher's benchmark group: acute trusts by size, the rest by type."""
    if org.org_type == "Acute":
        return "Acute - Large" if size > 8000 else "Acute - Medium" if size > 4500 else "Acute - Small"
    return {
        "Acute Specialist": "Acute - Specialist",
        "Mental Health": "Mental Health and Learning Disability",
        "Community Provider Trust": "Community",
        "Ambulance": "Ambulance",
    }[org.org_type]


@dataclass
class StaffInPost:
    """The planted staff in post: leaf-group FTE per organisation and month, before revisions."""

    world: World
    months: list[date]  # first days, the world's months plus the twelve restated before them
    sizes: np.ndarray  # (orgs,) total FTE at the start
    shares: np.ndarray  # (orgs, leaves)
    consultant_share: np.ndarray  # (orgs,) consultants as a share of doctors
    leaves: np.ndarray  # (orgs, months, leaves) FTE

    @cached_property
    def org_index(self) -> dict[str, int]:
        return {o.code: i for i, o in enumerate(self.world.organisations)}

    @cached_property
    def month_index(self) -> dict[date, int]:
        return {m: i for i, m in enumerate(self.months)}

    def total_fte(self, code: str, month: date) -> float:
        """All staff groups' FTE of one trust in one month (first publication)."""
        return float(self.leaves[self.org_index[code], self.month_index[month]].sum())

    def leaf_fte(self, code: str, month: date) -> dict[str, float]:
        """FTE per leaf staff group of one trust in one month."""
        values = self.leaves[self.org_index[code], self.month_index[month]]
        return {g.label: float(v) for g, v in zip(LEAVES, values, strict=True)}

    def size(self, code: str) -> float:
        return float(self.sizes[self.org_index[code]])

    def published(self, leaves: np.ndarray, org_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """FTE and headcount for every published group (PUBLISHED order) from leaf FTE.

        ``leaves`` is (organisations, leaves) for the panel rows ``org_rows``; totals are sums of leaves, so no total is ever added to
        its own parts. Headcount is rounded up from FTE, so it always exceeds it.
        """
        hc_leaves = np.ceil(leaves * np.array([g.hc_ratio for g in LEAVES]))
        consultant = leaves[..., _DOCTORS] * self.consultant_share[org_rows]
        fte = {
            TOTAL.label: leaves.sum(-1),
            PQCS.label: leaves[..., _PQCS_LEAVES].sum(-1),
            CONSULTANT.label: consultant,
            **{g.label: leaves[..., i] for i, g in enumerate(LEAVES)},
        }
        hc = {
            TOTAL.label: np.ceil(hc_leaves.sum(-1) * 0.99),
            PQCS.label: np.ceil(hc_leaves[..., _PQCS_LEAVES].sum(-1) * 0.995),
            CONSULTANT.label: np.ceil(consultant * CONSULTANT.hc_ratio),
            **{g.label: hc_leaves[..., i] for i, g in enumerate(LEAVES)},
        }
        return (np.stack([fte[g.label] for g in PUBLISHED], -1), np.stack([hc[g.label] for g in PUBLISHED], -1))


def staff_in_post(world: World) -> StaffInPost:
    """Build the planted panel: one draw per world, so every writer sees the same numbers."""
    orgs = world.organisations
    months = [_add_months(world.months[0], i - RESTATED_MONTHS + 1) for i in range(len(world.months) + RESTATED_MONTHS - 1)]
    rng = world.rng("workforce", "panel")
    low, high = np.array([SIZES[o.org_type] for o in orgs]).T
    sizes = low + (high - low) * rng.random(len(orgs))
    base = np.array([SHARES[o.org_type] for o in orgs])
    shares = base * np.clip(1 + 0.1 * rng.normal(size=base.shape), 0.5, 1.5)
    shares /= shares.sum(axis=1, keepdims=True)
    consultant_share = 0.38 + 0.05 * rng.random(len(orgs))
    growth = 1 + 0.03 * np.arange(len(months)) / 12
    noise = 1 + 0.004 * rng.normal(size=(len(orgs), len(months), len(LEAVES)))
    leaves = sizes[:, None, None] * shares[:, None, :] * growth[None, :, None] * noise
    return StaffInPost(world, months, sizes, shares, consultant_share, leaves)


# --- files --------------------------------------------------------------------------------------


def file_name(vintage: date) -> str:
    """The published name: the old pack before October 2025, Core 1 from then on."""
    if vintage >= CORE1_FROM:
        return f"Core 1. Staff group - England, NHSE region, ICS and org, {vintage:%B %Y}.csv"
    return f"NHS Workforce Statistics, {vintage:%B %Y} Staff Group and Organisation.csv"


def write(world: World, out_dir: Path) -> list[Path]:
    """Write every month's file (each restating twelve months) into the publication's folder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    panel = staff_in_post(world)
    paths = []
    for vintage in world.months:
        path = out_dir / file_name(vintage)
        render = render_core1 if vintage >= CORE1_FROM else render_staff_group_organisation
        path.write_bytes(render(world, vintage, panel))
        paths.append(path)
    return paths


def restated(panel: StaffInPost, vintage: date) -> Iterator[tuple[date, list[int], np.ndarray, np.ndarray]]:
    """Each month a vintage restates: the organisations open then, their group FTE and headcount.

    Months before the vintage carry a small revision drawn for that vintage, so the same month
    differs slightly between publications, as it does in the real cumulative file.
    """
    world = panel.world
    end = panel.month_index[vintage]
    window = list(range(end - RESTATED_MONTHS + 1, end + 1))
    revision = 1 + REVISION_SD * world.rng("workforce", "revision", vintage).normal(
        size=(len(world.organisations), len(window), len(LEAVES))
    )
    revision[:, -1, :] = 1.0  # the newest month is as first published
    for j, m in enumerate(window):
        month = panel.months[m]
        rows = [panel.org_index[o.code] for o in world.open_organisations(month_end(month.year, month.month))]
        fte, hc = panel.published(panel.leaves[rows, m, :] * revision[rows, j, :], np.array(rows))
        yield month, rows, np.round(fte, 2), hc


def render_staff_group_organisation(
    world: World, vintage: date, panel: StaffInPost | None = None, date_format: str = "%Y-%m-%d"
) -> bytes:
    """One vintage of the old pack; ``date_format`` "%d/%m/%Y" gives the other members' dates."""
    panel = panel or staff_in_post(world)
    orgs = world.organisations
    lines = [csv_fields(STAFF_GROUP_ORGANISATION_HEADER) + "\r\n"]
    for month, rows, fte, hc in restated(panel, vintage):
        day = month_end(month.year, month.month).strftime(date_format)
        labels = [csv_fields([g.sort_order, _label(g, month)]) for g in PUBLISHED]
        for k, row in enumerate(rows):
            org = orgs[row]
            prefix = csv_fields([
                day, org.region_code, org.region_name, org.icb_code, org.icb_name, org.code, org.name,
                cluster_group(org), benchmark_group(org, panel.sizes[row]),
            ])
            for g, label in enumerate(labels):
                if fte[k, g] > 0:
                    lines.append(f"{prefix},{label},FTE,{fte[k, g]:.2f}\r\n{prefix},{label},HC,{hc[k, g]:.0f}\r\n")
    return "".join(lines).encode("utf-8")


def render_core1(world: World, vintage: date, panel: StaffInPost | None = None) -> bytes:
    """One vintage of the Core 1 pack: national, region, ICS and organisation lines per month."""
    panel = panel or staff_in_post(world)
    orgs = world.organisations
    lines = [csv_fields(CORE1_HEADER) + "\r\n"]
    labels = [csv_fields(group.core1) for group in PUBLISHED]
    for month, rows, fte, hc in restated(panel, vintage):
        day = month_end(month.year, month.month).isoformat()
        for level, code, name, region, icb, members in _core1_units(orgs, rows):
            prefix = csv_fields([day, level, code, name, region, icb])
            group_fte, group_hc = fte[members].sum(0), hc[members].sum(0)
            for g, label in enumerate(labels):
                if group_fte[g] > 0:
                    lines.append(f"{prefix},{label},{group_fte[g]:.2f},{group_hc[g]:.0f}\r\n")
    return "".join(lines).encode("utf-8")


def _core1_units(
    orgs: list[Organisation], rows: list[int]
) -> Iterator[tuple[str, str, str, str, str, list[int]]]:
    """(level, code, name, region, ICS, member positions) for the national, region, ICS, org lines."""
    open_orgs = [orgs[r] for r in rows]
    yield "National", "", "All organisations", "", "", list(range(len(rows)))
    for region in sorted({o.region_code for o in open_orgs}):
        members = [k for k, o in enumerate(open_orgs) if o.region_code == region]
        yield "NHS England region", region, open_orgs[members[0]].region_name, open_orgs[members[0]].region_name, "", members
    for icb in sorted({o.icb_code for o in open_orgs}):
        members = [k for k, o in enumerate(open_orgs) if o.icb_code == icb]
        first = open_orgs[members[0]]
        yield "ICS area", icb, first.icb_name, first.region_name, first.icb_name, members
    for k, o in enumerate(open_orgs):
        yield "Organisation", o.code, o.name, o.region_name, o.icb_name, [k]


def _label(group: StaffGroup, month: date) -> str:
    """``HCHS Doctors`` before October 2024, ``HCHS doctors`` after: the real file has both."""
    if group.label == "HCHS doctors" and month < LOWER_CASE_DOCTORS_FROM:
        return "HCHS Doctors"
    return group.label


def csv_fields(fields: list[object] | tuple[object, ...]) -> str:
    """Fields rendered as one CSV line without its line end, quoting only where needed (commas)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()
