"""Confidence intervals per cell and Fingertips significance against the comparator value.

The interval is a property of the trust's own cell, so it is computed once per cell and only
the comparison is made per comparator row. Both are vectorised over every cell / row: the
formulas are those of :func:`pipelines.stats.wilson_interval`, :func:`~pipelines.stats.rate_interval`
(Byar, exact Poisson below 10) and :func:`~pipelines.stats.compare_to_benchmark`, written on
arrays because a scalar call per cell (about 50 us each) would cost most of a minute on a full
run. ``tests/benchmark`` checks each against the scalar function.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from pipelines.stats import NOT_COMPARED, PHE_EXACT_BELOW

from .distribution import lookup, per_value
from .facts import as_column

LEVELS: tuple[float, float] = (0.95, 0.998)
#: Row values of ``ci_method`` / ``significance_method`` (see benchmarks.benchmark_methods).
CI_METHOD = {
    "proportion": "wilson_score; levels=0.95,0.998",
    "rate": "byar_exact_poisson; exact_below=10; per denominator; levels=0.95,0.998",
    "ratio": "byar_exact_poisson; exact_below=10; per expected; levels=0.95,0.998",
}
SIGNIFICANCE_METHOD = "fingertips_two_level; inner=0.95; outer=0.998; benchmark=comparator_value"


def z_value(confidence: float) -> float:
    """Two-sided normal quantile, computed exactly as :mod:`pipelines.stats` does."""
    return float(stats.norm.ppf(1.0 - (1.0 - confidence) / 2.0))


def wilson_bounds(x: np.ndarray, n: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval on the 0-1 scale for arrays (n > 0, 0 <= x <= n)."""
    z = z_value(confidence)
    z2 = z * z
    with np.errstate(invalid="ignore", divide="ignore"):
        root = z * np.sqrt(z2 + 4.0 * x * (1.0 - x / n))
        denom = 2.0 * (n + z2)
        lower = (2.0 * x + z2 - root) / denom
        upper = (2.0 * x + z2 + root) / denom
    return np.maximum(0.0, lower), np.minimum(1.0, upper)


def count_bounds(x: np.ndarray, confidence: float, exact_below: float = PHE_EXACT_BELOW
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Interval for counts: exact Poisson below ``exact_below``, Byar's approximation above."""
    alpha = 1.0 - confidence
    z = z_value(confidence)
    lower = np.full(x.shape, np.nan)
    upper = np.full(x.shape, np.nan)
    exact = x < exact_below
    xe = x[exact]
    with np.errstate(invalid="ignore", divide="ignore"):
        low_exact = stats.chi2.ppf(alpha / 2.0, 2.0 * xe) / 2.0
    low_exact = np.where((xe == 0) | np.isnan(low_exact), 0.0, low_exact)
    lower[exact] = low_exact
    upper[exact] = stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * xe + 2.0) / 2.0
    big = ~exact & ~np.isnan(x)
    xb = x[big]
    low_byar = xb * (1.0 - 1.0 / (9.0 * xb) - z / (3.0 * np.sqrt(xb))) ** 3
    x1 = xb + 1.0
    upper[big] = x1 * (1.0 - 1.0 / (9.0 * x1) + z / (3.0 * np.sqrt(x1))) ** 3
    lower[big] = np.maximum(0.0, low_byar)
    return lower, upper


