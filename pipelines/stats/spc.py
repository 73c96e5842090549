"""XmR charts, special-cause rules and icons as in NHS England's "Making Data Count".

Why: NHS boards read performance over time through Making Data Count SPC charts, so a
chart, its special-cause flags and its variation / assurance icons must match what NHS
England's spreadsheet, NHSRplotthedots and PowerBI-SPC show for the same data.

Conventions (each is a documented choice, tested in ``tests/stats``):

* Limits: mean of the baseline points +/- 2.66 x mean moving range (= 3 sigma, sigma =
  mean MR / 1.128); 2-sigma lines at +/- (2/3) x 2.66 x mean MR.
* Screening (``screen_outliers``): moving ranges >= 3.267 x mean MR are dropped and the
  mean MR recomputed. Off in NHS England's spreadsheet and SQL, on by default in
  NHSRplotthedots; off by default here.
* Shift: ``shift`` (default 7) or more consecutive points on the same side of the mean;
  a point exactly on the mean, or a missing point, breaks the run. All points in the run
  are flagged.
* Trend: ``trend`` (default 7) or more consecutive points each strictly higher (or each
  strictly lower) than the one before; a tie or a missing point breaks it. All points
  in the run are flagged; an increasing trend is "high", a decreasing one "low".
* Two of three: in any three consecutive points, at least two beyond the same 2-sigma
  line. Only those qualifying points are flagged (as NHSRplotthedots does); two points
  beyond opposite 2-sigma lines do not fire. Variants (``TWO_OF_THREE_VARIANTS``):
  ``"beyond_2_sigma"`` (default) counts every point beyond 2 sigma, including points
  beyond the process limit, as NHS England advised in November 2023;
  ``"between_2_and_3_sigma"`` is the older rule (NHSRplotthedots, the original
  spreadsheet) that only counts points between the 2-sigma line and the process limit.
* Beyond limits: a point strictly above the upper or below the lower process limit.
* A point's special-cause side is taken from the first rule that flags it, in the order
  beyond limits, shift, two of three, trend.
* Fewer than ``min_points`` non-missing baseline points (NHS England's SQL uses 15) gives
  a run chart: limits are NaN, only the shift and trend rules are applied, and the
  assurance icon is not available.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _validate as v

LIMIT_MULTIPLIER = 2.66  # 3 / 1.128 (d2 for moving ranges of two), rounded as MDC does
SCREEN_MULTIPLIER = 3.267  # D4 for n = 2: upper limit of the moving-range chart
TWO_OF_THREE_VARIANTS: tuple[str, ...] = ("beyond_2_sigma", "between_2_and_3_sigma")
VARIATION_ICONS: tuple[str, ...] = (
    "common_cause",
    "improvement_high",
    "improvement_low",
    "concern_high",
    "concern_low",
    "neither_high",
    "neither_low",
)
ASSURANCE_ICONS: tuple[str, ...] = ("consistently_passing", "consistently_failing", "hit_or_miss")
MIN_RUN, MAX_RUN = 6, 8

Side = str | None


@dataclass(frozen=True)
class XmRResult:
    """An XmR chart: limits, per-point rule flags and the options that produced them.

    Per-point fields are tuples aligned with ``values``; ``*_side`` tuples hold "high",
    "low" or None. ``special_cause`` is the combined side per point (None = common cause
    or missing).
    """

    values: tuple[float, ...]
    mean: float
    mr_mean: float
    lpl: float
    upl: float
    lower_2sigma: float
    upper_2sigma: float
    baseline: int
    limits_available: bool
    screen_outliers: bool
    shift_length: int
    trend_length: int
    two_of_three_variant: str
    beyond_limits: tuple[bool, ...]
    beyond_limits_side: tuple[Side, ...]
    shift: tuple[bool, ...]
    shift_side: tuple[Side, ...]
    trend: tuple[bool, ...]
    trend_side: tuple[Side, ...]
    two_of_three: tuple[bool, ...]
    two_of_three_side: tuple[Side, ...]
    special_cause: tuple[Side, ...]
    method: str = "xmr_making_data_count"


def _runs(signs: np.ndarray, min_len: int) -> list[tuple[int, int, int]]:
    """(start, end_inclusive, sign) of runs of equal non-zero signs at least min_len long."""
    out: list[tuple[int, int, int]] = []
    start = 0
    for i in range(1, len(signs) + 1):
        if i == len(signs) or signs[i] != signs[start]:
            if signs[start] != 0 and i - start >= min_len:
                out.append((start, i - 1, int(signs[start])))
            start = i
    return out


def in_two_of_three(flags: np.ndarray) -> np.ndarray:
    """Per point, whether a window of three consecutive points that holds it has two or more flags,
    along the last axis (one series, or one per row). Windows start at every point; one starting at
    a series' last two points (or past its end) holds no flagged point that the window starting two
    points earlier does not, so it adds none, and a series of two is one window."""
    pad = [(0, 0)] * (flags.ndim - 1)
    padded = np.pad(flags.astype(np.int8), [*pad, (0, 2)])
    window = padded[..., :-2] + padded[..., 1:-1] + padded[..., 2:]  # the window starting at each point
    qualifies = np.pad(window >= 2, [*pad, (2, 0)])
    # a point is in the windows starting at it and at the one or two points before it
    return qualifies[..., 2:] | qualifies[..., 1:-1] | qualifies[..., :-2]


def _side(sign: int) -> str:
    return "high" if sign > 0 else "low"


def xmr(
    values: Any,
    screen_outliers: bool = False,
    shift: int = 7,
    trend: int = 7,
    two_of_three: str = "beyond_2_sigma",
    baseline: int | None = None,
    min_points: int = 15,
) -> XmRResult:
    """Build a Making Data Count XmR chart and apply the four special-cause rules.

    ``baseline`` is the number of initial points whose mean and moving ranges set the
    limits (None = all points), e.g. to freeze limits before a service change. Missing
    values (None/NaN) are kept as missing: they contribute no moving range, are never
    flagged and break shift and trend runs.
    """
    func = "xmr"
    x = v.float_array(func, "values", values)
    if x.size < 2:
        raise v.fail(func, "values", "at least 2 points", int(x.size))
    if not isinstance(screen_outliers, bool):
        raise v.fail(func, "screen_outliers", "True or False", screen_outliers)
    shift_len = v.integer(func, "shift", shift, minimum=MIN_RUN, maximum=MAX_RUN)
    trend_len = v.integer(func, "trend", trend, minimum=MIN_RUN, maximum=MAX_RUN)
    variant = v.choice(func, "two_of_three", two_of_three, TWO_OF_THREE_VARIANTS)
    base = x.size if baseline is None else v.integer(func, "baseline", baseline, minimum=2,
                                                      maximum=int(x.size))
    min_pts = v.integer(func, "min_points", min_points, minimum=2)

    xb = x[:base]
    mrs = np.abs(np.diff(xb))
    mrs = mrs[~np.isnan(mrs)]
    if mrs.size == 0:
        raise v.fail(func, "values", "at least 2 consecutive non-missing baseline points", list(xb))
    mean = float(np.nanmean(xb))
    mr_mean = float(np.mean(mrs))
    if screen_outliers and mr_mean > 0:
        mr_mean = float(np.mean(mrs[mrs < SCREEN_MULTIPLIER * mr_mean]))

    limits_available = int(np.count_nonzero(~np.isnan(xb))) >= min_pts
    nan = math.nan
    if limits_available:
        lpl, upl = mean - LIMIT_MULTIPLIER * mr_mean, mean + LIMIT_MULTIPLIER * mr_mean
        two = LIMIT_MULTIPLIER * mr_mean * 2.0 / 3.0
        lo2, hi2 = mean - two, mean + two
    else:
        lpl = upl = lo2 = hi2 = nan

    n = x.size
    present = ~np.isnan(x)
    beyond: list[Side] = [None] * n
    shift_side: list[Side] = [None] * n
    trend_side: list[Side] = [None] * n
    two3: list[Side] = [None] * n

    if limits_available:
        for i in np.flatnonzero(present & (x > upl)):
            beyond[i] = "high"
        for i in np.flatnonzero(present & (x < lpl)):
            beyond[i] = "low"

    rel = np.where(present, np.sign(x - mean), 0.0)
    for start, end, sign in _runs(rel, shift_len):
        for i in range(start, end + 1):
            shift_side[i] = _side(sign)

    steps = np.diff(x)
    step_sign = np.where(np.isnan(steps), 0.0, np.sign(steps))
    # trend_len points make trend_len - 1 consecutive steps; later runs win on a shared peak.
    for start, end, sign in _runs(step_sign, trend_len - 1):
        for i in range(start, end + 2):
            trend_side[i] = _side(sign)

    if limits_available:
        high = present & (x > hi2)
        low = present & (x < lo2)
        if variant == "between_2_and_3_sigma":
            high &= x <= upl
            low &= x >= lpl
        for flags, label in ((high, "high"), (low, "low")):
            for i in np.flatnonzero(flags & in_two_of_three(flags)).tolist():
                two3[i] = label

    special: list[Side] = []
    for i in range(n):
        special.append(beyond[i] or shift_side[i] or two3[i] or trend_side[i])

    return XmRResult(
        values=tuple(float(a) for a in x),
        mean=mean,
        mr_mean=mr_mean,
        lpl=lpl,
        upl=upl,
        lower_2sigma=lo2,
        upper_2sigma=hi2,
        baseline=base,
        limits_available=limits_available,
        screen_outliers=screen_outliers,
        shift_length=shift_len,
        trend_length=trend_len,
        two_of_three_variant=variant,
        beyond_limits=tuple(s is not None for s in beyond),
        beyond_limits_side=tuple(beyond),
        shift=tuple(s is not None for s in shift_side),
        shift_side=tuple(shift_side),
        trend=tuple(s is not None for s in trend_side),
        trend_side=tuple(trend_side),
        two_of_three=tuple(s is not None for s in two3),
        two_of_three_side=tuple(two3),
        special_cause=tuple(special),
    )


def variation_icon(result: XmRResult, polarity: str) -> str | None:
    """Making Data Count variation icon for the latest point.

    Special cause on the good side is improvement, on the bad side concern; with no good
    direction (``polarity="none"``) it is "neither_high"/"neither_low". Returns None when
    the latest point is missing (suppressed), because there is nothing to classify.
    """
    func = "variation_icon"
    if not isinstance(result, XmRResult):
        raise v.fail(func, "result", "an XmRResult", type(result).__name__)
    pol = v.polarity(func, polarity)
    if math.isnan(result.values[-1]):
        return None
    side = result.special_cause[-1]
    if side is None:
        return "common_cause"
    if pol == "none":
        return f"neither_{side}"
    good = (side == "high") == (pol == "higher_is_better")
    return f"{'improvement' if good else 'concern'}_{side}"


def assurance_icon(result: XmRResult, target: float | None, polarity: str) -> str | None:
    """Making Data Count assurance icon: can the process be relied on to meet ``target``?

    Higher is better: target below the lower process limit = consistently passing, above
    the upper limit = consistently failing, otherwise hit or miss (mirrored when lower is
    better). None when there is no target, no good direction, or no limits (run chart).
    """
    func = "assurance_icon"
    if not isinstance(result, XmRResult):
        raise v.fail(func, "result", "an XmRResult", type(result).__name__)
    pol = v.polarity(func, polarity)
    if v.is_missing(target):
        return None
    t = v.number(func, "target", target)
    if pol == "none" or not result.limits_available:
        return None
    if t < result.lpl:
        return "consistently_passing" if pol == "higher_is_better" else "consistently_failing"
    if t > result.upl:
        return "consistently_failing" if pol == "higher_is_better" else "consistently_passing"
    return "hit_or_miss"
