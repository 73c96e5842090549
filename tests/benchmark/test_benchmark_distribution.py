"""Position in the comparator's distribution: comparator groups, median, quartiles, best, worst,
rank and percentile, checked against independent numpy calculations and the stats functions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from benchmark_facts import NETWORK, make_facts, organisations, select, suppress

from pipelines.benchmark import compute_benchmark_table
from pipelines.stats import distribution_summary, rank_and_percentile


def members(comparator: str, org_code: str, orgs: pd.DataFrame) -> list[str]:
    if comparator == "network":
        return list(NETWORK)
    if comparator == "england":
        return list(orgs["org_code"])
    group = orgs.loc[orgs["org_code"] == org_code, "peer_group"].iloc[0]
    return list(orgs.loc[orgs["peer_group"] == group, "org_code"])


def numpy_rank(value: float, values: np.ndarray, lower_is_better: bool) -> tuple[int, float]:
    better = np.sum(values < value) if lower_is_better else np.sum(values > value)
    worse = np.sum(values > value) if lower_is_better else np.sum(values < value)
    return int(better) + 1, (100.0 if values.size == 1 else 100.0 * worse / (values.size - 1))


def test_rows_exist_for_every_trust_metric_period_and_comparator_the_trust_belongs_to():
    facts = make_facts()
    table = compute_benchmark_table(facts)
    cells = len(facts)
    network_cells = facts["org_code"].isin(NETWORK).sum()
    assert len(table) == 2 * cells + network_cells
    assert set(select(table, comparator="network")["org_code"]) == set(NETWORK)
    assert not table.duplicated(["org_code", "metric_id", "period_start", "comparator"]).any()
    assert set(table["comparator_group"].dropna()) == {"network", "england", "acute", "mental_health"}


@pytest.mark.parametrize("comparator", ["network", "peer_group", "england"])
def test_medians_quartiles_best_worst_and_ranks_equal_independent_numpy_calculations(comparator):
    facts = make_facts(periods=2)
    orgs = organisations()
    table = compute_benchmark_table(facts)
    checked = 0
    for row in select(table, comparator=comparator).itertuples(index=False):
        peers = facts[(facts["metric_id"] == row.metric_id) & (facts["period_start"] == row.period_start)
                      & facts["org_code"].isin(members(comparator, row.org_code, orgs))]
        values = peers["value"].to_numpy(float)
        lower = row.polarity == "lower_is_better"
        assert row.comparator_n == values.size
        assert row.median == pytest.approx(np.median(values), abs=1e-9)
        assert row.q1 == pytest.approx(np.percentile(values, 25), abs=1e-9)
        assert row.q3 == pytest.approx(np.percentile(values, 75), abs=1e-9)
        assert row.best == (values.min() if lower else values.max())
        assert row.worst == (values.max() if lower else values.min())
        rank, percentile = numpy_rank(row.value, values, lower)
        assert (row.rank, row.percentile) == (rank, pytest.approx(percentile))
        if row.benchmark_method in ("proportion", "rate"):
            scale = 100.0 if row.unit == "percent" else 1.0
            pooled = peers["numerator"].sum() / peers["denominator"].sum() * scale
            assert row.comparator_value == pytest.approx(pooled, rel=1e-12)
            assert row.comparator_value_method == "pooled_ratio_of_sums"
        else:
            assert row.comparator_value == row.median
            assert row.comparator_value_method == "median"
        checked += 1
    assert checked > 0


def test_group_statistics_equal_distribution_summary_and_rank_and_percentile_exactly():
    facts = make_facts(periods=2, seed=11)
    table = compute_benchmark_table(facts)
    for (_, _, _, _), group in table.groupby(["metric_id", "period_start", "comparator", "comparator_group"],
                                             observed=True):
        values = group["value"].to_numpy("float64", na_value=np.nan)
        summary = distribution_summary(values)
        first = group.iloc[0]
        assert (first["median"], first["q1"], first["q3"]) == (summary.median, summary.q1, summary.q3)
        assert first["quantile_method"] == summary.method
        for row in group.itertuples(index=False):
            assert (row.rank, row.percentile) == rank_and_percentile(row.value, values, row.polarity)


def test_suppressed_rows_are_never_ranked_and_do_not_change_the_median():
    facts = make_facts(periods=2)
    hidden = facts["org_code"].isin(["A01", "A05"]) & (facts["period_start"] == facts["period_start"].min())
    table = compute_benchmark_table(suppress(facts, hidden))
    without = compute_benchmark_table(facts[~hidden])
    keys = ["org_code", "metric_id", "period_start", "comparator"]

    suppressed = select(table, suppressed=True)
    assert len(suppressed) > 0 and set(suppressed["org_code"]) == {"A01", "A05"}
    derived = ["value", "numerator", "denominator", "rank", "percentile", "ci_lower", "ci_upper", "ci_lower_998",
               "ci_upper_998", "funnel_size", "funnel_ratio", "funnel_lower_95", "funnel_upper_998",
               "funnel_adj_lower_95", "funnel_flag", "funnel_flag_adjusted", "spc_point_variation"]
    assert suppressed[derived].isna().all().all()
    assert (suppressed["distribution_reason"] == "suppressed: not ranked").all()
    assert (suppressed["significance"] == "Not compared").all()
    assert (suppressed["significance_reason"].isin(["suppressed",
            "benchmark_method score: position in the distribution only, no confidence interval",
            "benchmark_method distribution: position in the distribution only, no confidence interval"])).all()

    # Every other row is exactly what it would be if the suppressed cells were never published.
    visible = table[~table["suppressed"]].set_index(keys).sort_index()
    expected = without.set_index(keys).sort_index()
    group_columns = ["comparator_n", "median", "q1", "q3", "best", "worst", "rank", "percentile",
                     "comparator_value", "funnel_lower_95", "funnel_phi", "funnel_tau2", "significance"]
    pd.testing.assert_frame_equal(visible.loc[expected.index, group_columns], expected[group_columns])
    # ... and the suppressed rows carry the same group statistics as their group.
    for row in suppressed.itertuples(index=False):
        twin = select(without, metric_id=row.metric_id, period_start=row.period_start,
                      comparator=row.comparator, comparator_group=row.comparator_group).iloc[0]
        assert (row.median, row.comparator_n) == (twin["median"], twin["comparator_n"])


def test_lower_is_better_best_is_the_minimum_and_rank_one_is_the_lowest_value():
    facts = make_facts(metrics=["sickness_rate", "fft_positive", "staff_fte"], periods=1)
    table = select(compute_benchmark_table(facts), comparator="england")
    for metric, best_is in (("sickness_rate", "min"), ("fft_positive", "max"), ("staff_fte", "max")):
        rows = select(table, metric_id=metric)
        values = rows["value"].astype(float)
        assert (rows["best"] == getattr(values, best_is)()).all()
        assert (rows["worst"] == getattr(values, "max" if best_is == "min" else "min")()).all()
        top = rows.loc[rows["rank"] == 1, "value"].astype(float)
        assert top.iloc[0] == getattr(values, best_is)()
        assert rows.loc[rows["rank"] == 1, "percentile"].iloc[0] == 100.0
        assert rows.loc[rows["rank"] == len(rows), "percentile"].iloc[0] == 0.0


def test_ties_share_the_lowest_rank():
    facts = make_facts(metrics=["pp1_score"], periods=1)
    facts["value"] = 6.0
    facts.loc[facts["org_code"] == "A01", "value"] = 7.0
    table = select(compute_benchmark_table(facts), comparator="england")
    assert select(table, org_code="A01")["rank"].iloc[0] == 1
    assert set(table.loc[table["org_code"] != "A01", "rank"]) == {2}


def test_a_trust_without_a_peer_group_keeps_its_row_with_a_reason():
    orgs = organisations()
    orgs.loc[orgs["org_code"] == "A03", "peer_group"] = None
    table = compute_benchmark_table(make_facts(orgs=orgs, periods=1))
    rows = select(table, org_code="A03", comparator="peer_group")
    assert len(rows) == 4
    assert rows["comparator_group"].isna().all() and rows["median"].isna().all() and rows["rank"].isna().all()
    assert (rows["distribution_reason"] == "organisation has no peer group").all()
    assert (rows["significance"] == "Not compared").all()
    # Its England rows are unaffected, and the acute group no longer counts it.
    assert select(table, org_code="A03", comparator="england")["rank"].notna().all()
    assert (select(table, comparator="peer_group", comparator_group="acute")["comparator_n"] == 7).all()


def test_a_group_whose_values_are_all_suppressed_has_no_statistics_not_zeros():
    facts = make_facts(metrics=["fft_positive"], periods=1)
    network = facts["org_code"].isin(NETWORK)
    table = compute_benchmark_table(suppress(facts, network))
    rows = select(table, comparator="network")
    assert (rows["comparator_n"] == 0).all()
    assert rows[["median", "q1", "q3", "best", "worst", "comparator_value"]].isna().all().all()
    assert math.isnan(float(rows["median"].astype(float).iloc[0]))
