"""The floor: the same useful work as the pipeline with no orchestration, in one process.

Reads every raw file of the synthetic publisher's folder directly from disk (no HTTP, no
landing, no ledger, no validation, no Airflow, no dbt): CSVs with DuckDB ``read_csv``, the
FFT / Staff Survey workbooks with python-calamine (spread over ``--workers`` processes, default
``os.cpu_count()``). It loads every source into one DuckDB file, builds the equivalent marts
(``dim_organisation`` with the peer group and successor, ``fct_culture_outcomes`` with the
catalogue's metrics), computes the same benchmark table as the pipeline (every statistic, by the
product's own vectorised ``compute_benchmark_table``, the one implementation of those columns), applies
the same disclosure control and writes the same extracts as a release (``benchmarks_network`` and
one file per network member, CSV, Parquet and XLSX, by the product's writers).

The issue that set the 5x target defines the floor as the same raw files, marts, benchmark tables
and extracts. What the pipeline does beyond that (HTTP and landing, the ledger, expectation suites,
dbt's tests, the BI snapshot, packs, docs, manifest and read-back check) is its own cost, measured
by the ratio. Until benchmarks/FINDINGS.md section 20 this floor computed only the distribution and
rank, in SQL, and wrote no XLSX.

    .venv/bin/python benchmarks/floor.py --site DIR --out DIR [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.benchmark.methods import methods_frame
from pipelines.benchmark.schema import COLUMNS
from pipelines.benchmark.tables import compute_benchmark_table
from pipelines.config import Settings, load_settings
from pipelines.publish.disclosure import Rule, disclose_benchmark_table, disclosure_rules
from pipelines.publish.extracts import ExtractJob, Notes, write_extract_job

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = PROJECT_ROOT / "dbt_project" / "seeds" / "metric_catalogue.csv"
MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], start=1)}
FFT_SETTINGS = {"inpatient": "inpatient", "a&e": "ae", "outpatient": "outpatient", "ambulance": "ambulance",
                "mental health": "mental_health", "community": "community", "maternity": "maternity"}
MATERNITY = {"Trusts Q1": "maternity_q1_antenatal", "Trusts Q2": "maternity_q2_birth",
             "Trusts Q3": "maternity_q3_postnatal_ward", "Trusts Q4": "maternity_q4_postnatal_community"}
TOKENS = {"*", "-", "NA"}
_TITLE = re.compile(r"^(?P<setting>.+?)\s+friends and family test.*?(?P<month>[a-z]+)\s+(?P<year>\d{4})\s*$", re.I)
_SURVEY_COLUMN = re.compile(r"^(?P<var>.+?)(?P<n>_n)?_(?P<year>\d{4})$")


# --- workbooks (calamine) ------------------------------------------------------------------------

def _num(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def read_fft(path: str) -> list[tuple]:
    """(org_code, breakdown, month, measure, value, numerator, denominator, suppressed) rows."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(path)
    title = str(book.get_sheet_by_name("Notes").to_python()[1][0])
    found = _TITLE.match(title)
    setting = FFT_SETTINGS[found["setting"].strip().lower()]
    month = date(int(found["year"]), MONTHS[found["month"].lower()], 1)
    if setting == "maternity":
        tables = [(name, breakdown) for name, breakdown in MATERNITY.items() if name in book.sheet_names]
    else:
        tables = [(next(s for s in ("Trusts", "Orgs", "PTS Org") if s in book.sheet_names), setting)]
    out = []
    for sheet, breakdown in tables:
        rows = book.get_sheet_by_name(sheet).to_python()
        header_at = next(i for i, r in enumerate(rows) if any(str(c).strip() in ("Trust Code", "Org Code") for c in r))
        top, sub = rows[header_at], rows[header_at + 1]
        names = [str(b).strip() or str(a).strip() for a, b in zip(top, sub, strict=False)]
        col = {name: i for i, name in enumerate(names) if name}
        code_i = col.get("Trust Code", col.get("Org Code"))
        recommended = "Percentage Recommended" in col
        measure = "percentage_recommended" if recommended else "percentage_positive"
        pos = ("Extremely Likely", "Likely") if recommended else ("Very Good", "Good")
        for r in rows[header_at + 2:]:
            code = str(r[code_i]).strip()
            if not code:
                continue
            total = r[col["Total Responses"]]
            parts = [r[col[p]] for p in pos]
            if any(str(x).strip() in TOKENS for x in (total, *parts)) or _num(total) is None:
                out.append((code, breakdown, month, measure, None, None, None, True))
                continue
            numerator = sum(_num(p) or 0.0 for p in parts)
            denominator = _num(total)
            value = numerator / denominator if denominator else None
            out.append((code, breakdown, month, measure, value, numerator, denominator, False))
            out.append((code, breakdown, month, "total_responses", denominator, None, None, False))
    return out


