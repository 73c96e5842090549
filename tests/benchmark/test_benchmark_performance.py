"""A full national run (220 trusts x 40 metrics x 60 months x 3 comparators) fits well inside a
minute: every statistic is vectorised over rows or groups, and SPC runs once per series."""

from __future__ import annotations

import time

from benchmark_facts import national_scale_facts

from pipelines.benchmark import compute_benchmark_table


def test_a_national_run_is_computed_in_well_under_a_minute():
    facts = national_scale_facts()
    assert len(facts) == 220 * 40 * 60
    wall, cpu = time.perf_counter(), time.process_time()
    table = compute_benchmark_table(facts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert len(table) == 2 * len(facts) + 6 * 40 * 60
    assert table["rank"].notna().sum() > 0.95 * len(table)
    # CPU time of this process (about 15 s on one core here), so a busy shared runner does not fail it.
    assert cpu < 40, f"{cpu:.1f} s CPU ({wall:.1f} s wall)"
