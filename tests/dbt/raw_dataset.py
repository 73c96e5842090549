"""A small, realistic raw layer for the dbt tests, plus the values the marts must reproduce.

Everything is built in plain Python from a few crafted numbers, so every expected value in the
tests is computed here independently of the SQL under test.

The world:
- Network trusts RC9, RD8, RWK (acute), RV3 (mental health), RYV (community), RYC (ambulance) and
  seven other trusts, so that national correlations have at least ten trusts.
- A two-step succession chain R1A -> R1B (2022-10-01) -> R1C (2023-10-01); each code reports only
  while it exists, so R1C's history must be continuous under successor attribution.
- A merger R2A -> R2B (2023-04-01) where both report before the merger: additive metrics combine.
- A split R3A -> R3B and R3C (is_split, never attributed).
- An ICB (QHG) in the sickness file (type "other": kept out of trust marts).
- Staff Survey years 2022 and 2023, each workbook restating the earlier year (vintage 2023 and
  2024, re-weighted values: the latest vintage must win).
- Monthly sickness absence April 2022 to March 2025, FFT inpatient April 2023 to March 2025 with a
  suppressed month and a month below the minimum count, percentage recommended in 2019, staff in
  post (two vintages of March 2024), turnover windows for 2022-23, 2023-24 and 2024-25.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

MONTHS_2022_2025 = [(2022 + (m + 3) // 12, (m + 3) % 12 + 1) for m in range(36)]  # 2022-04 .. 2025-03

NETWORK = ["RC9", "RD8", "RWK", "RV3", "RYV", "RYC"]

# code -> (name, sickness ORG_TYPE, staff survey benchmark group, region, icb)
TRUSTS: dict[str, tuple[str, str, str, str, str]] = {
    "RC9": ("Bedfordshire Hospitals NHS Foundation Trust", "Acute", "acute", "Y61", "QHG"),
    "RD8": ("Milton Keynes University Hospital NHS Foundation Trust", "Acute", "acute", "Y61", "QHG"),
    "RWK": ("East London Acute Test Trust", "Acute", "acute", "Y56", "QMF"),
    "RV3": (
        "Central and North West London NHS Foundation Trust",
        "Mental Health",
        "mental_health",
        "Y56",
        "QRV",
    ),
    "RYV": (
        "Cambridgeshire Community Services NHS Trust",
        "Community Provider Trust",
        "community",
        "Y61",
        "QUE",
    ),
    "RYC": ("East of England Ambulance Service NHS Trust", "Ambulance", "ambulance", "Y61", "QUE"),
    "RAE": ("Bradford Teaching Hospitals NHS Foundation Trust", "Acute", "acute", "Y63", "QWO"),
    "RAJ": ("Mid and South Essex NHS Foundation Trust", "Acute", "acute", "Y61", "QH8"),
    "RBK": ("Walsall Healthcare NHS Trust", "Acute", "acute", "Y60", "QUA"),
    "RBV": ("The Christie NHS Foundation Trust", "Acute", "acute_specialist", "Y62", "QOP"),
    "RDU": ("Frimley Health NHS Foundation Trust", "Acute", "acute", "Y59", "QNQ"),
    "RGT": ("Cambridge University Hospitals NHS Foundation Trust", "Acute", "acute", "Y61", "QUE"),
    "RTH": ("Oxford University Hospitals NHS Foundation Trust", "Acute", "acute", "Y59", "QU9"),
    "R1A": ("Alpha Hospitals NHS Trust", "Acute", "acute", "Y60", "QJ2"),
    "R1B": ("Alpha and Beta Hospitals NHS Trust", "Acute", "acute", "Y60", "QJ2"),
    "R1C": ("Alpha Beta Gamma NHS Foundation Trust", "Acute", "acute", "Y60", "QJ2"),
    "R2A": ("Delta Community Health NHS Trust", "Acute", "acute", "Y62", "QE1"),
    "R2B": ("Epsilon Hospitals NHS Foundation Trust", "Acute", "acute", "Y62", "QE1"),
    "R3A": ("Zeta Split NHS Trust", "Mental Health", "mental_health", "Y63", "QF7"),
    "R3B": ("Zeta North NHS Trust", "Mental Health", "mental_health", "Y63", "QF7"),
    "R3C": ("Zeta South NHS Trust", "Mental Health", "mental_health", "Y63", "QF7"),
}
CLOSED = {
    "R1A": date(2022, 9, 30),
    "R1B": date(2023, 9, 30),
    "R2A": date(2023, 3, 31),
    "R3A": date(2021, 3, 31),
}
SUCCESSIONS = [
    ("R1A", "R1B", "F", date(2022, 10, 1), "F"),
    ("R1B", "R1C", "F", date(2023, 10, 1), ""),
    ("R2A", "R2B", "F", date(2023, 4, 1), ""),
    ("R3A", "R3B", "F", date(2021, 4, 1), ""),
    ("R3A", "R3C", "F", date(2021, 4, 1), ""),
]
# Trusts with an ordinary history (reporting every month, both survey years).
STEADY = ["RC9", "RD8", "RWK", "RV3", "RYV", "RYC", "RAE", "RAJ", "RBK", "RBV", "RDU", "RGT", "RTH", "R2B"]

# Crafted association data (survey 2023 engagement vs sickness over 2024-25), with ties in both.
ENGAGEMENT_2023 = {
    "RC9": 6.9,
    "RD8": 7.1,
    "RWK": 6.5,
    "RV3": 7.1,
    "RYV": 7.4,
    "RYC": 6.2,
    "RAE": 6.8,
    "RAJ": 6.4,
    "RBK": 6.6,
    "RBV": 7.6,
    "RDU": 7.0,
    "RGT": 7.3,
    "RTH": 6.7,
    "R2B": 6.3,
    "R1C": 7.2,
}
SICKNESS_2024_25 = {  # annual rate (percent) for every month of April 2024 - March 2025
    "RC9": 5.1,
    "RD8": 4.6,
    "RWK": 5.9,
    "RV3": 5.0,
    "RYV": 4.4,
    "RYC": 6.8,
    "RAE": 5.1,
    "RAJ": 6.0,
    "RBK": 5.6,
    "RBV": 3.9,
    "RDU": 4.8,
    "RGT": 4.5,
    "RTH": 5.4,
    "R2B": 6.5,
    "R1C": 4.9,
}


def _month_end(year: int, month: int) -> date:
    return (pd.Timestamp(year=year, month=month, day=1) + pd.offsets.MonthEnd(0)).date()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Extract:
    source_id: str
    vintage: str
    layout: str
    rows: list[dict[str, object]] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return _sha(f"{self.source_id}/{self.vintage}/{self.layout}")

    @property
    def file_name(self) -> str:
        return f"{self.source_id}_{self.vintage}.csv"


def _obs(
    code: str,
    *,
    start: date,
    end: date,
    grain: str,
    measure: str,
    breakdown: str,
    value: float | None,
    unit: str,
    numerator: float | None = None,
    denominator: float | None = None,
    token: str | None = None,
    benchmark_group: str | None = None,
    row: int = 1,
) -> dict[str, object]:
    name, org_type, _, region, icb = TRUSTS.get(
        code, ("NHS Bedfordshire, Luton and Milton Keynes ICB", "Integrated Care Board", None, "Y61", "QHG")
    )
    return {
        "org_code": code,
        "org_name": name,
        "org_type": org_type,
        "region_code": region,
        "icb_code": icb,
        "benchmark_group": benchmark_group,
        "period_start": start,
        "period_end": end,
        "grain": grain,
        "measure": measure,
        "breakdown": breakdown,
        "value": value,
        "numerator": numerator,
        "denominator": denominator,
        "unit": unit,
        "suppressed": token is not None,
        "suppression_token": token,
        "source_sheet": None,
        "source_row": row,
    }


def _available(code: str) -> float:
    """FTE days available per month: a stable, trust-specific size."""
    return 20000.0 + 1500.0 * (sum(ord(c) for c in code) % 17)


def _sickness_rate(code: str, year: int, month: int) -> float:
    fy_start = year if month >= 4 else year - 1
    if fy_start == 2024 and code in SICKNESS_2024_25:
        return SICKNESS_2024_25[code]
    return 3.5 + ((sum(ord(c) for c in code) * 7 + month * 3 + year) % 40) / 10.0


def _reporting_code(code: str, year: int, month: int) -> str | None:
    """Which code publishes a chain member's figures in a month (None: not reporting)."""
    stamp = date(year, month, 1)
    if code == "R1C":
        if stamp < date(2022, 10, 1):
            return "R1A"
        if stamp < date(2023, 10, 1):
            return "R1B"
        return "R1C"
    return code


