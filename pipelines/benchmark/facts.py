"""Facts in: read from the marts and normalised to one row per trust x metric x period ("cell").

Everything downstream relies on the normalisation done here: a suppressed cell has no value,
numerator or denominator; a missing flag means not suppressed; numbers are floats with NaN for
missing (never zero); metric attributes outside the catalogue's vocabulary are kept but marked,
so the statistics can say "not computed" instead of raising.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from pipelines.stats import POLARITIES

log = logging.getLogger(__name__)

#: Catalogue methods with an interval and a funnel; "score" and "distribution" have neither.
COUNT_METHODS: tuple[str, ...] = ("proportion", "rate", "ratio")
BENCHMARK_METHODS: tuple[str, ...] = (*COUNT_METHODS, "score", "distribution")

#: Columns of the facts frame that :func:`compute_benchmark_table` needs.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "org_code", "metric_id", "period_start", "value", "numerator", "denominator", "suppressed",
    "in_network", "peer_group", "unit", "polarity", "benchmark_method",
)
#: Optional columns (filled with nulls when absent, e.g. in hand-built test facts).
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "org_name", "network_name", "metric_name", "grain", "period_end", "target", "vintage", "extract_sha256",
)

FACTS_SQL = """
select f.org_code, o.org_name, o.is_network_member as in_network, o.network_name, o.peer_group,
       f.metric_id, m.metric_name, m.unit, m.polarity, m.benchmark_method, m.target,
       f.grain, f.period_start, f.period_end, f.value, f.numerator, f.denominator, f.suppressed,
       f.vintage, f.extract_sha256
from marts.fct_culture_outcomes f
left join marts.dim_organisation o on o.org_code = f.org_code
left join marts.dim_metric m on m.metric_id = f.metric_id
"""


def load_facts(warehouse: Any) -> pd.DataFrame:
    """Facts with their trust's comparator groups and their metric's catalogue entry.

    ``dim_organisation.is_network_member`` is read as ``in_network``; ``network_name`` labels the
    network comparator group. Left joins: a fact whose organisation or metric is missing from the dimensions is kept
    (England comparator, "not computed" reasons) rather than silently dropped.
    """
    return warehouse.query(FACTS_SQL)


def as_column(values: np.ndarray) -> np.ndarray | pd.Series:
    """Object arrays stay object columns (pandas would otherwise convert them to its string dtype,
    which costs a conversion on every ``to_numpy``)."""
    return pd.Series(values, dtype=object) if values.dtype == object else values


def _text(series: pd.Series) -> np.ndarray:
    """Object array of str / None (empty or blank strings are None)."""
    values = series.astype("object").to_numpy()
    out = np.empty(len(values), dtype=object)
    for i, item in enumerate(values):
        if item is None or (isinstance(item, float) and np.isnan(item)) or item is pd.NA:
            out[i] = None
        else:
            text = str(item).strip()
            out[i] = text or None
    return out


def _text_fast(series: pd.Series) -> np.ndarray:
    """:func:`_text` on the distinct values only (columns with few distinct values)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = _text(pd.Series(uniques, dtype="object"))
    out = np.full(len(codes), None, dtype=object)
    present = codes >= 0
    out[present] = mapped[codes[present]]
    return out


def _numbers(series: pd.Series) -> np.ndarray:
    """Float array; non-numeric and infinite entries become NaN (missing, never zero)."""
    out = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy(copy=True)
    out[~np.isfinite(out)] = np.nan
    return out


def _flags(series: pd.Series) -> np.ndarray:
    """Boolean array: True only for a true flag (null means not suppressed / not a member)."""
    def one(item: object) -> bool:
        if isinstance(item, str):
            return item.strip().lower() in {"true", "t", "1", "yes", "y"}
        return bool(item) if item is not None and not pd.isna(item) else False

    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([one(item) for item in uniques], dtype=bool)
    out = np.zeros(len(codes), dtype=bool)
    present = codes >= 0
    out[present] = mapped[codes[present]]
    return out


def prepare_cells(facts: pd.DataFrame) -> pd.DataFrame:
    """One normalised row per trust x metric x grain x period, with derived validity columns.

    Added columns: ``usable`` (unsuppressed with a value: ranked, in distributions),
    ``scale`` (100 for percent units: rates and proportions are published x100),
    ``counts_ok`` / ``counts_reason`` (numerator and denominator fit the metric's method),
    ``method_ok``, ``polarity_ok``, ``metric_reason``.
    """
    missing = [name for name in REQUIRED_COLUMNS if name not in facts.columns]
    if missing:
        raise ValueError(f"compute_benchmark_table: facts lack the columns {missing}")
    n_in = len(facts)
    frame: dict[str, Any] = {}
    for name in ("org_code", "metric_id"):
        frame[name] = _text_fast(facts[name])
    for name in ("org_name", "network_name", "metric_name", "grain", "vintage", "extract_sha256", "peer_group",
                 "unit", "polarity", "benchmark_method"):
        frame[name] = _text_fast(facts[name]) if name in facts.columns else np.full(n_in, None, dtype=object)
    frame["period_start"] = pd.to_datetime(facts["period_start"], errors="coerce").to_numpy("datetime64[ns]")
    if "period_end" in facts.columns:
        frame["period_end"] = pd.to_datetime(facts["period_end"], errors="coerce").to_numpy("datetime64[ns]")
    else:
        frame["period_end"] = np.full(n_in, np.datetime64("NaT"), dtype="datetime64[ns]")
    for name in ("value", "numerator", "denominator"):
        frame[name] = _numbers(facts[name])
    frame["target"] = _numbers(facts["target"]) if "target" in facts.columns else np.full(n_in, np.nan)
    frame["suppressed"] = _flags(facts["suppressed"])
    frame["in_network"] = _flags(facts["in_network"])
    cells = pd.DataFrame({name: as_column(values) for name, values in frame.items()})

    keep = pd.notna(cells["org_code"]) & pd.notna(cells["metric_id"]) & cells["period_start"].notna()
    if not keep.all():
        log.warning("benchmark: %d facts without org_code, metric_id or period_start are left out",
                     int((~keep).sum()))
        cells = cells[keep]
    cells = _deduplicate(cells).reset_index(drop=True)

    suppressed = cells["suppressed"].to_numpy()
    for name in ("value", "numerator", "denominator"):
        column = cells[name].to_numpy(copy=True)
        column[suppressed] = np.nan
        cells[name] = column
    cells["usable"] = ~suppressed & ~np.isnan(cells["value"].to_numpy())
    cells["scale"] = np.where(cells["unit"].to_numpy() == "percent", 100.0, 1.0)
    _metric_checks(cells)
    _count_checks(cells)
    _warn_inconsistent_values(cells)
    return cells


