"""Synthetic Friends and Family Test workbooks: one per setting and month, in the published layouts.

Each workbook has the real sheet names, the title in ``Notes!A2`` (the only place the period is
given), a two-row header whose upper row merges "Breakdown of Responses" and "Mode of
Collection" over the Likert and mode names, aggregate rows (England including/excluding the
independent sector, "Selection (excluding suppressed data)") above the trusts, and the
publisher's tokens: ``*`` for 1-4 responses plus secondary suppression of a sibling trust in the
same ICB (so the ICB total cannot reveal it), ``-`` where no percentage can be calculated and
``NA`` where a trust submitted nothing.

Planted truth: logit(share positive) = setting base + culture_effect * 0.5 * culture_at(trust,
month) + noise; the world's outlier trusts are 25 percentage points lower. Months before April
2020 use the old "would you recommend" question and its headers.

Settings are written for the trusts that provide them (acute trusts for inpatient, A&E,
outpatient and maternity; mental health, community and ambulance trusts for theirs), plus three
independent-sector providers in the inpatient and outpatient files, as real files carry them.
The content is .xlsx; files are named .xlsm like the publisher's macro workbooks (calamine reads
them by content).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import xlsxwriter

from pipelines.synthetic.world import SYNTHETIC_BANNER, World

LIKERT = ("Very Good", "Good", "Neither Good nor Poor", "Poor", "Very Poor", "Don't Know")
LIKERT_BEFORE_2020 = (
    "Extremely Likely", "Likely", "Neither Likely nor Unlikely", "Unlikely", "Extremely Unlikely", "Don't Know",
)
MODES = (
    "Mode SMS", "Mode Electronic Discharge", "Mode Electronic Home", "Mode Paper Discharge",
    "Mode Paper Home", "Mode Telephone", "Mode Online", "Mode Other",
)
QUESTION_CHANGE = date(2020, 4, 1)
OUTLIER_DROP = 0.25
ACUTE = ("Acute", "Acute Specialist")

# Independent-sector providers as they appear in the real inpatient/outpatient files.
INDEPENDENT_SECTOR: tuple[tuple[str, str], ...] = (
    ("NT2", "SYNTHETIC INDEPENDENT HOSPITALS GROUP (NT2)"),
    ("NQM01", "SYNTHETIC INDEPENDENT TREATMENT CENTRE (NQM01)"),
    ("G3Z1Q", "SYNTHETIC INDEPENDENT EYE CLINIC (G3Z1Q)"),
)


@dataclass(frozen=True)
class TouchPoint:
    """One trust-level sheet: its name, typical responses and whether it has Total Eligible."""

    sheet: str
    median_responses: float
    eligible: bool
    key: str = ""


@dataclass(frozen=True)
class Setting:
    """How the publisher lays out one setting's workbook."""

    layout: str
    title: str
    file_slug: str
    org_types: tuple[str, ...]
    touch_points: tuple[TouchPoint, ...]
    header_row: int  # 1-based upper header row; the lower is the next
    aggregates: tuple[str, ...]
    labels: tuple[str, str, str]  # ICB code, organisation code, organisation name
    modes: tuple[str, ...]
    other_sheets: tuple[str, ...]  # written after Notes, before the trust sheets
    trailing_sheets: tuple[str, ...]
    base_share: float
    independent_sector: bool = False


_ENGLAND = ("England (including IS)", "England (excluding IS)", "Selection (excluding suppressed data)")
_TRUST_LABELS = ("ICB Code", "Trust Code", "Trust Name")

