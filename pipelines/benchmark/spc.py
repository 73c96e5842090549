"""Making Data Count SPC and the Fingertips recent trend over each trust's history of a metric.

Computed once per trust x metric (a series), never per comparator row, then joined back:
the point columns to the cell of the same period, the series columns (limits, icons, trend,
all as of the latest period) to every cell of the series.

A series runs over the metric's calendar (every period any trust has a fact for) from the
trust's first period to its latest; a period with no fact for the trust, or a suppressed one, is
a missing point (it breaks shift and trend runs and is never flagged), so a gap in a trust's
publication is not silently closed up.

All series are computed at once with numpy, because a refresh has thousands of them: each series
is a row of a matrix over its own span (left-aligned, NaN after its latest period). The results
are those of the reference functions :func:`pipelines.stats.xmr`, :func:`~pipelines.stats.variation_icon`,
:func:`~pipelines.stats.assurance_icon` and :func:`~pipelines.stats.recent_trend` (proven against
published values) called on each series, to the last bit: every sum is taken as numpy takes it
over that series alone, and where a reference function would reject a series (a polarity outside
the vocabulary, or what :func:`pipelines.benchmark.facts.prepare_cells` never produces, such as an
infinite value) that function is called on the series, so the reason is in its own words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from pipelines.stats import CHI2_THRESHOLD, assurance_icon, recent_trend, variation_icon, xmr
from pipelines.stats.spc import LIMIT_MULTIPLIER, SCREEN_MULTIPLIER, in_two_of_three
from pipelines.stats.trend import ols_slope, wls_slope

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

    def xmr_arguments(self) -> dict[str, Any]:
        """Keyword arguments of :func:`pipelines.stats.xmr` for these options."""
        return {"screen_outliers": self.screen_outliers, "shift": self.shift, "trend": self.trend,
                "two_of_three": self.two_of_three, "min_points": self.min_points}


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

_RULE_TEXT = np.array(
    [",".join(name for bit, name in enumerate(RULES) if code >> bit & 1) or None for code in range(16)],
    dtype=object,
)
_FEW_POINTS = np.array([f"SPC not computed: {count} published point(s), a chart needs at least 2"
                        for count in range(2)], dtype=object)
_NO_MOVING_RANGE = "SPC not computed: no two consecutive published points, so no moving range"
_LATEST_MISSING = "latest period suppressed or not published: no variation icon"
_TOO_FEW_FOR_TREND = np.array([f"needs {TREND_POINTS} consecutive valid points ending at the latest; found {run}"
                               for run in range(TREND_POINTS)], dtype=object)
_TIME = np.arange(1.0, TREND_POINTS + 1.0)


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


@dataclass(frozen=True)
class _Layout:
    """Where each cell sits in the series matrix: its row (series) and its column (periods since the
    series' first period on the metric's calendar)."""

    series: np.ndarray  # per cell
    column: np.ndarray  # per cell
    first: np.ndarray  # per series: its earliest cell (whose catalogue fields describe the series)
    latest: np.ndarray  # per series: its latest cell
    length: np.ndarray  # per series: span in periods, first to latest

    @classmethod
    def of(cls, cells: pd.DataFrame) -> _Layout:
        series, position, order = _series_frame(cells)
        ordered = series[order]
        starts = np.flatnonzero(np.diff(ordered, prepend=-1))  # series ids are 0..n-1, one run each
        first, latest = order[starts], order[np.append(starts[1:], order.size) - 1]
        start = position[first]
        return cls(series, position - start[series], first, latest, position[latest] - start + 1)

    def matrix(self, values: np.ndarray) -> np.ndarray:
        """Series x span matrix of a cell column; NaN in gaps and after each series' latest period."""
        out = np.full((self.first.size, int(self.length.max())), np.nan)
        out[self.series, self.column] = values
        return out

    def recent(self, values: np.ndarray) -> np.ndarray:
        """The last :data:`TREND_POINTS` periods of each series (NaN in gaps and before its first)."""
        out = np.full((self.first.size, TREND_POINTS), np.nan)
        slot = self.column - (self.length[self.series] - TREND_POINTS)
        inside = slot >= 0
        out[self.series[inside], slot[inside]] = values[inside]
        return out


