"""Statistical disclosure control: no small count leaves the building, directly or by arithmetic.

Applied to the benchmark table before any file is written (and, in :mod:`.bi`, to the marts
copied into the BI snapshot), then proven on the written files by :func:`check_release_files`.

Primary suppression (thresholds from ``config/pipeline.yaml`` ``disclosure``; a cell is one
trust x metric x grain x period):

* patient experience (``dim_metric.domain = 'patient_experience'``, or an FFT fraction): fewer
  than ``patient_experience_min_count`` (5) responses, the denominator;
* Staff Survey scores: a base (respondents, the denominator) below ``staff_survey_min_responses``
  (11); the response rate: fewer completed questionnaires (its numerator) than that;
* sickness absence rates: FTE days available (the denominator) below
  ``sickness_min_fte_days_available`` (331: the publisher blanks 330 or fewer).

Cells the publisher (or dbt) suppressed already stay suppressed. A suppressed cell shows the
publisher's marker ``*`` in CSV and XLSX (Parquet and DuckDB are typed: null, with
``suppressed = true``) in its value, numerator, denominator and every statistic derived from it
(:data:`CELL_STATISTICS`: intervals, rank, percentile, significance, funnel size / limits /
flags, SPC point).

Secondary suppression, for the structures that exist in what is published:

1. *Siblings of a cell*: the same cell is a row per comparator (network, peer group, England),
   in the network file, the trust's file, the XLSX, the BI snapshot's benchmark table and
   ``marts.fct_culture_outcomes``. Suppression is decided per cell, so every copy goes at once.
2. *Group totals*: each comparator group publishes totals over its members (the pooled
   comparator value = sum of numerators / sum of denominators, median, quartiles, best, worst,
   ``comparator_n`` and the other members' ranks, funnel dispersion) and each trust's series
   publishes its SPC centre line, limits and trend. A total that contains a suppressed member
   would give it away by differencing (total minus the published members), which is what the
   "suppress the next smallest member too" rule protects against. Here no total is allowed to
   contain a suppressed member: the benchmark build leaves suppressed cells out of every total,
   and when this module suppresses a cell the build had used, the table is recomputed from its
   own cells without it (:func:`pipelines.benchmark.tables.compute_benchmark_table`). The
   totals are then functions of published numbers only, so nothing is recovered and no second,
   publishable cell has to be given up. :func:`group_totals_exclude_suppressed` proves it for
   every group (``comparator_n`` = number of published members) and the release fails if not.
3. *Yearly totals of monthly cells* (``marts.mart_culture_outcomes_dashboard``): a trust-year
   row that includes a cell suppressed only at publication is withheld whole (:mod:`.bi`).

Organisation totals over FFT settings (or over staff groups) do not exist in the published
data: the metric catalogue has FFT per setting only and sickness for all staff only, so there is
no org-total / sibling-setting structure to protect.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pipelines.config import Disclosure
from pipelines.publish.release import ReleaseError

if TYPE_CHECKING:
    from pipelines.parallel import Workers

MARKER = "*"

CELL_KEYS: tuple[str, ...] = ("org_code", "metric_id", "grain", "period_start")
GROUP_KEYS: tuple[str, ...] = ("metric_id", "grain", "period_start", "comparator", "comparator_group")
COUNT_COLUMNS: tuple[str, ...] = ("value", "numerator", "denominator")

#: The trust's own cell and every statistic derived from it: withheld with the cell.
CELL_STATISTICS: tuple[str, ...] = (
    "value", "numerator", "denominator",
    "ci_lower", "ci_upper", "ci_lower_998", "ci_upper_998",
    "rank", "percentile", "significance",
    "funnel_size", "funnel_ratio", "funnel_lower_95", "funnel_upper_95", "funnel_lower_998", "funnel_upper_998",
    "funnel_adj_lower_95", "funnel_adj_upper_95", "funnel_adj_lower_998", "funnel_adj_upper_998",
    "funnel_flag", "funnel_flag_adjusted", "spc_point_variation", "spc_point_rules",
)

#: Columns of the benchmark table a cell is rebuilt from when the table must be recomputed.
_CELL_FACT_COLUMNS: tuple[str, ...] = (
    "org_code", "org_name", "metric_id", "metric_name", "unit", "polarity", "benchmark_method", "grain",
    "period_start", "period_end", "value", "numerator", "denominator", "suppressed", "target", "vintage",
    "extract_sha256",
)


@dataclass(frozen=True)
class Rule:
    """Suppress a cell of these metrics when ``count_column`` is below ``threshold``."""

    rule_id: str
    description: str
    count_column: str
    threshold: float
    metric_ids: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"metric_ids": list(self.metric_ids)}


def _column(metrics: pd.DataFrame, name: str) -> pd.Series:
    if name in metrics.columns:
        return metrics[name].astype(object).where(metrics[name].notna(), "").astype(str).str.strip().str.lower()
    return pd.Series("", index=metrics.index, dtype=object)


def disclosure_rules(disclosure: Disclosure, metrics: pd.DataFrame) -> list[Rule]:
    """The rules for the metrics of ``marts.dim_metric`` (metric_id, source, domain, unit,
    benchmark_method); thresholds from configuration."""
    thresholds = {
        "patient_experience_min_count": disclosure.patient_experience_min_count,
        "staff_survey_min_responses": disclosure.staff_survey_min_responses,
        "sickness_min_fte_days_available": disclosure.sickness_min_fte_days_available,
    }
    for key, value in thresholds.items():
        if not value or float(value) <= 0:
            raise ReleaseError(f"configuration disclosure.{key} must be a positive number, got {value!r}")
    ids = metrics["metric_id"].astype(str)
    source, domain = _column(metrics, "source"), _column(metrics, "domain")
    unit, method = _column(metrics, "unit"), _column(metrics, "benchmark_method")
    patient = (domain == "patient_experience") | ((source == "fft") & (unit == "fraction"))
    survey = source.str.startswith("staff_survey") & ~patient
    sickness = source.str.startswith("sickness_absence") & (unit == "percent") & ~patient & ~survey

    def chosen(mask: pd.Series) -> tuple[str, ...]:
        return tuple(sorted(ids[mask.to_numpy()]))

    pe, ss, sick = (float(thresholds[k]) for k in thresholds)
    return [
        Rule("patient_experience_min_count",
             f"patient experience (FFT): fewer than {pe:g} responses (the denominator)",
             "denominator", pe, chosen(patient)),
        Rule("staff_survey_min_responses",
             f"NHS Staff Survey scores: a base of fewer than {ss:g} respondents (the denominator)",
             "denominator", ss, chosen(survey & (method != "proportion"))),
        Rule("staff_survey_min_completed",
             f"NHS Staff Survey response rate: fewer than {ss:g} completed questionnaires (the numerator)",
             "numerator", ss, chosen(survey & (method == "proportion"))),
        Rule("sickness_min_fte_days_available",
             f"sickness absence rates: fewer than {sick:g} FTE days available (the denominator)",
             "denominator", sick, chosen(sickness)),
    ]


def rule_hits(frame: pd.DataFrame, rules: Sequence[Rule]) -> dict[str, np.ndarray]:
    """Per rule, the rows whose count is present and below the threshold ("*" and blanks are absent)."""
    hits = {}
    metric = frame["metric_id"].astype(object).to_numpy() if "metric_id" in frame.columns else None
    for rule in rules:
        if metric is None or rule.count_column not in frame.columns or not rule.metric_ids:
            hits[rule.rule_id] = np.zeros(len(frame), dtype=bool)
            continue
        count = _numbers(frame[rule.count_column])
        with np.errstate(invalid="ignore"):
            hits[rule.rule_id] = np.isin(metric, np.array(rule.metric_ids, dtype=object)) & (count < rule.threshold)
    return hits


def _numbers(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column.astype(object), errors="coerce").astype("float64").to_numpy()


def _flags(column: pd.Series) -> np.ndarray:
    """True / "True" / 1 -> True; false, missing, "" -> False."""
    if pd.api.types.is_bool_dtype(column):
        return column.astype("boolean").fillna(False).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(column):
        return (pd.to_numeric(column, errors="coerce").fillna(0) != 0).to_numpy(dtype=bool)
    values = column.astype(object)  # True / np.True_ read as "True" below, 1 as "1"
    text = values.where(values.notna(), "").astype(str).str.strip().str.lower()
    return text.isin(["true", "t", "1", "yes"]).to_numpy(dtype=bool)


def _present(column: pd.Series) -> np.ndarray:
    """A published value: not null, not blank, not the marker."""
    missing = column.isna().to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return ~missing
    text = column.astype(object).where(~missing, "").astype(str).str.strip()  # a number is never "" or the marker
    return ~missing & ~text.isin(["", MARKER]).to_numpy(dtype=bool)


def _cell_ids(frame: pd.DataFrame) -> np.ndarray:
    keys = [k for k in CELL_KEYS if k in frame.columns]
    return frame.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()


def _spread_to_cells(rows: np.ndarray, cell: np.ndarray) -> np.ndarray:
    cells = np.zeros(int(cell.max()) + 1 if cell.size else 0, dtype=bool)
    cells[cell[rows]] = True
    return cells[cell] if cell.size else rows


def group_totals_exclude_suppressed(table: pd.DataFrame) -> tuple[bool, int]:
    """(True, groups checked) when every comparator group's ``comparator_n`` equals its published
    members, i.e. no group total contains a suppressed (or unpublished) value."""
    if "comparator_n" not in table.columns or "comparator_group" not in table.columns or table.empty:
        return True, 0
    # Only the columns it needs: filtering the whole national table's rows copied all of its columns.
    needed = [c for c in (*GROUP_KEYS, "value", "suppressed", "comparator_n") if c in table.columns]
    grouped = table.loc[table["comparator_group"].notna().to_numpy(), needed]
    if grouped.empty:
        return True, 0
    published = _present(grouped["value"]) & ~_flags(grouped["suppressed"])
    frame = pd.DataFrame({
        "gid": grouped.groupby(list(GROUP_KEYS), dropna=False, sort=False).ngroup().to_numpy(),
        "published": published,
        "n": pd.to_numeric(grouped["comparator_n"], errors="coerce").astype("float64").to_numpy(),
    })
    per_group = frame.groupby("gid").agg(published=("published", "sum"), n_min=("n", "min"), n_max=("n", "max"))
    n = per_group["n_max"].fillna(0)
    consistent = (per_group["n_min"].fillna(0) == n) & (n == per_group["published"])
    return bool(consistent.all()), int(len(per_group))


def cells_as_facts(table: pd.DataFrame) -> pd.DataFrame:
    """One fact per cell of a benchmark table, with its network membership and peer group, as
    :func:`compute_benchmark_table` takes them (the table is rebuilt from exactly what it shows)."""
    keys = list(CELL_KEYS)
    facts = table.drop_duplicates(keys)[[c for c in _CELL_FACT_COLUMNS if c in table.columns]]
    network = table.loc[table["comparator"] == "network", keys].drop_duplicates().assign(in_network=True)
    peers = (table.loc[table["comparator"] == "peer_group", [*keys, "comparator_group"]]
             .drop_duplicates(keys).rename(columns={"comparator_group": "peer_group"}))
    facts = facts.merge(network, on=keys, how="left").merge(peers, on=keys, how="left")
    facts["in_network"] = facts["in_network"].astype("boolean").fillna(False).astype(bool)
    return facts.reset_index(drop=True)


def disclose_benchmark_table(table: pd.DataFrame, rules: Sequence[Rule]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The table with primary and secondary suppression applied, and a report for the manifest."""
    from pipelines.benchmark.tables import compute_benchmark_table

    table = table.reset_index(drop=True)
    if table.empty:
        return table, _report(rules, {r.rule_id: 0 for r in rules}, 0, 0, False, (True, 0))
    cell = _cell_ids(table)
    already = _spread_to_cells(_flags(table["suppressed"]), cell)
    hits = rule_hits(table, rules)
    primary = np.zeros(len(table), dtype=bool)
    per_rule = {}
    for rule in rules:
        spread = _spread_to_cells(hits[rule.rule_id], cell)
        per_rule[rule.rule_id] = int(np.unique(cell[spread & ~primary & ~already]).size)
        primary |= spread
    upstream = int(np.unique(cell[already]).size)
    newly = primary & ~already
    totals_ok = group_totals_exclude_suppressed(table)
    recomputed = False
    if (newly & _present(table["value"])).any() or not totals_ok[0]:
        # A cell the totals used is suppressed now: rebuild every total without it.
        facts = cells_as_facts(table)
        hidden = pd.MultiIndex.from_frame(table.loc[primary | already, list(CELL_KEYS)].drop_duplicates())
        facts.loc[pd.MultiIndex.from_frame(facts[list(CELL_KEYS)]).isin(hidden), "suppressed"] = True
        table = compute_benchmark_table(facts).reset_index(drop=True)
        recomputed = True
        cell = _cell_ids(table)
        suppressed = _spread_to_cells(_flags(table["suppressed"]), cell)
    else:
        suppressed = primary | already
        table = table.copy()
    table["suppressed"] = pd.array(suppressed, dtype="boolean")
    if suppressed.any():
        for name in CELL_STATISTICS:
            if name in table.columns:
                table[name] = _blank(table[name], suppressed)
        if "significance_reason" in table.columns:
            reason = table["significance_reason"].astype(object).to_numpy(copy=True)
            reason[suppressed] = "suppressed"
            table["significance_reason"] = pd.Series(reason, dtype=object, index=table.index)
    totals_ok = group_totals_exclude_suppressed(table)
    if not totals_ok[0]:
        raise ReleaseError("disclosure: a comparator group's statistics still include a suppressed value")
    order = [c for c in ("metric_id", "period_start", "comparator", "org_code") if c in table.columns]
    table = table.sort_values(order, kind="stable").reset_index(drop=True)
    return table, _report(rules, per_rule, upstream, int(np.unique(cell[suppressed]).size), recomputed, totals_ok)


