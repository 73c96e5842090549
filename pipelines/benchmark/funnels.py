"""Funnel-plot limits for every comparator row, unadjusted and adjusted for overdispersion.

* proportion: centre = the comparator's pooled proportion p; unadjusted limits at size n are
  PHE's Wilson-based limits (:func:`pipelines.stats.proportion_funnel_limits`); adjusted limits
  use the arcsine transform with an additive between-unit variance tau^2
  (:func:`~pipelines.stats.adjusted_funnel_limits_proportion`).
* rate / ratio: as an indirectly standardised ratio O/E with O = numerator and
  E = denominator x comparator rate; unadjusted exact Poisson limits around 1
  (:func:`~pipelines.stats.poisson_funnel_limits`), adjusted on the log scale (SHMI method,
  :func:`~pipelines.stats.adjusted_funnel_limits_ratio`). Limits are published in the unit of
  value (ratio limit x comparator value), the ratio itself in ``funnel_ratio``.

phi and tau^2 per comparator group follow :func:`pipelines.stats.overdispersion` (z-scores
against the pooled target on the transformed scale, winsorised at the 10th / 90th percentiles,
phi = mean z^2, DerSimonian-Laird tau^2), computed for all groups at once. Units with
unusable counts never enter phi. ``tests/benchmark`` checks all of these against the scalar
functions group by group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .comparators import NO_PEER_GROUP, ComparatorRows
from .distribution import POOLED, SortedGroups, lookup, per_value, take
from .significance import LEVELS, z_value

OVERDISPERSION_METHOD = "winsorise"
OVERDISPERSION_FRACTION = 0.1
MIN_UNITS = 3  # overdispersion() needs at least three units
#: Row values of ``funnel_method`` (see benchmarks.benchmark_methods).
FUNNEL_METHOD = {
    "proportion": "phe_proportion_funnel; adjusted=overdispersion_additive(arcsine); winsorise={fraction:g}; "
                  "levels=0.95,0.998",
    "rate": "exact_poisson_funnel(O/E); adjusted=overdispersion_additive(log); winsorise={fraction:g}; "
            "levels=0.95,0.998",
    "ratio": "exact_poisson_funnel(O/E); adjusted=overdispersion_additive(log); winsorise={fraction:g}; "
             "levels=0.95,0.998",
}
LEVEL_NAMES = ("95", "998")


def group_overdispersion(y: np.ndarray, se: np.ndarray, target: np.ndarray, gid: np.ndarray,
                         n_groups: int, fraction: float = OVERDISPERSION_FRACTION
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """phi, tau2 and the number of units per group (phi / tau2 NaN below three units).

    ``y``, ``se`` and ``target`` are per unit (target is the group's centre on the transformed
    scale); units with a missing y or se are left out, as :func:`pipelines.stats.overdispersion`.
    """
    keep = ~np.isnan(y) & ~np.isnan(se) & (gid >= 0)
    y, se, target, gid = y[keep], se[keep], target[keep], gid[keep]
    z = (y - target) / se
    units = np.bincount(gid, minlength=n_groups)
    groups = SortedGroups.build(z, gid, n_groups)
    low = groups.numpy_quantile(fraction)
    high = groups.numpy_quantile(1.0 - fraction)
    clipped = np.clip(z, low[gid], high[gid])
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.bincount(gid, weights=clipped**2, minlength=n_groups) / units
        w = 1.0 / se**2
        sum_w = np.bincount(gid, weights=w, minlength=n_groups)
        sum_w2 = np.bincount(gid, weights=w**2, minlength=n_groups)
        denom = sum_w - sum_w2 / sum_w
        tau2 = np.where(denom > 0, np.maximum(0.0, (units * phi - (units - 1)) / denom), 0.0)
    enough = units >= MIN_UNITS
    return np.where(enough, phi, np.nan), np.where(enough, tau2, np.nan), units


def _flag(position: np.ndarray, limits: dict[str, np.ndarray], prefix: str) -> np.ndarray:
    lo95, hi95 = limits[f"{prefix}lower_95"], limits[f"{prefix}upper_95"]
    lo998, hi998 = limits[f"{prefix}lower_998"], limits[f"{prefix}upper_998"]
    present = ~(np.isnan(position) | np.isnan(lo95) | np.isnan(hi95) | np.isnan(lo998) | np.isnan(hi998))
    return np.select(
        [~present, position > hi998, position > hi95, position < lo998, position < lo95],
        [None, "above 99.8% limit", "above 95% limit", "below 99.8% limit", "below 95% limit"],
        default="within 95% limits",
    ).astype(object)


def funnel_statistics(cells: pd.DataFrame, rows: ComparatorRows, groups: pd.DataFrame,
                      fraction: float = OVERDISPERSION_FRACTION) -> dict[str, np.ndarray]:
    """Funnel columns for every comparator row (see the module docstring)."""
    size = len(rows)
    cell = rows.cell
    method = cells["benchmark_method"].to_numpy()[cell]
    pooled = take(groups["comparator_value_method"].to_numpy(), rows.gid) == POOLED
    rate_p = take(groups["pooled_rate"].to_numpy(), rows.gid)
    bench = take(groups["comparator_value"].to_numpy(), rows.gid)
    counts_ok = cells["counts_ok"].to_numpy()[cell] & (rows.gid >= 0)
    x = cells["numerator"].to_numpy()[cell]
    n = cells["denominator"].to_numpy()[cell]
    scale = cells["scale"].to_numpy()[cell]

    prop = counts_ok & pooled & (method == "proportion")
    rate = counts_ok & pooled & np.isin(method, np.array(["rate", "ratio"], dtype=object)) & (rate_p > 0)

    funnel_size = np.full(size, np.nan)
    position = np.full(size, np.nan)
    ratio = np.full(size, np.nan)
    y = np.full(size, np.nan)
    se = np.full(size, np.nan)
    centre = np.full(size, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        funnel_size[prop] = n[prop]
        position[prop] = x[prop] / n[prop]
        y[prop] = np.arcsin(np.sqrt(x[prop] / n[prop]))
        se[prop] = 1.0 / (2.0 * np.sqrt(n[prop]))
        centre[prop] = np.arcsin(np.sqrt(rate_p[prop]))
        expected = n[rate] * rate_p[rate]
        funnel_size[rate] = expected
        ratio[rate] = x[rate] / expected
        position[rate] = ratio[rate]
        y[rate] = np.where(x[rate] > 0, np.log(x[rate] / expected), np.nan)
        se[rate] = 1.0 / np.sqrt(expected)
        centre[rate] = 0.0

    phi_g, tau2_g, _ = group_overdispersion(y, se, centre, rows.gid, rows.n_groups, fraction)
    phi, tau2 = take(phi_g, rows.gid), take(tau2_g, rows.gid)
    adjusted_ok = (prop | rate) & ~np.isnan(tau2)

    limits: dict[str, np.ndarray] = {}
    for level, name in zip(LEVELS, LEVEL_NAMES, strict=True):
        z = z_value(level)
        alpha = 1.0 - level
        lower, upper = np.full(size, np.nan), np.full(size, np.nan)
        adj_lower, adj_upper = np.full(size, np.nan), np.full(size, np.nan)
        p, m = rate_p[prop], n[prop]
        half = z * np.sqrt(p * (1.0 - p) / m)
        lower[prop], upper[prop] = np.clip(p - half, 0.0, 1.0), np.clip(p + half, 0.0, 1.0)
        e = funnel_size[rate]
        lower[rate] = stats.chi2.ppf(alpha / 2.0, 2.0 * e) / (2.0 * e)
        upper[rate] = stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * (e + 1.0)) / (2.0 * e)
        half = z * np.sqrt(se * se + tau2)
        a_prop = adjusted_ok & prop
        a_rate = adjusted_ok & rate
        adj_lower[a_prop] = np.sin(np.clip(centre[a_prop] - half[a_prop], 0.0, np.pi / 2.0)) ** 2
        adj_upper[a_prop] = np.sin(np.clip(centre[a_prop] + half[a_prop], 0.0, np.pi / 2.0)) ** 2
        adj_lower[a_rate] = np.exp(centre[a_rate] - half[a_rate])
        adj_upper[a_rate] = np.exp(centre[a_rate] + half[a_rate])
        limits[f"lower_{name}"], limits[f"upper_{name}"] = lower, upper
        limits[f"adj_lower_{name}"], limits[f"adj_upper_{name}"] = adj_lower, adj_upper

    out: dict[str, np.ndarray] = {
        "funnel_method": np.where(prop | rate, lookup(method, {key: text.format(fraction=fraction)
                                                               for key, text in FUNNEL_METHOD.items()}), None),
        "funnel_size": funnel_size,
        "funnel_ratio": ratio,
        "funnel_flag": _flag(position, limits, ""),
        "funnel_flag_adjusted": _flag(position, limits, "adj_"),
        "funnel_phi": np.where(prop | rate, phi, np.nan),
        "funnel_tau2": np.where(prop | rate, tau2, np.nan),
    }
    out["funnel_adjusted"] = np.where(adjusted_ok, out["funnel_tau2"] > 0, None).astype(object)
    # In the unit of value: proportions x scale, ratios x the comparator value.
    to_value = np.where(prop, scale, np.where(rate, bench, np.nan))
    for name, values in limits.items():
        out[f"funnel_{name}"] = values * to_value
    out["funnel_reason"] = _reasons(cells, rows, method, pooled, prop, rate, adjusted_ok)
    return out


def _reasons(cells: pd.DataFrame, rows: ComparatorRows, method: np.ndarray, pooled: np.ndarray, prop: np.ndarray, rate: np.ndarray, adjusted_ok: np.ndarray) -> np.ndarray:
    cell = rows.cell
    reasons = np.full(len(rows), None, dtype=object)
    method_ok = cells["method_ok"].to_numpy()[cell]
    counted = np.isin(method, np.array(list(FUNNEL_METHOD), dtype=object))
    conditions: list[tuple[np.ndarray, object]] = [
        (~method_ok, cells["metric_reason"].to_numpy()[cell]),
        (~counted, per_value(method, "benchmark_method {}: no funnel (position in the distribution only)")),
        (rows.gid < 0, NO_PEER_GROUP),
        (~cells["counts_ok"].to_numpy()[cell], cells["counts_reason"].to_numpy()[cell]),
        (~pooled, "comparator has no pooled value (numerators / denominators not published)"),
        (~(prop | rate), "comparator rate is 0, so expected counts are 0"),
        (~adjusted_ok, f"adjusted limits need at least {MIN_UNITS} units with counts in the comparator "
                       "group (unadjusted limits given)"),
    ]
    open_ = np.ones(len(rows), dtype=bool)
    for condition, label in conditions:
        hit = condition & open_
        if isinstance(label, np.ndarray):
            reasons[hit] = label[hit]
        else:
            reasons[hit] = label
        open_ &= ~condition
    return reasons
