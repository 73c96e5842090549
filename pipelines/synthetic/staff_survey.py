"""Synthetic NHS Staff Survey workbooks: benchmark report data and detailed organisational results.

**Benchmark report** (one per survey year, ``Benchmark-report-Excel-data-for-<Y-4>-<Y>.xlsx``): a
``Notes`` sheet, then one sheet per benchmarking group with ``org_id``, ``org_name``,
``org_type_reporting_name`` and ``<VAR>_<YYYY>`` / ``<VAR>_n_<YYYY>`` columns for five years.
Restated years are re-weighted (a small deterministic change per release). Group labels use the
early wording up to the 2022 release and the later wording from 2023. People Promise columns
exist only from 2021 (the structural break); themes and question proportions for every year.

**Detailed spreadsheets** (one per survey year, ``NSS<YY> detailed spreadsheets organisational
results.xlsx``): ``Notes`` (naming the survey year), question-block sheets with merged question
text in row 1, the header in row 5, an ``Occupation Group`` and an ``Unweighted`` row per
organisation, and ``PEOPLE PROMISE ELEMENTS``. Thinking about leaving is Q22a in 2021, Q24a in
2022 and Q26a from 2023, as published; identifier column names and order change in 2023.

Planted truth: engagement = 6.8 + 0.35 x culture (exactly, in the survey year's own release);
other scores load on culture with small noise. Three small social-enterprise reporting units
(codes outside the World's trusts, as real files carry them) have 5-20 respondents, and their
scores are withheld (blank) when the base is below ten.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import xlsxwriter

from pipelines.synthetic.world import ORG_TYPES, SYNTHETIC_BANNER, World

PEOPLE_PROMISE_FROM = 2021
LATE_LABELS_FROM = 2023
PUBLISHER_THRESHOLD = 10  # scores on fewer responses are withheld (left blank)

# var -> (mean, loading on culture, noise sd); scores 0-10.
SCORES: dict[str, tuple[float, float, float]] = {
    "PP1": (7.2, 0.35, 0.08),
    "PP2": (5.8, 0.40, 0.10),
    "PP3": (6.7, 0.35, 0.08),
    "PP3_2": (6.5, 0.40, 0.10),
    "PP4": (6.0, 0.35, 0.08),
    "PP4_1": (5.0, 0.45, 0.10),
    "PP4_2": (5.0, 0.35, 0.10),
    "PP4_3": (8.1, 0.25, 0.08),
    "PP5": (5.3, 0.35, 0.10),
    "PP6": (6.0, 0.35, 0.10),
    "PP7": (6.7, 0.35, 0.08),
    "theme_engagement": (6.8, 0.35, 0.0),
    "theme_morale": (5.8, 0.35, 0.08),
    "M_1": (5.9, 0.40, 0.10),
}
FRACTIONS = ("q11a", "response_rate")
ALWAYS_PUBLISHED = {"theme_engagement", "theme_morale", "q11a", "response_rate"}
VARIABLES = (*SCORES, *FRACTIONS)
ELEMENTS = ("PP1", "PP2", "PP3", "PP4", "PP5", "PP6", "PP7")

EARLY_LABELS = {
    "acute": "Acute&Acute Community Trusts",
    "acute_specialist": "Acute Specialist Trusts",
    "mental_health": "MH&LD, MH, LD&Community Trusts",
    "community": "Community Trusts",
    "ambulance": "Ambulance Trusts",
    "social_enterprise": "Social Enterprises",
}
LATE_LABELS = {
    **EARLY_LABELS,
    "acute": "Acute and Acute & Community Trusts",
    "mental_health": "Mental Health & Learning Disability and Mental Health, Learning Disability & Community Trusts",
}
# Excel sheet names are limited to 31 characters.
LATE_SHEET_NAMES = {"acute": "Acute and Acute & Community", "mental_health": "MH&LD and MH, LD & Community"}
GROUP_ORDER = (*(group for _, group, _ in ORG_TYPES), "social_enterprise")

SMALL_UNITS: tuple[tuple[str, str], ...] = (
    ("NLX", "SYNTHETIC COMMUNITY INTEREST COMPANY NLX"),
    ("NR5", "SYNTHETIC SOCIAL ENTERPRISE NR5"),
    ("NTV", "SYNTHETIC HEALTH CIC NTV"),
)


@dataclass(frozen=True)
class Unit:
    """A survey reporting unit: a World trust or a small social enterprise."""

    code: str
    name: str
    group: str
    region: str
    icb: str
    small: bool = False


def units(world: World, year: int) -> list[Unit]:
    """Reporting units open at the end of a survey year's fieldwork, grouped like the publisher."""
    found = [
        Unit(o.code, o.name, o.survey_group, o.region_name, o.icb_code)
        for o in world.open_organisations(date(year, 9, 30))
    ]
    found += [Unit(code, name, "social_enterprise", "London", "QAA", True) for code, name in SMALL_UNITS]
    return sorted(found, key=lambda u: (GROUP_ORDER.index(u.group), u.code))


