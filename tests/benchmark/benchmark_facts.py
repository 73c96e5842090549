"""Hand-built facts for the benchmark-table tests: a small NHS of trusts in two peer groups, a
network of some of them, and metrics of each catalogue method. (Imported by the test modules of
this folder, which pytest puts on the path.)"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

PEERS = {"acute": 8, "mental_health": 5}
NETWORK = ("A01", "A02", "M01", "M02")

METRICS = {
    # metric_id: (unit, polarity, benchmark_method, target)
    "fft_positive": ("fraction", "higher_is_better", "proportion", None),
    "sickness_rate": ("percent", "lower_is_better", "rate", None),
    "pp1_score": ("score_0_10", "higher_is_better", "score", None),
    "staff_fte": ("fte", "none", "distribution", None),
}


def organisations() -> pd.DataFrame:
    rows = []
    for group, count in PEERS.items():
        for i in range(1, count + 1):
            code = f"{group[0].upper()}{i:02d}"
            rows.append({"org_code": code, "org_name": f"Trust {code}", "peer_group": group,
                         "in_network": code in NETWORK})
    return pd.DataFrame(rows)


def months(count: int, first: str = "2022-01-01") -> pd.DatetimeIndex:
    return pd.date_range(first, periods=count, freq="MS")


def make_facts(
    metrics: Iterable[str] = tuple(METRICS),
    periods: int = 3,
    seed: int = 7,
    orgs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Facts with the columns of ``load_facts`` for every org x metric x month."""
    rng = np.random.default_rng(seed)
    orgs = organisations() if orgs is None else orgs
    rows = []
    for metric_id in metrics:
        unit, polarity, method, target = METRICS[metric_id]
        for period in months(periods):
            for org in orgs.itertuples(index=False):
                numerator = denominator = None
                if method == "proportion":
                    denominator = float(rng.integers(80, 2000))
                    numerator = float(rng.binomial(int(denominator), 0.9))
                    value = numerator / denominator
                elif method == "rate":
                    denominator = float(rng.integers(20_000, 90_000))
                    numerator = float(rng.poisson(denominator * 0.05))
                    value = numerator / denominator * 100
                elif method == "score":
                    value = round(float(rng.normal(6.5, 0.4)), 2)
                else:
                    value = float(rng.integers(500, 9000))
                rows.append({
                    "org_code": org.org_code, "org_name": org.org_name, "in_network": org.in_network,
                    "peer_group": org.peer_group, "metric_id": metric_id, "metric_name": metric_id,
                    "unit": unit, "polarity": polarity, "benchmark_method": method, "target": target,
                    "grain": "month", "period_start": period, "period_end": period + pd.offsets.MonthEnd(0),
                    "value": value, "numerator": numerator, "denominator": denominator, "suppressed": False,
                    "vintage": "2026-06", "extract_sha256": "0" * 64,
                })
    return pd.DataFrame(rows)


def suppress(facts: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    """Suppress cells as the marts do: flag set, value (and counts) withheld."""
    out = facts.copy()
    out.loc[mask, "suppressed"] = True
    out.loc[mask, ["value", "numerator", "denominator"]] = np.nan
    return out


def select(table: pd.DataFrame, **where: object) -> pd.DataFrame:
    mask = pd.Series(True, index=table.index)
    for column, wanted in where.items():
        mask &= table[column].astype(object) == wanted
    return table[mask]


def national_scale_facts(trusts: int = 220, metrics: int = 40, periods: int = 60, seed: int = 1) -> pd.DataFrame:
    """Facts at the size of a full run: every trust x metric x month, methods mixed as in the
    catalogue (proportion, rate, score, distribution), 2% of cells suppressed."""
    rng = np.random.default_rng(seed)
    org, metric, period = (a.ravel() for a in np.meshgrid(np.arange(trusts), np.arange(metrics),
                                                          np.arange(periods), indexing="ij"))
    methods = np.array(["proportion", "rate", "score", "distribution"], dtype=object)[metric % 4]
    denominator = rng.integers(50, 90_000, org.size).astype(float)
    level = np.clip(0.6 + 0.03 * rng.normal(size=trusts)[org], 0.01, 0.99)
    numerator = rng.binomial(denominator.astype(int), np.where(methods == "rate", level / 10, level)).astype(float)
    value = np.select([methods == "proportion", methods == "rate"],
                      [numerator / denominator, numerator / denominator * 100], rng.normal(6, 1, org.size))
    counted = (methods == "proportion") | (methods == "rate")
    hidden = rng.random(org.size) < 0.02
    starts = pd.date_range("2021-07-01", periods=periods, freq="MS")
    codes = np.array([f"R{i:03d}" for i in range(trusts)], dtype=object)
    return pd.DataFrame({
        "org_code": codes[org], "org_name": "Trust", "in_network": org < 6,
        "peer_group": np.array(["acute", "mental_health", "community", "ambulance", "acute_specialist"],
                               dtype=object)[org % 5],
        "metric_id": np.array([f"m{i:02d}" for i in range(metrics)], dtype=object)[metric], "metric_name": "m",
        "unit": np.select([methods == "rate", methods == "proportion"], ["percent", "fraction"], "score_0_10"),
        "polarity": np.array(["higher_is_better", "lower_is_better", "none"], dtype=object)[metric % 3],
        "benchmark_method": methods, "target": np.where(metric % 5 == 0, 0.6, np.nan), "grain": "month",
        "period_start": starts[period], "period_end": starts[period] + pd.offsets.MonthEnd(0),
        "value": np.where(hidden, np.nan, value), "numerator": np.where(hidden | ~counted, np.nan, numerator),
        "denominator": np.where(hidden | ~counted, np.nan, denominator), "suppressed": hidden,
        "vintage": "2026-06", "extract_sha256": "0" * 64,
    })
