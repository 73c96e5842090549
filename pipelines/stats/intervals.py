"""Confidence intervals for proportions, counts and rates, as PHE / Fingertips compute them.

Why these methods: Fingertips and PHEindicatormethods publish Wilson score intervals for
proportions and Byar's approximation (exact Poisson for small counts) for counts, rates and
observed/expected ratios. Using the same methods means an organisation's interval here is
the interval an analyst sees in the official tool. Formulas are written from
``benchmark-methods.md``; no code is taken from the GPL implementations.
"""

from __future__ import annotations

import math

from scipy import stats

from . import _validate as v

#: Counts below this use the exact Poisson interval in PHE's rate / ratio methods.
PHE_EXACT_BELOW = 10


def wilson_interval(x: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ``x`` events out of ``n`` (bounds on the 0-1 scale).

    Wilson rather than the normal approximation because it never leaves [0, 1] and
    behaves at x = 0 or x = n, which matters for small organisations. ``x`` may be
    non-integer (weighted or pooled counts), as PHEindicatormethods allows.
    """
    func = "wilson_interval"
    n_ = v.number(func, "n", n, minimum=0.0, min_inclusive=False)
    x_ = v.number(func, "x", x, minimum=0.0)
    if x_ > n_:
        raise v.fail(func, "x", f"<= n ({n_:g})", x)
    z = v.z_value(v.confidence(func, confidence))
    z2 = z * z
    root = z * math.sqrt(z2 + 4.0 * x_ * (1.0 - x_ / n_))
    denom = 2.0 * (n_ + z2)
    lower = (2.0 * x_ + z2 - root) / denom
    upper = (2.0 * x_ + z2 + root) / denom
    # Clamp rounding noise (e.g. -1e-17 at x = 0) so bounds stay a proportion.
    return max(0.0, lower), min(1.0, upper)


def exact_poisson_interval(x: float, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (chi-square based) Poisson interval for a count ``x``.

    Used for small counts, where Byar's approximation is poor. Lower bound is
    chi2_{a/2}(2x)/2 (0 when x = 0), upper is chi2_{1-a/2}(2x+2)/2.
    """
    func = "exact_poisson_interval"
    x_ = v.number(func, "x", x, minimum=0.0)
    alpha = 1.0 - v.confidence(func, confidence)
    lower = 0.0 if x_ == 0 else float(stats.chi2.ppf(alpha / 2.0, 2.0 * x_)) / 2.0
    if math.isnan(lower):  # degrees of freedom so tiny (x ~ 1e-300) that scipy underflows
        lower = 0.0
    upper = float(stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * x_ + 2.0)) / 2.0
    return lower, upper


def _byar(x: float, z: float) -> tuple[float, float]:
    """Byar's approximation to the Poisson interval (lower is 0 at x = 0)."""
    if x == 0:
        lower = 0.0
    else:
        lower = x * (1.0 - 1.0 / (9.0 * x) - z / (3.0 * math.sqrt(x))) ** 3
    x1 = x + 1.0
    upper = x1 * (1.0 - 1.0 / (9.0 * x1) + z / (3.0 * math.sqrt(x1))) ** 3
    return max(0.0, lower), upper


def byar_interval(
    x: float, confidence: float = 0.95, *, exact_below: float = PHE_EXACT_BELOW
) -> tuple[float, float]:
    """Confidence interval for a count ``x`` the way PHE computes it.

    Byar's approximation for ``x >= exact_below`` and the exact Poisson interval below
    it (PHE uses 10). Pass ``exact_below=0`` for pure Byar, which is what PHE's
    ``byars_lower`` / ``byars_upper`` functions (and their published test values) give.
    """
    func = "byar_interval"
    x_ = v.number(func, "x", x, minimum=0.0)
    conf = v.confidence(func, confidence)
    cut = v.number(func, "exact_below", exact_below, minimum=0.0)
    if x_ < cut:
        return exact_poisson_interval(x_, conf)
    return _byar(x_, v.z_value(conf))


def rate_interval(
    x: float, denominator: float, multiplier: float = 1, confidence: float = 0.95
) -> tuple[float, float]:
    """Interval for a crude rate or O/E ratio: count interval / denominator * multiplier.

    This is PHE's ``phe_rate`` convention (exact Poisson below 10 events, Byar above);
    pass the expected count as ``denominator`` for an indirectly standardised ratio such
    as SHMI. ``multiplier`` expresses the rate per 1,000 / 100,000 etc.
    """
    func = "rate_interval"
    x_ = v.number(func, "x", x, minimum=0.0)
    d = v.number(func, "denominator", denominator, minimum=0.0, min_inclusive=False)
    m = v.number(func, "multiplier", multiplier, minimum=0.0, min_inclusive=False)
    lower, upper = byar_interval(x_, v.confidence(func, confidence))
    return lower / d * m, upper / d * m
