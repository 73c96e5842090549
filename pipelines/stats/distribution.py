"""Position in a distribution: quantile bands, summary statistics, rank and percentile.

Why: Model Health System, the Staff Survey and NHS Benchmarking Network reports place an
organisation against its peer group's median, quartiles, best and worst, and league
tables rank it. Official tools disagree on quantile definitions, so the method is named
(``QUANTILE_METHODS``) and every output can carry it.

Missing values (None/NaN, e.g. suppressed) are ignored, never counted as zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _validate as v

#: "fingertips_interpolated": Fingertips' percentile, linear interpolation at position
#: (n - 1) p between order statistics (the same as R type 7 / numpy "linear"), rounded to
#: 10 decimals to remove floating-point artefacts. Needs at least 4 values, as Fingertips.
#: "nearest_rank": the ceil(n p)-th smallest value (no interpolation; bounds are data values).
QUANTILE_METHODS: tuple[str, ...] = ("fingertips_interpolated", "nearest_rank")
FINGERTIPS_MIN_VALUES = 4


def _present(func: str, values: Any) -> np.ndarray:
    arr = v.float_array(func, "values", values)
    return np.sort(arr[~np.isnan(arr)])


def _interpolated(sorted_vals: np.ndarray, p: float) -> float:
    pos = (sorted_vals.size - 1) * p
    k = math.floor(pos)
    if k >= sorted_vals.size - 1:
        return float(sorted_vals[-1])
    frac = pos - k
    value = sorted_vals[k] + frac * (sorted_vals[k + 1] - sorted_vals[k])
    return round(float(value), 10)


def quantile_bounds(values: Any, k: int, method: str = "fingertips_interpolated") -> list[float]:
    """Bounds of ``k`` equal-frequency groups: [min, q_1/k, ..., q_(k-1)/k, max].

    k = 5 gives quintile bounds, k = 4 quartile bounds. For 1..50 and k = 5 the
    Fingertips method gives [1, 10.8, 20.6, 30.4, 40.2, 50].
    """
    func = "quantile_bounds"
    groups = v.integer(func, "k", k, minimum=2)
    meth = v.choice(func, "method", method, QUANTILE_METHODS)
    vals = _present(func, values)
    needed = FINGERTIPS_MIN_VALUES if meth == "fingertips_interpolated" else 1
    if vals.size < needed:
        raise v.fail(func, "values", f"at least {needed} non-missing values for {meth}", int(vals.size))
    bounds = [float(vals[0])]
    for i in range(1, groups):
        if meth == "fingertips_interpolated":
            bounds.append(_interpolated(vals, i / groups))
        else:
            rank = -(-i * vals.size // groups)  # ceil(i n / k) in exact integer arithmetic
            bounds.append(float(vals[max(rank, 1) - 1]))
    bounds.append(float(vals[-1]))
    return bounds


@dataclass(frozen=True)
class DistributionSummary:
    """Peer-group summary; statistics are NaN when no values are present (n = 0)."""

    n: int
    min: float
    q1: float
    median: float
    q3: float
    max: float
    method: str = "fingertips_interpolated"


def distribution_summary(values: Any) -> DistributionSummary:
    """Median, quartiles (interpolated, as Fingertips), min, max and count of present values.

    An all-missing peer group is a normal state for a suppressed metric, so it returns
    n = 0 with NaN statistics instead of raising.
    """
    vals = _present("distribution_summary", values)
    if vals.size == 0:
        nan = math.nan
        return DistributionSummary(0, nan, nan, nan, nan, nan)
    return DistributionSummary(
        n=int(vals.size),
        min=float(vals[0]),
        q1=_interpolated(vals, 0.25),
        median=_interpolated(vals, 0.5),
        q3=_interpolated(vals, 0.75),
        max=float(vals[-1]),
    )


def rank_and_percentile(value: Any, values: Any, polarity: str) -> tuple[int | None, float]:
    """League-table rank (1 = best, ties share the lowest rank) and percentile 0-100.

    ``values`` is the peer group *including* the organisation's own ``value``. Rank =
    1 + number of peers strictly better; percentile = 100 x (peers strictly worse) /
    (n - 1), so the best unit is 100 and the worst 0 (100 when it is alone). With
    ``polarity="none"`` "better" means higher. A missing ``value`` gives (None, NaN).
    """
    func = "rank_and_percentile"
    pol = v.polarity(func, polarity)
    vals = _present(func, values)
    if v.is_missing(value):
        return None, math.nan
    x = v.number(func, "value", value)
    if not np.any(vals == x):
        raise v.fail(func, "value", "one of the non-missing values (the peer group includes the unit)", value)
    if pol == "lower_is_better":
        better, worse = int(np.sum(vals < x)), int(np.sum(vals > x))
    else:
        better, worse = int(np.sum(vals > x)), int(np.sum(vals < x))
    n = int(vals.size)
    percentile = 100.0 if n == 1 else 100.0 * worse / (n - 1)
    return better + 1, percentile