def _blank(column: pd.Series, rows: np.ndarray) -> pd.Series:
    """The column with nulls in ``rows``, keeping its dtype (NaN in floats, NA in nullable, None in text)."""
    out = column.copy()
    out[rows] = None
    return out


def _report(rules: Sequence[Rule], per_rule: dict[str, int], upstream: int, total: int, recomputed: bool,
            totals: tuple[bool, int]) -> dict[str, Any]:
    return {
        "marker": MARKER,
        "marker_note": "CSV and XLSX show '*' for a suppressed cell and its derived statistics; Parquet and "
                       "DuckDB keep typed nulls with suppressed = true",
        "primary_rules": [r.as_dict() | {"cells_suppressed_at_publication": per_rule.get(r.rule_id, 0)}
                          for r in rules],
        "cells_suppressed_upstream": upstream,
        "cells_suppressed_total": total,
        "withheld_with_a_cell": list(CELL_STATISTICS),
        "secondary_rules": [
            {"rule_id": "siblings_of_a_cell",
             "description": "a cell is suppressed in every comparator row and every file at once"},
            {"rule_id": "group_totals_exclude_suppressed",
             "description": "comparator totals (pooled value, median, quartiles, best, worst, n, ranks, funnel "
                            "dispersion) and each trust's SPC / trend series are computed over published cells "
                            "only; cells suppressed at publication force a recomputation without them, so no "
                            "total can be differenced to recover a suppressed value",
             "benchmark_table_recomputed": recomputed,
             "comparator_groups_checked": totals[1]},
            {"rule_id": "yearly_totals_of_suppressed_cells",
             "description": "a dashboard trust-year row that includes a cell suppressed at publication is "
                            "withheld whole (BI snapshot)"},
        ],
    }


