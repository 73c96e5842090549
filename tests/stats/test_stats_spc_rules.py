"""Making Data Count special-cause rules, icons and options on hand-built series.

Each series starts with a fixed baseline so the mean and limits are known exactly:
``[0, 1] * 4`` gives mean 0.5 and mean moving range 1, so the process limits are
0.5 -/+ 2.66 (-2.16, 3.16) and the 2-sigma lines 0.5 -/+ 1.7733 (-1.2733, 2.2733).
"""

from __future__ import annotations

import math

import hypothesis
import numpy as np
import pytest
from hypothesis import strategies as st

from pipelines.stats import assurance_icon, variation_icon, xmr

BASE = [0, 1] * 4
MEAN = 0.5


def chart(tail, **kwargs):
    kwargs.setdefault("baseline", len(BASE))
    kwargs.setdefault("min_points", 2)
    return xmr(BASE + list(tail), **kwargs)


def flagged(sides):
    """Indices (relative to the end of the baseline) whose side is not None."""
    return [i - len(BASE) for i, s in enumerate(sides) if s is not None]


def test_baseline_sets_the_limits():
    result = chart([0.5] * 3)
    assert result.mean == pytest.approx(0.5)
    assert result.mr_mean == pytest.approx(1.0)
    assert result.upl == pytest.approx(3.16)
    assert result.lpl == pytest.approx(-2.16)
    assert result.upper_2sigma == pytest.approx(0.5 + 2.66 * 2 / 3)
    assert result.baseline == len(BASE)


def test_seven_points_above_the_mean_are_a_shift():
    result = chart([MEAN] + [0.75] * 7)  # the point on the mean separates it from the baseline
    assert flagged(result.shift_side) == list(range(1, 8))
    assert set(result.shift_side[len(BASE) + 1:]) == {"high"}


def test_a_point_on_the_mean_breaks_a_shift():
    result = chart([0.75, 0.75, 0.75, MEAN, 0.75, 0.75, 0.75])
    assert not any(result.shift)
    assert result.special_cause[len(BASE):] == (None,) * 7


def test_shift_length_is_configurable():
    tail = [0.25] * 6
    assert not any(chart(tail).shift)
    assert flagged(chart(tail, shift=6).shift_side) == list(range(6))
    assert set(chart(tail, shift=6).shift_side[len(BASE):]) == {"low"}


def test_seven_increasing_points_are_a_trend():
    tail = [-0.9, -0.6, -0.3, 0.0, 0.3, 0.6, 0.9]
    result = chart(tail)
    assert flagged(result.trend_side) == list(range(7))
    assert set(result.trend_side[len(BASE):]) == {"high"}


def test_seven_decreasing_points_are_a_low_trend():
    result = chart([0.9, 0.6, 0.3, 0.0, -0.3, -0.6, -0.9])
    assert set(result.trend_side[len(BASE):]) == {"low"}


def test_a_tie_breaks_a_trend():
    result = chart([-0.9, -0.6, -0.3, -0.3, 0.0, 0.3, 0.6, 0.9])
    assert not any(result.trend)


def test_trend_length_is_configurable():
    tail = [-0.6, -0.3, 0.0, 0.3, 0.6, 0.9]  # six increasing points
    assert not any(chart(tail).trend)
    assert flagged(chart(tail, trend=6).trend_side) == list(range(6))


def test_two_of_three_beyond_2_sigma_on_the_same_side_fires_on_those_points():
    result = chart([2.5, 0.5, 2.5])
    assert flagged(result.two_of_three_side) == [0, 2]
    assert result.two_of_three_side[len(BASE)] == "high"
    assert result.special_cause[len(BASE) + 1] is None


def test_two_of_three_on_opposite_sides_does_not_fire():
    result = chart([2.5, 0.5, -1.5])
    assert not any(result.two_of_three)
    assert result.special_cause[len(BASE):] == (None, None, None)


def test_two_of_three_low_side():
    result = chart([-1.5, -1.6, 0.5])
    assert result.two_of_three_side[len(BASE):] == ("low", "low", None)


def test_two_of_three_variants_differ_on_points_beyond_the_process_limit():
    tail = [3.5, 0.5, 2.5]  # 3.5 is beyond the upper process limit, 2.5 between 2 and 3 sigma
    current = chart(tail, two_of_three="beyond_2_sigma")
    older = chart(tail, two_of_three="between_2_and_3_sigma")
    assert flagged(current.two_of_three_side) == [0, 2]
    assert not any(older.two_of_three)
    assert current.two_of_three_variant == "beyond_2_sigma"
    assert older.two_of_three_variant == "between_2_and_3_sigma"
    for result in (current, older):
        assert result.beyond_limits_side[len(BASE)] == "high"


def test_a_single_point_beyond_the_upper_limit_fires():
    result = chart([0.5, 10, 0.5])
    assert flagged(result.beyond_limits_side) == [1]
    assert flagged(result.special_cause) == [1]
    assert result.special_cause[len(BASE) + 1] == "high"


def test_a_single_point_below_the_lower_limit_fires():
    result = chart([0.5, -10, 0.5])
    assert result.beyond_limits_side[len(BASE) + 1] == "low"


