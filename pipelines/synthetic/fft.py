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
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
import xlsxwriter

from pipelines.synthetic.world import SYNTHETIC_BANNER, World

LIKERT = ("Very Good", "Good", "Neither Good nor Poor", "Poor", "Very Poor", "Don't Know")
LIKERT_BEFORE_2020 = (
    "Extremely Likely",
    "Likely",
    "Neither Likely nor Unlikely",
    "Unlikely",
    "Extremely Unlikely",
    "Don't Know",
)
MODES = (
    "Mode SMS",
    "Mode Electronic Discharge",
    "Mode Electronic Home",
    "Mode Paper Discharge",
    "Mode Paper Home",
    "Mode Telephone",
    "Mode Online",
    "Mode Other",
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

# The inpatient-style layout most settings share; each setting overrides what differs.
_TRUSTS = Setting(
    layout="",
    title="",
    file_slug="",
    org_types=(),
    touch_points=(),
    header_row=10,
    aggregates=_ENGLAND,
    labels=_TRUST_LABELS,
    modes=MODES,
    other_sheets=("Summary", "ICB"),
    trailing_sheets=("BS",),
    base_share=0.9,
)
_NO_IS = _ENGLAND[:1] + _ENGLAND[2:]

# fmt: off
SETTINGS: tuple[Setting, ...] = (
    replace(_TRUSTS, layout="inpatient", title="Inpatient", file_slug="inpatient", org_types=ACUTE,
            touch_points=(TouchPoint("Trusts", 900, True),), trailing_sheets=("Sites", "Wards", "BS"),
            base_share=0.945, independent_sector=True),
    replace(_TRUSTS, layout="ae", title="A&E", file_slug="ae", org_types=("Acute",),
            touch_points=(TouchPoint("Trusts", 1500, True),), header_row=3, aggregates=_ENGLAND[:2],
            modes=tuple(m for m in MODES if m != "Mode Electronic Home"), trailing_sheets=("Sites", "BS"),
            base_share=0.80),
    replace(_TRUSTS, layout="ambulance", title="Ambulance", file_slug="ambulance", org_types=("Ambulance",),
            touch_points=(TouchPoint("PTS Org", 120, False),), header_row=8,
            aggregates=("England", "Selection (excluding suppressed data)"),
            labels=("ICB code", "Org Code", "Organisation Name"),
            modes=("Mode SMS", "Mode Paper Home", "Mode Telephone", "Mode Online", "Mode Other"),
            other_sheets=("PTS ICB",), trailing_sheets=("Mode Org",), base_share=0.92),
    replace(_TRUSTS, layout="outpatient", title="Outpatient", file_slug="outpatient", org_types=ACUTE,
            touch_points=(TouchPoint("Orgs", 2500, False),), labels=("ICB Code", "Org Code", "Org Name"),
            trailing_sheets=("Sites", "BS"), base_share=0.94, independent_sector=True),
    replace(_TRUSTS, layout="maternity", title="Maternity", file_slug="maternity", org_types=("Acute",),
            touch_points=(TouchPoint("Trusts Q1", 60, False), TouchPoint("Trusts Q2", 250, True),
                          TouchPoint("Trusts Q3", 150, False), TouchPoint("Trusts Q4", 40, False)),
            base_share=0.93),
    replace(_TRUSTS, layout="mental_health", title="Mental Health", file_slug="mental-health",
            org_types=("Mental Health",), touch_points=(TouchPoint("Trusts", 250, False),), aggregates=_NO_IS,
            base_share=0.87),
    replace(_TRUSTS, layout="community", title="Community", file_slug="community",
            org_types=("Community Provider Trust",), touch_points=(TouchPoint("Trusts", 400, False),),
            aggregates=_NO_IS, base_share=0.95),
)
# fmt: on
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


class FftTruth:
    """The planted FFT results of one World, with culture and provider sizes computed once.

    Writers and tests read figures through this object so a test can compare a parsed value
    with exactly what was written.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self._culture: dict[tuple[str, date], float] = {}
        self._size: dict[tuple[str, str, str], float] = {}

    def culture(self, provider: Provider, month: date) -> float:
        """Culture in force for a trust (independent providers have none: 0)."""
        if provider.independent:
            return 0.0
        key = (provider.code, month)
        if key not in self._culture:
            self._culture[key] = self.world.culture_at(provider.code, month)
        return self._culture[key]

    def size(self, setting: Setting, touch: TouchPoint, provider: Provider) -> float:
        key = (setting.layout, touch.sheet, provider.code)
        if key not in self._size:
            self._size[key] = float(self.world.rng("fft-size", *key).lognormal(sigma=0.6))
        return self._size[key]

    def share(self, setting: Setting, touch: TouchPoint, provider: Provider, month: date) -> float:
        """The true share of positive answers: logit-linear in culture, outliers 25 points lower."""
        noise = float(self._rng(setting, touch, provider, month).normal(scale=0.15))
        return self._share(setting, provider, month, noise)

    def _share(self, setting: Setting, provider: Provider, month: date, noise: float) -> float:
        logit = math.log(setting.base_share / (1 - setting.base_share))
        effect = self.world.culture_effect * 0.5 * self.culture(provider, month)
        share = 1 / (1 + math.exp(-(logit + effect + noise)))
        if provider.code in self.world.default_outlier_trusts:
            share = max(share - OUTLIER_DROP, 0.2)
        return share

    def _rng(
        self, setting: Setting, touch: TouchPoint, provider: Provider, month: date
    ) -> np.random.Generator:
        return self.world.rng("fft", setting.layout, touch.sheet, provider.code, month)

    def counts(self, setting: Setting, touch: TouchPoint, provider: Provider, month: date) -> Counts:
        """A provider's responses for one month, drawn around the planted share."""
        rng = self._rng(setting, touch, provider, month)
        share = self._share(setting, provider, month, float(rng.normal(scale=0.15)))
        draw = rng.random()
        if draw < 0.004:
            return Counts(0, (0,) * 6, (0,) * len(setting.modes), None, submitted=False)
        size = self.size(setting, touch, provider)
        total = (
            0 if draw < 0.009 else int(rng.integers(1, 5)) if draw < 0.03 else _responses(rng, touch, size)
        )
        rest = 1 - share
        likert = rng.multinomial(
            total, [share * 0.72, share * 0.28, rest * 0.45, rest * 0.2, rest * 0.15, rest * 0.2]
        )
        modes = rng.multinomial(total, _mode_weights(len(setting.modes)))
        eligible = int(total / rng.uniform(0.12, 0.35)) if touch.eligible else None
        return Counts(total, tuple(int(x) for x in likert), tuple(int(x) for x in modes), eligible)


def _mode_weights(count: int) -> np.ndarray:
    weights = np.linspace(3, 1, count)
    return weights / weights.sum()


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
        found += [
            Provider(code, name, icbs[i % len(icbs)], True)
            for i, (code, name) in enumerate(INDEPENDENT_SECTOR)
        ]
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
        self.book = xlsxwriter.Workbook(str(path), {"in_memory": True})
        self.setting, self.month = setting, month
        self.bold = self.book.add_format(
            {"bold": True, "text_wrap": True, "align": "center", "valign": "vcenter"}
        )
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
            self.figures(
                sheet, first + offset, ["", "", label], touch, _sum(aggregates[label], self.setting), False
            )
        for offset, (provider, counts) in enumerate(rows, start=first + len(self.setting.aggregates)):
            ids = [provider.icb_code, provider.code, provider.name]
            self.figures(sheet, offset, ids, touch, counts, provider.code in hidden)

    def figures(
        self, sheet, row: int, ids: list[str], touch: TouchPoint, counts: Counts, hidden: bool
    ) -> None:
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
        sheet.write_row(
            row, col, ["*"] * (width - (col - len(ids))) if hidden else [*counts.likert, *counts.modes]
        )


def _sum(rows: list[tuple[Provider, Counts]], setting: Setting) -> Counts:
    """An aggregate row's figures: the sum over submitted providers."""
    submitted = [c for _, c in rows if c.submitted]
    eligible = [c.eligible for c in submitted if c.eligible is not None]
    return Counts(
        sum(c.total for c in submitted),
        tuple(int(x) for x in np.sum([c.likert for c in submitted], axis=0)) if submitted else (0,) * 6,
        tuple(int(x) for x in np.sum([c.modes for c in submitted], axis=0))
        if submitted
        else (0,) * len(setting.modes),
        sum(eligible) if eligible else None,
    )


def render(truth: FftTruth, setting: Setting, month: date, path: Path) -> Path:
    """Write one setting's workbook for one month."""
    writer = _Writer(path, setting, month)
    writer.notes()
    for name in setting.other_sheets:
        writer.placeholder(name)
    for touch in setting.touch_points:
        rows = [(p, truth.counts(setting, touch, p, month)) for p in providers(truth.world, setting, month)]
        writer.trust_sheet(touch, rows)
    for name in setting.trailing_sheets:
        writer.placeholder(name)
    writer.close()
    return path


def write(world: World, out_dir: Path) -> list[Path]:
    """Write every setting's workbook for every month of the world."""
    out_dir.mkdir(parents=True, exist_ok=True)
    truth = FftTruth(world)
    return [
        render(truth, setting, month, out_dir / file_name(setting, month))
        for month in world.months
        for setting in SETTINGS
    ]


def _month_end(month: date) -> date:
    from pipelines.parsers.common import month_end

    return month_end(month.year, month.month)
