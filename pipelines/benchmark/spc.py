"""Making Data Count SPC and the Fingertips recent trend over each trust's history of a metric.

Computed once per trust x metric (a series), never per comparator row, then joined back:
the point columns to the cell of the same period, the series columns (limits, icons, trend,
all as of the latest period) to every cell of the series.

A series runs over the metric's calendar (every period any trust has a fact for) from the
trust's first period to its latest; a period with no fact for the trust, or a suppressed one, is
a missing point (it breaks shift and trend runs and is never flagged), so a gap in a trust's
publication is not silently closed up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelines.stats import XmRResult, assurance_icon, recent_trend, variation_icon, xmr

TREND_POINTS = 5
RULES = ("beyond_limits", "shift", "two_of_three", "trend")


@dataclass(frozen=True)
class SpcOptions:
    """XmR options (the defaults are NHS England's spreadsheet / SQL)."""

    screen_outliers: bool = False
    shift: int = 7
    trend: int = 7
    two_of_three: str = "beyond_2_sigma"
    min_points: int = 15

    def __post_init__(self) -> None:
        from pipelines.stats import TWO_OF_THREE_VARIANTS

        if not isinstance(self.screen_outliers, bool):
            raise ValueError(f"SpcOptions: screen_outliers must be True or False, got {self.screen_outliers!r}")
        for name in ("shift", "trend"):
            if getattr(self, name) not in (6, 7, 8):
                raise ValueError(f"SpcOptions: {name} must be 6, 7 or 8, got {getattr(self, name)!r}")
        if self.two_of_three not in TWO_OF_THREE_VARIANTS:
            raise ValueError(f"SpcOptions: two_of_three must be one of {TWO_OF_THREE_VARIANTS}, "
                             f"got {self.two_of_three!r}")
        if not isinstance(self.min_points, int) or self.min_points < 2:
            raise ValueError(f"SpcOptions: min_points must be an integer >= 2, got {self.min_points!r}")

    def describe(self) -> str:
        return (
            f"xmr_making_data_count; baseline=all; screen_outliers={str(self.screen_outliers).lower()}; "
            f"shift={self.shift}; trend={self.trend}; two_of_three={self.two_of_three}; min_points={self.min_points}"
        )


#: Row values of ``trend_method`` (see benchmarks.benchmark_methods).
TREND_METHOD = {
    "proportion": "fingertips_recent_trend; kind=proportion; points=5; chi2>9.5495",
    "rate": "fingertips_recent_trend; kind=generic; points=5; chi2>9.5495",
}
TREND_METHOD["ratio"] = TREND_METHOD["rate"]

SERIES_COLUMNS = (
    "spc_method", "spc_points", "spc_limits_available", "spc_mean", "spc_lpl", "spc_upl", "spc_lower_2sigma",
    "spc_upper_2sigma", "spc_latest_period_start", "spc_latest_rules", "variation_icon", "assurance_icon",
    "spc_reason", "assurance_reason", "trend_direction", "trend_slope", "trend_chi2", "trend_method",
    "trend_reason",
)
POINT_COLUMNS = ("spc_point_variation", "spc_point_rules", "is_latest_period")


def _rules(result: XmRResult, i: int) -> str | None:
    flags = (result.beyond_limits, result.shift, result.two_of_three, result.trend)
    flagged = [name for name, flag in zip(RULES, flags, strict=True) if flag[i]]
    return ",".join(flagged) if flagged else None


def _series_frame(cells: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Series id per cell, the cell's position in its metric's calendar, and the cells ordered
    by series then period."""
    keys = pd.DataFrame({name: pd.factorize(pd.Series(cells[column].to_numpy(), dtype=object))[0]
                         for name, column in (("org", "org_code"), ("metric", "metric_id"), ("grain", "grain"))})
    series = keys.groupby(["org", "metric", "grain"], sort=False).ngroup().to_numpy()
    metric = keys.groupby(["metric", "grain"], sort=False).ngroup().to_numpy()
    position = (pd.Series(cells["period_start"].to_numpy()).groupby(metric).rank(method="dense")
                .to_numpy().astype(np.int64) - 1)
    order = np.lexsort((position, series))
    return series, position, order


FLOAT_SERIES = ("spc_points", "spc_mean", "spc_lpl", "spc_upl", "spc_lower_2sigma", "spc_upper_2sigma",
                "trend_slope", "trend_chi2")
_RULE_TEXT = np.array(
    [",".join(name for bit, name in enumerate(RULES) if code >> bit & 1) or None for code in range(16)],
    dtype=object,
)


def series_statistics(cells: pd.DataFrame, options: SpcOptions | None = None) -> dict[str, np.ndarray]:
    """Point and series SPC / trend columns, aligned with ``cells``."""
    options = options or SpcOptions()
    size = len(cells)
    if size == 0:
        return {name: np.full(0, None, dtype=object) for name in (*SERIES_COLUMNS, *POINT_COLUMNS)}
    series, position, order = _series_frame(cells)
    n_series = int(series.max()) + 1
    value = cells["value"].to_numpy()
    ci_low, ci_high = cells["ci_lower"].to_numpy(), cells["ci_upper"].to_numpy()
    counts_ok = cells["counts_ok"].to_numpy()
    numerator = np.where(counts_ok, cells["numerator"].to_numpy(), np.nan)
    denominator = np.where(counts_ok, cells["denominator"].to_numpy(), np.nan)
    polarity, method = cells["polarity"].to_numpy(), cells["benchmark_method"].to_numpy()
    target, scale = cells["target"].to_numpy(), cells["scale"].to_numpy()
    period = cells["period_start"].to_numpy()

    per_series: dict[str, np.ndarray] = {}
    for name in SERIES_COLUMNS:
        if name in FLOAT_SERIES:
            per_series[name] = np.full(n_series, np.nan)
        elif name == "spc_latest_period_start":
            per_series[name] = np.full(n_series, np.datetime64("NaT"), dtype="datetime64[ns]")
        else:
            per_series[name] = np.full(n_series, None, dtype=object)
    rule_code = np.zeros(size, dtype=np.int64)
    side = np.zeros(size, dtype=np.int8)  # +1 high, -1 low, 0 common cause
    charted = np.zeros(size, dtype=bool)  # the point is on a computed chart (present, not suppressed)
    is_latest = np.zeros(size, dtype=bool)

    sorted_series = series[order]
    bounds = np.flatnonzero(np.diff(sorted_series)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [order.size]])
    for start, end in zip(starts, ends, strict=True):
        idx = order[start:end]
        offset = position[idx] - position[idx[0]]
        length = int(offset[-1]) + 1

        def place(source: np.ndarray, idx: np.ndarray = idx, offset: np.ndarray = offset,
                  length: int = length) -> np.ndarray:
            arr = np.full(length, np.nan)
            arr[offset] = source[idx]
            return arr

        values = place(value)
        first = idx[0]
        row = _one_series(values, polarity[first], method[first], float(target[first]), float(scale[first]),
                          options, lambda place=place: (place(ci_low), place(ci_high), place(numerator),
                                                        place(denominator)))
        s = sorted_series[start]
        for name, item in row.items():
            if name in per_series and item is not None:
                per_series[name][s] = item
        latest = idx[-1]
        per_series["spc_latest_period_start"][s] = period[latest]
        is_latest[latest] = True
        result: XmRResult | None = row.get("_result")
        if result is not None:
            flags = (np.array(result.beyond_limits) * 1 + np.array(result.shift) * 2
                     + np.array(result.two_of_three) * 4 + np.array(result.trend) * 8)
            rule_code[idx] = flags[offset]
            sides = np.array([0 if c is None else (1 if c == "high" else -1) for c in result.special_cause],
                             dtype=np.int8)
            side[idx] = sides[offset]
            charted[idx] = ~np.isnan(values[offset])
    per_series["spc_method"][:] = options.describe()

    out = {name: per_series[name][series] for name in SERIES_COLUMNS}
    out["is_latest_period"] = is_latest
    out["spc_point_rules"] = np.where(charted, _RULE_TEXT[rule_code], None)
    out["spc_point_variation"] = point_variations(side, polarity, charted)
    return out


def point_variations(side: np.ndarray, polarity: np.ndarray, charted: np.ndarray) -> np.ndarray:
    """Each point's special cause classified as :func:`pipelines.stats.variation_icon` classifies the
    latest one (``side`` +1 high, -1 low, 0 common cause); None where the point is not on a chart
    or the polarity is not in the catalogue's vocabulary."""
    higher, lower, none = polarity == "higher_is_better", polarity == "lower_is_better", polarity == "none"
    valid = charted & (higher | lower | none)
    good = ((side > 0) & higher) | ((side < 0) & lower)
    high = side > 0
    return np.select(
        [~valid, side == 0, none & high, none & ~high, good & high, good & ~high, high],
        [None, "common_cause", "neither_high", "neither_low", "improvement_high", "improvement_low",
         "concern_high"],
        default="concern_low",
    ).astype(object)


def _one_series(values: np.ndarray, polarity: str | None, method: str | None, target: float, scale: float,
                options: SpcOptions, intervals: Any) -> dict[str, Any]:
    present = ~np.isnan(values)
    row: dict[str, Any] = {"spc_points": int(np.count_nonzero(present))}
    reasons: list[str] = []
    result: XmRResult | None = None
    if row["spc_points"] < 2:
        reasons.append(f"SPC not computed: {row['spc_points']} published point(s), a chart needs at least 2")
    elif not (present[1:] & present[:-1]).any():
        reasons.append("SPC not computed: no two consecutive published points, so no moving range")
    else:
        try:
            result = xmr(values, screen_outliers=options.screen_outliers, shift=options.shift,
                         trend=options.trend, two_of_three=options.two_of_three, min_points=options.min_points)
        except ValueError as exc:
            reasons.append(f"SPC not computed: {str(exc)[:200]}")
    if result is not None:
        row["_result"] = result
        row.update(spc_limits_available=result.limits_available, spc_mean=result.mean)
        if result.limits_available:
            row.update(spc_lpl=result.lpl, spc_upl=result.upl, spc_lower_2sigma=result.lower_2sigma,
                       spc_upper_2sigma=result.upper_2sigma)
        else:
            reasons.append(f"run chart: {row['spc_points']} of the {options.min_points} points needed for "
                           "process limits")
        if math.isnan(values[-1]):
            reasons.append("latest period suppressed or not published: no variation icon")
        else:
            row["spc_latest_rules"] = _rules(result, values.size - 1)
        try:
            row["variation_icon"] = variation_icon(result, polarity)
            row["assurance_icon"] = assurance_icon(result, None if math.isnan(target) else target, polarity)
        except ValueError as exc:
            reasons.append(f"icons not computed: {exc}")
        if row.get("assurance_icon") is None:
            row["assurance_reason"] = _assurance_reason(result, target, polarity)
    else:
        row["assurance_reason"] = "no SPC chart"
    row["spc_reason"] = "; ".join(reasons) or None
    row.update(_trend(values, method, scale, intervals))
    return row


def _assurance_reason(result: XmRResult, target: float, polarity: str | None) -> str:
    if math.isnan(target):
        return "no target in the metric catalogue"
    if polarity not in ("higher_is_better", "lower_is_better"):
        return f"polarity {polarity!r}: no good direction to assure"
    if not result.limits_available:
        return "run chart: no process limits"
    return "not computed"


def _trend(values: np.ndarray, method: str | None, scale: float, intervals: Any) -> dict[str, Any]:
    if method not in TREND_METHOD:
        return {"trend_direction": "could not be calculated",
                "trend_reason": f"benchmark_method {method}: no confidence interval, so no recent trend"}
    low, high, counts, denominators = (a[-TREND_POINTS:] for a in intervals())
    recent = values[-TREND_POINTS:]
    try:
        if method == "proportion":
            result = recent_trend(recent, None, None, kind="proportion", counts=counts,
                                  denominators=denominators)
        else:
            result = recent_trend(recent, low, high)
    except ValueError as exc:
        return {"trend_direction": "could not be calculated", "trend_method": TREND_METHOD[method],
                "trend_reason": str(exc)[:200]}
    slope = result.slope * scale if result.kind == "proportion" else result.slope
    return {
        "trend_direction": result.direction,
        "trend_slope": None if math.isnan(slope) else slope,
        "trend_chi2": None if math.isnan(result.chi2) else result.chi2,
        "trend_method": TREND_METHOD[method],
        "trend_reason": result.reason,
    }