def series_statistics(cells: pd.DataFrame, options: SpcOptions | None = None) -> dict[str, np.ndarray]:
    """Point and series SPC / trend columns, aligned with ``cells``."""
    options = options or SpcOptions()
    if len(cells) == 0:
        return {name: np.full(0, None, dtype=object) for name in (*SERIES_COLUMNS, *POINT_COLUMNS)}
    layout = _Layout.of(cells)
    value = cells["value"].to_numpy()
    polarity = cells["polarity"].to_numpy()
    values = layout.matrix(value)
    with np.errstate(all="ignore"):  # rows without a chart or a trend carry NaN / inf garbage, never used
        charts = _charts(values, layout.length, options)
        per_series = _spc_columns(charts, values, layout.length, polarity[layout.first],
                                  cells["target"].to_numpy().astype(float)[layout.first], options)
        per_series.update(_trend_columns(cells, layout))
    per_series["spc_latest_period_start"] = np.asarray(cells["period_start"].to_numpy()[layout.latest],
                                                       dtype="datetime64[ns]")

    out = {name: per_series[name][layout.series] for name in SERIES_COLUMNS}
    out["is_latest_period"] = np.zeros(len(cells), dtype=bool)
    out["is_latest_period"][layout.latest] = True
    charted = charts.computed[layout.series] & ~np.isnan(value)
    out["spc_point_rules"] = np.where(charted, _RULE_TEXT[charts.code[layout.series, layout.column]], None)
    out["spc_point_variation"] = point_variations(charts.side[layout.series, layout.column], polarity, charted)
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


# --- XmR charts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Charts:
    """Every series' XmR chart: per-series limits and per-point rule bits / special-cause sides."""

    points: np.ndarray  # published (non-missing) points
    computed: np.ndarray  # a chart was drawn (else ``failure`` says why)
    failure: np.ndarray  # object: why there is no chart, "" where there is
    limits: np.ndarray  # enough points for process limits (else a run chart)
    mean: np.ndarray
    lpl: np.ndarray
    upl: np.ndarray
    lower_2sigma: np.ndarray
    upper_2sigma: np.ndarray
    code: np.ndarray  # series x span: bit i set when RULES[i] flags the point
    side: np.ndarray  # series x span: +1 high, -1 low, 0 common cause


def _charts(x: np.ndarray, length: np.ndarray, options: SpcOptions) -> _Charts:
    """:func:`pipelines.stats.xmr` (baseline = all points) of every row of ``x``."""
    present = ~np.isnan(x)
    points = np.count_nonzero(present, axis=1)
    computed, failure = _chart_failures(x, present, points, length, options)
    mean = _row_sums(np.where(present, x, 0.0), length) / points  # np.nanmean over the span
    mr_mean = _mean_moving_range(x, options.screen_outliers)
    limits = computed & (points >= options.min_points)
    width, two = LIMIT_MULTIPLIER * mr_mean, LIMIT_MULTIPLIER * mr_mean * 2.0 / 3.0
    lpl, upl = np.where(limits, mean - width, np.nan), np.where(limits, mean + width, np.nan)
    lower_2sigma, upper_2sigma = np.where(limits, mean - two, np.nan), np.where(limits, mean + two, np.nan)

    sides = (  # in the order of RULES, which is also the order that picks a point's side
        np.where(x > upl[:, None], 1, np.where(x < lpl[:, None], -1, 0)),
        _long_runs(np.where(present, np.sign(x - mean[:, None]), 0.0), options.shift),
        _two_of_three(x, lpl, upl, lower_2sigma, upper_2sigma, options.two_of_three),
        _trend_sides(x, options.trend),
    )
    code = sum((side != 0).astype(np.int64) << bit for bit, side in enumerate(sides))
    side = np.select([s != 0 for s in sides], sides, 0).astype(np.int8)
    return _Charts(points, computed, failure, limits, mean, lpl, upl, lower_2sigma, upper_2sigma, code, side)


