"""Benchmark tables: every trust x metric x period against the network, its peer group and England.

Read from the marts (``marts.fct_culture_outcomes``, ``marts.dim_organisation``,
``marts.dim_metric``), computed with :mod:`pipelines.stats`, written to
``benchmarks.benchmark_table`` in the same warehouse. Suppressed values stay suppressed: they
are never ranked and never enter a comparator's distribution.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from pipelines.config import Settings

log = logging.getLogger(__name__)

BENCHMARK_SCHEMA = "benchmarks"
BENCHMARK_TABLE = "benchmark_table"
COMPARATORS = ("network", "peer_group", "england")


def load_facts(warehouse: Any) -> pd.DataFrame:
    """Facts joined to their organisation's comparator groups and their metric's method."""
    return warehouse.query(
        """
        select f.org_code, f.metric_id, f.period_start, f.period_end, f.value, f.numerator, f.denominator,
               f.suppressed, o.org_name, o.in_network, o.peer_group,
               m.polarity, m.benchmark_method, m.unit, m.metric_name
        from marts.fct_culture_outcomes f
        join marts.dim_organisation o on o.org_code = f.org_code
        join marts.dim_metric m on m.metric_id = f.metric_id
        """
    )


def comparator_members(facts: pd.DataFrame, comparator: str) -> pd.Series:
    """The comparator group's label for each row (None where the trust is not in such a group)."""
    if comparator == "network":
        return facts["in_network"].map(lambda inside: "network" if inside else None)
    if comparator == "peer_group":
        return facts["peer_group"]
    return pd.Series("england", index=facts.index)


def _group_statistics(group: pd.DataFrame, comparator: str, label: str) -> pd.DataFrame:
    from pipelines.stats import compare_to_benchmark, distribution_summary, rank_and_percentile

    usable = group[~group["suppressed"].fillna(False).astype(bool) & group["value"].notna()]
    values = usable["value"].astype(float).to_numpy()
    summary = distribution_summary(values)
    polarity = str(group["polarity"].iloc[0])
    method = str(group["benchmark_method"].iloc[0])
    pooled = _pooled_value(usable, method)
    comparator_value = pooled if pooled is not None else summary["median"]
    rows = []
    for _, row in group.iterrows():
        suppressed = bool(row["suppressed"]) if pd.notna(row["suppressed"]) else False
        value = None if suppressed or pd.isna(row["value"]) else float(row["value"])
        rank = percentile = None
        if value is not None and summary["n"] > 0:
            rank, percentile = rank_and_percentile(value, values, polarity)
        lower, upper, ci_method = _interval(row, method, suppressed)
        significance = (
            compare_to_benchmark(value, lower, upper, comparator_value, polarity)
            if value is not None and lower is not None
            else "Not compared"
        )
        rows.append(
            {
                "org_code": row["org_code"],
                "org_name": row["org_name"],
                "metric_id": row["metric_id"],
                "period_start": row["period_start"],
                "period_end": row["period_end"],
                "comparator": comparator,
                "comparator_group": label,
                "value": value,
                "numerator": None if suppressed else _float(row["numerator"]),
                "denominator": None if suppressed else _float(row["denominator"]),
                "suppressed": suppressed,
                "comparator_value": comparator_value,
                "comparator_value_method": "pooled numerator / denominator" if pooled is not None else "median",
                "median": summary["median"],
                "q1": summary["q1"],
                "q3": summary["q3"],
                "best": summary["max"] if polarity != "lower_is_better" else summary["min"],
                "worst": summary["min"] if polarity != "lower_is_better" else summary["max"],
                "n": summary["n"],
                "rank": rank,
                "percentile": percentile,
                "ci_lower": lower,
                "ci_upper": upper,
                "ci_method": ci_method,
                "significance": significance,
                "polarity": polarity,
                "benchmark_method": method,
                "quantile_method": "interpolated percentiles (Fingertips / numpy linear)",
            }
        )
    return pd.DataFrame.from_records(rows)


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _pooled_value(usable: pd.DataFrame, method: str) -> float | None:
    """England's (or the group's) own rate: total numerator over total denominator."""
    if method not in {"proportion", "rate"}:
        return None
    both = usable[usable["numerator"].notna() & usable["denominator"].notna()]
    if both.empty or float(both["denominator"].sum()) <= 0:
        return None
    scale = 100.0 if str(usable["unit"].iloc[0]) == "percent" else 1.0
    return float(both["numerator"].sum()) / float(both["denominator"].sum()) * scale


