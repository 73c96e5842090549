"""Confidence intervals and significance against the comparator: the vectorised table equals the
scalar stats functions (Wilson, Byar / exact Poisson, Fingertips comparison)."""

from __future__ import annotations

import numpy as np
import pytest
from benchmark_facts import make_facts, select

from pipelines.benchmark import compute_benchmark_table
from pipelines.benchmark.significance import significance_labels
from pipelines.stats import byar_interval, compare_to_benchmark, rate_interval, wilson_interval


def test_wilson_intervals_equal_direct_calls():
    facts = make_facts(metrics=["fft_positive"], periods=2)
    facts.loc[facts["org_code"] == "A01", ["numerator", "denominator", "value"]] = [0.0, 30.0, 0.0]
    facts.loc[facts["org_code"] == "A02", ["numerator", "denominator", "value"]] = [30.0, 30.0, 1.0]
    table = select(compute_benchmark_table(facts), comparator="england")
    for row in table.itertuples(index=False):
        lower, upper = wilson_interval(row.numerator, row.denominator, 0.95)
        assert (row.ci_lower, row.ci_upper) == (pytest.approx(lower, rel=1e-12, abs=1e-15),
                                                pytest.approx(upper, rel=1e-12))
        lower, upper = wilson_interval(row.numerator, row.denominator, 0.998)
        assert (row.ci_lower_998, row.ci_upper_998) == (pytest.approx(lower, rel=1e-12, abs=1e-15),
                                                        pytest.approx(upper, rel=1e-12))
        assert row.ci_method.startswith("wilson_score")


def test_percent_proportions_are_scaled_by_100():
    facts = make_facts(metrics=["fft_positive"], periods=1)
    facts["unit"] = "percent"
    facts["value"] = facts["value"] * 100
    row = select(compute_benchmark_table(facts), comparator="england", org_code="A01").iloc[0]
    lower, upper = wilson_interval(row["numerator"], row["denominator"])
    assert (row["ci_lower"], row["ci_upper"]) == (pytest.approx(100 * lower), pytest.approx(100 * upper))
    assert row["comparator_value"] == pytest.approx(
        100 * facts["numerator"].sum() / facts["denominator"].sum())


@pytest.mark.parametrize("numerator", [0, 1, 3, 9, 10, 11, 250, 4410.5])
def test_byar_rate_intervals_equal_direct_calls_including_small_counts(numerator):
    facts = make_facts(metrics=["sickness_rate"], periods=1)
    facts.loc[facts["org_code"] == "A01", "numerator"] = float(numerator)
    facts.loc[facts["org_code"] == "A01", "value"] = numerator / facts.loc[facts["org_code"] == "A01",
                                                                          "denominator"] * 100
    table = select(compute_benchmark_table(facts), comparator="england")
    for row in table.itertuples(index=False):
        for level, names in ((0.95, ("ci_lower", "ci_upper")), (0.998, ("ci_lower_998", "ci_upper_998"))):
            lower, upper = rate_interval(row.numerator, row.denominator, 100, level)
            assert getattr(row, names[0]) == pytest.approx(lower, rel=1e-12, abs=1e-15)
            assert getattr(row, names[1]) == pytest.approx(upper, rel=1e-12)
    a01 = select(table, org_code="A01").iloc[0]
    count_lower, count_upper = byar_interval(numerator)
    assert a01["ci_upper"] == pytest.approx(count_upper / a01["denominator"] * 100, rel=1e-12)
    assert a01["ci_method"].startswith("byar_exact_poisson")


def test_significance_equals_compare_to_benchmark_with_two_levels():
    facts = make_facts(metrics=["fft_positive", "sickness_rate"], periods=3, seed=3)
    # Spread the trusts so every label occurs.
    shift = np.linspace(-0.08, 0.08, facts["org_code"].nunique())
    offsets = dict(zip(sorted(facts["org_code"].unique()), shift, strict=True))
    prop = facts["metric_id"] == "fft_positive"
    facts.loc[prop, "numerator"] = np.round(
        facts.loc[prop, "denominator"] * (0.9 + facts.loc[prop, "org_code"].map(offsets)))
    facts.loc[prop, "value"] = facts.loc[prop, "numerator"] / facts.loc[prop, "denominator"]
    table = compute_benchmark_table(facts)
    labels = set()
    for row in table.itertuples(index=False):
        expected = compare_to_benchmark(row.value, row.ci_lower, row.ci_upper, row.comparator_value, row.polarity,
                                        outer_lower=row.ci_lower_998, outer_upper=row.ci_upper_998)
        assert row.significance == expected
        labels.add(row.significance)
    assert {"Best", "Similar", "Worst"} <= labels


def test_vectorised_labels_equal_compare_to_benchmark_on_a_grid_including_touching_bounds():
    rng = np.random.default_rng(5)
    size = 3000
    lower = np.round(rng.uniform(0, 1, size), 2)
    upper = lower + np.round(rng.uniform(0, 0.3, size), 2)
    outer_lower = lower - np.round(rng.uniform(0, 0.2, size), 2)
    outer_upper = upper + np.round(rng.uniform(0, 0.2, size), 2)
    benchmark = np.round(rng.uniform(-0.2, 1.5, size), 2)
    benchmark[::7] = lower[::7]  # a bound touching the benchmark is Similar
    benchmark[1::7] = outer_upper[1::7]
    lower[2::11] = np.nan
    polarity = rng.choice(np.array(["higher_is_better", "lower_is_better", "none"], dtype=object), size)
    got = significance_labels(lower, upper, outer_lower, outer_upper, benchmark, polarity)
    for i in range(size):
        expected = compare_to_benchmark(0.5, lower[i], upper[i], benchmark[i], polarity[i],
                                        outer_lower=outer_lower[i], outer_upper=outer_upper[i])
        assert got[i] == expected, i


def test_score_and_distribution_metrics_are_not_compared_and_say_why():
    table = compute_benchmark_table(make_facts(metrics=["pp1_score", "staff_fte"], periods=1))
    assert (table["significance"] == "Not compared").all()
    assert table[["ci_lower", "ci_upper", "ci_method"]].isna().all().all()
    reasons = set(table["significance_reason"])
    assert reasons == {
        "benchmark_method score: position in the distribution only, no confidence interval",
        "benchmark_method distribution: position in the distribution only, no confidence interval",
    }
    # They are still placed in the distribution.
    assert table["rank"].notna().all() and table["median"].notna().all()


def test_a_much_lower_proportion_is_worst_against_every_comparator():
    facts = make_facts(metrics=["fft_positive"], periods=1)
    a01 = facts["org_code"] == "A01"
    facts.loc[a01, "numerator"] = np.round(facts.loc[a01, "denominator"] * 0.6)
    facts.loc[a01, "value"] = facts.loc[a01, "numerator"] / facts.loc[a01, "denominator"]
    rows = select(compute_benchmark_table(facts), org_code="A01")
    assert set(rows["comparator"]) == {"network", "peer_group", "england"}
    assert (rows["significance"] == "Worst").all()
    assert rows["significance_reason"].isna().all()
