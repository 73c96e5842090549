"""The source catalogue: every publication the pipeline reads, how to find it and how to read it.

One entry per source. Each names its publisher page, how a new release is discovered (links on the
publication page whose address matches ``link_pattern``, or an explicit pinned list), its cadence
and expected publication lag (for schedules and the overdue check), its parser and its raw table.
Adding a source means adding an entry here plus a parser, an expectation suite and a staging model
of the same name.

This module is imported by the DAG files, so it must stay light: no pandas, no GX, no network.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SourceSpec:
    """What the pipeline knows about one published source."""

    id: str
    title: str
    publisher: str
    publisher_page: str  # the real publication page, for people
    page_path: str  # the page below the publisher base address that lists the files
    link_pattern: str  # regular expression over link addresses that identifies an extract
    cadence: str  # "monthly" | "annual" | "weekly"
    schedule: str  # cron expression: a few days after the usual publication
    expected_lag_days: int  # from the end of the reference period to publication
    parser: str  # "module:function", imported only when a file is parsed
    kind: str = "observations"  # "observations" (the long layout) or "reference"
    layouts: tuple[str, ...] = ()
    quirks: str = ""
    period_from_name: bool = True  # False where file names do not state the data's period reliably
    #: The dbt source whose table this source's raw table is (``models/staging/<dbt_source>/``);
    #: on DuckDB a dbt source's raw tables are a file of their own, attached as ``raw_<dbt_source>``.
    dbt_source: str = ""
    #: Airflow's ``priority_weight`` for the source's tasks: about the seconds a national backfill of
    #: it takes (benchmarks/FINDINGS.md, section 22). With fewer worker slots than ready DAGs, the
    #: heaviest start first and the light ones fill in after them, so the slots end together (on two
    #: cores a full refresh's ingests ended 1.5 s sooner than in catalogue order).
    priority_weight: int = 1

    @property
    def raw_table(self) -> str:
        return self.id

    @property
    def raw_database(self) -> str:
        """The dbt source that reads this raw table: the name of its DuckDB raw file."""
        return self.dbt_source or self.id

    @property
    def asset_uri(self) -> str:
        """The Airflow Asset updated when a new extract of this source reaches the warehouse."""
        return f"culture-outcomes://warehouse/raw/{self.id}"

    def load_parser(self) -> Callable[..., Any]:
        module, _, function = self.parser.partition(":")
        return getattr(importlib.import_module(module), function)


_NHSD = "https://digital.nhs.uk/data-and-information/publications/statistical"
#: The monthly NHS Sickness Absence Rates publication: one page, three files (by organisation, by
#: reason, by staff group), published together.
_SICKNESS_ABSENCE_PUBLICATION: dict[str, Any] = {
    "publisher": "NHS England (NHS Digital)",
    "publisher_page": f"{_NHSD}/nhs-sickness-absence-rates",
    "page_path": "statistical/nhs-sickness-absence-rates/",
    "cadence": "monthly",
    "schedule": "0 6 5 * *",
    "expected_lag_days": 155,
}

#: Every source, in the order a refresh runs their ingests (``culture-outcomes demo``, the benchmarks):
#: the reference data first, which the others are validated against, then the longest histories
#: first (the Friends and Family Test: 84 workbooks a year), so that the ingests running side by side
#: on two cores end together rather than one long ingest starting last.
SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec(
        id="ods_trusts",
        title="ODS NHS trusts (etr)",
        publisher="NHS England Organisation Data Service",
        publisher_page="https://digital.nhs.uk/services/organisation-data-service/export-data-files/csv-downloads/other-nhs-organisations",
        page_path="ods/csv-downloads/",
        link_pattern=r"(?i)(^|/)etr[^/]*\.csv$",
        cadence="monthly",
        schedule="0 5 1 * *",
        expected_lag_days=40,
        parser="pipelines.parsers.ods:parse_trusts",
        kind="reference",
        dbt_source="ods",
        layouts=("etr",),
        quirks="No header; 27 quoted columns; region in column 3, ICB in column 4; closed trusts stay "
        "with a close date.",
    ),
    SourceSpec(
        id="ods_successors",
        title="ODS successor organisations (succ)",
        publisher="NHS England Organisation Data Service",
        publisher_page="https://digital.nhs.uk/services/organisation-data-service/export-data-files/csv-downloads/miscellaneous",
        page_path="ods/csv-downloads/",
        link_pattern=r"(?i)(^|/)succ[^/]*\.csv$",
        cadence="monthly",
        schedule="0 5 1 * *",
        expected_lag_days=40,
        parser="pipelines.parsers.ods:parse_successors",
        kind="reference",
        dbt_source="ods",
        layouts=("succ",),
        quirks="No header; old code, new code, reason, effective date (YYYYMMDD), indicator; chains "
        "are resolved transitively and splits reported.",
    ),
    SourceSpec(
        id="fft",
        priority_weight=14,
        title="Friends and Family Test (all settings, trust level)",
        publisher="NHS England",
        publisher_page="https://www.england.nhs.uk/fft/friends-and-family-test-data/",
        page_path="fft/friends-and-family-test-data/",
        link_pattern=r"(?i)friends-and-family-test-[a-z-]+-data-[a-z]+-\d{4}\.xls[xm]$",
        cadence="monthly",
        schedule="0 6 20 * *",
        expected_lag_days=45,
        parser="pipelines.parsers.fft:parse",
        layouts=("inpatient", "ae", "maternity", "outpatient", "ambulance", "mental_health", "community"),
        period_from_name=False,
        quirks="Period only in the title cell Notes!A2; two-row headers; aggregate rows before the "
        "data; '*' suppressed (1-4 responses), '-' not calculable, 'NA' not available; the question "
        "changed on 1 April 2020, so the series are never joined across it.",
    ),
    SourceSpec(
        id="workforce_staff_in_post",
        priority_weight=23,
        title="NHS Workforce Statistics, staff in post by staff group and organisation",
        publisher="NHS England (NHS Digital)",
        publisher_page=f"{_NHSD}/nhs-workforce-statistics",
        page_path="statistical/nhs-workforce-statistics/",
        link_pattern=r"(?i)(staff group and organisation|core 1\. staff group)[^/]*\.csv$",
        cadence="monthly",
        schedule="0 6 28 * *",
        expected_lag_days=95,
        parser="pipelines.parsers.workforce:parse",
        layouts=("staff_group_organisation", "core1"),
        quirks="Long format with Data Type FTE/HC and a 'Total' staff group; cumulative (restates at "
        "least 12 months); ISO month-end dates in one pack, DD/MM/YYYY in others; the Core 1 pack "
        "(DATA_MONTH, ORG_CODE, FTE, HEADCOUNT) replaces it from autumn 2025.",
    ),
    SourceSpec(
        id="sickness_absence_reason",
        priority_weight=8,
        title="NHS Sickness Absence Rates by reason",
        **_SICKNESS_ABSENCE_PUBLICATION,
        link_pattern=r"(?i)reason[^/]*\.csv$",
        parser="pipelines.parsers.sickness_absence_reason:parse",
        layouts=("reason_monthly",),
        quirks="FTE_DAYS_LOST repeats the organisation total on every reason row; the reason's own "
        "days are FTE_DAYS_LOST_REASON (never sum the repeated total).",
    ),
    SourceSpec(
        id="turnover",
        priority_weight=7,
        title="NHS Workforce Statistics, organisation-level turnover (leavers, joiners, denominators)",
        publisher="NHS England (NHS Digital)",
        publisher_page=f"{_NHSD}/nhs-workforce-statistics",
        page_path="statistical/nhs-workforce-statistics/",
        link_pattern=r"(?i)turnover[^/]*\.csv$",
        cadence="monthly",
        schedule="0 6 28 * *",
        expected_lag_days=95,
        parser="pipelines.parsers.turnover:parse",
        layouts=("organisation_turnover",),
        quirks="Period is 'YYYYMM to YYYYMM' for leavers and joiners; leaver rate = leavers FTE / mean "
        "of the denominators at the start and end of the 12 months.",
    ),
    SourceSpec(
        id="sickness_absence",
        priority_weight=3,
        title="NHS Sickness Absence Rates (organisation level)",
        **_SICKNESS_ABSENCE_PUBLICATION,
        link_pattern=r"(?i)sickness[^/]*absence[^/]*rates[^/]*csv[^/]*\.csv$",
        parser="pipelines.parsers.sickness_absence:parse",
        layouts=("org_monthly", "org_monthly_legacy"),
        quirks="DATE is DD/MM/YYYY month end; before April 2022 'Date' is 2015-JAN and columns are "
        "'FTE Days Sick' / 'SA Rate (%)'; national bodies carry region and ICS code QZZ.",
    ),
    SourceSpec(
        id="sickness_absence_staff_group",
        priority_weight=4,
        title="NHS Sickness Absence Rates, benchmarking file by staff group",
        **_SICKNESS_ABSENCE_PUBLICATION,
        link_pattern=r"(?i)benchmarking[^/]*\.csv$",
        parser="pipelines.parsers.sickness_absence_staff_group:parse",
        layouts=("staff_group_monthly",),
        quirks="Measures are blanked when FTE_DAYS_AVAILABLE <= 330; organisation rows have "
        "STAFF_GROUP 'All staff groups'; ICS columns only from about August 2022.",
    ),
    SourceSpec(
        id="staff_survey_detailed",
        priority_weight=2,
        title="NHS Staff Survey detailed spreadsheets (question level, organisational results)",
        publisher="NHS England (Survey Coordination Centre)",
        publisher_page="https://www.nhsstaffsurveys.com/results/",
        page_path="results/national-results/",
        link_pattern=r"(?i)detailed[^/]*spreadsheets[^/]*organisational[^/]*\.xlsx$",
        cadence="annual",
        schedule="0 6 15 3 *",
        expected_lag_days=140,
        parser="pipelines.parsers.staff_survey:parse_detailed_workbook",
        layouts=("detailed_organisational",),
        quirks="Merged question text in row 1, header in row 5; question numbers move between years.",
    ),
    SourceSpec(
        id="staff_survey_benchmark",
        priority_weight=3,
        title="NHS Staff Survey benchmark report data (element and theme scores)",
        publisher="NHS England (Survey Coordination Centre)",
        publisher_page="https://www.nhsstaffsurveys.com/results/",
        page_path="results/national-results/",
        link_pattern=r"(?i)benchmark[^/]*report[^/]*excel[^/]*\.xlsx$",
        cadence="annual",
        schedule="0 6 15 3 *",
        expected_lag_days=140,
        parser="pipelines.parsers.staff_survey:parse_benchmark_workbook",
        layouts=("benchmark_workbook",),
        quirks="One sheet per benchmarking group; <VAR>_<YYYY> columns restating four earlier years "
        "(re-weighted: every vintage is kept); group labels differ between years.",
    ),
)

SOURCES_BY_ID: dict[str, SourceSpec] = {spec.id: spec for spec in SOURCES}


def get_source(source_id: str) -> SourceSpec:
    """The source with this id, or a ValueError listing the ids that exist."""
    try:
        return SOURCES_BY_ID[source_id]
    except KeyError:
        raise ValueError(f"unknown source {source_id!r}; known sources: {', '.join(SOURCES_BY_ID)}") from None