def sickness_extracts() -> list[Extract]:
    """One extract per month (as published); R1A/R1B/R1C as a chain, R2A until March 2023, an ICB."""
    extracts = []
    for year, month in MONTHS_2022_2025:
        extract = Extract("sickness_absence", f"{year}-{month:02d}", "org_monthly")
        codes = [c for c in STEADY] + [_reporting_code("R1C", year, month)]
        if date(year, month, 1) < date(2023, 4, 1):
            codes.append("R2A")
        codes.append("QHG")
        for row, code in enumerate(codes, start=2):
            available = _available(code)
            rate = 4.0 if code == "QHG" else _sickness_rate(code, year, month)
            lost = round(available * rate / 100.0, 2)
            extract.rows.append(
                _obs(
                    code,
                    start=date(year, month, 1),
                    end=_month_end(year, month),
                    grain="month",
                    measure="sickness_absence_rate",
                    breakdown="all",
                    value=round(lost / available * 100, 2),
                    unit="percent",
                    numerator=lost,
                    denominator=available,
                    row=row,
                )
            )
        extracts.append(extract)
    return extracts


def sickness_staff_group_extracts() -> list[Extract]:
    extract = Extract("sickness_absence_staff_group", "2025-03", "staff_group_monthly")
    for row, code in enumerate(["RC9", "RD8"], start=2):
        for offset, group in enumerate(["all", "nurses_and_health_visitors"]):
            extract.rows.append(
                _obs(
                    code,
                    start=date(2025, 3, 1),
                    end=date(2025, 3, 31),
                    grain="month",
                    measure="sickness_absence_rate",
                    breakdown=group,
                    value=4.0 + offset,
                    unit="percent",
                    numerator=400.0 + offset * 50,
                    denominator=10000.0,
                    row=row * 10 + offset,
                )
            )
    return [extract]