# --- the proof over written files ---------------------------------------------------------------------------

def table_violations(frame: pd.DataFrame, rules: Sequence[Rule], where: str) -> list[str]:
    """Small counts in a table, and suppressed rows that still show a value or derived statistic,
    each named by the row an analyst finds in the file (the header is row 1)."""
    found = []
    for rule in rules:
        rows = np.flatnonzero(rule_hits(frame, [rule])[rule.rule_id])
        for i in rows[:5]:
            found.append(f"{where} row {int(i) + 2}: {rule.count_column} of {frame['metric_id'].iloc[i]} "
                         f"is below {rule.threshold:g} ({rule.rule_id})")
    if "suppressed" in frame.columns:
        suppressed = _flags(frame["suppressed"])
        if suppressed.any():
            for name in CELL_STATISTICS:
                if name in frame.columns:
                    leaked = np.flatnonzero(suppressed & _present(frame[name]))
                    for i in leaked[:5]:
                        found.append(f"{where} row {int(i) + 2}: suppressed but {name} is published")
    return found


def _needed(columns: Iterable[str]) -> list[str]:
    wanted = {*CELL_KEYS, "suppressed", *CELL_STATISTICS}
    return [c for c in columns if c in wanted]


#: The cell key (:data:`CELL_KEYS`, the date as ISO text), made in SQL as :func:`_cell_states` makes it.
_KEY_SQL = ("concat_ws('|', coalesce(cast(org_code as varchar), ''), coalesce(cast(metric_id as varchar), ''), "
            "coalesce(cast(grain as varchar), ''), coalesce(strftime(cast(period_start as date), '%Y-%m-%d'), ''))")
