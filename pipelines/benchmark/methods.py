"""``benchmarks.benchmark_methods``: one row per method used in the benchmark table.

Every ``*_method`` column of a benchmark row starts with one of these method ids, followed by
its options, so an analyst can trace a number to its definition and the public reference the
implementation was proven against (``shared/reference/reference_cases.json``, tests/stats).
"""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from .distribution import QUANTILE_METHOD, RANK_DESCRIPTION
from .funnels import OVERDISPERSION_FRACTION, OVERDISPERSION_METHOD
from .schema import MethodRecord
from .spc import SpcOptions


def method_records(spc: SpcOptions | None = None, fraction: float = OVERDISPERSION_FRACTION
                   ) -> list[MethodRecord]:
    spc = spc or SpcOptions()
    cut = f"{fraction:.0%}/{1 - fraction:.0%}"
    return [
        MethodRecord(
            QUANTILE_METHOD, "distribution", "all metrics", "median, q1, q3, quantile_method",
            "linear interpolation at position (n - 1) p between order statistics (R type 7), rounded to "
            "10 decimals; suppressed and unpublished values left out",
            "Fingertips quintile bounds (reference_cases.json: fingertips_quintile_bounds)",
        ),
        MethodRecord(
            "rank_and_percentile", "distribution", "all metrics", "rank, percentile, best, worst, rank_method",
            RANK_DESCRIPTION, "Model Health System / Staff Survey league-table convention",
        ),
        MethodRecord(
            "pooled_ratio_of_sums", "distribution", "proportion, rate, ratio",
            "comparator_value, comparator_value_method",
            "sum(numerator) / sum(denominator) over the group's unsuppressed units with valid counts, x100 "
            "for percent units; the median for score and distribution metrics",
            "Fingertips England / comparator values for proportions and rates",
        ),
        MethodRecord(
            "wilson_score", "significance", "proportion", "ci_lower, ci_upper, ci_lower_998, ci_upper_998",
            "Wilson score interval of numerator of denominator at 95% and 99.8%, x100 for percent units",
            "PHEindicatormethods phe_proportion (reference_cases.json: wilson_score, phe_proportion)",
        ),
        MethodRecord(
            "byar_exact_poisson", "significance", "rate, ratio", "ci_lower, ci_upper, ci_lower_998, ci_upper_998",
            "Byar's approximation for the numerator count, exact Poisson (chi-square) below 10; divided by "
            "the denominator (or expected count), x100 for percent units; 95% and 99.8%",
            "PHEindicatormethods byars_lower/upper, phe_rate (reference_cases.json: byars_count_limits, "
            "phe_rate_per_100000)",
        ),
        MethodRecord(
            "fingertips_two_level", "significance", "proportion, rate, ratio", "significance",
            "comparator value inside the 95% interval = Similar; outside = Better / Worse; outside the 99.8% "
            "interval too = Best / Worst; Higher / Similar / Lower when polarity is none; score and "
            "distribution metrics are Not compared",
            "Fingertips benchmarking against a comparator",
        ),
        MethodRecord(
            "phe_proportion_funnel", "funnel", "proportion",
            "funnel_lower_95, funnel_upper_95, funnel_lower_998, funnel_upper_998, funnel_flag",
            "limit at size n = the proportion whose Wilson interval at n touches the pooled comparator "
            "proportion: p -/+ z sqrt(p(1-p)/n), truncated to [0, 1]",
            "PHEindicatormethods funnel limits (reference_cases.json: phe_funnel_proportion_limits)",
        ),
        MethodRecord(
            "exact_poisson_funnel", "funnel", "rate, ratio",
            "funnel_size, funnel_ratio, funnel_lower_*, funnel_upper_*, funnel_flag",
            "O/E with E = denominator x pooled comparator rate; limits chi2_{a/2}(2E)/(2E) and "
            "chi2_{1-a/2}(2E+2)/(2E) around 1, times the comparator value in the table",
            "FunnelPlotR (reference_cases.json: funnelplotr_exact_poisson_sr_limits)",
        ),
        MethodRecord(
            "overdispersion_additive", "funnel", "proportion, rate, ratio",
            "funnel_adj_*, funnel_phi, funnel_tau2, funnel_adjusted, funnel_flag_adjusted",
            f"z-scores on the arcsine (proportion) or log O/E (rate) scale against the pooled target, "
            f"method={OVERDISPERSION_METHOD} at {cut}; phi = mean z^2; tau2 = max(0, (I phi - (I - 1)) / "
            "(sum w - sum w^2 / sum w)); limits target -/+ z sqrt(s^2 + tau2), back-transformed; needs 3 units",
            "Spiegelhalter (2005); FunnelPlotR; NHS England SHMI",
        ),
        MethodRecord(
            "xmr_making_data_count", "spc", "all metrics, per trust over periods",
            "spc_*, spc_point_rules, spc_point_variation",
            "centre = mean of the baseline points, limits = mean -/+ 2.66 x mean moving range, 2-sigma lines at "
            "two thirds of that; rules: a point beyond a limit, a shift, a trend, two of three beyond 2 sigma; "
            f"fewer than min_points gives a run chart. Options: {spc.describe()}",
            "NHS England Making Data Count; NHSRplotthedots (reference_cases.json: xmr_limits)",
        ),
        MethodRecord(
            "variation_icon", "spc", "all metrics", "variation_icon, spc_point_variation",
            "special cause of the latest point by side and polarity: improvement / concern / neither, high "
            "or low; common cause otherwise",
            "NHS England Making Data Count",
        ),
        MethodRecord(
            "assurance_icon", "spc", "metrics with a target and a good direction", "assurance_icon",
            "target beyond the process limit on the good side = consistently passing, on the bad side = "
            "consistently failing, between = hit or miss; needs process limits",
            "NHS England Making Data Count",
        ),
        MethodRecord(
            "fingertips_recent_trend", "trend", "proportion, rate, ratio", "trend_*",
            "last 5 points; proportions: chi-square test for trend on counts; rates: weighted regression "
            "with se = (U95 - L95) / 3.92; significant when chi2 > 9.5495 and leave-one-out slopes keep "
            "the sign",
            "Fingertips (reference_cases.json: fingertips_recent_trend)",
        ),
    ]


def methods_frame(spc: SpcOptions | None = None, fraction: float = OVERDISPERSION_FRACTION) -> pd.DataFrame:
    return pd.DataFrame([asdict(record) for record in method_records(spc, fraction)])
