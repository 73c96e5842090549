"""SPC (Making Data Count) and the recent trend over each trust's history: planted shifts are
detected, the columns equal direct calls of the stats functions, and each series is computed
once and joined to every comparator row."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from benchmark_facts import make_facts, months, select, suppress

from pipelines.benchmark import compute_benchmark_table
from pipelines.benchmark.spc import point_variations
from pipelines.stats import assurance_icon, recent_trend, variation_icon, xmr

SERIES_COLUMNS = ["spc_points", "spc_mean", "spc_lpl", "spc_upl", "spc_latest_rules", "variation_icon",
                  "assurance_icon", "trend_direction", "trend_slope", "spc_point_rules", "spc_point_variation"]


def rate_series(periods: int = 24, seed: int = 1) -> pd.DataFrame:
    """Sickness-like rates with small noise, every trust around 5%."""
    facts = make_facts(metrics=["sickness_rate"], periods=periods, seed=seed)
    rng = np.random.default_rng(seed)
    facts["numerator"] = np.round(facts["denominator"] * rng.normal(0.05, 0.001, len(facts)))
    facts["value"] = facts["numerator"] / facts["denominator"] * 100
    return facts


def test_a_planted_shift_is_detected_by_the_shift_rule_and_the_variation_icon():
    facts = rate_series()
    last8 = (facts["org_code"] == "A03") & (facts["period_start"] >= months(24)[-8])
    facts.loc[last8, "numerator"] = np.round(facts.loc[last8, "denominator"] * 0.065)
    facts.loc[last8, "value"] = facts.loc[last8, "numerator"] / facts.loc[last8, "denominator"] * 100
    table = select(compute_benchmark_table(facts), comparator="england")

    a03 = select(table, org_code="A03").sort_values("period_start")
    latest = a03.iloc[-1]
    assert latest["is_latest_period"]
    assert "shift" in latest["spc_latest_rules"].split(",")
    assert latest["variation_icon"] == "concern_high"  # sickness: lower is better
    assert all("shift" in str(rules) for rules in a03["spc_point_rules"].iloc[-8:])
    assert (a03["spc_point_variation"].iloc[-8:] == "concern_high").all()
    others = table[table["is_latest_period"] & (table["org_code"] != "A03")]
    assert not others["spc_latest_rules"].fillna("").astype(str).str.contains("shift").any()
    assert (others["variation_icon"] != "concern_high").all()


def test_spc_columns_equal_a_direct_xmr_call_on_the_trusts_history():
    facts = rate_series(periods=20, seed=5)
    facts.loc[facts["org_code"] == "A02", "target"] = 5.0
    table = select(compute_benchmark_table(facts), comparator="england")
    for code in ("A01", "A02", "M03"):
        rows = select(table, org_code=code).sort_values("period_start")
        history = facts[facts["org_code"] == code].sort_values("period_start")
        chart = xmr(history["value"].to_numpy(float))
        latest = rows.iloc[-1]
        assert (latest["spc_mean"], latest["spc_lpl"], latest["spc_upl"]) == (chart.mean, chart.lpl, chart.upl)
        assert (latest["spc_lower_2sigma"], latest["spc_upper_2sigma"]) == (chart.lower_2sigma, chart.upper_2sigma)
        assert latest["spc_points"] == 20 and latest["spc_limits_available"]
        assert latest["variation_icon"] == variation_icon(chart, "lower_is_better")
        target = 5.0 if code == "A02" else None
        assert latest["assurance_icon"] == (None if target is None else assurance_icon(chart, target,
                                                                                       "lower_is_better")) or (
            target is None and pd.isna(latest["assurance_icon"]))
        assert latest["spc_latest_period_start"] == rows["period_start"].max()
        trend = recent_trend(history["value"].to_numpy(float)[-5:], rows["ci_lower"].to_numpy(float)[-5:],
                             rows["ci_upper"].to_numpy(float)[-5:])
        assert latest["trend_direction"] == trend.direction
        assert latest["trend_slope"] == pytest.approx(trend.slope)
    a02 = select(table, org_code="A02", is_latest_period=True).iloc[0]
    assert a02["assurance_icon"] in ("consistently_passing", "consistently_failing", "hit_or_miss")
    assert select(table, org_code="A01", is_latest_period=True)["assurance_reason"].iloc[0] == (
        "no target in the metric catalogue")


def test_spc_and_trend_are_computed_once_per_series_and_identical_on_every_comparator_row():
    table = compute_benchmark_table(rate_series(periods=16))
    per_series = table.groupby(["org_code", "period_start"], observed=True)[SERIES_COLUMNS].nunique(dropna=False)
    assert (per_series <= 1).all().all()
    a01 = select(table, org_code="A01")
    assert set(a01["comparator"]) == {"network", "peer_group", "england"}
    # Series-level columns describe the latest point on every row of the series.
    assert a01["spc_latest_period_start"].nunique() == 1 and a01["variation_icon"].nunique() == 1


def test_each_points_variation_equals_variation_icon_of_the_chart_ending_there():
    values = np.array([5, 5.1, 4.9, 5, 5.2, 4.8, 5, 5.1, 4.9, 5, 5, 7.5, 2.5, 5.0, 5.1, 4.9])
    chart = xmr(values)
    side = np.array([0 if s is None else (1 if s == "high" else -1) for s in chart.special_cause])
    for polarity in ("higher_is_better", "lower_is_better", "none"):
        got = point_variations(side, np.full(values.size, polarity, dtype=object), np.ones(values.size, bool))
        assert got[-1] == variation_icon(chart, polarity)
        assert set(got[[11, 12]]) <= {"improvement_high", "concern_low", "neither_high", "neither_low",
                                      "concern_high", "improvement_low"}
    assert point_variations(side, np.full(values.size, "bad", dtype=object), np.ones(values.size, bool))[0] is None


def test_a_missing_month_is_a_gap_in_the_chart_not_closed_up():
    facts = rate_series(periods=20)
    gap = (facts["org_code"] == "A01") & (facts["period_start"] == months(20)[10])
    table = select(compute_benchmark_table(facts[~gap]), comparator="england", org_code="A01")
    assert len(table) == 19
    assert (table["spc_points"] == 19).all()
    values = facts[(facts["org_code"] == "A01")].sort_values("period_start")["value"].to_numpy(float).copy()
    values[10] = np.nan
    chart = xmr(values)
    assert table["spc_mean"].iloc[0] == chart.mean and table["spc_upl"].iloc[0] == chart.upl


def test_suppressed_latest_point_has_no_variation_icon_and_says_why():
    facts = rate_series(periods=18)
    last = (facts["org_code"] == "A01") & (facts["period_start"] == months(18)[-1])
    table = select(compute_benchmark_table(suppress(facts, last)), comparator="england", org_code="A01")
    latest = table[table["is_latest_period"]].iloc[0]
    assert latest["suppressed"] and pd.isna(latest["variation_icon"]) and pd.isna(latest["spc_point_variation"])
    assert "latest period suppressed" in latest["spc_reason"]
    assert latest["spc_points"] == 17
    assert latest["trend_direction"] == "could not be calculated"


def test_short_series_give_a_run_chart_and_a_trend_reason():
    table = select(compute_benchmark_table(make_facts(metrics=["fft_positive"], periods=4)), comparator="england")
    latest = table[table["is_latest_period"]]
    assert not latest["spc_limits_available"].any()
    assert latest["spc_lpl"].isna().all() and (latest["variation_icon"] == "common_cause").all()
    assert latest["spc_reason"].str.startswith("run chart: 4 of the 15 points").all()
    assert (latest["trend_direction"] == "could not be calculated").all()
    assert latest["trend_reason"].str.contains("found 4").all()
    one = select(compute_benchmark_table(make_facts(metrics=["fft_positive"], periods=1)), comparator="england")
    assert one["spc_reason"].str.startswith("SPC not computed").all() and one["variation_icon"].isna().all()


def test_proportion_trend_uses_fingertips_counts_test():
    facts = make_facts(metrics=["fft_positive"], periods=6)
    a01 = facts["org_code"] == "A01"
    facts.loc[a01, "denominator"] = 1000.0
    facts.loc[a01, "numerator"] = [700.0, 720.0, 760.0, 800.0, 840.0, 880.0]
    facts.loc[a01, "value"] = facts.loc[a01, "numerator"] / 1000
    row = select(compute_benchmark_table(facts), comparator="england", org_code="A01", is_latest_period=True).iloc[0]
    expected = recent_trend(facts.loc[a01, "value"].to_numpy()[-5:], None, None, kind="proportion",
                            counts=facts.loc[a01, "numerator"].to_numpy()[-5:],
                            denominators=facts.loc[a01, "denominator"].to_numpy()[-5:])
    assert row["trend_direction"] == expected.direction == "increasing"
    assert row["trend_chi2"] == pytest.approx(expected.chi2)
    assert "kind=proportion" in row["trend_method"]


def world_sickness_facts(world) -> pd.DataFrame:
    from pipelines.synthetic.sickness_absence import rate_and_days

    rows = []
    for month in world.months:
        month_end = (pd.Timestamp(month) + pd.offsets.MonthEnd(0)).date()
        for org in world.open_organisations(month_end):
            lost, available = rate_and_days(world, org.code, month)
            rows.append({
                "org_code": org.code, "org_name": org.name, "in_network": org.code in {"RC9", "RD8", "RWK"},
                "peer_group": org.survey_group, "metric_id": "sickness_absence_rate", "unit": "percent",
                "polarity": "lower_is_better", "benchmark_method": "rate", "grain": "month",
                "period_start": pd.Timestamp(month), "period_end": pd.Timestamp(month_end),
                "value": round(lost / available * 100, 2), "numerator": lost, "denominator": available,
                "suppressed": False,
            })
    return pd.DataFrame(rows)


def test_synthetic_world_shifted_trusts_are_detected_by_spc_and_most_others_are_not():
    from pipelines.synthetic.world import World

    world = World(years=2)
    facts = world_sickness_facts(world)
    assert facts["org_code"].nunique() > 200 and facts["period_start"].nunique() == 24
    table = select(compute_benchmark_table(facts), comparator="england")
    latest = table[table["is_latest_period"].astype(bool)]
    latest = latest[latest["period_start"] == pd.Timestamp(world.months[-1])]
    shifted = latest[latest["org_code"].isin(world.default_shifted_trusts)]
    assert len(shifted) == len(world.default_shifted_trusts) == 3
    assert (shifted["variation_icon"] == "concern_high").all()
    assert shifted["spc_latest_rules"].astype(str).str.contains("shift").all()
    # Each shifted trust's points since the step are flagged by the shift rule.
    since = table[table["org_code"].isin(world.default_shifted_trusts)
                  & (table["period_start"] >= pd.Timestamp(world.shift_start()))]
    flagged = since["spc_point_rules"].astype(str).str.contains("shift").groupby(
        since["org_code"].astype(str)).sum()
    assert (flagged >= 7).all()

    others = latest[~latest["org_code"].isin(world.default_shifted_trusts)]
    assert len(others) > 200
    assert (others["variation_icon"] == "concern_high").mean() < 0.05
    assert others["spc_latest_rules"].astype(str).str.contains("shift").mean() < 0.05
    assert (others["variation_icon"] == "common_cause").mean() > 0.7
    assert world.shift_start() == date(2025, 10, 1)