def read_survey_benchmark(path: str) -> list[tuple]:
    """(vintage, org_code, benchmark_group, measure, year, value, base) rows of one workbook."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(path)
    vintage = int(re.findall(r"\d{4}", Path(path).name)[-1])
    out = []
    for sheet in book.sheet_names[1:]:
        rows = book.get_sheet_by_name(sheet).to_python()
        if not rows:
            continue
        header = [str(h) for h in rows[0]]
        columns = []
        for i, name in enumerate(header):
            found = _SURVEY_COLUMN.match(name)
            if found and not found["n"]:
                base = header.index(f"{found['var']}_n_{found['year']}") if f"{found['var']}_n_{found['year']}" in header else None
                columns.append((i, base, found["var"].lower(), int(found["year"])))
        for r in rows[1:]:
            code = str(r[0]).strip()
            if not code:
                continue
            for i, base, var, year in columns:
                value = _num(r[i])
                out.append((vintage, code, sheet, var, year, value, _num(r[base]) if base is not None else None))
    return out


def read_survey_detailed(path: str) -> list[tuple]:
    """(sheet, question, org_code, weighting, base, values...) rows, loaded raw like the pipeline."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(path)
    out = []
    for sheet in book.sheet_names[1:]:
        rows = book.get_sheet_by_name(sheet).to_python()
        if len(rows) < 6:
            continue
        question = str(rows[0][6]) if len(rows[0]) > 6 else ""
        header = [str(h) for h in rows[4]]
        for r in rows[5:]:
            for i in range(7, len(header)):
                out.append((sheet, question, str(r[0]), str(r[5]), _num(r[6]), header[i], _num(r[i])))
    return out


# --- the benchmark table and the extracts -----------------------------------------------------

#: The facts the statistics take (:data:`pipelines.benchmark.facts.REQUIRED_COLUMNS` and the labels),
#: from the floor's marts and the metric catalogue.
FACTS_SQL = """
select f.org_code, d.org_name, d.is_network_member as in_network, $network as network_name, d.peer_group,
       f.metric_id, c.metric_name,
       f.unit, f.polarity, c.benchmark_method, try_cast(c.target as double) as target, f.grain,
       f.period_start::timestamp as period_start, f.value, f.numerator, f.denominator, f.suppressed
from fct_culture_outcomes f
left join dim_organisation d using (org_code)
left join catalogue c using (metric_id)
"""


def benchmark_table(con: duckdb.DuckDBPyConnection, settings: Settings) -> pd.DataFrame:
    """The same benchmark table as the pipeline's: every trust against the network (named as the
    pipeline names it), its peer group and England, with every statistic (distribution, rank,
    intervals, significance, funnels, SPC), computed by the product's own vectorised statistics in
    this process."""
    return compute_benchmark_table(con.execute(FACTS_SQL, {"network": settings.network.name}).df())