SETTINGS: tuple[Setting, ...] = (
    Setting("inpatient", "Inpatient", "inpatient", ACUTE, (TouchPoint("Trusts", 900, True),), 10, _ENGLAND,
            _TRUST_LABELS, MODES, ("Summary", "ICB"), ("Sites", "Wards", "BS"), 0.945, True),
    Setting("ae", "A&E", "ae", ("Acute",), (TouchPoint("Trusts", 1500, True),), 3, _ENGLAND[:2],
            _TRUST_LABELS, tuple(m for m in MODES if m != "Mode Electronic Home"), ("Summary", "ICB"),
            ("Sites", "BS"), 0.80),
    Setting("ambulance", "Ambulance", "ambulance", ("Ambulance",), (TouchPoint("PTS Org", 120, False),), 8,
            ("England", "Selection (excluding suppressed data)"), ("ICB code", "Org Code", "Organisation Name"),
            ("Mode SMS", "Mode Paper Home", "Mode Telephone", "Mode Online", "Mode Other"), ("PTS ICB",),
            ("Mode Org",), 0.92),
    Setting("outpatient", "Outpatient", "outpatient", ACUTE, (TouchPoint("Orgs", 2500, False),), 10, _ENGLAND,
            ("ICB Code", "Org Code", "Org Name"), MODES, ("Summary", "ICB"), ("Sites", "BS"), 0.94, True),
    Setting("maternity", "Maternity", "maternity", ("Acute",), (
        TouchPoint("Trusts Q1", 60, False, "q1_antenatal"),
        TouchPoint("Trusts Q2", 250, True, "q2_birth"),
        TouchPoint("Trusts Q3", 150, False, "q3_postnatal_ward"),
        TouchPoint("Trusts Q4", 40, False, "q4_postnatal_community"),
    ), 10, _ENGLAND, _TRUST_LABELS, MODES, ("Summary", "ICB"), ("BS",), 0.93),
    Setting("mental_health", "Mental Health", "mental-health", ("Mental Health",),
            (TouchPoint("Trusts", 250, False),), 10, _ENGLAND[:1] + _ENGLAND[2:], _TRUST_LABELS, MODES,
            ("Summary", "ICB"), ("BS",), 0.87),
    Setting("community", "Community", "community", ("Community Provider Trust",),
            (TouchPoint("Trusts", 400, False),), 10, _ENGLAND[:1] + _ENGLAND[2:], _TRUST_LABELS, MODES,
            ("Summary", "ICB"), ("BS",), 0.95),
)
SETTINGS_BY_LAYOUT = {s.layout: s for s in SETTINGS}


@dataclass(frozen=True)
class Provider:
    code: str
    name: str
    icb_code: str
    independent: bool = False


@dataclass(frozen=True)
class Counts:
    """One provider's figures for a touch point and month, before suppression is applied."""

    total: int
    likert: tuple[int, ...]
    modes: tuple[int, ...]
    eligible: int | None
    submitted: bool = True

    @property
    def positive(self) -> float | None:
        return (self.likert[0] + self.likert[1]) / self.total if self.total else None

    @property
    def negative(self) -> float | None:
        return (self.likert[3] + self.likert[4]) / self.total if self.total else None


def file_name(setting: Setting, month: date) -> str:
    return f"friends-and-family-test-{setting.file_slug}-data-{month:%B}-{month.year}.xlsm".lower()


def title(setting: Setting, month: date) -> str:
    return f"{setting.title} Friends and Family Test (FFT) Data - {month:%B %Y}"


def planted_share(world: World, setting: Setting, touch: TouchPoint, provider: Provider, month: date) -> float:
    """The true share of positive answers for a provider, touch point and month."""
    rng = world.rng("fft-share", setting.layout, touch.sheet, provider.code, month)
    culture = 0.0 if provider.independent else world.culture_at(provider.code, month)
    logit = math.log(setting.base_share / (1 - setting.base_share))
    share = 1 / (1 + math.exp(-(logit + world.culture_effect * 0.5 * culture + rng.normal(scale=0.15))))
    if provider.code in world.default_outlier_trusts:
        share = max(share - OUTLIER_DROP, 0.2)
    return share


