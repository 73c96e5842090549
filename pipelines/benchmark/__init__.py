"""Benchmark tables: every trust x metric x period against the network, its peer group and England.

Modules: :mod:`.facts` (read and normalise), :mod:`.significance` (intervals, Fingertips
comparison), :mod:`.comparators` (comparator groups), :mod:`.distribution` (median, quartiles,
rank), :mod:`.funnels` (funnel limits, overdispersion), :mod:`.spc` (XmR, icons, recent trend),
:mod:`.schema` / :mod:`.methods` (output contract and method catalogue), :mod:`.tables`
(orchestration and the warehouse).
"""

from .schema import BENCHMARK_SCHEMA, BENCHMARK_TABLE, METHODS_TABLE
from .tables import BenchmarkOptions, build_benchmark_tables, compute_benchmark_table, load_facts

__all__ = [
    "BENCHMARK_SCHEMA",
    "BENCHMARK_TABLE",
    "METHODS_TABLE",
    "BenchmarkOptions",
    "build_benchmark_tables",
    "compute_benchmark_table",
    "load_facts",
]