#: DuckDB's number types: a null or NaN is an absent number, anything else a present one.
_NUMBER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                           "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL"})


@dataclass(frozen=True)
class ReadBack:
    """One table (or one DuckDB file's table) of a release to read back."""

    path: Path
    relative: str
    rules: tuple[Rule, ...]
    table: tuple[str, str] | None = None  # (schema, name) inside a DuckDB file


def _duckdb_tables(path: Path) -> list[tuple[str, str]]:
    """The tables of a DuckDB file that hold cells (a ``metric_id`` column)."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return [(schema, name) for schema, name in con.execute(
            "select table_schema, table_name from information_schema.columns where table_catalog = current_database() "
            "and column_name = 'metric_id' order by 1, 2").fetchall()]


def _read_backs(folder: Path, paths: Sequence[Path], rules: Sequence[Rule]) -> list[ReadBack]:
    """The read-backs the files ``paths`` of ``folder`` make: one per file, or one per table of a
    DuckDB file, so the national tables are read back side by side."""
    jobs = []
    for path in paths:
        relative = str(path.relative_to(folder))
        if path.suffix.lower() != ".duckdb":
            jobs.append(ReadBack(path, relative, tuple(rules)))
            continue
        try:
            tables = _duckdb_tables(path)
        except Exception:  # noqa: BLE001 - unreadable: its read-back reports why
            tables = [None]
        jobs += [ReadBack(path, relative, tuple(rules), table) for table in tables]
    return jobs


def _sheets_in(job: ReadBack) -> Iterable[tuple[str, pd.DataFrame]]:
    """(where, rows) of a CSV or XLSX file ``job`` reads back: the file, or each sheet of cells."""
    suffix = job.path.suffix.lower()
    if suffix == ".csv":
        header = pd.read_csv(job.path, nrows=0).columns
        yield "", pd.read_csv(job.path, usecols=_needed(header), dtype=str, keep_default_na=False)
    elif suffix == ".xlsx":
        from python_calamine import CalamineWorkbook

        book = CalamineWorkbook.from_path(str(job.path))
        for name in book.sheet_names:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            if not rows or "metric_id" not in [str(c) for c in rows[0]]:
                continue
            header = [str(c) for c in rows[0]]
            frame = pd.DataFrame(rows[1:], columns=header).replace("", None)
            yield f" sheet {name}", frame[_needed(header)]


def _typed_findings(job: ReadBack) -> tuple[list[str], pd.DataFrame | None]:
    """:func:`_check_file` for a typed table (Parquet, a DuckDB file's table), asked of DuckDB.

    The same checks as on a CSV, made in SQL where the table is: reading the national tables
    into pandas to check them was most of the check's time and memory. A finding names the row
    as the file holds it (Parquet's row number, the DuckDB table's ``rowid``; the header is row 1).
    """
    import duckdb

    if job.path.suffix.lower() == ".parquet":
        with duckdb.connect() as con:
            return _sql_findings(con, "read_parquet(?, file_row_number = true)", [str(job.path)],
                                 "file_row_number", job.relative, job.rules)
    if job.table is None:
        _duckdb_tables(job.path)  # raises what made its tables unlistable when they were read
        raise ReleaseError("its tables could not be listed")
    schema, name = job.table
    with duckdb.connect(str(job.path), read_only=True) as con:
        return _sql_findings(con, f"{sql_identifier(schema)}.{sql_identifier(name)}", [], "rowid",
                             f"{job.relative} table {schema}.{name}", job.rules)


def _sql_findings(con: Any, relation: str, params: list[Any], row: str, where: str,
                  rules: Sequence[Rule]) -> tuple[list[str], pd.DataFrame | None]:
    """What :func:`table_violations` and :func:`_cell_states` find in ``relation``, as SQL."""
    types = {column: kind.split("(")[0] for column, kind, *_ in
             con.execute(f"describe select * from {relation}", params).fetchall()}
    if "metric_id" not in types:
        return [], None

    def ask(sql: str, *values: Any) -> list[tuple[Any, ...]]:
        return con.execute(sql, [*params, *values]).fetchall()

    found = []
    metric = "cast(metric_id as varchar)"
    for rule in rules:
        if rule.count_column in types and rule.metric_ids:
            for at, metric_id in ask(f"select {row}, {metric} from {relation} where list_contains(?::varchar[], "
                                     f"{metric}) and try_cast({sql_identifier(rule.count_column)} as double) < ? "
                                     "order by 1 limit 5", list(rule.metric_ids), rule.threshold):
                found.append(f"{where} row {at + 2}: {rule.count_column} of {metric_id} is below "
                             f"{rule.threshold:g} ({rule.rule_id})")
    if "suppressed" not in types:
        return found, None
    suppressed = _as_sql(_FLAG_SQL, "suppressed", types["suppressed"])
    shown = [(name, _as_sql(_PRESENT_SQL, name, types[name])) for name in CELL_STATISTICS if name in types]
    if shown:
        leaks = ask(f"select {row}, {', '.join(sql for _, sql in shown)} from {relation} "
                    f"where {suppressed} and ({' or '.join(sql for _, sql in shown)}) order by 1")
        for position, (name, _) in enumerate(shown, start=1):
            for leak in [leak for leak in leaks if leak[position]][:5]:
                found.append(f"{where} row {leak[0] + 2}: suppressed but {name} is published")
    if "value" not in types:
        return found, None
    states = con.execute(f"select {_KEY_SQL} as key, bool_or({suppressed}) as suppressed, "
                         f"bool_or({_as_sql(_PRESENT_SQL, 'value', types['value'])}) as published from {relation} group by 1",
                         params).df()
    return found, states.astype({"key": object})


#: :func:`_flags` in SQL by the column's kind: True / "True" / 1 is a flag; false, missing, NaN and "" are not.
_FLAG_SQL = {"BOOLEAN": "coalesce({c}, false)",
             "number": "coalesce(cast({c} as double) <> 0 and not isnan(cast({c} as double)), false)",
             "text": "coalesce(lower(trim(cast({c} as varchar))) in ('true', 't', '1', 'yes'), false)"}
#: :func:`_present` in SQL by the column's kind: a published value is not null (nor NaN), blank or the marker.
_PRESENT_SQL = {"BOOLEAN": "({c} is not null)",
                "number": "coalesce(not isnan(cast({c} as double)), false)",
                "text": f"coalesce(trim(cast({{c}} as varchar)) not in ('', '{MARKER}'), false)"}


def _as_sql(test: dict[str, str], column: str, kind: str) -> str:
    """``test`` (:data:`_FLAG_SQL`, :data:`_PRESENT_SQL`) of ``column``, whose DuckDB type is ``kind``."""
    family = kind if kind == "BOOLEAN" else "number" if kind in _NUMBER_TYPES else "text"
    return test[family].format(c=sql_identifier(column))


CHECKED_SUFFIXES = (".csv", ".parquet", ".xlsx", ".duckdb")


def check_release_files(folder: Path, rules: Sequence[Rule], workers: int = 0) -> dict[str, Any]:
    """Read back every CSV, Parquet, XLSX and DuckDB file under ``folder``: no count below a
    threshold, no statistic on a suppressed row, and no cell suppressed in one place but published
    in another. Raises :class:`ReleaseError` listing what escaped. Files (and a DuckDB file's
    tables) are read back in ``workers`` processes forked for it (0: one per core); typed tables
    are checked by DuckDB where they are (:func:`_typed_findings`), CSV and XLSX files in pandas."""
    from pipelines.parallel import forked_workers

    with forked_workers(workers) as forked:
        check = ReleaseReadBack(folder, rules, forked)
        check.read_new()
        return check.result()


class ReleaseReadBack:
    """The disclosure check of a release (:func:`check_release_files`) made as its files are written.

    :meth:`read_new` starts reading back, in the workers, the tables written since it was last
    called, and returns at once; :meth:`result` waits for every read-back, judges them together
    (a cell suppressed in one table must not be shown in another) and proves that every table in
    the release was read back, whenever it was written.
    """

    def __init__(self, folder: Path, rules: Sequence[Rule], workers: Workers) -> None:
        self._folder = folder
        self._rules = tuple(rules)
        self._workers = workers
        self._read: set[str] = set()
        self._pending: list[Callable[[], list[tuple[list[str], pd.DataFrame | None]]]] = []

    def read_new(self, excluding: Collection[str] = ()) -> None:
        """Start reading back the tables not read yet, but those under the top-level folders
        ``excluding`` (being written meanwhile)."""
        new = [path for path in tables_in(self._folder) if str(path.relative_to(self._folder)) not in self._read
               and path.relative_to(self._folder).parts[0] not in excluding]
        self._read.update(str(path.relative_to(self._folder)) for path in new)
        self._pending.append(self._workers.map_async(_check_file, _read_backs(self._folder, new, self._rules)))

    def result(self) -> dict[str, Any]:
        """The files read back and no finding; :class:`ReleaseError` naming what escaped (a finding in a
        file, a cell suppressed in one table and shown in another, a table never read back)."""
        outcomes = [outcome for pending in self._pending for outcome in pending()]
        unread = sorted(str(p.relative_to(self._folder)) for p in tables_in(self._folder)
                        if str(p.relative_to(self._folder)) not in self._read)
        if unread:
            raise ReleaseError(f"disclosure check failed: {len(unread)} table(s) written after the read-back, so "
                               f"never read back: {', '.join(unread[:5])}")
        violations: list[str] = []
        seen: list[pd.DataFrame] = []
        for found, states in outcomes:
            violations += found
            if states is not None:
                seen.append(states)
        if seen:
            states = pd.concat(seen, ignore_index=True)
            mixed = states.groupby("key")[["suppressed", "published"]].any()
            for key in mixed.index[(mixed["suppressed"] & mixed["published"]).to_numpy()][:10]:
                violations.append(f"cell {key} is suppressed in one published table and shown in another")
        if violations:
            raise ReleaseError(f"disclosure check failed: {len(violations)} finding(s) in the written files, e.g. "
                               + "; ".join(violations[:10]))
        return {"files_checked": len(self._read), "findings": 0}


def tables_in(folder: Path) -> list[Path]:
    """The files under ``folder`` the disclosure check reads (CSV, Parquet, XLSX, DuckDB)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in CHECKED_SUFFIXES)