def provider_counts(world: World, setting: Setting, touch: TouchPoint, provider: Provider, month: date) -> Counts:
    """A provider's responses for one month, drawn around the planted share."""
    rng = world.rng("fft-counts", setting.layout, touch.sheet, provider.code, month)
    size = world.rng("fft-size", setting.layout, touch.sheet, provider.code).lognormal(sigma=0.6)
    draw = rng.random()
    if draw < 0.004:
        return Counts(0, (0,) * 6, (0,) * len(setting.modes), None, submitted=False)
    total = 0 if draw < 0.009 else int(rng.integers(1, 5)) if draw < 0.03 else _responses(rng, touch, size)
    share = planted_share(world, setting, touch, provider, month)
    rest = 1 - share
    likert = rng.multinomial(total, [share * 0.72, share * 0.28, rest * 0.45, rest * 0.2, rest * 0.15, rest * 0.2])
    mode_weights = np.linspace(3, 1, len(setting.modes))
    modes = rng.multinomial(total, mode_weights / mode_weights.sum())
    eligible = int(total / rng.uniform(0.12, 0.35)) if touch.eligible else None
    return Counts(total, tuple(int(x) for x in likert), tuple(int(x) for x in modes), eligible)


def _responses(rng: np.random.Generator, touch: TouchPoint, size: float) -> int:
    return max(1, int(round(touch.median_responses * size * rng.lognormal(sigma=0.15))))


def providers(world: World, setting: Setting, month: date) -> list[Provider]:
    """Open trusts that provide the setting (and independent providers where real files list them)."""
    found = [
        Provider(o.code, o.name, o.icb_code)
        for o in world.open_organisations(_month_end(month))
        if o.org_type in setting.org_types
    ]
    if setting.independent_sector:
        icbs = sorted({o.icb_code for o in world.organisations})
        found += [Provider(code, name, icbs[i % len(icbs)], True) for i, (code, name) in enumerate(INDEPENDENT_SECTOR)]
    return sorted(found, key=lambda p: (p.icb_code, p.name))


def suppressed_codes(rows: list[tuple[Provider, Counts]]) -> set[str]:
    """Primary (1-4 responses) and secondary suppression (smallest sibling in the same ICB)."""
    primary = {p.code for p, c in rows if c.submitted and 1 <= c.total <= 4}
    suppressed = set(primary)
    for icb in {p.icb_code for p, _ in rows if p.code in primary}:
        siblings = [(c.total, p.code) for p, c in rows if p.icb_code == icb and c.submitted and c.total > 0]
        hidden = [code for _, code in siblings if code in suppressed]
        others = sorted((t, code) for t, code in siblings if code not in suppressed)
        if len(hidden) == 1 and others:
            suppressed.add(others[0][1])
    return suppressed


