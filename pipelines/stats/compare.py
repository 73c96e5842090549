"""Significance against a benchmark value, as Fingertips reports it.

Why: Fingertips colours an organisation Better / Similar / Worse by whether the benchmark
(England, region, peer group) lies inside the organisation's confidence interval, and
adds Best / Worst when it also lies outside the 99.8% interval. Our benchmark tables use
the same test and labels so they read the same way.
"""

from __future__ import annotations

from typing import Any

from . import _validate as v

NOT_COMPARED = "Not compared"
COMPARISON_LABELS: tuple[str, ...] = (
    "Best", "Better", "Similar", "Worse", "Worst", "Higher", "Lower", NOT_COMPARED,
)


def _side(lower: float, upper: float, benchmark: float) -> int:
    """+1 if the whole interval is above the benchmark, -1 if below, 0 if it contains it."""
    if lower > benchmark:
        return 1
    if upper < benchmark:
        return -1
    return 0


def compare_to_benchmark(
    value: Any,
    lower: Any,
    upper: Any,
    benchmark: Any,
    polarity: str,
    *,
    outer_lower: Any = None,
    outer_upper: Any = None,
    levels: tuple[float, ...] = (0.95, 0.998),
) -> str:
    """Fingertips comparison of an organisation's interval with a benchmark value.

    ``lower``/``upper`` is the interval at ``levels[0]`` (95% by default). Benchmark inside
    it (bounds inclusive) = "Similar"; otherwise "Better" / "Worse" by ``polarity``, or
    "Higher" / "Lower" when ``polarity="none"``. If ``outer_lower``/``outer_upper`` (the
    interval at ``levels[1]``, 99.8% by default) are given and the benchmark is outside
    that too, the result is "Best" / "Worst" (still "Higher" / "Lower" for no polarity).
    Any missing input (None/NaN, e.g. suppressed) gives "Not compared". ``value`` only
    decides whether a comparison is possible: the test itself uses the interval, and a
    published value may sit a rounding step outside its published interval.
    """
    func = "compare_to_benchmark"
    pol = v.polarity(func, polarity)
    if not isinstance(levels, tuple | list) or len(levels) not in (1, 2):
        raise v.fail(func, "levels", "a tuple of one or two confidence levels", levels)
    lv = [v.confidence(func, level) for level in levels]
    if len(lv) == 2 and not lv[0] < lv[1]:
        raise v.fail(func, "levels", "increasing (inner level first)", levels)
    two_level = outer_lower is not None or outer_upper is not None
    if two_level and len(lv) != 2:
        raise v.fail(func, "levels", "two levels when outer_lower/outer_upper are given", levels)

    inputs = [value, lower, upper, benchmark]
    if two_level:
        inputs += [outer_lower, outer_upper]
    if any(v.is_missing(item) for item in inputs):
        return NOT_COMPARED
    v.number(func, "value", value)
    lo = v.number(func, "lower", lower)
    hi = v.number(func, "upper", upper)
    bench = v.number(func, "benchmark", benchmark)
    if lo > hi:
        raise v.fail(func, "lower", f"<= upper ({hi:g})", lower)

    side = _side(lo, hi, bench)
    extreme = False
    if two_level:
        olo = v.number(func, "outer_lower", outer_lower)
        ohi = v.number(func, "outer_upper", outer_upper)
        if not (olo <= lo and ohi >= hi):
            raise v.fail(func, "outer_lower", f"an interval containing [{lo:g}, {hi:g}]",
                         (outer_lower, outer_upper))
        extreme = _side(olo, ohi, bench) != 0

    if side == 0:
        return "Similar"
    if pol == "none":
        return "Higher" if side > 0 else "Lower"
    good = (side > 0) == (pol == "higher_is_better")
    if good:
        return "Best" if extreme else "Better"
    return "Worst" if extreme else "Worse"