def _deduplicate(cells: pd.DataFrame) -> pd.DataFrame:
    """One fact per trust x metric x grain x period: the latest vintage wins (logged)."""
    keys = ["org_code", "metric_id", "grain", "period_start"]
    ordered = cells.assign(_vintage=cells["vintage"].fillna("")).sort_values("_vintage", kind="stable")
    duplicated = ordered.duplicated(keys, keep="last")
    if duplicated.any():
        log.warning("benchmark: %d duplicate facts (same trust, metric, period) replaced by a later vintage",
                    int(duplicated.sum()))
    return ordered[~duplicated].drop(columns="_vintage").sort_index()


def _metric_checks(cells: pd.DataFrame) -> None:
    method = cells["benchmark_method"].to_numpy()
    polarity = cells["polarity"].to_numpy()
    cells["method_ok"] = np.isin(method, np.array(BENCHMARK_METHODS, dtype=object))
    cells["polarity_ok"] = np.isin(polarity, np.array(POLARITIES, dtype=object))
    reasons = np.full(len(cells), None, dtype=object)
    bad_method = ~cells["method_ok"].to_numpy()
    bad_polarity = ~cells["polarity_ok"].to_numpy()
    for i in np.flatnonzero(bad_method | bad_polarity):
        parts = []
        if bad_method[i]:
            parts.append(f"benchmark_method {method[i]!r} is not one of {BENCHMARK_METHODS}")
        if bad_polarity[i]:
            parts.append(f"polarity {polarity[i]!r} is not one of {POLARITIES}")
        reasons[i] = "; ".join(parts)
    cells["metric_reason"] = as_column(reasons)


def _warn_inconsistent_values(cells: pd.DataFrame, tolerance: float = 0.01) -> None:
    """Log metrics whose published value is not numerator / denominator (x100 for percent): a unit
    mismatch would put the interval and the funnel (from the counts) on another scale than the
    value (ranked as published)."""
    ok = cells["counts_ok"].to_numpy() & np.isin(cells["benchmark_method"].to_numpy(),
                                                 np.array(["proportion", "rate"], dtype=object))
    if not ok.any():
        return
    value = cells["value"].to_numpy()[ok]
    implied = (cells["numerator"].to_numpy()[ok] / cells["denominator"].to_numpy()[ok]
               * cells["scale"].to_numpy()[ok])
    rounding = 0.006 * cells["scale"].to_numpy()[ok] / 100.0  # values published to 2 dp of a percent
    off = np.abs(value - implied) > tolerance * np.abs(implied) + rounding
    if off.any():
        metrics = pd.Series(cells["metric_id"].to_numpy()[ok][off]).value_counts()
        log.warning("benchmark: value differs from numerator / denominator (unit?) in %s",
                    ", ".join(f"{metric} ({count} cells)" for metric, count in metrics.items()))


def _count_checks(cells: pd.DataFrame) -> None:
    """Whether the numerator / denominator can carry an interval and a funnel, and why not."""
    x = cells["numerator"].to_numpy()
    n = cells["denominator"].to_numpy()
    method = cells["benchmark_method"].to_numpy()
    counted = np.isin(method, np.array(COUNT_METHODS, dtype=object))
    proportion = method == "proportion"
    conditions = [
        ~counted,
        cells["suppressed"].to_numpy(),
        ~cells["usable"].to_numpy(),
        np.isnan(x) | np.isnan(n),
        n <= 0,
        x < 0,
        proportion & (x > n),
    ]
    labels = [
        None,
        "suppressed",
        "value not published",
        "numerator or denominator not published",
        "denominator is not positive",
        "numerator is negative",
        "numerator exceeds denominator for a proportion",
    ]
    ok = np.ones(len(cells), dtype=bool)
    reasons = np.full(len(cells), None, dtype=object)
    for condition, label in zip(conditions, labels, strict=True):
        hit = condition & ok
        ok &= ~condition
        if label is not None:
            reasons[hit] = label
    cells["counts_ok"] = ok
    cells["counts_reason"] = as_column(reasons)
