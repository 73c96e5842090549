"""Fingertips "recent trend" over the last five points.

Why: Fingertips marks each indicator as increasing / decreasing / no significant change
from its five most recent points, and analysts compare our trend markers with theirs.
Two variants exist in Fingertips' code, both reproduced from its published test values:

* ``kind="generic"``: weighted least-squares regression of the value on time (1..5) with
  weights 1/se^2, se = (U95 - L95) / 3.92; chi2 = (slope / se_slope)^2.
* ``kind="proportion"`` (Fingertips' "SPC for proportions" comparator): the chi-square
  test for trend in proportions (Cochran-Armitage), computed from counts and
  denominators. It equals the weighted regression of p on time with the *pooled*
  binomial variance P(1-P)/n_i (P = sum r / sum n); using each point's own p(1-p)/n_i
  instead does not reproduce Fingertips (48.6 rather than 47.9 on its test data).

The trend is significant when chi2 > 9.5495 (chi-square, 1 df, 99.8%) and the slope keeps
its sign when each of the five points is left out in turn (for proportions the
leave-one-out slopes are ordinary least-squares slopes of logit(p), as in Fingertips).
A zero leave-one-out slope counts as a change of sign here (Fingertips counts it as
positive), which can only make the marker more conservative.

Points used: the unbroken run of valid points ending at the most recent one (a missing
point breaks the run, as in Fingertips); fewer than five gives "could not be calculated".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _validate as v

TREND_POINTS = 5
CHI2_THRESHOLD = 9.54953570608324  # chi-square 1 df at 99.8%, as Fingertips
TREND_KINDS: tuple[str, ...] = ("generic", "proportion")
TREND_DIRECTIONS: tuple[str, ...] = (
    "increasing",
    "decreasing",
    "no significant change",
    "could not be calculated",
)


@dataclass(frozen=True)
class RecentTrend:
    """Result of :func:`recent_trend`.

    ``slope`` is per time period on the scale of ``values`` (generic) or of the proportion
    0-1 (proportion kind). ``reason`` explains a "could not be calculated" result.
    """

    direction: str
    significant: bool
    slope: float
    chi2: float
    points_used: int
    kind: str
    reason: str | None = None
    method: str = "fingertips_recent_trend"


def _not_calculated(kind: str, reason: str, points: int) -> RecentTrend:
    return RecentTrend("could not be calculated", False, math.nan, math.nan, points, kind, reason)


def wls_slope(t: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[Any, Any]:
    """Weighted least-squares slope and its variance (weights known: 1/se^2), along the last axis:
    one series, or one per row of a matrix (the benchmark tables' every series at once)."""
    s, st, sy = w.sum(axis=-1), (w * t).sum(axis=-1), (w * y).sum(axis=-1)
    stt, sty = (w * t * t).sum(axis=-1), (w * t * y).sum(axis=-1)
    det = s * stt - st * st
    return (s * sty - st * sy) / det, s / det


def ols_slope(t: np.ndarray, y: np.ndarray) -> Any:
    """Ordinary least-squares slope along the last axis (one series, or one per row)."""
    tc = t - t.mean()
    return (tc * (y - y.mean(axis=-1, keepdims=True))).sum(axis=-1) / (tc * tc).sum()


def _optional(func: str, name: str, seq: Any, length: int) -> np.ndarray:
    if seq is None:
        return np.full(length, np.nan)
    arr = v.float_array(func, name, seq)
    if arr.size != length:
        raise v.fail(func, name, f"the same length as values ({length})", int(arr.size))
    return arr


def recent_trend(
    values: Any,
    lower95: Any,
    upper95: Any,
    kind: str = "generic",
    counts: Any = None,
    denominators: Any = None,
) -> RecentTrend:
    """Fingertips recent-trend test on the most recent five points (oldest first).

    ``kind="generic"`` needs ``values`` with their 95% ``lower95`` / ``upper95`` bounds;
    ``kind="proportion"`` needs ``counts`` and ``denominators`` (``lower95`` / ``upper95``
    may then be None). A missing value, bound, count or denominator marks a point invalid.
    """
    func = "recent_trend"
    kind = v.choice(func, "kind", kind, TREND_KINDS)
    vals = v.float_array(func, "values", values)
    size = int(vals.size)
    lo = _optional(func, "lower95", lower95, size)
    hi = _optional(func, "upper95", upper95, size)

    if kind == "generic":
        valid = ~np.isnan(vals) & ~np.isnan(lo) & ~np.isnan(hi)
        bad = valid & (hi < lo)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{func}: upper95 must be >= lower95, got {float(hi[i])!r} < {float(lo[i])!r} at index {i}")
    else:
        if counts is None or denominators is None:
            missing = "counts" if counts is None else "denominators"
            raise v.fail(func, missing, 'given when kind="proportion"', None)
        r = _optional(func, "counts", counts, size)
        n = _optional(func, "denominators", denominators, size)
        v.check_elements(func, "counts", r, minimum=0.0)
        v.check_elements(func, "denominators", n, minimum=0.0, min_inclusive=False)
        both = ~np.isnan(r) & ~np.isnan(n)
        if (r[both] > n[both]).any():
            i = int(np.flatnonzero(both & (r > n))[0])
            raise ValueError(f"{func}: counts must be <= denominators, got {float(r[i])!r} > {float(n[i])!r} at index {i}")
        valid = ~np.isnan(vals) & both

    run = 0
    for ok in valid[::-1]:
        if not ok:
            break
        run += 1
    if run < TREND_POINTS:
        return _not_calculated(
            kind,
            f"needs {TREND_POINTS} consecutive valid points ending at the latest; found {run}",
            run,
        )
    sel = slice(size - TREND_POINTS, size)
    t = np.arange(1.0, TREND_POINTS + 1.0)

    if kind == "generic":
        se = (hi[sel] - lo[sel]) / 3.92
        if (se <= 0).any():
            return _not_calculated(kind, "a confidence interval has zero width", TREND_POINTS)
        y, w = vals[sel], 1.0 / se**2
        slope, var = wls_slope(t, y, w)
        loo = [wls_slope(np.delete(t, i), np.delete(y, i), np.delete(w, i))[0]
               for i in range(TREND_POINTS)]
    else:
        rs, ns = r[sel], n[sel]
        if ((rs == 0) | (rs == ns)).any():
            return _not_calculated(kind, "a count is 0 or equals its denominator", TREND_POINTS)
        pooled = rs.sum() / ns.sum()
        slope, var = wls_slope(t, rs / ns, ns / (pooled * (1.0 - pooled)))
        logit = np.log(rs / (ns - rs))
        loo = [ols_slope(np.delete(t, i), np.delete(logit, i)) for i in range(TREND_POINTS)]
        loo.append(ols_slope(t, logit))

    chi2 = slope * slope / var
    same_sign = slope != 0 and all(np.sign(s) == np.sign(slope) for s in loo)
    significant = bool(chi2 > CHI2_THRESHOLD and same_sign)
    if significant:
        direction = "increasing" if slope > 0 else "decreasing"
    else:
        direction = "no significant change"
    return RecentTrend(direction, significant, float(slope), float(chi2), TREND_POINTS, kind)