def sickness_reason_extracts() -> list[Extract]:
    extract = Extract("sickness_absence_reason", "2025-03", "reason_monthly")
    extract.rows.append(
        _obs(
            "RC9",
            start=date(2025, 3, 1),
            end=date(2025, 3, 31),
            grain="month",
            measure="fte_days_lost_by_reason",
            breakdown="all|s10_anxiety_stress",
            value=321.0,
            unit="days",
            row=2,
        )
    )
    return [extract]


SURVEY_MEASURES = [
    "pp1",
    "pp2",
    "pp3",
    "pp3_2",
    "pp4",
    "pp4_1",
    "pp4_2",
    "pp4_3",
    "pp5",
    "pp6",
    "pp7",
    "theme_engagement",
    "theme_morale",
]


def survey_score(code: str, year: int, measure: str, vintage: int) -> float:
    if measure == "theme_engagement" and year == 2023 and code in ENGAGEMENT_2023:
        return ENGAGEMENT_2023[code]
    base = 5.5 + ((sum(ord(c) for c in code + measure) + year) % 25) / 10.0
    return round(base + (0.01 if vintage > year + 1 else 0.0), 3)  # restated years are re-weighted


def survey_codes(year: int) -> list[str]:
    codes = list(STEADY) + ["R3B", "R3C"]
    codes.append("R1B" if year == 2022 else "R1C")
    if year == 2022:
        codes.append("R2A")
    return codes


