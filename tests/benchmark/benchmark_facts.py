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
