"""Comparator rows: each cell once per comparator group the trust belongs to.

* ``network``: trusts with ``in_network`` true (``dim_organisation.is_network_member``), one group
  per metric x period, labelled with the network's name;
* ``peer_group``: every trust, grouped by its national peer group (a trust without one keeps
  its row, with no group and a reason, so the gap is visible);
* ``england``: every trust.

A group is identified by an integer ``gid`` (comparator, group label, metric, grain, period);
the statistics modules aggregate with it, so the wide cell columns are never copied until the
final table is assembled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

COMPARATORS: tuple[str, ...] = ("network", "peer_group", "england")
NO_PEER_GROUP = "organisation has no peer group"


@dataclass(frozen=True)
class ComparatorRows:
    """Row-level arrays of the output (aligned) and the group each row belongs to."""

    cell: np.ndarray  # index into the cells frame
    comparator: np.ndarray  # object: network / peer_group / england
    group: np.ndarray  # object: group label or None
    gid: np.ndarray  # int: group id, -1 when the row has no group
    n_groups: int

    def __len__(self) -> int:
        return int(self.cell.size)

    @property
    def no_group(self) -> np.ndarray:
        return self.gid < 0


def expand(cells: pd.DataFrame) -> ComparatorRows:
    """Rows for every cell and comparator, ordered by metric, period, comparator and trust."""
    n = len(cells)
    everyone = np.arange(n)
    members = np.flatnonzero(cells["in_network"].to_numpy())
    parts = [
        (members, "network", _network_labels(cells, members)),
        (everyone, "peer_group", cells["peer_group"].to_numpy()),
        (everyone, "england", np.full(n, "england", dtype=object)),
    ]
    cell = np.concatenate([p[0] for p in parts])
    comparator = np.concatenate([np.full(p[0].size, p[1], dtype=object) for p in parts])
    group = np.concatenate([p[2] for p in parts])
    # Comparators in the order of their names, as the published table sorts them (england, network,
    # peer_group): a release then reads the table in order and need not sort a copy of it.
    names = sorted(p[1] for p in parts)
    comparator_code = np.concatenate([np.full(p[0].size, names.index(p[1])) for p in parts])

    metric = _codes(cells["metric_id"].to_numpy())[cell]
    grain = _codes(cells["grain"].to_numpy())[cell]
    period = cells["period_start"].to_numpy().astype("datetime64[ns]").astype(np.int64)[cell]
    org = _codes(cells["org_code"].to_numpy())[cell]
    group_code = _codes(group)
    order = np.lexsort((org, comparator_code, period, grain, metric))
    has_group = group_code[order] >= 0
    gid = np.full(order.size, -1, dtype=np.int64)
    if has_group.any():
        keys = pd.DataFrame({
            "comparator": comparator_code[order], "group": group_code[order], "metric": metric[order],
            "grain": grain[order], "period": period[order],
        })[has_group]
        gid[has_group] = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
    return ComparatorRows(
        cell=cell[order],
        comparator=comparator[order],
        group=group[order],
        gid=gid,
        n_groups=int(gid.max()) + 1 if has_group.any() else 0,
    )


def _network_labels(cells: pd.DataFrame, members: np.ndarray) -> np.ndarray:
    """The network's name (dim_organisation.network_name), or "network" when it has none."""
    names = cells["network_name"].to_numpy()[members]
    return np.where(pd.isna(names), "network", names).astype(object)


def _codes(values: np.ndarray) -> np.ndarray:
    """Integer codes in sorted order of the values (missing -> -1), for fast sorting and grouping."""
    codes, _ = pd.factorize(pd.Series(values, dtype=object), sort=True, use_na_sentinel=True)
    return codes
