"""Funnel limits, overdispersion and funnel flags: planted outliers are flagged, and every limit,
phi and tau^2 equals the stats functions called group by group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from benchmark_facts import NETWORK, make_facts, organisations, select

from pipelines.benchmark import compute_benchmark_table
from pipelines.benchmark.funnels import group_overdispersion
from pipelines.stats import (
    adjusted_funnel_limits_proportion,
    adjusted_funnel_limits_ratio,
    overdispersion,
    poisson_funnel_limits,
    proportion_funnel_limits,
    proportion_transform,
    ratio_transform,
)


def many_trusts(count: int = 40):
    orgs = organisations()
    extra = [{"org_code": f"X{i:02d}", "org_name": f"Trust X{i:02d}", "peer_group": "acute", "in_network": False}
             for i in range(count - len(orgs))]
    return pd.concat([orgs, pd.DataFrame(extra)], ignore_index=True)


def set_proportion(facts, code, p):
    rows = facts["org_code"] == code
    facts.loc[rows, "numerator"] = np.round(facts.loc[rows, "denominator"] * p)
    facts.loc[rows, "value"] = facts.loc[rows, "numerator"] / facts.loc[rows, "denominator"]


def test_a_planted_low_proportion_is_flagged_below_the_998_limit_unadjusted_and_adjusted():
    facts = make_facts(metrics=["fft_positive"], periods=2, orgs=many_trusts())
    set_proportion(facts, "A04", 0.75)  # everyone else ~0.90
    table = compute_benchmark_table(facts)
    outlier = select(table, org_code="A04", comparator="england")
    assert (outlier["funnel_flag"] == "below 99.8% limit").all()
    assert (outlier["funnel_flag_adjusted"] == "below 99.8% limit").all()
    assert (outlier["value"] < outlier["funnel_adj_lower_998"]).all()
    others = select(table, comparator="england")
    others = others[others["org_code"] != "A04"]
    assert (others["funnel_flag_adjusted"] != "below 99.8% limit").all()


def test_a_planted_high_rate_is_flagged_above_the_998_limit():
    facts = make_facts(metrics=["sickness_rate"], periods=2, orgs=many_trusts())
    rows = facts["org_code"] == "M02"
    facts.loc[rows, "numerator"] = np.round(facts.loc[rows, "denominator"] * 0.08)  # others ~5%
    facts.loc[rows, "value"] = facts.loc[rows, "numerator"] / facts.loc[rows, "denominator"] * 100
    table = compute_benchmark_table(facts)
    outlier = select(table, org_code="M02")
    assert set(outlier["comparator"]) == {"network", "peer_group", "england"}
    assert (outlier["funnel_flag"] == "above 99.8% limit").all()
    assert (outlier["funnel_ratio"] > 1.3).all()
    # Against England's 40 trusts the adjusted limits flag it too; in a group of five the outlier
    # itself dominates the between-unit variance, as overdispersion adjustment is known to do.
    assert (select(outlier, comparator="england")["funnel_flag_adjusted"] == "above 99.8% limit").all()


def test_proportion_funnels_equal_the_stats_functions_group_by_group():
    facts = make_facts(metrics=["fft_positive"], periods=2, orgs=many_trusts(), seed=21)
    set_proportion(facts, "A02", 0.8)
    set_proportion(facts, "X30", 0.97)
    table = compute_benchmark_table(facts)
    checked = 0
    for _, group in table.groupby(["period_start", "comparator", "comparator_group"], observed=True):
        x = group["numerator"].to_numpy(float)
        n = group["denominator"].to_numpy(float)
        p = x.sum() / n.sum()
        y, se = proportion_transform(x, n)
        phi, tau2 = overdispersion(y, se, target=float(np.arcsin(np.sqrt(p))))
        assert group["funnel_phi"].to_numpy(float) == pytest.approx(np.full(len(group), phi), rel=1e-9)
        assert group["funnel_tau2"].to_numpy(float) == pytest.approx(np.full(len(group), tau2), rel=1e-9, abs=1e-15)
        for level, suffix in ((0.95, "95"), (0.998, "998")):
            lower, upper = proportion_funnel_limits(n, p, level)
            assert group[f"funnel_lower_{suffix}"].to_numpy(float) == pytest.approx(lower, rel=1e-12)
            assert group[f"funnel_upper_{suffix}"].to_numpy(float) == pytest.approx(upper, rel=1e-12)
            lower, upper = adjusted_funnel_limits_proportion(n, p, tau2, level)
            assert group[f"funnel_adj_lower_{suffix}"].to_numpy(float) == pytest.approx(lower, rel=1e-9)
            assert group[f"funnel_adj_upper_{suffix}"].to_numpy(float) == pytest.approx(upper, rel=1e-9)
        assert (group["funnel_adjusted"] == (tau2 > 0)).all()
        assert (group["funnel_size"].to_numpy(float) == n).all()
        checked += 1
    assert checked == 2 * (1 + 2 + 1)


def test_rate_funnels_are_ratios_against_the_comparator_rate_and_equal_the_stats_functions():
    facts = make_facts(metrics=["sickness_rate"], periods=1, orgs=many_trusts(), seed=4)
    table = compute_benchmark_table(facts)
    tau2_seen = []
    for _, group in table.groupby(["comparator", "comparator_group"], observed=True):
        observed = group["numerator"].to_numpy(float)
        days = group["denominator"].to_numpy(float)
        rate = observed.sum() / days.sum()
        bench = rate * 100
        expected = days * rate
        assert group["comparator_value"].to_numpy(float) == pytest.approx(np.full(len(group), bench))
        assert group["funnel_size"].to_numpy(float) == pytest.approx(expected, rel=1e-12)
        assert group["funnel_ratio"].to_numpy(float) == pytest.approx(observed / expected, rel=1e-12)
        y, se = ratio_transform(observed, expected)
        phi, tau2 = overdispersion(y, se, target=0.0)
        tau2_seen.append(tau2)
        assert group["funnel_phi"].to_numpy(float) == pytest.approx(np.full(len(group), phi), rel=1e-9)
        for level, suffix in ((0.95, "95"), (0.998, "998")):
            lower, upper = poisson_funnel_limits(expected, level)
            assert group[f"funnel_lower_{suffix}"].to_numpy(float) == pytest.approx(lower * bench, rel=1e-12)
            assert group[f"funnel_upper_{suffix}"].to_numpy(float) == pytest.approx(upper * bench, rel=1e-12)
            lower, upper = adjusted_funnel_limits_ratio(expected, tau2, level)
            assert group[f"funnel_adj_lower_{suffix}"].to_numpy(float) == pytest.approx(lower * bench, rel=1e-9)
            assert group[f"funnel_adj_upper_{suffix}"].to_numpy(float) == pytest.approx(upper * bench, rel=1e-9)
    assert len(tau2_seen) == 4


def test_overdispersed_rates_get_a_positive_tau2_and_wider_adjusted_limits():
    facts = make_facts(metrics=["sickness_rate"], periods=1, orgs=many_trusts(60), seed=9)
    rng = np.random.default_rng(1)
    facts["numerator"] = np.round(facts["denominator"] * rng.uniform(0.03, 0.07, len(facts)))
    facts["value"] = facts["numerator"] / facts["denominator"] * 100
    rows = select(compute_benchmark_table(facts), comparator="england")
    assert (rows["funnel_tau2"] > 0).all() and (rows["funnel_phi"] > 1).all()
    assert rows["funnel_adjusted"].all()
    assert (rows["funnel_adj_upper_998"] > rows["funnel_upper_998"]).all()
    # Many units sit outside the unadjusted limits; few outside the adjusted ones.
    assert (rows["funnel_flag"] != "within 95% limits").sum() > (rows["funnel_flag_adjusted"]
                                                                 != "within 95% limits").sum()


def test_group_overdispersion_equals_overdispersion_for_random_groups():
    rng = np.random.default_rng(2)
    sizes = [3, 4, 5, 9, 10, 11, 57, 220]
    gid = np.concatenate([np.full(size, g) for g, size in enumerate(sizes)])
    y = rng.normal(size=gid.size)
    se = rng.uniform(0.05, 0.5, gid.size)
    target = np.repeat(rng.normal(size=len(sizes)), sizes)
    y[5] = np.nan  # a missing unit is left out
    phi, tau2, units = group_overdispersion(y, se, target, gid, len(sizes))
    for g in range(len(sizes)):
        mask = gid == g
        expected = overdispersion(y[mask], se[mask], target=float(target[mask][0]))
        assert (phi[g], tau2[g]) == (pytest.approx(expected[0], rel=1e-12), pytest.approx(expected[1], rel=1e-9,
                                                                                           abs=1e-15))
    assert units[1] == 3


def test_fewer_than_three_units_give_unadjusted_limits_only_with_a_reason():
    facts = make_facts(metrics=["fft_positive"], periods=1)
    network = facts["org_code"].isin(NETWORK[:2])
    facts = facts[network | ~facts["org_code"].isin(NETWORK)]  # only two network members report
    rows = select(compute_benchmark_table(facts), comparator="network")
    assert len(rows) == 2
    assert rows["funnel_lower_95"].notna().all() and rows["funnel_flag"].notna().all()
    assert rows[["funnel_adj_lower_95", "funnel_phi", "funnel_tau2", "funnel_flag_adjusted"]].isna().all().all()
    assert rows["funnel_reason"].str.startswith("adjusted limits need at least 3 units").all()


def test_score_metrics_have_no_funnel_and_say_why():
    rows = compute_benchmark_table(make_facts(metrics=["pp1_score"], periods=1))
    assert rows[["funnel_lower_95", "funnel_flag", "funnel_method"]].isna().all().all()
    assert (rows["funnel_reason"] == "benchmark_method score: no funnel (position in the distribution only)").all()