def disclosed(table: pd.DataFrame, metrics: pd.DataFrame, settings: Settings) -> tuple[pd.DataFrame, list[Rule]]:
    """The table after the same disclosure control as a release's (primary and secondary suppression),
    by the rules for the catalogue's ``metrics``."""
    rules = disclosure_rules(settings.disclosure, metrics)
    return disclose_benchmark_table(table, rules)[0], rules


def write_extracts(table: pd.DataFrame, metrics: pd.DataFrame, rules: list[Rule], release: Path,
                   settings: Settings, workers: int) -> None:
    """The same extracts as a release's: the network's rows and each member's, as CSV, Parquet and
    XLSX (with its notes sheet), written by the product's writers across ``workers`` processes."""
    members = list(settings.network.members)
    network = table[table["org_code"].isin(members)].reset_index(drop=True)
    notes = Notes(title="", reference={"release_id": "floor"}, metrics=metrics,
                  methods=methods_frame(), disclosure=[rule.description for rule in rules],
                  columns={name: meaning for name, _, meaning in COLUMNS})
    jobs = [ExtractJob(network, release, "benchmarks_network", replace(notes, title="benchmarks_network"))]
    jobs += [ExtractJob(network[network["org_code"] == code].reset_index(drop=True), release / "trusts",
                        f"benchmarks_{code}", replace(notes, title=code)) for code in members]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(write_extract_job, jobs))


# --- the run ----------------------------------------------------------------------------------

