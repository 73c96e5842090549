"""What goes into a release folder: the benchmark tables, network-wide and per trust.

File names come only from validated ODS codes of network members (never from data values),
so nothing in a published file can steer a path.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.benchmark.tables import BENCHMARK_SCHEMA, BENCHMARK_TABLE
from pipelines.config import Settings
from pipelines.parsers.common import ODS_CODE_PATTERN
from pipelines.publish.release import ReleaseError, row_count, write_table

_ODS = re.compile(ODS_CODE_PATTERN)


def read_benchmark_table(settings: Settings) -> pd.DataFrame:
    from pipelines.warehouse.connection import connect

    with connect(settings, read_only=True) as warehouse:
        if not warehouse.table_exists(BENCHMARK_SCHEMA, BENCHMARK_TABLE):
            raise ReleaseError("there is no benchmark table yet: run the transform DAG before publishing")
        return warehouse.query(
            f"select * from {BENCHMARK_SCHEMA}.{BENCHMARK_TABLE} order by metric_id, period_start, comparator, org_code"
        )


def trust_file_stem(code: str) -> str:
    """A per-trust file name, only for a well-formed ODS code."""
    if not _ODS.match(code):
        raise ReleaseError(f"refusing to name a file after {code!r}: not an ODS organisation code")
    return f"benchmarks_{code}"


def write_release_contents(settings: Settings, folder: Path, progress=print) -> dict[str, Any]:
    table = read_benchmark_table(settings)
    written: list[Path] = []
    written += write_table(table, folder, "benchmarks_network")
    trusts = folder / "trusts"
    trusts.mkdir()
    members = list(settings.network.members)
    for number, code in enumerate(members, start=1):
        progress(f"[{number}/{len(members)}] writing the extract for {code}")
        written += write_table(table[table["org_code"] == code], trusts, trust_file_stem(code))
    return {
        "row_counts": {str(p.relative_to(folder)): row_count(p) for p in written},
        "manifest": {
            "methods": {
                "distribution": "median, quartiles (interpolated percentiles), best, worst, rank (1 = best)",
                "proportion_interval": "Wilson score 95%",
                "rate_interval": "Byar, exact Poisson below 10, 95%",
                "significance": "Fingertips: benchmark inside / outside the 95% interval",
            },
        },
    }