def group_label(group: str, release: int) -> str:
    return (LATE_LABELS if release >= LATE_LABELS_FROM else EARLY_LABELS)[group]


def sheet_name(group: str, release: int) -> str:
    """The group's sheet name: its label, shortened to Excel's 31 characters for the later wording."""
    late = release >= LATE_LABELS_FROM
    return LATE_SHEET_NAMES.get(group, LATE_LABELS[group]) if late else EARLY_LABELS[group]


def published(var: str, year: int) -> bool:
    """Whether a variable exists for a survey year (People Promise measures from 2021)."""
    return var in ALWAYS_PUBLISHED or year >= PEOPLE_PROMISE_FROM


@dataclass(frozen=True)
class _UnitYear:
    """A unit's planted values for one survey year, as that year's own release states them."""

    culture: float
    respondents: int
    values: dict[str, float]
    bases: dict[str, int]


class SurveyTruth:
    """The planted survey results of one World, drawn once per unit and year (one generator each).

    Writers and tests read values through this object so that a test can compare a parsed value
    with exactly what was written.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self._years: dict[tuple[str, int], _UnitYear] = {}
        self._reweights: dict[tuple[int, str, int], dict[str, float]] = {}

    def culture(self, unit: Unit, year: int) -> float:
        return self._unit_year(unit, year).culture

    def respondents(self, unit: Unit, year: int) -> int:
        return self._unit_year(unit, year).respondents

    def true_value(self, unit: Unit, var: str, year: int) -> float:
        return self._unit_year(unit, year).values[var]

    def base_count(self, unit: Unit, var: str, year: int) -> int:
        """Responses behind a value; a question id not in VARIABLES gets its own item factor."""
        draws = self._unit_year(unit, year)
        if var in draws.bases:
            return draws.bases[var]
        factor = float(self.world.rng("ss-item", unit.code, var, year).uniform(0.93, 1.0))
        return max(1, int(draws.respondents * factor))

    def benchmark_value(self, unit: Unit, var: str, year: int, release: int) -> float | None:
        """What the ``release`` workbook states for ``year`` (re-weighted when restated), None if withheld."""
        if var != "response_rate" and self.base_count(unit, var, year) < PUBLISHER_THRESHOLD:
            return None
        value = self.true_value(unit, var, year)
        if release != year:
            value += self._reweight(release, unit, year)[var]
        top = 1.0 if var in FRACTIONS else 10.0
        return round(min(max(value, 0.0), top), 4)

    def _reweight(self, release: int, unit: Unit, year: int) -> dict[str, float]:
        key = (release, unit.code, year)
        if key not in self._reweights:
            shifts = self.world.rng("ss-reweight", *key).normal(scale=0.015, size=len(VARIABLES))
            self._reweights[key] = dict(zip(VARIABLES, map(float, shifts), strict=True))
        return self._reweights[key]

    def _unit_year(self, unit: Unit, year: int) -> _UnitYear:
        key = (unit.code, year)
        if key not in self._years:
            self._years[key] = self._draw(unit, year)
        return self._years[key]

    def _draw(self, unit: Unit, year: int) -> _UnitYear:
        rng = self.world.rng("ss", unit.code, year)
        culture = float(rng.normal()) if unit.small else self.world.culture(unit.code, year)
        noise = dict(zip(VARIABLES, map(float, rng.normal(size=len(VARIABLES))), strict=True))
        items = rng.uniform(0.93, 1.0, size=len(VARIABLES))
        values = {var: _planted(var, culture, noise[var]) for var in VARIABLES}
        if unit.small:
            total = int(rng.integers(5, 21))
        else:
            headcount = 4000 * float(self.world.rng("ss-size", unit.code).lognormal(sigma=0.5))
            total = max(50, int(headcount * values["response_rate"]))
        bases = {var: max(1, int(total * float(f))) for var, f in zip(VARIABLES, items, strict=True)}
        bases["response_rate"] = total
        return _UnitYear(culture, total, values, bases)


def _planted(var: str, culture: float, noise: float) -> float:
    """A variable's value from culture: engagement is exactly 6.8 + 0.35 x culture."""
    if var == "response_rate":
        return min(max(0.45 + 0.06 * culture + 0.05 * noise, 0.12), 0.92)
    if var == "q11a":
        return 1 / (1 + math.exp(-(0.1 + 0.5 * culture + 0.1 * noise)))
    mean, loading, sd = SCORES[var]
    return min(max(mean + loading * culture + sd * noise, 0.0), 10.0)