def _chart_failures(x: np.ndarray, present: np.ndarray, points: np.ndarray, length: np.ndarray,
                    options: SpcOptions) -> tuple[np.ndarray, np.ndarray]:
    """Which rows get a chart, and for the others why not: fewer than two points, no moving range,
    or what xmr says when it refuses the row (checked by calling it, on the rare rows it may refuse)."""
    consecutive = (present[:, 1:] & present[:, :-1]).any(axis=1)
    failure = np.full(x.shape[0], "", dtype=object)
    failure[points < 2] = _FEW_POINTS[points[points < 2]]
    failure[(points >= 2) & ~consecutive] = _NO_MOVING_RANGE
    computed = (points >= 2) & consecutive
    options_refused = _xmr_refusal(np.zeros(2), options) is not None
    for row in np.flatnonzero(computed & (options_refused | np.isinf(x).any(axis=1))):
        refusal = _xmr_refusal(x[row, :length[row]], options)
        if refusal is not None:
            failure[row], computed[row] = refusal, False
    return computed, failure


def _mean_moving_range(x: np.ndarray, screen_outliers: bool) -> np.ndarray:
    """Mean of each row's moving ranges (a missing point gives none), recomputed without those of
    at least 3.267 times it when screening, as xmr does."""
    moving_range = np.abs(np.diff(x, axis=1))
    mr_mean = _packed_means(moving_range, ~np.isnan(moving_range))
    if not screen_outliers:
        return mr_mean
    screened = _packed_means(moving_range, moving_range < SCREEN_MULTIPLIER * mr_mean[:, None])
    return np.where(mr_mean > 0, screened, mr_mean)


def _xmr_refusal(values: np.ndarray, options: SpcOptions) -> str | None:
    """Why :func:`pipelines.stats.xmr` refuses ``values`` with these options (an infinite value, or an
    option SpcOptions lets through but xmr does not, such as ``shift=7.0``), or None if it accepts."""
    try:
        xmr(values, **options.xmr_arguments())
    except ValueError as exc:
        return f"SPC not computed: {str(exc)[:200]}"
    return None


