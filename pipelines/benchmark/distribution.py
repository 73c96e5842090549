"""Position in the comparator's distribution: comparator value, median, quartiles, best, worst,
rank and percentile, for every comparator group at once.

Only usable values (unsuppressed and published) enter a group; a suppressed row keeps the
group's statistics (they do not reveal it) but gets no rank or percentile. The definitions are
those of :func:`pipelines.stats.distribution_summary` (Fingertips interpolated percentiles,
rounded to 10 decimals) and :func:`pipelines.stats.rank_and_percentile` (rank 1 = best, ties
share the lowest rank, percentile = 100 x strictly worse / (n - 1)), computed on sorted groups
instead of one call per group; ``tests/benchmark`` checks them against those functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.stats import QUANTILE_METHODS

from .comparators import NO_PEER_GROUP, ComparatorRows
from .facts import COUNT_METHODS, as_column

QUANTILE_METHOD = QUANTILE_METHODS[0]  # "fingertips_interpolated", as distribution_summary
#: Row value of ``rank_method`` (described in benchmarks.benchmark_methods).
RANK_METHOD = "rank_and_percentile; ties=min; percentile=100*worse/(n-1)"
RANK_DESCRIPTION = ("rank 1 = best, ties share the lowest rank; percentile = 100 x strictly worse / (n - 1), "
                    "100 when alone; polarity none ranks the highest first")
POOLED = "pooled_ratio_of_sums"
MEDIAN = "median"


@dataclass(frozen=True)
class SortedGroups:
    """Values sorted within groups: ``values[starts[g] : starts[g] + counts[g]]`` is group g."""

    values: np.ndarray
    starts: np.ndarray
    counts: np.ndarray

    @classmethod
    def build(cls, values: np.ndarray, gid: np.ndarray, n_groups: int) -> SortedGroups:
        order = np.lexsort((values, gid))
        counts = np.bincount(gid, minlength=n_groups)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        return cls(values[order], starts, counts)

    def fingertips_quantile(self, p: float) -> np.ndarray:
        """Interpolation at (n - 1) p, rounded to 10 decimals (NaN for empty groups)."""
        out = np.full(self.counts.size, np.nan)
        has = self.counts > 0
        n = self.counts[has]
        start = self.starts[has]
        pos = (n - 1) * p
        k = np.floor(pos).astype(np.int64)
        last = k >= n - 1
        k_safe = np.minimum(k, n - 1)
        k_next = np.minimum(k + 1, n - 1)
        low = self.values[start + k_safe]
        high = self.values[start + k_next]
        frac = pos - k
        value = np.where(last, self.values[start + n - 1], low + frac * (high - low))
        # Python's round (correctly rounded), as distribution_summary, on one value per group.
        out[has] = [round(float(v), 10) for v in value]
        return out

    def numpy_quantile(self, q: float) -> np.ndarray:
        """``np.quantile(group, q)`` (method "linear") for every group (NaN for empty groups)."""
        out = np.full(self.counts.size, np.nan)
        has = self.counts > 0
        n = self.counts[has]
        start = self.starts[has]
        virtual = n * q + (1.0 - q) - 1.0  # numpy's virtual index for alpha = beta = 1
        previous = np.clip(np.floor(virtual).astype(np.int64), 0, n - 1)
        following = np.clip(previous + 1, 0, n - 1)
        gamma = virtual - np.floor(virtual)
        a = self.values[start + previous]
        b = self.values[start + following]
        diff = b - a
        value = np.where(gamma >= 0.5, b - diff * (1.0 - gamma), a + diff * gamma)
        out[has] = value
        return out

    def minimum(self) -> np.ndarray:
        out = np.full(self.counts.size, np.nan)
        has = self.counts > 0
        out[has] = self.values[self.starts[has]]
        return out

    def maximum(self) -> np.ndarray:
        out = np.full(self.counts.size, np.nan)
        has = self.counts > 0
        out[has] = self.values[self.starts[has] + self.counts[has] - 1]
        return out


def first_cell_of_group(rows: ComparatorRows) -> np.ndarray:
    """For each group, the cell of one of its rows (every row of a group shares the metric)."""
    has = rows.gid >= 0
    _, index = np.unique(rows.gid[has], return_index=True)  # every gid 0..n_groups-1 occurs
    return rows.cell[has][index]


def group_statistics(cells: pd.DataFrame, rows: ComparatorRows) -> pd.DataFrame:
    """One row per comparator group: n, comparator value and its method, median, q1, q3, min, max,
    pooled sums and pooled rate (numerator per unit of denominator)."""
    g = rows.n_groups
    has = rows.gid >= 0
    usable = has & cells["usable"].to_numpy()[rows.cell]
    gid = rows.gid[usable]
    values = cells["value"].to_numpy()[rows.cell[usable]]
    groups = SortedGroups.build(values, gid, g)

    counted = has & cells["counts_ok"].to_numpy()[rows.cell]
    x = cells["numerator"].to_numpy()[rows.cell[counted]]
    n = cells["denominator"].to_numpy()[rows.cell[counted]]
    sum_x = np.bincount(rows.gid[counted], weights=x, minlength=g)
    sum_n = np.bincount(rows.gid[counted], weights=n, minlength=g)
    units = np.bincount(rows.gid[counted], minlength=g)

    first = first_cell_of_group(rows)
    method = cells["benchmark_method"].to_numpy()[first] if g else np.array([], dtype=object)
    scale = cells["scale"].to_numpy()[first] if g else np.array([])
    median = groups.fingertips_quantile(0.5)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled_rate = np.where(sum_n > 0, sum_x / sum_n, np.nan)
    pooled = np.isin(method, np.array(COUNT_METHODS, dtype=object)) & (units > 0) & (sum_n > 0)
    return pd.DataFrame({
        "comparator_n": groups.counts,
        "median": median,
        "q1": groups.fingertips_quantile(0.25),
        "q3": groups.fingertips_quantile(0.75),
        "min": groups.minimum(),
        "max": groups.maximum(),
        "pooled_units": units,
        "pooled_rate": np.where(pooled, pooled_rate, np.nan),
        "comparator_value": np.where(pooled, pooled_rate * scale, median),
        "comparator_value_method": as_column(
            np.where(pooled, POOLED, np.where(np.isnan(median), None, MEDIAN)).astype(object)
        ),
    })


def take(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``values[index]`` with a missing value where index < 0."""
    if values.dtype == object:
        out = np.full(index.size, None, dtype=object)
    else:
        out = np.full(index.size, np.nan)
    ok = index >= 0
    out[ok] = values[index[ok]]
    return out


