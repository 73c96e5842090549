"""The vectorised SPC / recent-trend columns equal, column for column and bit for bit, what calling the
reference functions (xmr, variation_icon, assurance_icon, recent_trend) once per series gives: the
per-series loop that computed them before is kept here as the oracle, and random cells frames
(gaps, suppression, ties, constant and short series, degenerate counts and intervals, bad
catalogue values) are run through both under every SPC option."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from benchmark_facts import national_scale_facts
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.benchmark.facts import prepare_cells
from pipelines.benchmark.significance import cell_intervals
from pipelines.benchmark.spc import (  # the layout and rule labels are shared: the oracle is the maths
    _RULE_TEXT,
    POINT_COLUMNS,
    RULES,
    SERIES_COLUMNS,
    TREND_METHOD,
    SpcOptions,
    _series_frame,
    point_variations,
    series_statistics,
)
from pipelines.stats import (
    TWO_OF_THREE_VARIANTS,
    XmRResult,
    assurance_icon,
    recent_trend,
    variation_icon,
    xmr,
)

PROPERTY = settings(max_examples=150, deadline=None, database=None, derandomize=True)

# --- the oracle: the per-series loop as it was before vectorising ------------------------------------

TREND_POINTS = 5
FLOAT_SERIES = ("spc_points", "spc_mean", "spc_lpl", "spc_upl", "spc_lower_2sigma", "spc_upper_2sigma",
                "trend_slope", "trend_chi2")


def _rules(result: XmRResult, i: int) -> str | None:
    flags = (result.beyond_limits, result.shift, result.two_of_three, result.trend)
    flagged = [name for name, flag in zip(RULES, flags, strict=True) if flag[i]]
    return ",".join(flagged) if flagged else None


def reference_series_statistics(cells: pd.DataFrame, options: SpcOptions) -> dict[str, np.ndarray]:
    """The former ``series_statistics``: the reference functions called once per series."""
    size = len(cells)
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
    side = np.zeros(size, dtype=np.int8)
    charted = np.zeros(size, dtype=bool)
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


# --- comparison ----------------------------------------------------------------------------------------


def assert_identical(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    """Same columns, dtypes and values: floats exactly (NaN where NaN), objects with the same types."""
    assert set(got) == set(expected) == {*SERIES_COLUMNS, *POINT_COLUMNS}
    for name, want in expected.items():
        have = got[name]
        assert have.dtype == want.dtype, name
        if want.dtype.kind in "fMb":
            np.testing.assert_array_equal(have, want, err_msg=name, strict=True)
        else:
            typed = [(type(item), item) for item in have.tolist()]
            wanted = [(type(item), item) for item in want.tolist()]
            mismatch = [i for i, (a, b) in enumerate(zip(typed, wanted, strict=True)) if a != b]
            assert not mismatch, f"{name}: {len(mismatch)} cells differ, first {typed[mismatch[0]]} " \
                                 f"!= {wanted[mismatch[0]]}"


def assert_matches_reference(cells: pd.DataFrame, options: SpcOptions) -> dict[str, np.ndarray]:
    expected = reference_series_statistics(cells, options)
    assert_identical(series_statistics(cells, options), expected)
    return expected


def cells_of(facts: pd.DataFrame) -> pd.DataFrame:
    """The cells frame series_statistics sees inside compute_benchmark_table."""
    return cell_intervals(prepare_cells(facts))


# --- generated frames ------------------------------------------------------------------------------------

METHODS = ("proportion", "rate", "ratio", "score", "distribution", None)
POLARITIES = ("higher_is_better", "lower_is_better", "none", "sideways", None)
PATTERNS = ("noise", "constant", "ties", "walk", "peak", "step", "spikes")
PERTURBATIONS = ("zero_width", "inverted", "negative_count", "zero_denominator", "count_above",
                 "inf_value", "inf_bound", "inf_target", "nan_polarity", "nan_counts")
OPTIONS = st.builds(SpcOptions, screen_outliers=st.booleans(), shift=st.sampled_from([6, 7, 8]),
                    trend=st.sampled_from([6, 7, 8]), two_of_three=st.sampled_from(TWO_OF_THREE_VARIANTS),
                    min_points=st.sampled_from([2, 3, 5, 15, 20]))


def _pattern(kind: str, periods: int, rng: np.random.Generator) -> np.ndarray:
    """A level between 0 and 1 per period, shaped to fire (or not) each SPC rule."""
    t = np.arange(periods)
    if kind == "constant":
        return np.full(periods, rng.choice([0.0, 0.1, 0.3, 1 / 3, 0.5, 1.0]))
    if kind == "ties":
        return rng.choice([0.2, 0.4, 0.6], periods)
    if kind == "walk":
        return np.clip(0.5 + np.cumsum(rng.choice([-0.04, 0.0, 0.03, 0.05], periods)), 0.0, 1.0)
    if kind == "peak":  # a rising trend then a falling one, sharing the peak
        return 0.3 + 0.04 * np.minimum(t, 2 * (periods // 2) - t) + rng.normal(0, 0.002, periods)
    if kind == "step":
        return np.where(t >= periods // 2, 0.7, 0.4) + rng.normal(0, 0.02, periods)
    if kind == "spikes":
        return np.clip(0.5 + rng.normal(0, 0.03, periods) + (rng.random(periods) < 0.2) * 0.3, 0.0, 1.0)
    return np.clip(rng.normal(0.5, 0.1, periods), 0.0, 1.0)


@st.composite
def facts_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Facts for a few trusts x metrics: every method, polarity and value pattern, spans that start and
    end at different periods, gaps, suppressed points, missing counts and extreme counts."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    trusts = draw(st.integers(1, 4))
    rows = []
    for m in range(draw(st.integers(1, 4))):
        method, polarity = draw(st.sampled_from(METHODS)), draw(st.sampled_from(POLARITIES))
        unit = draw(st.sampled_from(["percent", "fraction"])) if method == "proportion" else (
            "percent" if method == "rate" else "score")
        target = draw(st.sampled_from([np.nan, 0.05, 0.5, 50.0]))
        calendar = pd.date_range("2021-01-01", periods=draw(st.sampled_from([1, 2, 3, 5, 6, 9, 15, 16, 24, 40])),
                                 freq="MS")
        pattern = draw(st.sampled_from(PATTERNS))
        gaps, hidden, no_counts = (draw(st.sampled_from([0.0, 0.0, 0.05, 0.3])) for _ in range(3))
        largest_denominator = draw(st.sampled_from([5, 3000]))
        rounding = draw(st.sampled_from([None, 1, 3]))
        for org in range(trusts):
            first, last = sorted(rng.integers(0, calendar.size, 2)) if rng.random() < 0.4 else (0, calendar.size - 1)
            span = np.arange(first, last + 1)
            kept = span[(rng.random(span.size) >= gaps) | (span == last)]
            level = _pattern(pattern, kept.size, rng)
            denominator = rng.choice([1.0, 7.0, 50.0, 1000.0, 20_000.0]) if pattern == "constant" else \
                rng.integers(1, largest_denominator, kept.size).astype(float)
            denominator = np.broadcast_to(denominator, kept.shape).astype(float)
            numerator = np.round(level * denominator)
            value = numerator / denominator * (100.0 if unit == "percent" else 1.0)
            if method not in ("proportion", "rate", "ratio"):
                value = level * 10 if rounding is None else np.round(level * 10, rounding)
            suppressed = rng.random(kept.size) < hidden
            for i, period in enumerate(kept):
                rows.append({
                    "org_code": f"T{org}", "metric_id": f"m{m}", "period_start": calendar[period],
                    "value": np.nan if suppressed[i] else value[i],
                    "numerator": np.nan if suppressed[i] or rng.random() < no_counts else numerator[i],
                    "denominator": np.nan if suppressed[i] else denominator[i], "suppressed": suppressed[i],
                    "in_network": org < 2, "peer_group": "acute", "unit": unit, "polarity": polarity,
                    "benchmark_method": method, "target": target, "grain": "month",
                })
    return pd.DataFrame(rows)


def perturb(cells: pd.DataFrame, kinds: list[str], rng: np.random.Generator, share: float) -> pd.DataFrame:
    """Cells that ``prepare_cells`` would never produce (inverted or infinite bounds, counts a
    validated method rejects, ...), to reach every error path of the reference functions: ``share``
    of each series' last five cells (the trend's points) and a fifth of that elsewhere."""
    cells = cells.copy()
    recent = cells.groupby(["org_code", "metric_id"])["period_start"].rank(ascending=False).to_numpy() <= 5
    chosen = np.flatnonzero(rng.random(len(cells)) < np.where(recent, share, share / 5))
    for i, kind in zip(chosen, rng.choice(kinds, chosen.size), strict=True):
        low, high = cells.at[i, "ci_lower"], cells.at[i, "ci_upper"]
        if kind == "zero_width":
            cells.at[i, "ci_upper"] = low
        elif kind == "inverted":
            cells.at[i, "ci_lower"], cells.at[i, "ci_upper"] = high, low - 1.0
        elif kind in ("negative_count", "zero_denominator", "count_above"):
            cells.at[i, "counts_ok"] = True
            cells.at[i, "numerator"] = {"negative_count": -1.0, "zero_denominator": 3.0, "count_above": 9.0}[kind]
            cells.at[i, "denominator"] = {"negative_count": 5.0, "zero_denominator": 0.0, "count_above": 4.0}[kind]
        elif kind == "inf_value":
            cells.at[i, "value"] = rng.choice([np.inf, -np.inf])
        elif kind == "inf_bound":
            cells.at[i, "ci_upper"] = np.inf
        elif kind == "inf_target":
            cells.at[i, "target"] = -np.inf
        elif kind == "nan_polarity":
            cells.at[i, "polarity"] = np.nan
        else:
            cells.at[i, "numerator"] = np.nan
    return cells


@PROPERTY
@given(facts_frames(), OPTIONS)
def test_vectorised_columns_equal_the_per_series_reference_on_random_cells(facts, options):
    assert_matches_reference(cells_of(facts), options)


@PROPERTY
@given(facts_frames(), OPTIONS, st.lists(st.sampled_from(PERTURBATIONS), min_size=1, max_size=3, unique=True),
       st.integers(0, 2**32 - 1), st.sampled_from([0.1, 0.4]))
def test_cells_the_reference_functions_reject_get_the_reference_reasons(facts, options, kinds, seed, share):
    assert_matches_reference(perturb(cells_of(facts), kinds, np.random.default_rng(seed), share), options)


def planted_facts() -> pd.DataFrame:
    """Real-shaped facts (every catalogue method, 2% suppressed) with gaps, a late start, and
    planted shifts, trends (one rising then falling), outliers and a constant series."""
    facts = national_scale_facts(trusts=12, metrics=8, periods=30, seed=4)
    rng = np.random.default_rng(4)
    facts = facts[(rng.random(len(facts)) > 0.04) & ~((facts["org_code"] == "R001") & (facts["period_start"]
                                                                                         < "2022-06-01"))].copy()
    month = facts["period_start"].rank(method="dense").to_numpy()
    score = facts["benchmark_method"].isin(["score", "distribution"]).to_numpy()
    for org, change in (("R002", np.where(month > 20, 1.5, 1.0)), ("R003", 1.0 + month / 40),
                        ("R004", np.where(month % 9 == 0, 1.8, 1.0))):
        rows = (facts["org_code"] == org).to_numpy() & score
        facts.loc[rows, "value"] = facts.loc[rows, "value"].to_numpy() * change[rows]
    peak = (facts["org_code"] == "R006").to_numpy() & score
    facts.loc[peak, "value"] = 5.0 + 0.1 * np.minimum(month[peak], 30 - month[peak])
    constant = (facts["org_code"] == "R005").to_numpy() & score
    facts.loc[constant, "value"] = 0.1
    return facts


@pytest.fixture(scope="module")
def planted_cells() -> pd.DataFrame:
    return cells_of(planted_facts())


@pytest.mark.parametrize(("screen_outliers", "shift", "trend", "two_of_three", "min_points"), list(
    itertools.product([False, True], [6, 7, 8], [6, 7, 8], TWO_OF_THREE_VARIANTS, [2, 15, 20])))
def test_vectorised_columns_equal_the_reference_under_every_option(planted_cells, screen_outliers, shift, trend,
                                                                    two_of_three, min_points):
    options = SpcOptions(screen_outliers, shift, trend, two_of_three, min_points)
    assert_matches_reference(planted_cells, options)


def test_the_planted_facts_fire_every_rule_and_icon(planted_cells):
    """The option sweep above is only as good as its data: the planted facts flag points with every
    rule and give every variation and assurance icon."""
    out = reference_series_statistics(planted_cells, SpcOptions())
    rules = {rule for text in out["spc_point_rules"] if text for rule in text.split(",")}
    assert rules == set(RULES)
    assert {"common_cause", "improvement_high", "concern_low"} <= set(out["variation_icon"])
    assert {"hit_or_miss", "consistently_passing", "consistently_failing"} <= set(out["assurance_icon"])


def test_options_that_spc_options_accepts_but_xmr_refuses_give_xmrs_reason(planted_cells):
    options = SpcOptions(shift=7.0)  # SpcOptions checks the value, xmr also the type
    expected = assert_matches_reference(planted_cells, options)
    assert "SPC not computed: xmr: shift must be an integer, got 7.0" in set(expected["spc_reason"])


def test_a_peak_shared_by_a_rising_and_a_falling_trend_takes_the_later_runs_side():
    """On a run chart (no limits, and too few points above the mean for a shift) only the trend rule
    flags the peak, so its side shows: the falling run, which comes later, wins as in xmr."""
    facts = national_scale_facts(trusts=1, metrics=3, periods=11)
    facts = facts[facts["benchmark_method"] == "score"].copy()
    facts["value"] = [1.0, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1]
    facts["polarity"] = "higher_is_better"
    out = assert_matches_reference(cells_of(facts), SpcOptions(trend=6))
    assert out["spc_point_rules"][5] == "trend" and out["spc_point_variation"][5] == "concern_low"
    assert set(out["spc_point_variation"][:5]) == {"improvement_high"}


def error_cells() -> pd.DataFrame:
    """One trust per error path of the reference functions (see the reasons asserted below)."""
    facts = national_scale_facts(trusts=24, metrics=4, periods=20, seed=2)
    facts["target"] = np.where(facts["metric_id"] == "m03", np.nan, 0.6)
    periods = np.sort(facts["period_start"].unique())
    last = facts["period_start"] == periods[-1]
    org = facts["org_code"].to_numpy()
    drop = ((org == "R001") & ~last) | ((org == "R002") & (facts["period_start"].dt.month % 2 == 0)) | (
        (org == "R003") & (facts["period_start"] < periods[-3])) | (
        (org == "R014") & (facts["period_start"] == periods[-5]))
    facts = facts[~drop].copy()
    facts.loc[(facts["org_code"] == "R004") & last, ["value", "numerator", "denominator"]] = np.nan
    facts.loc[(facts["org_code"] == "R004") & last, "suppressed"] = True
    facts.loc[facts["org_code"] == "R005", "polarity"] = "sideways"
    cells = cells_of(facts)
    org, latest = cells["org_code"].to_numpy(), cells["period_start"] == cells["period_start"].max()
    proportion = (cells["benchmark_method"] == "proportion").to_numpy()
    for code, column, value in (("R006", "value", np.inf), ("R008", "ci_upper", -1.0), ("R010", "numerator", 0.0)):
        cells.loc[(org == code) & latest, column] = value
    cells.loc[org == "R007", "target"] = np.inf
    cells.loc[(org == "R009") & latest, "ci_upper"] = cells.loc[(org == "R009") & latest, "ci_lower"]
    for code, numerator, denominator in (("R011", 9.0, 4.0), ("R012", -1.0, 5.0), ("R013", 3.0, 0.0)):
        rows = (org == code) & latest & proportion
        cells.loc[rows, ["numerator", "denominator", "counts_ok"]] = numerator, denominator, True
    return cells


def test_every_reason_of_the_reference_is_reproduced():
    expected = assert_matches_reference(error_cells(), SpcOptions())
    reasons = " | ".join(str(text) for name in ("spc_reason", "assurance_reason", "trend_reason")
                         for text in set(expected[name]))
    for fragment in (
        "SPC not computed: 1 published point(s)", "no two consecutive published points",
        "SPC not computed: xmr: values must be finite, got inf", "run chart: 3 of the 15 points",
        "latest period suppressed", "icons not computed: variation_icon: polarity must be one of",
        "icons not computed: assurance_icon: target must be a finite number", "no SPC chart",
        "no target in the metric catalogue", "polarity 'none': no good direction", "run chart: no process limits",
        "recent_trend: upper95 must be >= lower95", "a confidence interval has zero width",
        "a count is 0 or equals its denominator", "recent_trend: counts must be <= denominators",
        "recent_trend: counts must be >= 0", "recent_trend: denominators must be > 0",
        "recent_trend: values must be finite", "found 0", "found 1", "found 3", "found 4",
        "benchmark_method score: no confidence interval",
    ):
        assert fragment in reasons, fragment


def test_a_national_shaped_run_equals_the_reference():
    facts = national_scale_facts(trusts=40, metrics=12, periods=60, seed=9)
    facts = facts[np.random.default_rng(9).random(len(facts)) > 0.02]
    assert_matches_reference(cells_of(facts), SpcOptions())


def test_no_cells_give_empty_columns(planted_cells):
    out = series_statistics(planted_cells.iloc[:0])
    assert set(out) == {*SERIES_COLUMNS, *POINT_COLUMNS} and all(a.size == 0 for a in out.values())