# --- benchmark report -------------------------------------------------------------------------


def benchmark_file_name(release: int) -> str:
    return f"Benchmark-report-Excel-data-for-{release - 4}-{release}.xlsx"


def _notes(book: xlsxwriter.Workbook, lines: Iterable[str]) -> None:
    sheet = book.add_worksheet("Notes")
    for row, line in enumerate(lines):
        sheet.write(row, 0, line)


def benchmark_columns(release: int) -> list[tuple[str, int, bool]]:
    """(variable, year, is-base) for every measure column of a release, in published order."""
    years = range(release - 4, release + 1)
    return [
        (var, year, is_base)
        for var in VARIABLES
        for year in years
        if published(var, year)
        for is_base in (False, True)
    ]


def render_benchmark(truth: SurveyTruth, release: int, path: Path) -> Path:
    """Write one benchmark report workbook."""
    world = truth.world
    book = xlsxwriter.Workbook(str(path), {"in_memory": True})
    _notes(
        book,
        [
            f"NHS Staff Survey {release} benchmark report data, {release - 4}-{release}",
            SYNTHETIC_BANNER,
            "",
            "Variables: <VAR>_<YYYY> holds the score (0-10) or proportion (0-1); <VAR>_n_<YYYY> its base.",
            "Earlier years are re-weighted with this year's weights and may differ from earlier releases.",
            "Blank cells: not surveyed, or fewer than 10 responses.",
        ],
    )
    columns = benchmark_columns(release)
    header = ["org_id", "org_name", "org_type_reporting_name"] + [
        f"{var}_n_{year}" if is_base else f"{var}_{year}" for var, year, is_base in columns
    ]
    surveyed = _surveyed(world, range(release - 4, release + 1))
    by_group: dict[str, list[Unit]] = {}
    for unit in units(world, release):
        by_group.setdefault(unit.group, []).append(unit)
    for group in GROUP_ORDER:
        if group not in by_group:
            continue
        sheet = book.add_worksheet(sheet_name(group, release))
        sheet.write_row(0, 0, header)
        for row, unit in enumerate(by_group[group], start=1):
            sheet.write_row(row, 0, [unit.code, unit.name, group_label(group, release)])
            sheet.write_row(row, 3, [_benchmark_cell(truth, unit, c, release, surveyed) for c in columns])
    book.close()
    return path


def _benchmark_cell(
    truth: SurveyTruth,
    unit: Unit,
    column: tuple[str, int, bool],
    release: int,
    surveyed: set[tuple[str, int]],
) -> float | None:
    """One measure or base cell; blank for a year in which the unit was not surveyed."""
    var, year, is_base = column
    if not unit.small and (unit.code, year) not in surveyed:
        return None
    return truth.base_count(unit, var, year) if is_base else truth.benchmark_value(unit, var, year, release)