def per_value(values: np.ndarray, template: str) -> np.ndarray:
    """``template.format(value)`` for each element, formatted once per distinct value."""
    codes, uniques = pd.factorize(pd.Series(values, dtype="object"), use_na_sentinel=True)
    texts = np.array([template.format(u) for u in uniques] + [template.format(None)], dtype=object)
    return texts[np.where(codes >= 0, codes, len(uniques))]


def lookup(values: np.ndarray, mapping: dict[str, str]) -> np.ndarray:
    """``mapping.get(value)`` for each element (object array), looked up once per distinct value."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    mapped = np.array([mapping.get(u) for u in uniques] + [None], dtype=object)
    return mapped[np.where(codes >= 0, codes, len(uniques))]


def row_positions(cells: pd.DataFrame, rows: ComparatorRows, groups: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per row: the group's statistics, best / worst by polarity, rank and percentile."""
    polarity = cells["polarity"].to_numpy()[rows.cell]
    polarity_ok = cells["polarity_ok"].to_numpy()[rows.cell]
    lower_better = polarity == "lower_is_better"
    out: dict[str, np.ndarray] = {}
    for name in ("comparator_value", "comparator_value_method", "comparator_n", "median", "q1", "q3"):
        out[name] = take(groups[name].to_numpy(), rows.gid)
    out["comparator_n"] = np.where(rows.gid >= 0, out["comparator_n"], np.nan)
    low, high = take(groups["min"].to_numpy(), rows.gid), take(groups["max"].to_numpy(), rows.gid)
    out["best"] = np.where(polarity_ok, np.where(lower_better, low, high), np.nan)
    out["worst"] = np.where(polarity_ok, np.where(lower_better, high, low), np.nan)

    ranked = (rows.gid >= 0) & cells["usable"].to_numpy()[rows.cell] & polarity_ok
    rank = np.full(len(rows), np.nan)
    percentile = np.full(len(rows), np.nan)
    if ranked.any():
        values = pd.Series(cells["value"].to_numpy()[rows.cell[ranked]])
        by = rows.gid[ranked]
        ascending = values.groupby(by).rank(method="min", ascending=True).to_numpy()
        descending = values.groupby(by).rank(method="min", ascending=False).to_numpy()
        lower = lower_better[ranked]
        rank[ranked] = np.where(lower, ascending, descending)
        worse = np.where(lower, descending, ascending) - 1.0
        n = groups["comparator_n"].to_numpy()[by].astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            percentile[ranked] = np.where(n == 1, 100.0, 100.0 * worse / (n - 1.0))
    out["rank"] = rank
    out["percentile"] = percentile
    out["quantile_method"] = np.where(rows.gid >= 0, QUANTILE_METHOD, None)
    out["rank_method"] = np.where(ranked, RANK_METHOD, None)

    reasons = np.full(len(rows), None, dtype=object)
    conditions = [
        (rows.gid < 0, NO_PEER_GROUP),
        (cells["suppressed"].to_numpy()[rows.cell], "suppressed: not ranked"),
        (~cells["usable"].to_numpy()[rows.cell], "value not published: not ranked"),
        (~polarity_ok, None),
    ]
    open_ = np.ones(len(rows), dtype=bool)
    for condition, label in conditions:
        hit = condition & open_
        reasons[hit] = label if label is not None else cells["metric_reason"].to_numpy()[rows.cell[hit]]
        open_ &= ~condition
    out["distribution_reason"] = reasons
    return out