def run(site: Path, out: Path, workers: int) -> dict:
    started = time.perf_counter()
    settings = load_settings()  # the network and the disclosure thresholds, as the pipeline's
    timings: dict[str, float] = {}
    out.mkdir(parents=True, exist_ok=True)
    db_path = out / "floor.duckdb"
    db_path.unlink(missing_ok=True)
    con = duckdb.connect(str(db_path))
    sickness = site / "statistical" / "nhs-sickness-absence-rates"
    workforce = site / "statistical" / "nhs-workforce-statistics"
    ods = site / "ods" / "csv-downloads"

    def csvs(folder: Path, pattern: str) -> list[str]:
        return sorted(str(p) for p in folder.iterdir() if re.search(pattern, p.name, re.I))

    def raw_csv(table: str, files: list[str], header: bool = True) -> None:
        """All files of a table, grouped by header line so DuckDB never sniffs (explicit VARCHAR columns)."""
        groups: dict[str, list[str]] = {}
        if not files:
            return
        for name in files:
            with open(name, encoding="utf-8-sig") as handle:
                groups.setdefault(handle.readline().rstrip("\r\n"), []).append(name)
        parts = []
        for first, members in groups.items():
            names = next(iter(__import__("csv").reader([first])))
            if not header:
                names = [f"column{i:02d}" for i in range(len(names))]
            columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
            parts.append(f"select * from read_csv({members!r}, columns={columns}, header={str(header).lower()}, "
                         f"delim=',', quote='\"', auto_detect=false, filename=true)")
        con.execute(f"create or replace table raw_{table} as " + " union all by name ".join(parts))

    t = time.perf_counter()
    raw_csv("sickness_absence", csvs(sickness, r"rates csv.*\.csv$"))
    raw_csv("sickness_absence_staff_group", csvs(sickness, r"benchmarking.*\.csv$"))
    raw_csv("sickness_absence_reason", csvs(sickness, r"reason.*\.csv$"))
    raw_csv("workforce_legacy", csvs(workforce, r"staff group and organisation.*\.csv$"))
    raw_csv("workforce_core1", csvs(workforce, r"core 1\..*\.csv$"))
    raw_csv("turnover", csvs(workforce, r"turnover.*\.csv$"))
    raw_csv("ods_trusts", [str(ods / "etr.csv")], header=False)
    raw_csv("ods_successors", [str(ods / "succ.csv")], header=False)
    # layouts absent from a short history still get their columns, so the SQL below binds
    for table, columns in (("sickness_absence", ("ORG_CODE", "Org Code", "DATE", "Date", "FTE_DAYS_LOST", "FTE Days Sick",
                                                 "FTE_DAYS_AVAILABLE", "FTE Days Available", "ORG_TYPE", "Org Type")),):
        present = {r[0].lower() for r in con.execute(f"describe raw_{table}").fetchall()}
        for column in columns:
            if column.lower() not in present:
                con.execute(f'alter table raw_{table} add column "{column}" varchar')
                present.add(column.lower())
    for table, columns in (("workforce_legacy", ("Org Code", "Date", "Data Type", "Total", "Staff Group", "filename")),
                           ("workforce_core1", ("ORG_CODE", "DATA_MONTH", "DATA_LEVEL", "MAIN_STAFF_GROUP", "STAFF_GROUP_1",
                                                "FTE", "HEADCOUNT", "filename"))):
        exists = con.execute("select count(*) from information_schema.tables where table_name = ?",
                             [f"raw_{table}"]).fetchall()[0][0]
        if not exists:
            con.execute(f"create table raw_{table} (" + ", ".join(f'"{c}" varchar' for c in columns) + ")")
    timings["read_csv"] = time.perf_counter() - t

    t = time.perf_counter()
    fft_files = sorted(str(p) for p in (site / "fft").rglob("*.xls[xm]"))
    survey_dir = site / "results" / "national-results"
    bench_files = sorted(str(p) for p in survey_dir.glob("*enchmark*.xlsx"))
    detailed_files = sorted(str(p) for p in survey_dir.glob("*detailed*.xlsx"))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        fft_rows = [row for rows in pool.map(read_fft, fft_files, chunksize=8) for row in rows]
        bench_rows = [row for rows in pool.map(read_survey_benchmark, bench_files) for row in rows]
        detailed_rows = [row for rows in pool.map(read_survey_detailed, detailed_files) for row in rows]
    timings["read_workbooks"] = time.perf_counter() - t

    t = time.perf_counter()
    import pyarrow as pa

    def load(table: str, names: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        frame = pa.table({name: list(values) for name, values in zip(names, zip(*rows, strict=True), strict=True)})
        con.register("_incoming", frame)
        con.execute(f"create or replace table raw_{table} as select * from _incoming")
        con.unregister("_incoming")

    load("fft", ["org_code", "breakdown", "month", "measure", "value", "numerator", "denominator", "suppressed"], fft_rows)
    load("staff_survey_benchmark", ["vintage", "org_code", "benchmark_group", "measure", "year", "value", "base"], bench_rows)
    load("staff_survey_detailed", ["sheet", "question", "org_code", "weighting", "base", "answer", "value"], detailed_rows)
    con.execute("create or replace table catalogue as select * from read_csv(?, header=true, all_varchar=true)",
                [str(CATALOGUE)])
    timings["load_workbooks"] = time.perf_counter() - t

    t = time.perf_counter()
    # successors resolved transitively (tiny: a Python loop)
    pairs = dict(con.execute("select column00, column01 from raw_ods_successors").fetchall())
    final = {}
    for old in pairs:
        seen, code = set(), old
        while code in pairs and code not in seen:
            seen.add(code)
            code = pairs[code]
        final[old] = code
    con.execute("create or replace table successors (old_code varchar, new_code varchar)")
    if final:
        con.executemany("insert into successors values (?, ?)", list(final.items()))
    members = ", ".join(f"'{c}'" for c in settings.network.members)
    con.execute("""
    create or replace table observations as
    with sa as (
        select coalesce(ORG_CODE, "Org Code") as org_code,
               coalesce(try_strptime(DATE, '%d/%m/%Y'), try_strptime("Date", '%Y-%b'))::date as d,
               try_cast(coalesce(FTE_DAYS_LOST, "FTE Days Sick") as double) as num,
               try_cast(coalesce(FTE_DAYS_AVAILABLE, "FTE Days Available") as double) as den
        from raw_sickness_absence where coalesce(ORG_CODE, "Org Code") is not null
    ), wf_legacy as (
        select "Org Code" as org_code, filename,
               coalesce(try_strptime("Date", '%Y-%m-%d'), try_strptime("Date", '%d/%m/%Y'))::date as d,
               case "Data Type" when 'FTE' then 'staff_in_post_fte' else 'staff_in_post_headcount' end as measure,
               try_cast("Total" as double) as v
        from raw_workforce_legacy where "Staff Group" = 'Total'
    ), wf_core as (
        select ORG_CODE as org_code, filename,
               coalesce(try_strptime(DATA_MONTH, '%Y-%m-%d'), try_strptime(DATA_MONTH, '%d/%m/%Y'))::date as d,
               unnest(['staff_in_post_fte', 'staff_in_post_headcount']) as measure,
               unnest([try_cast(FTE as double), try_cast(HEADCOUNT as double)]) as v
        from raw_workforce_core1
        where DATA_LEVEL = 'Organisation' and MAIN_STAFF_GROUP = 'All staff groups' and STAFF_GROUP_1 = 'All staff groups'
    ), wf as (  -- cumulative packs restate months: the newest file wins
        select * from (select *, row_number() over (partition by org_code, d, measure order by filename desc) as rn
                       from (select * from wf_legacy union all select * from wf_core)) where rn = 1
    ), tv as (
        select "Org code" as org_code, "Type" as kind, "Period" as period, filename, try_cast(FTE as double) as fte
        from raw_turnover where "Staff group" = 'All staff groups'
    ), tv_latest as (
        select * from (select *, row_number() over (partition by org_code, kind, period order by filename desc) as rn
                       from tv) where rn = 1
    ), leavers as (
        select org_code, strptime(substr(period, 1, 6), '%Y%m')::date as start_month,
               strptime(substr(period, 11, 6), '%Y%m')::date as d, fte as leavers
        from tv_latest where kind = 'Leavers'
    ), denoms as (
        select org_code, strptime(period, '%Y%m')::date as d, fte as denominator from tv_latest where kind = 'Denoms'
    ), survey as (
        select * from (select *, row_number() over (partition by org_code, measure, year order by vintage desc) as rn
                       from raw_staff_survey_benchmark) where rn = 1
    )
    select 'sickness_absence' as source, org_code, date_trunc('month', d)::date as period_start, 'month' as grain,
           'sickness_absence_rate' as measure, 'all' as breakdown, 100 * num / nullif(den, 0) as value,
           num as numerator, den as denominator, false as suppressed
    from sa where d is not null
    union all
    select 'workforce_staff_in_post', org_code, date_trunc('month', d)::date, 'month', measure, 'total', v, null, null, false
    from wf
    union all
    select 'turnover', l.org_code, l.start_month, 'rolling_12m', 'leavers_fte', 'all', l.leavers, null, null, false
    from leavers l
    union all
    select 'turnover', l.org_code, l.start_month, 'rolling_12m', 'leaver_rate_fte', 'all',
           l.leavers / nullif((s.denominator + e.denominator) / 2, 0), l.leavers, (s.denominator + e.denominator) / 2, false
    from leavers l
    left join denoms s on s.org_code = l.org_code and s.d = l.start_month
    left join denoms e on e.org_code = l.org_code and e.d = l.d
    union all
    select 'turnover', org_code, d, 'month', 'denominator_fte', 'all', denominator, null, null, false from denoms
    union all
    select 'fft', org_code, month, 'month', measure, breakdown, value, numerator, denominator,
           suppressed or coalesce(denominator < 5, false)
    from raw_fft where measure <> 'total_responses'
    union all
    select 'staff_survey_benchmark', org_code, make_date(year, 1, 1), 'survey_year', measure, 'all', value, null, base,
           value is null or coalesce(base < 11, false)
    from survey
    """)
    con.execute(f"""
    create or replace table dim_organisation as
    with codes as (select distinct org_code from observations where org_code is not null),
    type_labels as (
        select org_code, arg_max(label, d) as label from (
            select org_code, benchmark_group as label, make_date(year, 12, 31) + interval 1000 day as d
            from raw_staff_survey_benchmark
            union all
            select coalesce(ORG_CODE, "Org Code"), coalesce(ORG_TYPE, "Org Type"),
                   coalesce(try_strptime(DATE, '%d/%m/%Y'), try_strptime("Date", '%Y-%b'))
            from raw_sickness_absence) where label is not null group by org_code
    ), typed as (
        select c.org_code, e.column01 as org_name, e.column02 as region_code, e.column03 as icb_code,
               try_strptime(e.column11, '%Y%m%d')::date as close_date, s.new_code as successor_code,
               case when lower(t.label) like '%specialist%' then 'acute specialist'
                    when lower(t.label) like 'acute%' then 'acute'
                    when lower(t.label) like '%ambulance%' then 'ambulance'
                    when lower(t.label) like '%mental%' or lower(t.label) like 'mh%' then 'mental health'
                    when lower(t.label) like '%community%' then 'community'
                    when t.label is null then 'unknown' else 'other' end as org_type
        from codes c left join raw_ods_trusts e on e.column00 = c.org_code
        left join type_labels t on t.org_code = c.org_code left join successors s on s.old_code = c.org_code
    )
    select *, org_code in ({members}) as is_network_member,
           case when org_type in ('acute', 'acute specialist', 'mental health', 'community', 'ambulance')
                then 'national_' || replace(org_type, ' ', '_') end as peer_group
    from typed
    """)
    # marts: catalogued metrics; additive ones attributed to the final successor and re-summed
    con.execute("""
    create or replace table fct_culture_outcomes as
    with catalogued as (
        select o.*, c.metric_id, c.aggregation, c.polarity, c.unit,
               coalesce(case when c.aggregation in ('sum', 'ratio_of_sums', 'derived') then s.new_code end,
                        o.org_code) as attributed
        from observations o join catalogue c
          on c.source = o.source and c.measure = o.measure and c.breakdown = o.breakdown
        left join successors s on s.old_code = o.org_code
    )
    select attributed as org_code, metric_id, period_start, any_value(grain) as grain, any_value(unit) as unit,
           any_value(polarity) as polarity,
           case when count(*) = 1 then any_value(value)
                when any_value(aggregation) = 'sum' then sum(value)
                else sum(numerator) / nullif(sum(denominator), 0) * (case any_value(unit) when 'percent' then 100 else 1 end)
           end as value,
           sum(numerator) as numerator, sum(denominator) as denominator, bool_or(suppressed) as suppressed
    from catalogued
    where org_code not like 'Q%'
    group by attributed, metric_id, period_start
    """)
    con.execute("""
    create or replace table mart_culture_outcomes_dashboard as
    select f.*, d.org_name, d.org_type, d.peer_group, d.is_network_member
    from fct_culture_outcomes f join dim_organisation d using (org_code)
    """)
    timings["marts"] = time.perf_counter() - t

    t = time.perf_counter()
    table = benchmark_table(con, settings)
    timings["benchmark_table"] = time.perf_counter() - t

    t = time.perf_counter()
    metrics = con.execute("select * from catalogue").df()
    table, rules = disclosed(table, metrics, settings)
    timings["disclosure"] = time.perf_counter() - t

    t = time.perf_counter()
    write_extracts(table, metrics, rules, out / "release", settings, workers)
    timings["extracts"] = time.perf_counter() - t

    counts = {name: con.execute(f"select count(*) from {name}").fetchone()[0]
              for name in ("observations", "fct_culture_outcomes", "dim_organisation")}
    counts["benchmark_table"] = len(table)
    con.close()
    return {"seconds": time.perf_counter() - started, "stages": timings, "rows": counts,
            "files": {"fft": len(fft_files), "survey_benchmark": len(bench_files), "survey_detailed": len(detailed_files)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.site, args.out, args.workers), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
