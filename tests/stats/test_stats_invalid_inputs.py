"""Invalid inputs raise ValueError naming the function and the offending argument."""

from __future__ import annotations

import math

import pytest

from pipelines import stats as s

NAN = math.nan

CASES = [
    # (callable, args, kwargs, text the message must contain)
    (s.wilson_interval, (1, 0), {}, "wilson_interval: n must be > 0, got 0"),
    (s.wilson_interval, (11, 10), {}, "wilson_interval: x must be <= n"),
    (s.wilson_interval, (-1, 10), {}, "wilson_interval: x must be >= 0"),
    (s.wilson_interval, (NAN, 10), {}, "wilson_interval: x must be a finite number"),
    (s.wilson_interval, (None, 10), {}, "wilson_interval: x must be a real number"),
    (s.wilson_interval, (1, 10), {"confidence": 95}, "wilson_interval: confidence must be < 1"),
    (s.wilson_interval, (1, 10), {"confidence": 0}, "wilson_interval: confidence must be > 0"),
    (s.byar_interval, (-3,), {}, "byar_interval: x must be >= 0"),
    (s.exact_poisson_interval, (NAN,), {}, "exact_poisson_interval: x must be a finite number"),
    (s.rate_interval, (3, 0), {}, "rate_interval: denominator must be > 0"),
    (s.rate_interval, (-3, 100), {}, "rate_interval: x must be >= 0"),
    (s.rate_interval, (3, 100), {"multiplier": 0}, "rate_interval: multiplier must be > 0"),
    (s.poisson_funnel_limits, (0,), {}, "poisson_funnel_limits: expected must be > 0"),
    (s.poisson_funnel_limits, ([5, -1],), {}, "poisson_funnel_limits: expected must be > 0, got -1.0 at index 1"),
    (s.proportion_funnel_limits, (10, 1.5), {}, "proportion_funnel_limits: target must be <= 1"),
    (s.proportion_funnel_limits, (0, 0.5), {}, "proportion_funnel_limits: n must be > 0"),
    (s.adjusted_funnel_limits_proportion, (10, 0.5, -0.1), {}, "adjusted_funnel_limits_proportion: tau2 must be >= 0"),
    (s.adjusted_funnel_limits_proportion, (10, 0.5, None), {"method": "multiplicative"},
     "adjusted_funnel_limits_proportion: phi must be given"),
    (s.adjusted_funnel_limits_ratio, (10, 0.1), {"method": "scaled"}, "adjusted_funnel_limits_ratio: method must be one of"),
    (s.proportion_transform, ([5, 12], [10, 10]), {}, "proportion_transform: x must be <= n"),
    (s.proportion_transform, ([5], [0]), {}, "proportion_transform: n must be > 0"),
    (s.ratio_transform, ([0], [3.2]), {}, "ratio_transform: observed must be > 0"),
    (s.overdispersion, ([0.1, 0.2], [0.1, 0.1]), {}, "overdispersion: y must be at least 3 units"),
    (s.overdispersion, ([0.1, 0.2, 0.3], [0.1, 0, 0.1]), {}, "overdispersion: se must be > 0"),
    (s.overdispersion, ([0.1, 0.2, 0.3], [0.1, 0.1]), {}, "overdispersion: se must be the same length as y"),
    (s.overdispersion, ([0.1, 0.2, 0.3], [0.1] * 3), {"method": "median"}, "overdispersion: method must be one of"),
    (s.overdispersion, ([0.1, 0.2, 0.3], [0.1] * 3), {"fraction": 0.5}, "overdispersion: fraction must be < 0.5"),
    (s.xmr, ([1],), {}, "xmr: values must be at least 2 points"),
    (s.xmr, ([1, None, 2],), {}, "xmr: values must be at least 2 consecutive non-missing"),
    (s.xmr, ([1, 2, 3],), {"shift": 5}, "xmr: shift must be >= 6"),
    (s.xmr, ([1, 2, 3],), {"trend": 9}, "xmr: trend must be <= 8"),
    (s.xmr, ([1, 2, 3],), {"two_of_three": "any"}, "xmr: two_of_three must be one of"),
    (s.xmr, ([1, 2, 3],), {"baseline": 4}, "xmr: baseline must be <= 3"),
    (s.xmr, ([1, 2, 3],), {"baseline": 1}, "xmr: baseline must be >= 2"),
    (s.xmr, ([1, "2", 3],), {}, "xmr: values must be numeric"),
    (s.compare_to_benchmark, (1, 0.5, 1.5, 1, "up"), {}, "compare_to_benchmark: polarity must be one of"),
    (s.compare_to_benchmark, (1, 1.5, 0.5, 1, "none"), {}, "compare_to_benchmark: lower must be <= upper"),
    (s.compare_to_benchmark, (1, 0.5, 1.5, 1, "none"), {"outer_lower": 0.4, "outer_upper": 1.6, "levels": (0.95,)},
     "compare_to_benchmark: levels must be two levels"),
    (s.compare_to_benchmark, (1, 0.5, 1.5, 1, "none"), {"outer_lower": 0.6, "outer_upper": 1.6},
     "compare_to_benchmark: outer_lower must be an interval containing"),
    (s.recent_trend, ([1, 2, 3], [0, 1, 2], [2, 3]), {}, "recent_trend: upper95 must be the same length as values"),
    (s.recent_trend, ([1] * 5, None, None), {"kind": "proportion"}, "recent_trend: counts must be given"),
    (s.recent_trend, ([1] * 5, None, None), {"kind": "proportion", "counts": [6] * 5, "denominators": [5] * 5},
     "recent_trend: counts must be <= denominators"),
    (s.recent_trend, ([1] * 5, None, None), {"kind": "rate"}, "recent_trend: kind must be one of"),
    (s.quantile_bounds, ([1, 2, 3], 5), {}, "quantile_bounds: values must be at least 4 non-missing values"),
    (s.quantile_bounds, ([1, 2, 3, 4], 1), {}, "quantile_bounds: k must be >= 2"),
    (s.quantile_bounds, ([1, 2, 3, 4], 4), {"method": "ntile"}, "quantile_bounds: method must be one of"),
    (s.rank_and_percentile, (5, [1, 2, 3], "higher_is_better"), {}, "rank_and_percentile: value must be one of"),
    (s.variation_icon, ("chart", "none"), {}, "variation_icon: result must be an XmRResult"),
]


@pytest.mark.parametrize(
    "func,args,kwargs,message", CASES, ids=[f"{i}-{c[0].__name__}" for i, c in enumerate(CASES)]
)
def test_invalid_input_raises_value_error_naming_the_argument(func, args, kwargs, message):
    with pytest.raises(ValueError) as excinfo:
        func(*args, **kwargs)
    assert message in str(excinfo.value)


def test_assurance_icon_rejects_an_invalid_polarity():
    chart = s.xmr([1, 2, 1, 2], min_points=2)
    with pytest.raises(ValueError, match="assurance_icon: polarity must be one of"):
        s.assurance_icon(chart, 1.5, "up")
