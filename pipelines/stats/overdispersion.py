"""Overdispersion (phi) and between-unit variance (tau2) for funnel plots.

Why: with many large organisations, real differences in case mix and coding make the
spread between units wider than binomial / Poisson chance allows, and unadjusted funnel
limits then flag a large share of units. Spiegelhalter (2005) estimates the dispersion
ratio phi from z-scores after damping the extremes (so the outliers we are looking for
do not widen the limits that judge them), then a DerSimonian-Laird style tau2 that is
added to each unit's variance. CQC winsorises the z-scores at the 10th/90th
percentiles; NHS England's SHMI drops the top and bottom 10% instead. Both are offered
and named so the published output can say which was used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from . import _validate as v

#: "winsorise" = CQC / Spiegelhalter; "trim" = NHS England SHMI truncation.
OVERDISPERSION_METHODS: tuple[str, ...] = ("winsorise", "trim")


def proportion_transform(x: Any, n: Any) -> tuple[Any, Any]:
    """Arcsine-square-root transform of x/n: y = asin(sqrt(x/n)), se = 1/(2 sqrt(n)).

    The transform makes the variance depend on n only, so z-scores from units of very
    different sizes are comparable. Missing x or n gives NaN (suppressed stays missing).
    """
    func = "proportion_transform"
    xs = v.float_array(func, "x", x)
    ns = v.float_array(func, "n", n)
    if xs.shape != ns.shape:
        raise v.fail(func, "n", f"the same length as x ({xs.size})", ns.size)
    v.check_elements(func, "n", ns, minimum=0.0, min_inclusive=False)
    v.check_elements(func, "x", xs, minimum=0.0)
    both = ~np.isnan(xs) & ~np.isnan(ns)
    if (xs[both] > ns[both]).any():
        i = int(np.flatnonzero(both & (xs > ns))[0])
        raise ValueError(f"{func}: x must be <= n, got x={float(xs[i])!r} > n={float(ns[i])!r} at index {i}")
    y = np.arcsin(np.sqrt(xs / ns))
    se = 1.0 / (2.0 * np.sqrt(ns))
    if v.is_scalar_input(x) and v.is_scalar_input(n):
        return float(y[0]), float(se[0])
    return y, se


def ratio_transform(observed: Any, expected: Any) -> tuple[Any, Any]:
    """Log transform of an O/E ratio (SHMI method): y = ln(O/E), se = 1/sqrt(E).

    The observed count must be > 0 because ln(0) is undefined; such units need a
    different treatment (exclude, or use the exact Poisson funnel) and we refuse to guess.
    """
    func = "ratio_transform"
    obs = v.float_array(func, "observed", observed)
    exp_ = v.float_array(func, "expected", expected)
    if obs.shape != exp_.shape:
        raise v.fail(func, "expected", f"the same length as observed ({obs.size})", exp_.size)
    v.check_elements(func, "observed", obs, minimum=0.0, min_inclusive=False)
    v.check_elements(func, "expected", exp_, minimum=0.0, min_inclusive=False)
    y = np.log(obs / exp_)
    se = 1.0 / np.sqrt(exp_)
    if v.is_scalar_input(observed) and v.is_scalar_input(expected):
        return float(y[0]), float(se[0])
    return y, se


def overdispersion(
    y: Any,
    se: Any,
    method: str = "winsorise",
    fraction: float = 0.1,
    target: float | None = None,
) -> tuple[float, float]:
    """Estimate the dispersion ratio phi and the between-unit variance tau2.

    z_i = (y_i - target) / se_i on the transformed scale (see :func:`proportion_transform`
    and :func:`ratio_transform`). ``method="winsorise"`` pulls z below/above the
    ``fraction`` / ``1 - fraction`` percentiles (linear interpolation, as R's default
    ``quantile``) in to those percentiles; ``"trim"`` drops units whose average rank
    r satisfies r/(I+1) < fraction or >= 1 - fraction (the SHMI rule). Then
    phi = mean(z^2) over the I units kept, w_i = 1/se_i^2 and
    tau2 = max(0, (I phi - (I - 1)) / (sum w - sum w^2 / sum w)).

    ``target`` is on the transformed scale: asin(sqrt(pooled proportion)) for
    proportions, 0 (= ln 1) for O/E ratios. If None, the inverse-variance weighted mean
    of y is used; pass the pooled value explicitly to match FunnelPlotR exactly.

    Units with a missing y or se are left out (suppressed values are not zeros). Note that
    damping the tails biases phi below 1 when there is no overdispersion (about 0.68 for
    10% winsorising of normal z-scores), which is why tau2 is then usually 0.
    """
    func = "overdispersion"
    method = v.choice(func, "method", method, OVERDISPERSION_METHODS)
    frac = v.number(func, "fraction", fraction, minimum=0.0, maximum=0.5, max_inclusive=False)
    ys = v.float_array(func, "y", y)
    ses = v.float_array(func, "se", se)
    if ys.shape != ses.shape:
        raise v.fail(func, "se", f"the same length as y ({ys.size})", ses.size)
    v.check_elements(func, "se", ses, minimum=0.0, min_inclusive=False)
    keep = ~np.isnan(ys) & ~np.isnan(ses)
    ys, ses = ys[keep], ses[keep]
    if ys.size < 3:
        raise v.fail(func, "y", "at least 3 units with non-missing y and se", int(ys.size))
    w = 1.0 / ses**2
    if target is None:
        centre = float(np.sum(w * ys) / np.sum(w))
    else:
        centre = v.number(func, "target", target)
    z = (ys - centre) / ses

    if method == "winsorise":
        lo, hi = np.quantile(z, [frac, 1.0 - frac])
        z_used = np.clip(z, lo, hi)
        w_used = w
    else:
        rel_rank = stats.rankdata(z, method="average") / (z.size + 1.0)
        kept = (rel_rank >= frac) & (rel_rank < 1.0 - frac)
        z_used, w_used = z[kept], w[kept]
        if z_used.size < 2:
            raise v.fail(func, "y", "enough units that at least 2 remain after trimming",
                         int(ys.size))

    units = z_used.size
    phi = float(np.mean(z_used**2))
    denom = float(np.sum(w_used) - np.sum(w_used**2) / np.sum(w_used))
    tau2 = max(0.0, (units * phi - (units - 1)) / denom) if denom > 0 else 0.0
    return phi, float(tau2)