def _surveyed(world: World, years: Iterable[int]) -> set[tuple[str, int]]:
    """(trust, year) pairs for trusts open at the end of that year's fieldwork."""
    return {(o.code, year) for year in years for o in world.open_organisations(date(year, 9, 30))}


def write_benchmark_workbooks(world: World, out_dir: Path) -> list[Path]:
    """One benchmark report workbook per survey year of the world."""
    out_dir.mkdir(parents=True, exist_ok=True)
    truth = SurveyTruth(world)
    return [render_benchmark(truth, year, out_dir / benchmark_file_name(year)) for year in world.survey_years]


# --- detailed spreadsheets ----------------------------------------------------------------------

AGREE = ("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree")
HEALTH_ACTION = ("Yes, definitely", "Yes, to some extent", "No")


@dataclass(frozen=True)
class Question:
    """A question as the detailed spreadsheet prints it, and how culture moves its answers."""

    number: str  # "Q26a"
    text: str
    options: tuple[str, ...]
    mean: float  # latent position; higher means later options
    loading: float  # change of the latent position per unit of culture


def leaving_number(year: int) -> int:
    """The question number of "thinking about leaving": Q22 in 2021, Q24 in 2022, Q26 from 2023."""
    return 22 if year <= 2021 else 24 if year == 2022 else 26


def questionnaire(year: int) -> list[tuple[str, list[Question]]]:
    """The question sheets written for a survey year: (sheet name, questions)."""
    leave = leaving_number(year)
    org = leave - 1
    return [
        (
            "YOUR JOB Q3",
            [Question("Q3a", "I always know what my work responsibilities are.", AGREE, 1.2, 0.3)],
        ),
        (
            "YOUR MANAGERS Q9",
            [Question("Q9a", "My immediate manager encourages me at work.", AGREE, 0.9, 0.4)],
        ),
        (
            "YOUR HEALTH Q11",
            [
                Question(
                    "Q11a",
                    "Does your organisation take positive action on health and well-being?",
                    HEALTH_ACTION,
                    -0.2,
                    -0.5,
                )
            ],
        ),
        (
            f"YOUR ORGANISATION Q{org}-{leave}",
            [
                Question(
                    f"Q{org}c", "I would recommend my organisation as a place to work.", AGREE, 0.5, 0.6
                ),
                Question(
                    f"Q{org}d",
                    "If a friend or relative needed treatment I would be happy with the standard "
                    "of care provided by this organisation.",
                    AGREE,
                    0.8,
                    0.6,
                ),
                Question(f"Q{leave}a", "I often think about leaving this organisation.", AGREE, -0.3, -0.5),
                Question(
                    f"Q{leave}b",
                    "I will probably look for a job at a new organisation in the next 12 months.",
                    AGREE,
                    -0.6,
                    -0.5,
                ),
                Question(
                    f"Q{leave}c",
                    "As soon as I can find another job, I will leave this organisation.",
                    AGREE,
                    -1.0,
                    -0.5,
                ),
            ],
        ),
    ]


def option_percentages(
    truth: SurveyTruth, unit: Unit, question: Question, year: int, weighting: str
) -> list[float]:
    """Percentages (0-100, 2 dp) choosing each option: an ordered-logit model around culture."""
    rng = truth.world.rng("ss-detail", unit.code, question.number, year, weighting)
    position = question.mean + question.loading * truth.culture(unit, year) + rng.normal(scale=0.1)
    k = len(question.options)
    cuts = np.linspace(-1.8, 1.8, k - 1)
    below = 1 / (1 + np.exp(-(cuts - position)))
    probabilities = np.diff(np.concatenate(([0.0], below, [1.0])))
    return [round(100 * float(p), 2) for p in probabilities]


def detailed_file_name(year: int) -> str:
    return f"NSS{year % 100:02d} detailed spreadsheets organisational results.xlsx"


