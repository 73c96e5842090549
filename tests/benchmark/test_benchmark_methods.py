"""The method catalogue: every method named in a benchmark row is described, with its options and
reference, in ``benchmarks.benchmark_methods``."""

from __future__ import annotations

import re

import pytest
from benchmark_facts import make_facts

from pipelines.benchmark import BenchmarkOptions, compute_benchmark_table
from pipelines.benchmark.methods import methods_frame
from pipelines.benchmark.schema import COLUMNS
from pipelines.benchmark.spc import SpcOptions

METHOD_COLUMNS = ["quantile_method", "rank_method", "comparator_value_method", "ci_method", "significance_method",
                  "funnel_method", "spc_method", "trend_method"]


def test_every_method_named_in_a_row_is_in_the_method_catalogue():
    table = compute_benchmark_table(make_facts(periods=16))
    catalogue = methods_frame()
    assert catalogue["method_id"].is_unique
    assert catalogue.notna().all().all()
    known = set(catalogue["method_id"]) | {"median"}
    for column in METHOD_COLUMNS:
        for text in table[column].dropna().unique():
            method_id = re.split(r"[;(]", text)[0].strip()
            assert method_id in known, (column, text)
            assert len(text) <= 120, (column, text)  # options, not essays: they repeat on every row


def test_spc_options_are_written_in_the_rows_and_the_catalogue():
    options = SpcOptions(screen_outliers=True, shift=8, two_of_three="between_2_and_3_sigma")
    catalogue = methods_frame(options)
    described = catalogue.loc[catalogue["method_id"] == "xmr_making_data_count", "options"].iloc[0]
    assert "screen_outliers=true; shift=8" in described and "between_2_and_3_sigma" in described


def test_every_column_has_a_type_and_a_meaning():
    names = [name for name, _, _ in COLUMNS]
    assert len(names) == len(set(names))
    assert all(kind in {"text", "double precision", "bigint", "boolean", "date"} and meaning for _, kind, meaning
               in COLUMNS)


def test_options_change_the_computation_and_are_named_in_the_rows():
    facts = make_facts(metrics=["fft_positive"], periods=16)
    options = BenchmarkOptions(spc=SpcOptions(min_points=20), overdispersion_fraction=0.2)
    table = compute_benchmark_table(facts, options)
    assert set(table["spc_method"]) == {SpcOptions(min_points=20).describe()}
    assert not table["spc_limits_available"].any()  # 16 points < 20: run charts
    assert table["funnel_method"].str.contains("winsorise=0.2").all()
    default = compute_benchmark_table(facts)
    assert default["spc_limits_available"].all() and default["funnel_method"].str.contains("winsorise=0.1").all()


@pytest.mark.parametrize(
    "make",
    [
        lambda: SpcOptions(shift=9),
        lambda: SpcOptions(two_of_three="any"),
        lambda: SpcOptions(min_points=1),
        lambda: BenchmarkOptions(overdispersion_fraction=0.5),
    ],
)
def test_invalid_options_are_refused_up_front(make):
    with pytest.raises(ValueError, match="must be"):
        make()
