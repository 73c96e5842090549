"""Funnel-plot control limits (unadjusted, and adjusted for overdispersion).

Why: a funnel plot compares each organisation with the benchmark using limits that depend
on its size, so small units are not flagged for chance variation (Spiegelhalter 2005).
The unadjusted limits follow FunnelPlotR (exact Poisson for O/E ratios) and
PHEindicatormethods (Wilson-based limits for proportions); the adjusted limits add the
between-unit variance ``tau2`` (additive random effects) or scale by ``phi``
(multiplicative) on the variance-stabilising scale and back-transform.

All functions accept a single size or a sequence of sizes. A scalar in gives floats out;
a sequence gives numpy arrays, with missing sizes (None/NaN) giving NaN limits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from . import _validate as v

#: How an adjusted funnel is widened: add tau2 to each variance, or multiply it by phi.
ADJUSTMENT_METHODS: tuple[str, ...] = ("additive", "multiplicative")


def _sizes(func: str, name: str, values: Any) -> np.ndarray:
    """Sizes (n or expected) as a float array; missing kept as NaN; present ones > 0."""
    if v.is_scalar_input(values):
        arr = np.array([v.number(func, name, values, minimum=0.0, min_inclusive=False)])
    else:
        arr = v.float_array(func, name, values)
        v.check_elements(func, name, arr, minimum=0.0, min_inclusive=False)
    return arr


def poisson_funnel_limits(expected: Any, confidence: float = 0.95) -> tuple[Any, Any]:
    """Exact Poisson limits for an observed/expected ratio with target 1.

    lower = chi2_{a/2}(2E) / (2E), upper = chi2_{1-a/2}(2E + 2) / (2E), the FunnelPlotR
    unadjusted limits (exact, so they remain valid for small expected counts).
    """
    func = "poisson_funnel_limits"
    e = _sizes(func, "expected", expected)
    alpha = 1.0 - v.confidence(func, confidence)
    lower = stats.chi2.ppf(alpha / 2.0, 2.0 * e) / (2.0 * e)
    upper = stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * (e + 1.0)) / (2.0 * e)
    return v.shape_like(expected, lower, upper)


def proportion_funnel_limits(n: Any, target: float, confidence: float = 0.95) -> tuple[Any, Any]:
    """PHE-style funnel limits for a proportion around ``target`` (0-1 scale).

    The limit at size N is the observed proportion whose Wilson interval at N just
    touches ``target`` (PHEindicatormethods' funnel method). The Wilson bounds are the
    roots of (p_hat - p)^2 = z^2 p (1 - p) / N, so solving for p_hat with p = target gives
    the closed form target -/+ z sqrt(target (1 - target) / N), truncated to [0, 1].
    """
    func = "proportion_funnel_limits"
    sizes = _sizes(func, "n", n)
    t = v.number(func, "target", target, minimum=0.0, maximum=1.0)
    z = v.z_value(v.confidence(func, confidence))
    half = z * np.sqrt(t * (1.0 - t) / sizes)
    lower = np.clip(t - half, 0.0, 1.0)
    upper = np.clip(t + half, 0.0, 1.0)
    return v.shape_like(n, lower, upper)


def _half_width(func: str, s: np.ndarray, z: float, tau2: Any, method: str,
                phi: Any) -> np.ndarray:
    """z times the (inflated) standard error on the transformed scale."""
    method = v.choice(func, "method", method, ADJUSTMENT_METHODS)
    if method == "additive":
        if phi is not None:
            raise v.fail(func, "phi", "None for the additive method (use tau2)", phi)
        t2 = v.number(func, "tau2", tau2, minimum=0.0)
        return z * np.sqrt(s * s + t2)
    if phi is None:
        raise v.fail(func, "phi", "given for the multiplicative method", phi)
    if tau2 not in (None, 0, 0.0):
        raise v.fail(func, "tau2", "None (or 0) for the multiplicative method", tau2)
    p = v.number(func, "phi", phi, minimum=0.0, min_inclusive=False)
    return z * np.sqrt(p) * s


def adjusted_funnel_limits_proportion(
    n: Any,
    target: float,
    tau2: float | None = 0.0,
    confidence: float = 0.95,
    *,
    method: str = "additive",
    phi: float | None = None,
) -> tuple[Any, Any]:
    """Overdispersion-adjusted funnel limits for a proportion (0-1 scale).

    On the arcsine-square-root scale (y = asin(sqrt(p)), s = 1/(2 sqrt(n))) the limits are
    asin(sqrt(target)) -/+ z sqrt(s^2 + tau2) (``method="additive"``, random effects as
    in Spiegelhalter 2005 / FunnelPlotR) or -/+ z sqrt(phi) s (``"multiplicative"``),
    back-transformed with sin^2. The angle is clipped to [0, pi/2] first so the limits
    stay monotone in n and inside [0, 1]. With tau2 = 0 these are the unadjusted
    (approximate) arcsine limits.
    """
    func = "adjusted_funnel_limits_proportion"
    sizes = _sizes(func, "n", n)
    t = v.number(func, "target", target, minimum=0.0, maximum=1.0)
    z = v.z_value(v.confidence(func, confidence))
    half = _half_width(func, 1.0 / (2.0 * np.sqrt(sizes)), z, tau2, method, phi)
    centre = np.arcsin(np.sqrt(t))
    lower = np.sin(np.clip(centre - half, 0.0, np.pi / 2.0)) ** 2
    upper = np.sin(np.clip(centre + half, 0.0, np.pi / 2.0)) ** 2
    return v.shape_like(n, lower, upper)


def adjusted_funnel_limits_ratio(
    expected: Any,
    tau2: float | None = 0.0,
    confidence: float = 0.95,
    *,
    method: str = "additive",
    phi: float | None = None,
    target: float = 1.0,
) -> tuple[Any, Any]:
    """Overdispersion-adjusted funnel limits for an O/E ratio (SHMI method).

    On the log scale (y = ln(O/E), s = 1/sqrt(E)) the limits are
    ln(target) -/+ z sqrt(s^2 + tau2) (additive) or -/+ z sqrt(phi) s (multiplicative),
    back-transformed with exp, as NHS England's SHMI and FunnelPlotR do.
    """
    func = "adjusted_funnel_limits_ratio"
    e = _sizes(func, "expected", expected)
    t = v.number(func, "target", target, minimum=0.0, min_inclusive=False)
    z = v.z_value(v.confidence(func, confidence))
    half = _half_width(func, 1.0 / np.sqrt(e), z, tau2, method, phi)
    centre = np.log(t)
    return v.shape_like(expected, np.exp(centre - half), np.exp(centre + half))