def staff_survey_extracts() -> list[Extract]:
    """Workbook 2023 (vintage '2023') covers survey 2022; workbook 2024 restates 2022 and adds 2023."""
    extracts = []
    for vintage, years in ((2023, [2022]), (2024, [2022, 2023])):
        extract = Extract("staff_survey_benchmark", str(vintage), "benchmark_workbook")
        row = 2
        for year in years:
            for code in survey_codes(year):
                group = TRUSTS[code][2]
                base_n = 8.0 if (code == "RYC" and year == 2022) else 900.0  # RYC 2022: below 11
                for measure in SURVEY_MEASURES:
                    extract.rows.append(
                        _obs(
                            code,
                            start=date(year, 1, 1),
                            end=date(year, 12, 31),
                            grain="survey_year",
                            measure=measure,
                            breakdown="all",
                            value=survey_score(code, year, measure, vintage),
                            unit="score_0_10",
                            denominator=base_n,
                            benchmark_group=group,
                            row=row,
                        )
                    )
                extract.rows.append(
                    _obs(
                        code,
                        start=date(year, 1, 1),
                        end=date(year, 12, 31),
                        grain="survey_year",
                        measure="response_rate",
                        breakdown="all",
                        value=0.45,
                        unit="fraction",
                        numerator=450.0,
                        denominator=1000.0,
                        benchmark_group=group,
                        row=row,
                    )
                )
                row += 1
        extracts.append(extract)
    return extracts


def staff_survey_detailed_extracts() -> list[Extract]:
    extract = Extract("staff_survey_detailed", "2024", "detailed_organisational")
    extract.rows.append(
        _obs(
            "RC9",
            start=date(2023, 1, 1),
            end=date(2023, 12, 31),
            grain="survey_year",
            measure="q26a",
            breakdown="strongly_agree",
            value=0.12,
            unit="fraction",
            denominator=900.0,
            benchmark_group="acute",
            row=6,
        )
    )
    return [extract]


def fft_positive(code: str, year: int, month: int) -> tuple[float, float]:
    """(positive responses, all responses) of a trust's inpatient FFT month."""
    responses = 200.0 + (sum(ord(c) for c in code) % 50) * 4
    share = 0.90 + ((sum(ord(c) for c in code) + month + year) % 9) / 100.0
    return round(responses * share), responses


FFT_SUPPRESSED = ("RC9", 2024, 6)  # published as '*'
FFT_BELOW_MIN = ("RD8", 2024, 7)  # published with 3 responses: this project suppresses it


def fft_extracts() -> list[Extract]:
    extracts = []
    for year, month in MONTHS_2022_2025[12:]:  # April 2023 - March 2025
        extract = Extract("fft", f"{year}-{month:02d}", "inpatient")
        for row, code in enumerate(
            ["RC9", "RD8", "RWK", "RAE", "RAJ", "RBK", "RDU", "RGT", "RTH", "R2B", "R1C"], start=15
        ):
            reporter = _reporting_code(code, year, month)
            start, end = date(year, month, 1), _month_end(year, month)
            if (code, year, month) == FFT_SUPPRESSED:
                extract.rows.append(
                    _obs(
                        reporter,
                        start=start,
                        end=end,
                        grain="month",
                        measure="percentage_positive",
                        breakdown="inpatient",
                        value=None,
                        unit="fraction",
                        token="*",
                        row=row,
                    )
                )
                continue
            positive, responses = fft_positive(code, year, month)
            if (code, year, month) == FFT_BELOW_MIN:
                positive, responses = 3.0, 3.0
            extract.rows.append(
                _obs(
                    reporter,
                    start=start,
                    end=end,
                    grain="month",
                    measure="percentage_positive",
                    breakdown="inpatient",
                    value=positive / responses,
                    unit="fraction",
                    numerator=positive,
                    denominator=responses,
                    row=row,
                )
            )
            extract.rows.append(
                _obs(
                    reporter,
                    start=start,
                    end=end,
                    grain="month",
                    measure="total_responses",
                    breakdown="inpatient",
                    value=responses,
                    unit="count",
                    row=row,
                )
            )
        extracts.append(extract)
    legacy = Extract("fft", "2019-06", "inpatient")
    legacy.rows.append(
        _obs(
            "RC9",
            start=date(2019, 6, 1),
            end=date(2019, 6, 30),
            grain="month",
            measure="percentage_recommended",
            breakdown="inpatient",
            value=0.95,
            unit="fraction",
            numerator=190.0,
            denominator=200.0,
            row=15,
        )
    )
    extracts.append(legacy)
    return extracts


