"""Properties that must hold for any input, checked with hypothesis and seeded simulation.

Hypothesis runs derandomised with no example database and no deadline, so the suite is
deterministic, writes nothing outside the repo's ignored paths, and never asserts on time.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.stats import (
    adjusted_funnel_limits_proportion,
    adjusted_funnel_limits_ratio,
    byar_interval,
    overdispersion,
    poisson_funnel_limits,
    proportion_funnel_limits,
    proportion_transform,
    quantile_bounds,
    wilson_interval,
    xmr,
)

PROPERTY = settings(max_examples=150, deadline=None, database=None, derandomize=True)
CONFIDENCES = st.sampled_from([0.8, 0.9, 0.95, 0.99, 0.998])
EPS = 1e-12


@st.composite
def events_of(draw):
    n = draw(st.floats(min_value=1e-3, max_value=1e7, allow_nan=False))
    x = draw(st.floats(min_value=0.0, max_value=1.0)) * n
    return x, n


@PROPERTY
@given(events_of(), CONFIDENCES)
def test_wilson_interval_contains_the_observed_proportion_and_stays_in_0_1(xn, conf):
    x, n = xn
    lower, upper = wilson_interval(x, n, conf)
    assert 0.0 <= lower <= upper <= 1.0
    assert lower - EPS <= x / n <= upper + EPS


@PROPERTY
@given(
    st.floats(min_value=0.0, max_value=1.0),
    st.floats(min_value=1.0, max_value=1e6),
    st.floats(min_value=1.01, max_value=100.0),
    CONFIDENCES,
)
def test_wilson_interval_narrows_as_n_grows_at_fixed_p(p, n, factor, conf):
    lo1, hi1 = wilson_interval(p * n, n, conf)
    lo2, hi2 = wilson_interval(p * n * factor, n * factor, conf)
    assert hi2 - lo2 < hi1 - lo1


@PROPERTY
@given(st.floats(min_value=0.0, max_value=1e6), CONFIDENCES)
def test_count_interval_contains_the_count(x, conf):
    lower, upper = byar_interval(x, conf)
    assert 0.0 <= lower <= x <= upper


@PROPERTY
@given(
    st.floats(min_value=0.5, max_value=1e5),
    st.floats(min_value=1.01, max_value=50.0),
    st.floats(min_value=0.01, max_value=0.99),
    CONFIDENCES,
)
def test_funnel_limits_widen_as_size_falls(size, factor, target, conf):
    small, large = size, size * factor
    pairs = [
        (proportion_funnel_limits(small, target, conf), proportion_funnel_limits(large, target, conf)),
        (poisson_funnel_limits(small, conf), poisson_funnel_limits(large, conf)),
        (adjusted_funnel_limits_proportion(small, target, 0.01, conf),
         adjusted_funnel_limits_proportion(large, target, 0.01, conf)),
        (adjusted_funnel_limits_ratio(small, 0.01, conf), adjusted_funnel_limits_ratio(large, 0.01, conf)),
        (adjusted_funnel_limits_ratio(small, None, conf, method="multiplicative", phi=2.0),
         adjusted_funnel_limits_ratio(large, None, conf, method="multiplicative", phi=2.0)),
    ]
    for (lo_small, hi_small), (lo_large, hi_large) in pairs:
        assert lo_small <= lo_large + EPS
        assert hi_small >= hi_large - EPS
        assert lo_large <= hi_large


@PROPERTY
@given(
    st.floats(min_value=1.0, max_value=1e5),
    st.floats(min_value=0.0, max_value=1.0),
    st.floats(min_value=0.0, max_value=0.5),
    CONFIDENCES,
)
def test_adjusted_proportion_limits_stay_in_0_1_and_contain_the_unadjusted_ones(n, target, tau2, conf):
    lo0, hi0 = adjusted_funnel_limits_proportion(n, target, 0.0, conf)
    lo, hi = adjusted_funnel_limits_proportion(n, target, tau2, conf)
    assert 0.0 <= lo <= lo0 + EPS
    assert hi0 - EPS <= hi <= 1.0


@PROPERTY
@given(st.lists(st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6)), min_size=2, max_size=40))
def test_xmr_limits_are_symmetric_and_missing_points_are_never_flagged(values):
    if sum(1 for a, b in zip(values, values[1:], strict=False) if a is not None and b is not None) == 0:
        return  # no moving range: rejected by design (covered in the invalid-input tests)
    result = xmr(values, min_points=2)
    assert math.isclose(result.upl - result.mean, result.mean - result.lpl, rel_tol=1e-9, abs_tol=1e-6)
    assert result.lpl <= result.lower_2sigma <= result.mean <= result.upper_2sigma <= result.upl
    for value, side in zip(values, result.special_cause, strict=True):
        if value is None:
            assert side is None


@PROPERTY
@given(
    st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=4, max_size=60),
    st.integers(min_value=2, max_value=10),
    st.sampled_from(["fingertips_interpolated", "nearest_rank"]),
)
def test_quantile_bounds_are_ordered_and_span_the_data(values, k, method):
    bounds = quantile_bounds(values, k, method)
    assert len(bounds) == k + 1
    assert bounds[0] == min(values) and bounds[-1] == max(values)
    assert all(a <= b + 1e-9 for a, b in zip(bounds, bounds[1:], strict=False))


# --- Overdispersion under the null ---------------------------------------------------
# Every unit is drawn from one binomial (p = 0.3, n from 50 to 2000, I = 30 units), so the
# arcsine z-scores are close to N(0, 1) and there is no between-unit variance. tau2 > 0
# exactly when phi > (I - 1) / I = 0.967. Thresholds below come from that distribution
# and leave at least 5 standard errors of the 200-sample statistic as margin:
# * no damping (fraction 0): I phi ~ chi2 with about I - 1 df, so median phi ~ 0.95
#   (median over 200 samples has s.e. ~ 0.03) and P(tau2 = 0) ~ 0.53 (s.e. 0.035).
# * 10% winsorising: E[phi] ~ 0.68 (winsorised z^2 of a normal), P(tau2 = 0) ~ 0.92.
# * 10% trimming (SHMI): E[phi] ~ 0.44 (z^2 of the central 80%), P(tau2 = 0) ~ 0.99.
UNITS, SAMPLES, P_TRUE = 30, 200, 0.3


def _simulate(method: str, fraction: float, spread: float = 0.0, seed: int = 20240601):
    rng = np.random.default_rng(seed)
    phis, taus = [], []
    for _ in range(SAMPLES):
        n = rng.integers(50, 2001, size=UNITS)
        p = np.full(UNITS, P_TRUE)
        if spread:
            p = np.sin(np.arcsin(np.sqrt(P_TRUE)) + rng.normal(0.0, spread, UNITS)) ** 2
        x = rng.binomial(n, p)
        y, se = proportion_transform(x, n)
        target = math.asin(math.sqrt(x.sum() / n.sum()))
        phi, tau2 = overdispersion(y, se, method=method, fraction=fraction, target=target)
        phis.append(phi)
        taus.append(tau2)
    return np.array(phis), np.array(taus)


def test_no_damping_phi_is_near_1_and_tau2_often_zero_when_units_share_one_binomial():
    phis, taus = _simulate("winsorise", 0.0)
    assert 0.8 <= np.median(phis) <= 1.15
    assert np.mean(taus == 0) > 0.35


def test_winsorised_phi_stays_below_1_and_tau2_is_mostly_zero_when_units_share_one_binomial():
    phis, taus = _simulate("winsorise", 0.1)
    assert 0.5 <= np.median(phis) <= 0.85
    assert np.mean(taus == 0) > 0.75


def test_trimmed_phi_stays_below_1_and_tau2_is_almost_always_zero_when_units_share_one_binomial():
    phis, taus = _simulate("trim", 0.1)
    assert 0.3 <= np.median(phis) <= 0.6
    assert np.mean(taus == 0) > 0.9


def test_real_between_unit_spread_is_detected():
    # sd 0.05 on the arcsine scale: tau2 = 0.0025, ~10x a typical within-unit variance.
    phis, taus = _simulate("winsorise", 0.1, spread=0.05)
    assert np.median(phis) > 2
    assert np.mean(taus > 0) > 0.95
    assert 0.001 <= np.median(taus) <= 0.005