class _Writer:
    """Writes one workbook's sheets with shared cell formats."""

    def __init__(self, path: Path, setting: Setting, month: date) -> None:
        self.book = xlsxwriter.Workbook(str(path))
        self.setting, self.month = setting, month
        self.bold = self.book.add_format({"bold": True, "text_wrap": True, "align": "center", "valign": "vcenter"})
        self.percent = self.book.add_format({"num_format": "0.0%"})
        self.likert = LIKERT if month >= QUESTION_CHANGE else LIKERT_BEFORE_2020

    def close(self) -> None:
        self.book.close()

    def notes(self) -> None:
        sheet = self.book.add_worksheet("Notes")
        lines = [
            "NHS England - Friends and Family Test",
            title(self.setting, self.month),
            SYNTHETIC_BANNER,
            "",
            "* Suppressed: 1-4 responses, and further figures suppressed so that they cannot be derived from totals.",
            "- Not calculable: no responses were received.",
            "NA Not available: the organisation did not submit data.",
            "Percentages are calculated on all responses, including Don't know.",
        ]
        for row, line in enumerate(lines):
            sheet.write(row, 0, line)

    def placeholder(self, name: str) -> None:
        sheet = self.book.add_worksheet(name)
        sheet.write(0, 0, title(self.setting, self.month))
        sheet.write(1, 0, f"{name}: not reproduced in the synthetic file. {SYNTHETIC_BANNER}")

    def measure_labels(self, touch: TouchPoint) -> list[str]:
        positive = "Percentage Positive" if self.month >= QUESTION_CHANGE else "Percentage Recommended"
        negative = "Percentage Negative" if self.month >= QUESTION_CHANGE else "Percentage Not Recommended"
        return ["Total Responses", *(["Total Eligible"] if touch.eligible else []), positive, negative]

    def header(self, sheet, touch: TouchPoint, labels: tuple[str, ...]) -> int:
        """Write the two-row header; returns the 0-based row of the first aggregate row."""
        top = self.setting.header_row - 1
        singles = [*labels, *self.measure_labels(touch)]
        for col, label in enumerate(singles):
            sheet.merge_range(top, col, top + 1, col, label, self.bold)
        start = len(singles)
        groups = (("Breakdown of Responses", self.likert), ("Mode of Collection", self.setting.modes))
        for group, names in groups:
            sheet.merge_range(top, start, top, start + len(names) - 1, group, self.bold)
            sheet.write_row(top + 1, start, names, self.bold)
            start += len(names)
        return top + 2

    def trust_sheet(self, touch: TouchPoint, rows: list[tuple[Provider, Counts]]) -> None:
        sheet = self.book.add_worksheet(touch.sheet)
        sheet.write(0, 0, f"{title(self.setting, self.month)} - {touch.sheet}")
        first = self.header(sheet, touch, self.setting.labels)
        hidden = suppressed_codes(rows)
        aggregates = {
            "England": rows,
            "England (including IS)": rows,
            "England (excluding IS)": [r for r in rows if not r[0].independent],
            "Selection (excluding suppressed data)": [r for r in rows if r[0].code not in hidden],
        }
        for offset, label in enumerate(self.setting.aggregates):
            self.figures(sheet, first + offset, ["", "", label], touch, _sum(aggregates[label], self.setting), False)
        for offset, (provider, counts) in enumerate(rows, start=first + len(self.setting.aggregates)):
            ids = [provider.icb_code, provider.code, provider.name]
            self.figures(sheet, offset, ids, touch, counts, provider.code in hidden)

    def figures(self, sheet, row: int, ids: list[str], touch: TouchPoint, counts: Counts, hidden: bool) -> None:
        """One row: identifiers, totals, percentages, Likert and modes, with the publisher's tokens."""
        sheet.write_row(row, 0, ids)
        col = len(ids)
        width = len(self.measure_labels(touch)) + len(self.likert) + len(self.setting.modes)
        if not counts.submitted:
            sheet.write_row(row, col, ["NA"] * width)
            return
        sheet.write(row, col, counts.total)
        col += 1
        if touch.eligible:
            sheet.write(row, col, counts.eligible)
            col += 1
        for share in (counts.positive, counts.negative):
            sheet.write(row, col, "*" if hidden else "-" if share is None else share, self.percent)
            col += 1
        sheet.write_row(row, col, ["*"] * (width - (col - len(ids))) if hidden else [*counts.likert, *counts.modes])


def _sum(rows: list[tuple[Provider, Counts]], setting: Setting) -> Counts:
    """An aggregate row's figures: the sum over submitted providers."""
    submitted = [c for _, c in rows if c.submitted]
    eligible = [c.eligible for c in submitted if c.eligible is not None]
    return Counts(
        sum(c.total for c in submitted),
        tuple(int(x) for x in np.sum([c.likert for c in submitted], axis=0)) if submitted else (0,) * 6,
        tuple(int(x) for x in np.sum([c.modes for c in submitted], axis=0)) if submitted else (0,) * len(setting.modes),
        sum(eligible) if eligible else None,
    )


def render(world: World, setting: Setting, month: date, path: Path) -> Path:
    """Write one setting's workbook for one month."""
    writer = _Writer(path, setting, month)
    writer.notes()
    for name in setting.other_sheets:
        writer.placeholder(name)
    for touch in setting.touch_points:
        rows = [(p, provider_counts(world, setting, touch, p, month)) for p in providers(world, setting, month)]
        writer.trust_sheet(touch, rows)
    for name in setting.trailing_sheets:
        writer.placeholder(name)
    writer.close()
    return path


def write(world: World, out_dir: Path) -> list[Path]:
    """Write every setting's workbook for every month of the world."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        render(world, setting, month, out_dir / file_name(setting, month))
        for month in world.months
        for setting in SETTINGS
    ]


def _month_end(month: date) -> date:
    from pipelines.parsers.common import month_end

    return month_end(month.year, month.month)