def cell_intervals(cells: pd.DataFrame) -> pd.DataFrame:
    """95% and 99.8% intervals (in the unit of value) for every cell whose counts allow one.

    proportion: Wilson on numerator / denominator; rate: Byar / exact Poisson on the numerator,
    divided by the denominator; ratio: the same with the denominator as the expected count.
    Scaled x100 for percent units. Adds ``ci_lower``, ``ci_upper``, ``ci_lower_998``,
    ``ci_upper_998``, ``ci_method`` and ``ci_reason``.
    """
    method = cells["benchmark_method"].to_numpy()
    ok = cells["counts_ok"].to_numpy()
    x = cells["numerator"].to_numpy()
    n = cells["denominator"].to_numpy()
    scale = cells["scale"].to_numpy()
    proportion = ok & (method == "proportion")
    rate = ok & np.isin(method, np.array(["rate", "ratio"], dtype=object))
    names = (("ci_lower", "ci_upper"), ("ci_lower_998", "ci_upper_998"))
    for (low_name, high_name), level in zip(names, LEVELS, strict=True):
        low = np.full(len(cells), np.nan)
        high = np.full(len(cells), np.nan)
        lo, hi = wilson_bounds(x[proportion], n[proportion], level)
        low[proportion], high[proportion] = lo * scale[proportion], hi * scale[proportion]
        lo, hi = count_bounds(x[rate], level)
        low[rate] = lo / n[rate] * scale[rate]
        high[rate] = hi / n[rate] * scale[rate]
        cells[low_name], cells[high_name] = low, high
    has_ci = proportion | rate
    cells["ci_method"] = as_column(np.where(has_ci, lookup(method, CI_METHOD), None))
    reasons = np.full(len(cells), None, dtype=object)
    counted = np.isin(method, np.array(list(CI_METHOD), dtype=object))
    uncounted = ~counted & cells["method_ok"].to_numpy()
    reasons[uncounted] = per_value(
        method[uncounted], "benchmark_method {}: position in the distribution only, no confidence interval"
    )
    reasons[~cells["method_ok"].to_numpy()] = cells["metric_reason"].to_numpy()[~cells["method_ok"].to_numpy()]
    need = counted & ~has_ci
    reasons[need] = cells["counts_reason"].to_numpy()[need]
    cells["ci_reason"] = as_column(reasons)
    return cells


def significance_labels(lower: np.ndarray, upper: np.ndarray, outer_lower: np.ndarray,
                        outer_upper: np.ndarray, benchmark: np.ndarray, polarity: np.ndarray
                        ) -> np.ndarray:
    """Fingertips labels for arrays, as :func:`pipelines.stats.compare_to_benchmark` with two levels.

    Missing inputs give "Not compared". ``polarity`` holds the catalogue polarities.
    """
    present = ~(np.isnan(lower) | np.isnan(upper) | np.isnan(outer_lower) | np.isnan(outer_upper)
                | np.isnan(benchmark))
    side = np.where(lower > benchmark, 1, np.where(upper < benchmark, -1, 0))
    extreme = (outer_lower > benchmark) | (outer_upper < benchmark)
    higher = polarity == "higher_is_better"
    lower_better = polarity == "lower_is_better"
    none = polarity == "none"
    good = ((side > 0) & higher) | ((side < 0) & lower_better)
    labels = np.full(len(lower), NOT_COMPARED, dtype=object)
    directed = present & (side != 0) & (higher | lower_better)
    labels[present & (side == 0) & (higher | lower_better | none)] = "Similar"
    labels[present & (side > 0) & none] = "Higher"
    labels[present & (side < 0) & none] = "Lower"
    labels[directed & good & extreme] = "Best"
    labels[directed & good & ~extreme] = "Better"
    labels[directed & ~good & extreme] = "Worst"
    labels[directed & ~good & ~extreme] = "Worse"
    return labels


def compare_rows(cells: pd.DataFrame, cell: np.ndarray, comparator_value: np.ndarray,
                 no_group: np.ndarray) -> dict[str, np.ndarray]:
    """Significance of each comparator row: its cell's interval against the comparator value."""
    def take(name: str) -> np.ndarray:
        return cells[name].to_numpy()[cell]

    labels = significance_labels(
        take("ci_lower"), take("ci_upper"), take("ci_lower_998"), take("ci_upper_998"),
        comparator_value, take("polarity"),
    )
    reasons = take("ci_reason").copy()
    polarity_bad = ~take("polarity_ok")
    missing_benchmark = np.isnan(comparator_value) & pd.isna(reasons)
    reasons[missing_benchmark] = "comparator value not available"
    reasons[no_group] = "organisation has no peer group"
    blank = (labels == NOT_COMPARED) & pd.isna(reasons)
    reasons[polarity_bad & pd.isna(reasons)] = take("metric_reason")[polarity_bad & pd.isna(reasons)]
    reasons[blank & pd.isna(reasons)] = "not compared"
    method = np.where(labels != NOT_COMPARED, SIGNIFICANCE_METHOD, None)
    reasons[labels != NOT_COMPARED] = None
    return {"significance": labels, "significance_method": method, "significance_reason": reasons}