def test_a_point_exactly_on_the_limit_is_not_beyond_it():
    result = chart([0.5, 3.16, 0.5])
    assert not any(result.beyond_limits)


@pytest.mark.parametrize(
    "last,polarity,icon",
    [
        (10, "higher_is_better", "improvement_high"),
        (10, "lower_is_better", "concern_high"),
        (10, "none", "neither_high"),
        (-10, "higher_is_better", "concern_low"),
        (-10, "lower_is_better", "improvement_low"),
        (-10, "none", "neither_low"),
        (0.5, "higher_is_better", "common_cause"),
    ],
)
def test_variation_icon_classifies_the_latest_point(last, polarity, icon):
    assert variation_icon(chart([0.5, last]), polarity) == icon


def test_variation_icon_is_none_when_the_latest_point_is_suppressed():
    assert variation_icon(chart([0.5, 10, None]), "higher_is_better") is None


@pytest.mark.parametrize(
    "target,polarity,icon",
    [
        (-5, "higher_is_better", "consistently_passing"),
        (5, "higher_is_better", "consistently_failing"),
        (1, "higher_is_better", "hit_or_miss"),
        (-5, "lower_is_better", "consistently_failing"),
        (5, "lower_is_better", "consistently_passing"),
        (1, "lower_is_better", "hit_or_miss"),
        (None, "higher_is_better", None),
        (math.nan, "lower_is_better", None),
        (5, "none", None),
    ],
)
def test_assurance_icon_compares_the_target_with_the_process_limits(target, polarity, icon):
    assert assurance_icon(chart([0.5]), target, polarity) == icon


def test_missing_values_stay_missing_and_break_runs():
    result = chart([0.75, 0.75, 0.75, None, 0.75, 0.75, 0.75])
    assert math.isnan(result.values[len(BASE) + 3])
    assert not any(result.shift)
    assert result.special_cause[len(BASE) + 3] is None


def test_missing_values_contribute_no_moving_range():
    result = xmr([0, 1, None, 0, 1, 0, 1], min_points=2)
    # moving ranges: |1-0|, |1-0|, |0-1|, |1-0| (none across the gap)
    assert result.mr_mean == pytest.approx(1.0)
    assert result.mean == pytest.approx(0.5)


def test_fewer_than_min_points_gives_a_run_chart_without_limits():
    result = xmr([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert result.limits_available is False
    assert math.isnan(result.upl) and math.isnan(result.lpl)
    assert not any(result.beyond_limits) and not any(result.two_of_three)
    assert all(result.trend)  # run rules still apply on a run chart
    assert assurance_icon(result, 5, "higher_is_better") is None


def test_fifteen_points_give_limits_by_default():
    result = xmr([1, 2] * 7 + [1])
    assert result.limits_available is True
    assert math.isfinite(result.upl)


def test_screening_drops_moving_ranges_at_or_above_3267_times_the_mean():
    # Six moving ranges [1, 1, 1, 1, 1, x]: mean = (5 + x) / 6; x is dropped iff x >= 3.267 * mean.
    # x = 11.89 gives 11.89 / ((5 + 11.89) / 6) = 4.22 > 3.267: dropped, mean MR = 1.
    result = xmr([0, 1, 0, 1, 0, 1, 12.89], screen_outliers=True, min_points=2)
    assert result.mr_mean == pytest.approx(1.0)
    unscreened = xmr([0, 1, 0, 1, 0, 1, 12.89], screen_outliers=False, min_points=2)
    assert unscreened.mr_mean == pytest.approx((5 + 11.89) / 6)


def test_result_is_frozen():
    result = chart([0.5])
    with pytest.raises(AttributeError):
        result.mean = 0  # type: ignore[misc]


def _two_of_three_one_window_at_a_time(flags: list[bool]) -> list[bool]:
    """The rule as NHSRplotthedots states it, window by window: the reference for the vector form."""
    n, marked = len(flags), [False] * len(flags)
    for start in range(max(n - 2, 1)):
        window = range(start, min(start + 3, n))
        if sum(flags[i] for i in window) >= 2:
            for i in window:
                marked[i] = marked[i] or flags[i]
    return marked


@hypothesis.settings(max_examples=300, deadline=None, database=None, derandomize=True)
@hypothesis.given(st.lists(st.booleans(), min_size=2, max_size=40))
def test_two_of_three_marks_the_same_points_as_checking_each_window_in_turn(flags):
    from pipelines.stats.spc import in_two_of_three

    array = np.array(flags, dtype=bool)
    assert (array & in_two_of_three(array)).tolist() == _two_of_three_one_window_at_a_time(flags)


def test_float_arrays_are_checked_as_arrays_with_the_same_messages():
    from pipelines.stats._validate import float_array

    values = np.array([1.0, np.nan, 2.5])
    assert np.array_equal(float_array("f", "values", values), values, equal_nan=True)
    assert float_array("f", "values", values) is not values  # a copy: callers may write to it
    with pytest.raises(ValueError, match="finite") as failure:
        float_array("f", "values", np.array([1.0, -np.inf]))
    assert "-inf" in str(failure.value)
    with pytest.raises(ValueError, match="non-missing"):
        float_array("f", "values", values, allow_missing=False)