def _row_sums(matrix: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Sum of the first ``counts[i]`` entries of each row, bit for bit what ``np.sum`` gives on that
    row alone: numpy sums pairwise in blocks set by the length, so rows are summed in groups of one
    length (a loop over the distinct lengths, at most the calendar's, never over series)."""
    out = np.zeros(matrix.shape[0])
    for count in np.unique(counts):
        rows = np.flatnonzero(counts == count)
        out[rows] = matrix[rows, :count].sum(axis=1)
    return out


def _packed_means(matrix: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Per row, ``np.mean(row[keep])``: the kept entries packed to the left, then summed as numpy would."""
    packed = np.zeros(matrix.shape)
    packed[np.nonzero(keep)[0], np.cumsum(keep, axis=1)[keep] - 1] = matrix[keep]
    counts = np.count_nonzero(keep, axis=1)
    return _row_sums(packed, counts) / counts


def _long_runs(signs: np.ndarray, min_length: int) -> np.ndarray:
    """``signs`` (+1 / -1 / 0) kept where they are in a run of at least ``min_length`` equal non-zero
    signs along the row (a 0 breaks a run, and no run continues into the next row), else 0."""
    change = np.ones(signs.shape, dtype=bool)
    change[:, 1:] = signs[:, 1:] != signs[:, :-1]
    run = np.cumsum(change.ravel()) - 1
    long = (np.bincount(run, minlength=1)[run] >= min_length).reshape(signs.shape)
    return np.where(long, signs, 0).astype(np.int8)


def _trend_sides(x: np.ndarray, trend: int) -> np.ndarray:
    """Points in ``trend`` or more strictly rising (+1) or falling (-1) points; a point at the peak
    shared by two runs takes the later run's side, as in xmr."""
    steps = np.diff(x, axis=1)
    runs = _long_runs(np.where(np.isnan(steps), 0.0, np.sign(steps)), trend - 1)
    edge = np.zeros((x.shape[0], 1), dtype=np.int8)
    starting, ending = np.hstack([runs, edge]), np.hstack([edge, runs])  # the step from / to each point
    return np.where(starting != 0, starting, ending)


def _two_of_three(x: np.ndarray, lpl: np.ndarray, upl: np.ndarray, lower_2sigma: np.ndarray,
                  upper_2sigma: np.ndarray, variant: str) -> np.ndarray:
    """+1 / -1 where two of three consecutive points are beyond the same 2-sigma line (NaN limits of
    a run chart compare false, so nothing fires)."""
    high, low = x > upper_2sigma[:, None], x < lower_2sigma[:, None]
    if variant == "between_2_and_3_sigma":
        high &= x <= upl[:, None]
        low &= x >= lpl[:, None]
    return np.where(high & in_two_of_three(high), 1, np.where(low & in_two_of_three(low), -1, 0))


def _spc_columns(charts: _Charts, x: np.ndarray, length: np.ndarray, polarity: np.ndarray, target: np.ndarray,
                 options: SpcOptions) -> dict[str, np.ndarray]:
    """Series columns of the chart and its icons, with the reasons for what is missing."""
    rows, last = np.arange(length.size), length - 1
    computed, limits = charts.computed, charts.limits
    shown = computed & ~np.isnan(x[rows, last])  # the latest point is on the chart
    icon_failure = np.full(length.size, "", dtype=object)
    vocabulary = (polarity == "higher_is_better") | (polarity == "lower_is_better") | (polarity == "none")
    for row in np.flatnonzero(computed & (~vocabulary | np.isinf(target))):  # rare: the icons refuse
        icon_failure[row] = _icon_refusal(x[row, :length[row]], polarity[row], target[row], options)
    run_chart = "run chart: " + charts.points.astype(str).astype(object) + (
        f" of the {options.min_points} points needed for process limits")
    reasons = (charts.failure, np.where(computed & ~limits, run_chart, ""),
               np.where(computed & ~shown, _LATEST_MISSING, ""), icon_failure)
    return {
        "spc_method": np.full(length.size, options.describe(), dtype=object),
        "spc_points": charts.points.astype(float),
        "spc_limits_available": np.where(computed, limits, None),
        "spc_mean": np.where(computed, charts.mean, np.nan),
        "spc_lpl": charts.lpl,
        "spc_upl": charts.upl,
        "spc_lower_2sigma": charts.lower_2sigma,
        "spc_upper_2sigma": charts.upper_2sigma,
        "spc_latest_rules": np.where(shown, _RULE_TEXT[charts.code[rows, last]], None),
        "variation_icon": point_variations(charts.side[rows, last], polarity, shown),
        "spc_reason": _join_reasons(reasons),
        **_assurance(charts, polarity, target),
    }


def _assurance(charts: _Charts, polarity: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`pipelines.stats.assurance_icon` of every chart, and why it is missing where it is."""
    higher, lower = polarity == "higher_is_better", polarity == "lower_is_better"
    assured = charts.computed & (higher | lower) & np.isfinite(target) & charts.limits
    below, above = target < charts.lpl, target > charts.upl
    icon = np.select([~assured, below & higher, below, above & higher, above],
                     [None, "consistently_passing", "consistently_failing", "consistently_failing",
                      "consistently_passing"], "hit_or_miss")
    reason = np.select(
        [~charts.computed, assured, np.isnan(target), ~(higher | lower), ~charts.limits],
        [_text("no SPC chart"), None, _text("no target in the metric catalogue"),
         _format_each("polarity {!r}: no good direction to assure", polarity), _text("run chart: no process limits")],
        "not computed")
    return {"assurance_icon": icon.astype(object), "assurance_reason": reason.astype(object)}


def _icon_refusal(values: np.ndarray, polarity: Any, target: float, options: SpcOptions) -> str:
    """Why :func:`~pipelines.stats.variation_icon` or :func:`~pipelines.stats.assurance_icon` refuses
    the series (a polarity outside the vocabulary, an infinite target), in their own words."""
    chart = xmr(values, **options.xmr_arguments())
    try:
        variation_icon(chart, polarity)
        assurance_icon(chart, None if math.isnan(target) else target, polarity)
    except ValueError as exc:
        return f"icons not computed: {exc}"
    return ""


def _text(value: str) -> np.ndarray:
    """A string as a 0-d object array, so np.select keeps the other choices' None."""
    return np.array(value, dtype=object)


def _format_each(template: str, values: np.ndarray) -> np.ndarray:
    """``template.format(value)`` for every value, formatted once per distinct value (catalogue text
    has a handful); missing values, which pandas does not tell apart (None, NaN), one by one."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    out = np.array([template.format(value) for value in uniques] + [None], dtype=object)[codes]
    missing = codes < 0
    out[missing] = np.frompyfunc(template.format, 1, 1)(values[missing])
    return out


def _join_reasons(parts: tuple[np.ndarray, ...]) -> np.ndarray:
    """Per series, the non-empty parts joined by "; ", or None when all are empty."""
    out = parts[0]
    for part in parts[1:]:
        out = out + np.where((out != "") & (part != ""), "; ", "").astype(object) + part
    return np.where(out == "", None, out)


# --- Fingertips recent trend -------------------------------------------------------------------


class _Recent(NamedTuple):
    """The last five periods of every series (NaN in gaps and before the series starts); counts and
    denominators only where they fit the metric's method."""

    values: np.ndarray
    low: np.ndarray
    high: np.ndarray
    counts: np.ndarray
    denominators: np.ndarray


def _trend_columns(cells: pd.DataFrame, layout: _Layout) -> dict[str, np.ndarray]:
    """:func:`pipelines.stats.recent_trend` of every series: kind "proportion" from the counts for
    proportions, "generic" from the 95% intervals for rates and ratios, none for other methods."""
    counts_ok = cells["counts_ok"].to_numpy()
    recent = _Recent(*(layout.recent(a) for a in (
        cells["value"].to_numpy(), cells["ci_lower"].to_numpy(), cells["ci_upper"].to_numpy(),
        np.where(counts_ok, cells["numerator"].to_numpy(), np.nan),
        np.where(counts_ok, cells["denominator"].to_numpy(), np.nan))))
    method = cells["benchmark_method"].to_numpy()[layout.first]
    scale = cells["scale"].to_numpy().astype(float)[layout.first]
    proportion = method == "proportion"
    known = proportion | (method == "rate") | (method == "ratio")

    refusal = _trend_refusals(recent, proportion, known, layout.length)
    refused = refusal != ""
    valid = ~np.isnan(recent.values) & np.where(
        proportion[:, None], ~np.isnan(recent.counts) & ~np.isnan(recent.denominators),
        ~np.isnan(recent.low) & ~np.isnan(recent.high))
    run = np.cumprod(valid[:, ::-1], axis=1).sum(axis=1)  # valid points ending at the latest
    se = (recent.high - recent.low) / 3.92
    slope, chi2, same_sign = (np.where(proportion, share, generic) for share, generic in zip(
        _proportion_test(recent), _generic_test(recent, se), strict=True))
    significant = (chi2 > CHI2_THRESHOLD) & same_sign
    degenerate = np.where(proportion, ((recent.counts == 0) | (recent.counts == recent.denominators)).any(axis=1),
                          (se <= 0).any(axis=1))

    not_calculated = [~known, refused, run < TREND_POINTS, degenerate]
    calculated = ~np.logical_or.reduce(not_calculated)
    return {
        "trend_direction": np.where(calculated, np.where(
            significant, np.where(slope > 0, "increasing", "decreasing"), "no significant change"),
            "could not be calculated").astype(object),
        "trend_slope": np.where(calculated, np.where(proportion, slope * scale, slope), np.nan),
        "trend_chi2": np.where(calculated, chi2, np.nan),
        "trend_method": np.select([proportion, known], [_text(TREND_METHOD["proportion"]),
                                                        _text(TREND_METHOD["rate"])], None),
        "trend_reason": np.select(not_calculated, [
            _format_each("benchmark_method {}: no confidence interval, so no recent trend", method), refusal,
            _TOO_FEW_FOR_TREND[np.minimum(run, TREND_POINTS - 1)],
            np.where(proportion, "a count is 0 or equals its denominator",
                     "a confidence interval has zero width").astype(object)], None),
    }


def _trend_refusals(recent: _Recent, proportion: np.ndarray, known: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Per series, :func:`pipelines.stats.recent_trend`'s message where it rejects the recent points
    (an infinite entry, an upper bound below the lower, a negative count, a denominator not above 0, a
    count above it: all ruled out by prepare_cells), else "". It is called on just those series."""
    values, low, high, counts, denominators = recent
    generic = np.isinf(values) | np.isinf(low) | np.isinf(high) | (
        ~np.isnan(values) & ~np.isnan(low) & (high < low))
    share = (np.isinf(values) | np.isinf(counts) | np.isinf(denominators) | (counts < 0) | (denominators <= 0)
             | (counts > denominators))
    refusal = np.full(proportion.size, "", dtype=object)
    for row in np.flatnonzero(known & np.where(proportion[:, None], share, generic).any(axis=1)):
        size = min(int(length[row]), TREND_POINTS)
        refusal[row] = _trend_refusal(bool(proportion[row]), *(a[row, TREND_POINTS - size:] for a in recent))
    return refusal


def _trend_refusal(proportion: bool, values: np.ndarray, low: np.ndarray, high: np.ndarray, counts: np.ndarray,
                   denominators: np.ndarray) -> str:
    """:func:`pipelines.stats.recent_trend`'s own message for a series it rejects."""
    try:
        if proportion:
            recent_trend(values, None, None, kind="proportion", counts=counts, denominators=denominators)
        else:
            recent_trend(values, low, high)
    except ValueError as exc:
        return str(exc)[:200]
    return ""


def _generic_test(recent: _Recent, se: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """recent_trend's generic kind: the weighted (1 / se^2) least-squares slope, its chi2, and whether
    every leave-one-out slope keeps its sign."""
    weights = 1.0 / se**2
    slope, var = wls_slope(_TIME, recent.values, weights)
    loo = [wls_slope(np.delete(_TIME, i), np.delete(recent.values, i, axis=1), np.delete(weights, i, axis=1))[0]
           for i in range(TREND_POINTS)]
    return slope, slope * slope / var, _same_sign(slope, loo)


def _proportion_test(recent: _Recent) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """recent_trend's proportion kind: the chi-square test for trend in proportions (weighted slope with
    the pooled binomial variance), its chi2, and whether the OLS slopes of logit(p) leaving each point
    out, then none, keep its sign."""
    counts, denominators = recent.counts, recent.denominators
    pooled = counts.sum(axis=1) / denominators.sum(axis=1)
    slope, var = wls_slope(_TIME, counts / denominators, denominators / (pooled * (1.0 - pooled))[:, None])
    logit = np.log(counts / (denominators - counts))
    loo = [ols_slope(np.delete(_TIME, i), np.delete(logit, i, axis=1)) for i in range(TREND_POINTS)]
    return slope, slope * slope / var, _same_sign(slope, [*loo, ols_slope(_TIME, logit)])


def _same_sign(slope: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
    """A non-zero slope that every other slope shares the sign of (a NaN shares nothing)."""
    return (slope != 0) & np.logical_and.reduce([np.sign(other) == np.sign(slope) for other in others])