def staff_in_post(code: str, year: int, month: int, vintage: str) -> float:
    base = 1500.0 + (sum(ord(c) for c in code) % 30) * 100.0 + year - 2020 + month / 10.0
    return base + (5.0 if vintage == "2025-03" and (year, month) == (2024, 3) else 0.0)


def workforce_extracts() -> list[Extract]:
    """Cumulative files: vintage 2024-03 (March 2024) and 2025-03 restating March 2024."""
    extracts = []
    for vintage, months in (("2024-03", [(2024, 3)]), ("2025-03", [(2024, 3), (2025, 3)])):
        extract = Extract("workforce_staff_in_post", vintage, "staff_group_organisation")
        row = 2
        for year, month in months:
            for code in STEADY + ["R1C"]:
                reporter = _reporting_code(code, year, month)
                fte = staff_in_post(code, year, month, vintage)
                start, end = date(year, month, 1), _month_end(year, month)
                extract.rows.append(
                    _obs(
                        reporter,
                        start=start,
                        end=end,
                        grain="month",
                        measure="staff_in_post_fte",
                        breakdown="total",
                        value=fte,
                        unit="fte",
                        row=row,
                    )
                )
                extract.rows.append(
                    _obs(
                        reporter,
                        start=start,
                        end=end,
                        grain="month",
                        measure="staff_in_post_headcount",
                        breakdown="total",
                        value=math.floor(fte * 1.1),
                        unit="headcount",
                        row=row + 1,
                    )
                )
                extract.rows.append(
                    _obs(
                        reporter,
                        start=start,
                        end=end,
                        grain="month",
                        measure="staff_in_post_fte",
                        breakdown="nurses_and_health_visitors",
                        value=fte * 0.3,
                        unit="fte",
                        row=row + 2,
                    )
                )
                row += 3
        extracts.append(extract)
    return extracts


def turnover_numbers(code: str, window_start_year: int) -> tuple[float, float, float]:
    """(leavers FTE, denominator FTE at the start month, denominator FTE at the end month)."""
    seed = sum(ord(c) for c in code) + window_start_year
    start = 1200.0 + (seed % 40) * 25.0
    end = start + (seed % 7) * 10.0 - 20.0
    leavers = round(start * (0.08 + (seed % 6) / 100.0), 1)
    return leavers, start, end


TURNOVER_WINDOWS = (2022, 2023, 2024)  # April .. March


