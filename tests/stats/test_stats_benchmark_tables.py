"""Behaviour of the benchmark-table helpers: comparison labels, recent trend edge cases,
distribution summaries, ranks, funnels with suppressed units and overdispersion inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipelines.stats import (
    adjusted_funnel_limits_proportion,
    adjusted_funnel_limits_ratio,
    byar_interval,
    compare_to_benchmark,
    distribution_summary,
    exact_poisson_interval,
    overdispersion,
    poisson_funnel_limits,
    proportion_funnel_limits,
    proportion_transform,
    quantile_bounds,
    rank_and_percentile,
    ratio_transform,
    recent_trend,
    wilson_interval,
)

# --- compare_to_benchmark --------------------------------------------------------------


@pytest.mark.parametrize(
    "lower,upper,benchmark,polarity,label",
    [
        (0.6, 0.7, 0.5, "higher_is_better", "Better"),
        (0.6, 0.7, 0.5, "lower_is_better", "Worse"),
        (0.6, 0.7, 0.8, "higher_is_better", "Worse"),
        (0.6, 0.7, 0.8, "lower_is_better", "Better"),
        (0.6, 0.7, 0.65, "higher_is_better", "Similar"),
        (0.6, 0.7, 0.6, "higher_is_better", "Similar"),  # a bound touching the benchmark is similar
        (0.6, 0.7, 0.5, "none", "Higher"),
        (0.6, 0.7, 0.8, "none", "Lower"),
        (0.6, 0.7, 0.65, "none", "Similar"),
    ],
)
def test_compare_to_benchmark_single_level(lower, upper, benchmark, polarity, label):
    assert compare_to_benchmark(0.65, lower, upper, benchmark, polarity) == label


@pytest.mark.parametrize(
    "benchmark,polarity,label",
    [
        (0.50, "higher_is_better", "Best"),  # outside 99.8% (0.55-0.75)
        (0.57, "higher_is_better", "Better"),  # outside 95% only
        (0.50, "lower_is_better", "Worst"),
        (0.80, "higher_is_better", "Worst"),
        (0.80, "lower_is_better", "Best"),
        (0.72, "lower_is_better", "Better"),
        (0.65, "higher_is_better", "Similar"),
        (0.50, "none", "Higher"),
        (0.80, "none", "Lower"),
    ],
)
def test_compare_to_benchmark_two_levels(benchmark, polarity, label):
    got = compare_to_benchmark(0.65, 0.6, 0.7, benchmark, polarity, outer_lower=0.55, outer_upper=0.75)
    assert got == label


@pytest.mark.parametrize(
    "args,kwargs",
    [
        ((None, 0.6, 0.7, 0.5, "higher_is_better"), {}),
        ((0.65, math.nan, 0.7, 0.5, "higher_is_better"), {}),
        ((0.65, 0.6, 0.7, None, "higher_is_better"), {}),
        ((0.65, 0.6, 0.7, 0.5, "none"), {"outer_lower": 0.55, "outer_upper": None}),
    ],
)
def test_compare_to_benchmark_missing_inputs_are_not_compared(args, kwargs):
    assert compare_to_benchmark(*args, **kwargs) == "Not compared"


def test_compare_to_benchmark_with_a_real_wilson_interval():
    lower, upper = wilson_interval(65, 100)
    assert compare_to_benchmark(0.65, lower, upper, 0.5, "higher_is_better") == "Better"
    assert compare_to_benchmark(0.65, lower, upper, 0.6, "higher_is_better") == "Similar"


# --- recent_trend ----------------------------------------------------------------------


def test_recent_trend_needs_five_points():
    result = recent_trend([1, 2, 3, 4], [0, 1, 2, 3], [2, 3, 4, 5])
    assert result.direction == "could not be calculated"
    assert result.significant is False
    assert "found 4" in result.reason
    assert math.isnan(result.chi2)


def test_recent_trend_missing_point_breaks_the_run_of_valid_points():
    values = [10, 20, 30, None, 40, 50, 60, 70]
    lower = [v - 1 if v is not None else None for v in values]
    upper = [v + 1 if v is not None else None for v in values]
    assert recent_trend(values, lower, upper).direction == "could not be calculated"
    values[3] = 35
    lower[3], upper[3] = 34, 36
    assert recent_trend(values, lower, upper).direction == "increasing"


def test_recent_trend_uses_only_the_last_five_points():
    values = [100, 0, 10, 11, 12, 13, 14]  # a big early fall is ignored
    lower = [v - 0.5 for v in values]
    upper = [v + 0.5 for v in values]
    result = recent_trend(values, lower, upper)
    assert result.direction == "increasing"
    assert result.slope == pytest.approx(1.0)


def test_recent_trend_detects_decrease():
    values = [14, 13, 12, 11, 10]
    result = recent_trend(values, [v - 0.5 for v in values], [v + 0.5 for v in values])
    assert result.direction == "decreasing" and result.slope < 0


def test_recent_trend_a_single_influential_point_is_not_a_trend():
    # Chi-square is large, but leaving out the last point reverses the slope.
    values = [10.0, 9.9, 9.8, 9.7, 30.0]
    lower = [v - 0.2 for v in values]
    upper = [v + 0.2 for v in values]
    result = recent_trend(values, lower, upper)
    assert result.chi2 > 9.5495
    assert result.significant is False
    assert result.direction == "no significant change"


def test_recent_trend_proportion_cannot_be_calculated_when_count_equals_denominator():
    # Fingertips' own "cannot be calculated" test data.
    counts, denominators = [5, 3, 1, 1, 2], [5, 5, 5, 4, 4]
    values = [100 * c / d for c, d in zip(counts, denominators, strict=True)]
    result = recent_trend(values, None, None, kind="proportion", counts=counts, denominators=denominators)
    assert result.direction == "could not be calculated"
    assert result.significant is False


# --- distribution, quantiles, ranks ------------------------------------------------------


def test_distribution_summary_ignores_missing_values():
    summary = distribution_summary([1, None, 2, 3, math.nan, 4, 5])
    assert summary.n == 5
    assert (summary.min, summary.q1, summary.median, summary.q3, summary.max) == (1, 2, 3, 4, 5)
    assert summary.method == "fingertips_interpolated"


def test_distribution_summary_of_an_all_suppressed_group_is_empty_not_zero():
    summary = distribution_summary([None, math.nan])
    assert summary.n == 0
    assert math.isnan(summary.median)


def test_quantile_bounds_nearest_rank_uses_data_values():
    assert quantile_bounds(range(1, 51), 5, "nearest_rank") == [1, 10, 20, 30, 40, 50]
    assert quantile_bounds([1, 2, 3, 4], 4, "nearest_rank") == [1, 1, 2, 3, 4]


def test_quantile_bounds_ignore_missing_values():
    assert quantile_bounds([None, *range(1, 51), math.nan], 5) == [1, 10.8, 20.6, 30.4, 40.2, 50]


@pytest.mark.parametrize(
    "value,polarity,rank,percentile",
    [
        (5, "higher_is_better", 1, 100.0),
        (1, "higher_is_better", 5, 0.0),
        (3, "higher_is_better", 2, 50.0),  # tie at 3: both rank 2
        (1, "lower_is_better", 1, 100.0),
        (3, "lower_is_better", 3, 25.0),  # 1 and 2 are better
        (5, "none", 1, 100.0),
    ],
)
def test_rank_and_percentile(value, polarity, rank, percentile):
    peers = [1, 3, 3, None, 5, 2]
    assert rank_and_percentile(value, peers, polarity) == (rank, percentile)


def test_rank_and_percentile_of_a_suppressed_value_is_missing():
    rank, percentile = rank_and_percentile(None, [1, 2, 3], "higher_is_better")
    assert rank is None and math.isnan(percentile)


# --- intervals, funnels and transforms -------------------------------------------------


def test_byar_interval_switches_to_exact_poisson_below_10():
    assert byar_interval(9) == exact_poisson_interval(9)
    assert byar_interval(10) != exact_poisson_interval(10)
    assert byar_interval(0) == (0.0, exact_poisson_interval(0)[1])


def test_funnels_keep_suppressed_sizes_missing():
    lower, upper = proportion_funnel_limits([10, None, 100], 0.5)
    assert np.isnan(lower[1]) and np.isnan(upper[1])
    assert not np.isnan(lower[[0, 2]]).any()
    lower, upper = poisson_funnel_limits([10, math.nan])
    assert np.isnan(lower[1])


def test_adjusted_limits_with_zero_tau2_reduce_to_the_transformed_unadjusted_limits():
    z = 1.959963984540054
    lower, upper = adjusted_funnel_limits_ratio(100, 0.0)
    assert lower == pytest.approx(math.exp(-z / 10))
    assert upper == pytest.approx(math.exp(z / 10))


def test_multiplicative_adjustment_scales_the_standard_error_by_sqrt_phi():
    z = 1.959963984540054
    lower, upper = adjusted_funnel_limits_ratio(100, None, method="multiplicative", phi=4.0)
    assert upper == pytest.approx(math.exp(2 * z / 10))
    lo_p, hi_p = adjusted_funnel_limits_proportion(100, 0.3, None, method="multiplicative", phi=4.0)
    centre = math.asin(math.sqrt(0.3))
    assert hi_p == pytest.approx(math.sin(centre + 2 * z / 20) ** 2)
    assert lo_p == pytest.approx(math.sin(centre - 2 * z / 20) ** 2)


def test_additive_adjustment_adds_tau2_to_the_variance():
    z = 1.959963984540054
    _, upper = adjusted_funnel_limits_ratio(100, 0.03)
    assert upper == pytest.approx(math.exp(z * math.sqrt(0.01 + 0.03)))


def test_transforms():
    y, se = proportion_transform(25, 100)
    assert y == pytest.approx(math.asin(0.5)) and se == pytest.approx(0.05)
    y, se = ratio_transform(120, 100)
    assert y == pytest.approx(math.log(1.2)) and se == pytest.approx(0.1)
    ys, ses = proportion_transform([25, None], [100, 100])
    assert np.isnan(ys[1]) and not np.isnan(ses[1])


def test_overdispersion_hand_calculation_winsorise_and_trim():
    # Ten units, se = 0.1 each, target 0: z = 10 y.
    y = np.array([-0.3, -0.2, -0.1, 0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 1.0])
    se = np.full(10, 0.1)
    z = y / 0.1
    lo, hi = np.quantile(z, [0.1, 0.9])
    wz = np.clip(z, lo, hi)
    phi_w = np.mean(wz**2)
    w = 1 / se**2
    tau2_w = max(0.0, (10 * phi_w - 9) / (w.sum() - (w**2).sum() / w.sum()))
    assert overdispersion(y, se, target=0.0) == pytest.approx((phi_w, tau2_w))
    # SHMI trimming with 10 units keeps ranks r with 0.1 <= r/11 < 0.9, i.e. ranks 2..9.
    kept = np.sort(z)[1:9]
    phi_t = np.mean(kept**2)
    wk = np.full(8, 100.0)
    tau2_t = max(0.0, (8 * phi_t - 7) / (wk.sum() - (wk**2).sum() / wk.sum()))
    assert overdispersion(y, se, method="trim", target=0.0) == pytest.approx((phi_t, tau2_t))


def test_overdispersion_leaves_out_suppressed_units():
    y = [0.1, -0.2, None, 0.3, 0.0]
    se = [0.1, 0.1, 0.1, 0.1, math.nan]
    assert overdispersion(y, se, target=0.0) == overdispersion([0.1, -0.2, 0.3], [0.1] * 3, target=0.0)