def identifier_labels(year: int) -> list[str]:
    """Identifier columns: names and order change in 2023."""
    if year < LATE_LABELS_FROM:
        return ["ODS code", "Trust name", "Benchmarking group", "Region", "ICS", "Weighting"]
    return ["ODS code", "Organisation name", "Region", "ICS", "Benchmarking group", "Weighting"]


def _identifiers(unit: Unit, year: int, weighting: str) -> list[str]:
    values = {
        "ODS code": unit.code,
        "Trust name": unit.name,
        "Organisation name": unit.name,
        "Benchmarking group": group_label(unit.group, year),
        "Region": unit.region,
        "ICS": unit.icb,
        "Weighting": weighting,
    }
    return [values[label] for label in identifier_labels(year)]


WEIGHTINGS = ("Occupation Group", "Unweighted")


def _question_sheet(
    book, bold, name: str, questions: list[Question], truth: SurveyTruth, year: int, rows: list[Unit]
):
    sheet = book.add_worksheet(name)
    ids = identifier_labels(year)
    column = len(ids)
    for q in questions:
        width = 1 + len(q.options)
        sheet.merge_range(0, column, 0, column + width - 1, f"{q.number} - {q.text}", bold)
        sheet.write_row(4, column, ["Base (number of responses)", *(f"% {o}" for o in q.options)], bold)
        column += width
    sheet.write(1, 0, SYNTHETIC_BANNER)
    sheet.write_row(4, 0, ids, bold)
    row = 5
    for unit in rows:
        for weighting in WEIGHTINGS:
            cells: list[object] = _identifiers(unit, year, weighting)
            for q in questions:
                base = truth.base_count(unit, q.number, year)
                shares = option_percentages(truth, unit, q, year, weighting)
                cells += [base, *([None] * len(shares) if base < PUBLISHER_THRESHOLD else shares)]
            sheet.write_row(row, 0, cells)
            row += 1


def _promise_sheet(book, bold, truth: SurveyTruth, year: int, rows: list[Unit]) -> None:
    sheet = book.add_worksheet("PEOPLE PROMISE ELEMENTS")
    ids = identifier_labels(year)
    sheet.write(0, 0, f"NHS Staff Survey {year}: People Promise element scores (0-10)")
    sheet.write(1, 0, SYNTHETIC_BANNER)
    labels = [label for code in ELEMENTS for label in (f"{code} - score", "Base (number of responses)")]
    sheet.write_row(4, 0, [*ids, *labels], bold)
    row = 5
    for unit in rows:
        for weighting in WEIGHTINGS:
            cells: list[object] = _identifiers(unit, year, weighting)
            for code in ELEMENTS:
                cells += [truth.benchmark_value(unit, code, year, year), truth.base_count(unit, code, year)]
            sheet.write_row(row, 0, cells)
            row += 1


def render_detailed(truth: SurveyTruth, year: int, path: Path) -> Path:
    """Write one survey year's detailed organisational results workbook."""
    book = xlsxwriter.Workbook(str(path), {"in_memory": True})
    bold = book.add_format({"bold": True, "text_wrap": True})
    _notes(
        book,
        [
            f"NHS Staff Survey {year}",
            "Detailed spreadsheets: organisational results",
            SYNTHETIC_BANNER,
            "",
            "Results are weighted by occupation group; unweighted results are shown for reference.",
            "Results based on fewer than 10 responses are not shown.",
        ],
    )
    rows = units(truth.world, year)
    for name, questions in questionnaire(year):
        _question_sheet(book, bold, name, questions, truth, year, rows)
    _promise_sheet(book, bold, truth, year, rows)
    book.close()
    return path


def write_detailed_workbooks(world: World, out_dir: Path) -> list[Path]:
    """One detailed organisational results workbook per survey year of the world."""
    out_dir.mkdir(parents=True, exist_ok=True)
    truth = SurveyTruth(world)
    return [render_detailed(truth, year, out_dir / detailed_file_name(year)) for year in world.survey_years]
