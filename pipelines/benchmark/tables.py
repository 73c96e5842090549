"""Benchmark tables: every trust x metric x period against the network, its peer group and England.

Read from the marts (``marts.fct_culture_outcomes``, ``marts.dim_organisation``,
``marts.dim_metric``), computed with :mod:`pipelines.stats` conventions, written to
``benchmarks.benchmark_table`` (and the method catalogue ``benchmarks.benchmark_methods``) in
the same warehouse, replaced in one transaction.

Pipeline (each step vectorised over all rows; per-group / per-series calls only where a
statistic needs the whole group or series):

1. :mod:`.facts` - one normalised cell per trust x metric x period; suppressed cells lose their
   value, numerator and denominator;
2. :mod:`.significance` - 95% / 99.8% intervals per cell (Wilson, Byar / exact Poisson);
3. :mod:`.spc` - XmR chart, icons and recent trend once per trust x metric series;
4. :mod:`.comparators` - the cells repeated per comparator group;
5. :mod:`.distribution` - comparator value, median, quartiles, best, worst, rank, percentile;
6. :mod:`.significance` / :mod:`.funnels` - significance and funnel limits per comparator row.

Suppressed values stay suppressed: they are never ranked and never enter a comparator's
distribution, pooled value or overdispersion estimate, and every statistic derived from the
cell is null. Inputs that cannot support a statistic give a ``*_reason`` instead of an error.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipelines.config import Settings

from . import comparators, distribution, funnels, significance, spc
from .comparators import COMPARATORS
from .facts import as_column, load_facts, prepare_cells
from .methods import methods_frame
from .schema import (
    BENCHMARK_SCHEMA,
    BENCHMARK_TABLE,
    COLUMN_TYPES,
    METHOD_COLUMNS,
    METHODS_TABLE,
    cast_to_schema,
    create_table_sql,
    empty_table,
)

log = logging.getLogger(__name__)

__all__ = [
    "BENCHMARK_SCHEMA",
    "BENCHMARK_TABLE",
    "COMPARATORS",
    "METHODS_TABLE",
    "BenchmarkOptions",
    "build_benchmark_tables",
    "compute_benchmark_table",
    "load_facts",
]

CELL_COLUMNS = (
    "org_code", "org_name", "metric_id", "metric_name", "unit", "polarity", "benchmark_method", "grain",
    "period_start", "period_end", "value", "numerator", "denominator", "suppressed", "ci_lower", "ci_upper",
    "ci_lower_998", "ci_upper_998", "ci_method", "target", "vintage", "extract_sha256",
    *spc.SERIES_COLUMNS, *spc.POINT_COLUMNS,
)


@dataclass(frozen=True)
class BenchmarkOptions:
    """Options of the methods that have them (the defaults are the official tools')."""

    spc: spc.SpcOptions = field(default_factory=spc.SpcOptions)
    overdispersion_fraction: float = funnels.OVERDISPERSION_FRACTION

    def __post_init__(self) -> None:
        if not 0.0 <= self.overdispersion_fraction < 0.5:
            raise ValueError("BenchmarkOptions: overdispersion_fraction must be in [0, 0.5), "
                             f"got {self.overdispersion_fraction!r}")


def compute_benchmark_table(facts: pd.DataFrame, options: BenchmarkOptions | None = None) -> pd.DataFrame:
    """The benchmark table for every metric, period, trust and comparator (see the module docstring).

    ``facts`` has the columns of :func:`load_facts` (``org_name``, ``metric_name``, ``grain``,
    ``period_end``, ``target``, ``vintage`` and ``extract_sha256`` may be absent). Returns the
    columns of :data:`pipelines.benchmark.schema.COLUMNS` (nullable ``Float64`` / ``Int64`` /
    ``boolean``, ``datetime64`` dates, text as object), ordered by metric, period, comparator and
    trust. Bad or insufficient inputs give ``*_reason`` values, not exceptions; only a frame
    without the required columns (a programming error) raises ``ValueError``.
    """
    options = options or BenchmarkOptions()
    started = time.perf_counter()
    cells = prepare_cells(facts)
    if cells.empty:
        return empty_table()
    cells = significance.cell_intervals(cells)
    for name, values in spc.series_statistics(cells, options.spc).items():
        cells[name] = as_column(values)
    rows = comparators.expand(cells)
    groups = distribution.group_statistics(cells, rows)
    positions = distribution.row_positions(cells, rows, groups)
    compared = significance.compare_rows(cells, rows.cell, positions["comparator_value"], rows.no_group)
    funnel = funnels.funnel_statistics(cells, rows, groups, options.overdispersion_fraction)

    columns: dict[str, np.ndarray] = {name: cells[name].to_numpy()[rows.cell] for name in CELL_COLUMNS}
    columns["comparator"] = rows.comparator
    columns["comparator_group"] = rows.group
    columns.update(positions)
    columns.update(compared)
    columns.update(funnel)
    _null_derived_of_unusable(columns, cells["usable"].to_numpy()[rows.cell])
    table = cast_to_schema(columns)
    log.info("benchmark table: %d rows (%d cells, %d comparator groups) in %.1f s", len(table), len(cells),
             rows.n_groups, time.perf_counter() - started)
    return table


def _null_derived_of_unusable(columns: dict[str, np.ndarray], usable: np.ndarray) -> None:
    """Belt and braces: no statistic of the trust's own cell survives on a suppressed row."""
    for name in ("rank", "percentile", "ci_lower", "ci_upper", "ci_lower_998", "ci_upper_998",
                 "funnel_size", "funnel_ratio", "funnel_lower_95", "funnel_upper_95", "funnel_lower_998",
                 "funnel_upper_998", "funnel_adj_lower_95", "funnel_adj_upper_95", "funnel_adj_lower_998",
                 "funnel_adj_upper_998"):
        values = np.asarray(columns[name], dtype=float).copy()
        values[~usable] = np.nan
        columns[name] = values
    for name in ("funnel_flag", "funnel_flag_adjusted", "spc_point_variation", "spc_point_rules", "ci_method"):
        values = np.asarray(columns[name], dtype=object).copy()
        values[~usable] = None
        columns[name] = values


def _for_loading(table: pd.DataFrame) -> pd.DataFrame:
    """Nullable floats as plain float64 with NaN for the loaders: both write NaN as NULL (DuckDB's
    pandas scan, the PostgreSQL COPY's null marker), and the CSV writer is much faster on float64."""
    return table.astype({name: "float64" for name, kind in COLUMN_TYPES.items() if kind == "double precision"})


def build_benchmark_tables(settings: Settings, options: BenchmarkOptions | None = None) -> dict[str, int]:
    """Compute from the marts and replace ``benchmarks.benchmark_table`` and
    ``benchmarks.benchmark_methods`` in one transaction."""
    from pipelines.warehouse.connection import connect

    options = options or BenchmarkOptions()
    with connect(settings) as warehouse:
        facts = load_facts(warehouse)
    # Computed with the warehouse closed: DuckDB allows one writer, so hold it only to write.
    table = compute_benchmark_table(facts, options)
    methods = methods_frame(options.spc, options.overdispersion_fraction)
    with connect(settings) as warehouse:
        started = time.perf_counter()
        with warehouse.transaction():
            warehouse.execute(f"create schema if not exists {BENCHMARK_SCHEMA}")
            warehouse.execute(f"drop table if exists {BENCHMARK_SCHEMA}.{BENCHMARK_TABLE}")
            warehouse.execute(create_table_sql(BENCHMARK_SCHEMA, BENCHMARK_TABLE))
            warehouse.insert(BENCHMARK_SCHEMA, BENCHMARK_TABLE, _for_loading(table))
            warehouse.execute(f"drop table if exists {BENCHMARK_SCHEMA}.{METHODS_TABLE}")
            columns = ", ".join(f'"{name}" {kind}' for name, kind in METHOD_COLUMNS.items())
            warehouse.execute(f"create table {BENCHMARK_SCHEMA}.{METHODS_TABLE} ({columns})")
            warehouse.insert(BENCHMARK_SCHEMA, METHODS_TABLE, methods)
        log.info("benchmark table written in %.1f s", time.perf_counter() - started)
    return {
        "rows": int(len(table)),
        "metrics": int(table["metric_id"].nunique()),
        "organisations": int(table["org_code"].nunique()),
        "methods": int(len(methods)),
    }