def _check_file(job: ReadBack) -> tuple[list[str], pd.DataFrame | None]:
    """One read-back's findings, and its cells' suppressed / published states (one row per cell)
    for the cross-file check."""
    violations: list[str] = []
    states: list[pd.DataFrame] = []
    try:
        if job.path.suffix.lower() in {".parquet", ".duckdb"}:
            return _typed_findings(job)
        for where, frame in _sheets_in(job):
            violations += table_violations(frame, job.rules, job.relative + where)
            if "metric_id" in frame.columns and "value" in frame.columns and "suppressed" in frame.columns:
                states.append(_cell_states(frame))
    except Exception as error:  # unreadable output is a failed proof, not a pass
        violations.append(f"{job.relative}: could not be read back for the disclosure check: {error}")
    if not states:
        return violations, None
    # One row per cell: a cell's comparator rows agree or the check above has found them.
    merged = pd.concat(states, ignore_index=True).groupby("key", sort=False)[["suppressed", "published"]].any()
    return violations, merged.reset_index()


def _cell_states(frame: pd.DataFrame) -> pd.DataFrame:
    def text(column: str) -> pd.Series:
        if column not in frame.columns:
            return pd.Series("", index=frame.index)
        values = frame[column]
        if column == "period_start":
            values = pd.to_datetime(values.astype(object).where(_present(values), None), errors="coerce")
            return values.dt.strftime("%Y-%m-%d").fillna("")
        return values.astype(object).where(values.notna(), "").astype(str)

    key = text("org_code") + "|" + text("metric_id") + "|" + text("grain") + "|" + text("period_start")
    return pd.DataFrame({"key": key, "suppressed": _flags(frame["suppressed"]), "published": _present(frame["value"])})


_SAFE = re.compile(r"^[A-Za-z0-9_]+$")


def sql_identifier(name: str) -> str:
    """A quoted SQL identifier, only for names made of letters, digits and underscores."""
    if not _SAFE.match(name):
        raise ReleaseError(f"refusing to use {name!r} as an SQL name")
    return f'"{name}"'