def _interval(row: pd.Series, method: str, suppressed: bool) -> tuple[float | None, float | None, str | None]:
    """95% interval by the metric's method (Wilson for proportions, Byar/exact Poisson for rates)."""
    from pipelines.stats import byar_interval, wilson_interval

    numerator, denominator = _float(row["numerator"]), _float(row["denominator"])
    if suppressed or numerator is None or denominator is None or denominator <= 0:
        return None, None, None
    scale = 100.0 if str(row["unit"]) == "percent" else 1.0
    if method == "proportion" and numerator <= denominator:
        lower, upper = wilson_interval(numerator, denominator)
        return lower * scale, upper * scale, "Wilson score 95%"
    if method == "rate":
        lower, upper = byar_interval(numerator)
        return lower / denominator * scale, upper / denominator * scale, "Byar (exact Poisson below 10) 95%"
    return None, None, None


def compute_benchmark_table(facts: pd.DataFrame) -> pd.DataFrame:
    """The benchmark table for every metric, period and comparator."""
    parts = []
    for comparator in COMPARATORS:
        frame = facts.assign(_group=comparator_members(facts, comparator))
        frame = frame[frame["_group"].notna()]
        for (_, _, label), group in frame.groupby(["metric_id", "period_start", "_group"], sort=True):
            parts.append(_group_statistics(group, comparator, str(label)))
    if not parts:
        return pd.DataFrame()
    table = pd.concat(parts, ignore_index=True)
    return table.replace({np.nan: None})


def build_benchmark_tables(settings: Settings) -> dict[str, int]:
    """Compute from the marts and replace ``benchmarks.benchmark_table`` in one transaction."""
    from pipelines.warehouse.connection import connect
    from pipelines.warehouse.loader import _sql_type

    with connect(settings) as warehouse:
        facts = load_facts(warehouse)
        table = compute_benchmark_table(facts)
        log.info("benchmark table: %d rows for %d metrics", len(table), facts["metric_id"].nunique())
        with warehouse.transaction():
            warehouse.execute(f"create schema if not exists {BENCHMARK_SCHEMA}")
            warehouse.execute(f"drop table if exists {BENCHMARK_SCHEMA}.{BENCHMARK_TABLE}")
            if not table.empty:
                typed = _typed(table)
                columns = ", ".join(f'"{c}" {_sql_type(typed[c].dtype)}' for c in typed.columns)
                warehouse.execute(f"create table {BENCHMARK_SCHEMA}.{BENCHMARK_TABLE} ({columns})")
                warehouse.insert(BENCHMARK_SCHEMA, BENCHMARK_TABLE, typed)
    return {"rows": int(len(table)), "metrics": int(facts["metric_id"].nunique())}


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    typed = table.copy()
    for column in ("value", "numerator", "denominator", "comparator_value", "median", "q1", "q3", "best", "worst",
                   "percentile", "ci_lower", "ci_upper"):
        typed[column] = pd.to_numeric(typed[column], errors="coerce").astype("Float64")
    for column in ("n", "rank"):
        typed[column] = pd.to_numeric(typed[column], errors="coerce").astype("Int64")
    typed["suppressed"] = typed["suppressed"].astype("boolean")
    for column in ("period_start", "period_end"):
        typed[column] = pd.to_datetime(typed[column]).dt.date
    return typed