def turnover_extracts() -> list[Extract]:
    extracts = []
    for first in TURNOVER_WINDOWS:
        extract = Extract("turnover", f"{first + 1}-03", "organisation_turnover")
        codes = list(STEADY) + (["R2A"] if first == 2022 else [])
        if first == 2024:
            codes.append("R1C")
        row = 2
        for code in codes:
            leavers, start, end = turnover_numbers(code, first)
            window = (date(first, 4, 1), date(first + 1, 3, 31))
            extract.rows.append(
                _obs(
                    code,
                    start=window[0],
                    end=window[1],
                    grain="rolling_12m",
                    measure="leavers_fte",
                    breakdown="all",
                    value=leavers,
                    unit="fte",
                    row=row,
                )
            )
            extract.rows.append(
                _obs(
                    code,
                    start=window[0],
                    end=window[1],
                    grain="rolling_12m",
                    measure="leavers_hc",
                    breakdown="all",
                    value=leavers + 10,
                    unit="headcount",
                    row=row,
                )
            )
            extract.rows.append(
                _obs(
                    code,
                    start=date(first, 4, 1),
                    end=date(first, 4, 30),
                    grain="month",
                    measure="denominator_fte",
                    breakdown="all",
                    value=start,
                    unit="fte",
                    row=row + 1,
                )
            )
            extract.rows.append(
                _obs(
                    code,
                    start=date(first + 1, 3, 1),
                    end=date(first + 1, 3, 31),
                    grain="month",
                    measure="denominator_fte",
                    breakdown="all",
                    value=end,
                    unit="fte",
                    row=row + 2,
                )
            )
            row += 3
        extracts.append(extract)
    return extracts


def ods_frames() -> dict[str, tuple[str, pd.DataFrame]]:
    trusts = pd.DataFrame.from_records(
        [
            {
                "org_code": code,
                "org_name": info[0].upper(),
                "region_code": info[3],
                "icb_code": info[4],
                "postcode": "AB1 2CD",
                "open_date": pd.Timestamp("2001-04-01"),
                "close_date": pd.Timestamp(CLOSED[code]) if code in CLOSED else pd.NaT,
                "source_row": i,
            }
            for i, (code, info) in enumerate(TRUSTS.items(), start=1)
        ]
    )
    trusts["open_date"] = trusts["open_date"].astype("datetime64[s]")
    trusts["close_date"] = trusts["close_date"].astype("datetime64[s]")
    trusts["source_row"] = trusts["source_row"].astype("Int64")
    successors = pd.DataFrame.from_records(
        [
            {
                "old_code": old,
                "new_code": new,
                "reason": reason,
                "effective_date": pd.Timestamp(when),
                "indicator": indicator or None,
                "source_row": i,
            }
            for i, (old, new, reason, when, indicator) in enumerate(SUCCESSIONS, start=1)
        ]
    )
    successors["effective_date"] = successors["effective_date"].astype("datetime64[s]")
    successors["source_row"] = successors["source_row"].astype("Int64")
    return {"ods_trusts": ("2025-03", trusts), "ods_successors": ("2025-03", successors)}


def all_extracts() -> list[Extract]:
    return (
        sickness_extracts()
        + sickness_staff_group_extracts()
        + sickness_reason_extracts()
        + staff_survey_extracts()
        + staff_survey_detailed_extracts()
        + fft_extracts()
        + workforce_extracts()
        + turnover_extracts()
    )


def load_extracts(settings, extracts) -> None:
    """Load extracts through the loader, each into its source's raw table (a connection per source)."""
    from pipelines.parsers.common import observation_frame
    from pipelines.warehouse.connection import connect
    from pipelines.warehouse.loader import load_extract

    by_source: dict[str, list] = {}
    for extract in extracts:
        by_source.setdefault(extract.source_id, []).append(extract)
    for source_id, group in by_source.items():
        with connect(settings, raw_of=source_id) as warehouse:
            for extract in group:
                load_extract(warehouse, source_id, observation_frame(extract.rows), sha256=extract.sha256,
                             vintage=extract.vintage, layout=extract.layout, file_name=extract.file_name)


def load_raw(settings) -> None:
    """Create the raw tables with the loader's own DDL and load every extract through it."""
    from pipelines.warehouse.connection import connect
    from pipelines.warehouse.loader import ensure_raw_tables, load_extract

    ensure_raw_tables(settings)
    load_extracts(settings, all_extracts())
    for table, (vintage, frame) in ods_frames().items():
        with connect(settings, raw_of=table) as warehouse:
            load_extract(
                warehouse,
                table,
                frame,
                sha256=_sha(f"{table}/{vintage}"),
                vintage=vintage,
                layout="etr" if table == "ods_trusts" else "succ",
                file_name=f"{table}.csv",
            )
