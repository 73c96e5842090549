"""Load a validated extract into the warehouse's ``raw`` schema, idempotently.

Each source has one raw table holding every extract ever loaded, tagged with its lineage
(content hash, vintage, layout, file name, load time). Loading replaces the rows of the same
extract hash inside one transaction, so loading the same file twice changes nothing and a
failure half-way leaves the table as it was. Restated periods from newer vintages sit beside the
older ones; staging picks the latest vintage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd

from pipelines.config import Settings
from pipelines.warehouse.connection import Warehouse, connect
from pipelines.warehouse.writer_lock import WriterLock

if TYPE_CHECKING:
    from pipelines.sources.catalogue import SourceSpec

log = logging.getLogger(__name__)

RAW_SCHEMA = "raw"
LINEAGE_COLUMNS = {
    "extract_sha256": "text",
    "vintage": "text",
    "layout": "text",
    "file_name": "text",
    "loaded_at": "timestamp",
}


def _sql_type(dtype: object) -> str:
    name = str(dtype)
    if name.startswith("datetime"):
        return "date"
    if name in {"Float64", "float64"}:
        return "double precision"
    if name in {"Int64", "int64", "int32"}:
        return "bigint"
    if name in {"boolean", "bool"}:
        return "boolean"
    return "text"


def prepare(table: pd.DataFrame, *, sha256: str, vintage: str, layout: str, file_name: str) -> pd.DataFrame:
    """The rows as stored: dates as dates, plus the lineage columns."""
    frame = table.copy()
    for column in frame.columns:
        if str(frame[column].dtype).startswith("datetime"):
            # Arrow dates, made in C: DuckDB and the PostgreSQL COPY read them as dates, where Python
            # date objects cost a call per value to make and again to insert (about 1.6 s of a workforce
            # backfill's 21 s).
            frame[column] = frame[column].astype("date32[pyarrow]")
    frame["extract_sha256"] = sha256
    frame["vintage"] = vintage
    frame["layout"] = layout
    frame["file_name"] = file_name
    frame["loaded_at"] = pd.Timestamp(datetime.now(UTC).replace(tzinfo=None))
    return frame


@dataclass(frozen=True)
class Extract:
    """One extract's rows and lineage, as :func:`load_extracts` stores them."""

    table: pd.DataFrame
    sha256: str
    vintage: str
    layout: str
    file_name: str


def load_extract(
    warehouse: Warehouse,
    source_id: str,
    table: pd.DataFrame,
    *,
    sha256: str,
    vintage: str,
    layout: str,
    file_name: str,
) -> int:
    """Replace this extract's rows in ``raw.<source_id>``; returns the number of rows loaded."""
    return load_extracts(warehouse, source_id, [Extract(table, sha256, vintage, layout, file_name)])[0]


def load_extracts(warehouse: Warehouse, source_id: str, extracts: list[Extract]) -> list[int]:
    """Replace each extract's rows in ``raw.<source_id>``, all in one transaction; returns the number of
    rows each loaded.

    A backfill loads its files in groups: one transaction, one delete and one insert per table shape
    cost about what one extract's did, where the Friends and Family Test's 420 small files took 6-8 s
    loaded one transaction each and 1 s in groups of 50 (benchmarks/FINDINGS.md, section 21). Each
    extract is still replaced whole, so loading a file twice, alone or in a group, changes nothing.
    """
    if not extracts:
        return []
    frames = [prepare(e.table, sha256=e.sha256, vintage=e.vintage, layout=e.layout, file_name=e.file_name)
              for e in extracts]
    types = {column: _sql_type(dtype) for e in extracts for column, dtype in e.table.dtypes.items()} | LINEAGE_COLUMNS
    known = warehouse.raw_columns.get(source_id, set())
    with warehouse.transaction():
        if not types.keys() <= known:  # the batch's first extract, or a layout with a new column
            create_raw_table(warehouse, source_id, types)
            # Asking once which columns the table has costs less than a statement per column.
            present = set(warehouse.query(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                [RAW_SCHEMA, source_id])["column_name"])
            for name, kind in types.items():
                if name not in present:
                    warehouse.execute(f'alter table {RAW_SCHEMA}."{source_id}" add column "{name}" {kind}')
            known = present | types.keys()
        warehouse.execute(f'delete from {RAW_SCHEMA}."{source_id}" where extract_sha256 in '
                          f'({", ".join("?" for _ in extracts)})', [e.sha256 for e in extracts])
        for shape in _same_shapes(frames):
            warehouse.insert(RAW_SCHEMA, source_id, shape[0] if len(shape) == 1 else pd.concat(shape, ignore_index=True))
    warehouse.raw_columns[source_id] = known  # committed
    return [len(frame) for frame in frames]


def _same_shapes(frames: list[pd.DataFrame]) -> list[list[pd.DataFrame]]:
    """The frames grouped by their columns and dtypes: stacked, each group keeps its columns' types."""
    groups: dict[tuple[tuple[str, str], ...], list[pd.DataFrame]] = {}
    for frame in frames:
        groups.setdefault(tuple((str(name), str(dtype)) for name, dtype in frame.dtypes.items()), []).append(frame)
    return list(groups.values())


# Columns of the reference (ODS) raw tables; observation sources use OBSERVATION_COLUMNS.
REFERENCE_COLUMNS: dict[str, dict[str, str]] = {
    "ods_trusts": {
        "org_code": "text", "org_name": "text", "region_code": "text", "icb_code": "text", "postcode": "text",
        "open_date": "date", "close_date": "date", "source_row": "bigint",
    },
    "ods_successors": {
        "old_code": "text", "new_code": "text", "reason": "text", "effective_date": "date", "indicator": "text",
        "source_row": "bigint",
    },
}


def create_raw_table(warehouse: Warehouse, source_id: str, types: dict[str, str]) -> None:
    """``raw."<source_id>"`` with these columns (name -> SQL type), unless it exists."""
    columns = ", ".join(f'"{name}" {kind}' for name, kind in types.items())
    warehouse.execute(f"create schema if not exists {RAW_SCHEMA}")
    warehouse.execute(f'create table if not exists {RAW_SCHEMA}."{source_id}" ({columns})')


def ensure_raw_tables(settings: Settings) -> None:
    """Create every source's raw table (empty) so dbt can build before a source's first extract.

    On DuckDB each dbt source's raw tables are a file of their own, which dbt attaches read-only
    (profiles.yml); raw tables an earlier version kept in the warehouse file are moved into them.
    """
    from pipelines.parsers.common import OBSERVATION_COLUMNS
    from pipelines.sources.catalogue import SOURCES

    observation_types = {name: _sql_type(dtype) for name, dtype in OBSERVATION_COLUMNS.items()}

    def create(warehouse: Warehouse, spec: SourceSpec) -> None:
        types = (REFERENCE_COLUMNS[spec.id] if spec.kind == "reference" else observation_types) | LINEAGE_COLUMNS
        create_raw_table(warehouse, spec.id, types)

    if settings.warehouse.target != "duckdb":
        with connect(settings) as warehouse, warehouse.transaction():
            for spec in SOURCES:
                create(warehouse, spec)
        return
    for spec in SOURCES:
        with connect(settings, raw_of=spec.id) as warehouse, warehouse.transaction():
            create(warehouse, spec)
    move_raw_tables_out_of_the_warehouse(settings)


def move_raw_tables_out_of_the_warehouse(settings: Settings) -> list[str]:
    """Move the raw tables a DuckDB warehouse file still holds into their sources' raw files; returns
    the tables moved.

    Up to December 2026 every raw table lived in the warehouse file. Each extract not yet in the raw
    file is copied there (an extract loaded since the upgrade is kept as loaded), then the old table
    is dropped: a failure leaves it where it was, to be moved again.
    """
    from pipelines.sources.catalogue import SOURCES

    if not settings.warehouse.duckdb_path.exists():
        return []
    moved = []
    with connect(settings) as warehouse:
        present = set(warehouse.query(
            "select table_name from information_schema.tables where table_schema = ?", [RAW_SCHEMA])["table_name"])
        for spec in SOURCES:
            if spec.id not in present:
                continue
            target = settings.warehouse.duckdb_raw_path(spec.raw_database)
            lock = WriterLock(target)
            lock.acquire(timeout=settings.warehouse.writer_wait_seconds)
            try:
                path = str(target).replace("'", "''")
                warehouse.execute(f"attach '{path}' as moving_raw")
                with warehouse.transaction():
                    kept = set(warehouse.query(f'describe moving_raw.{RAW_SCHEMA}."{spec.id}"')["column_name"])
                    for _, column in warehouse.query(f'describe {RAW_SCHEMA}."{spec.id}"').iterrows():
                        if column["column_name"] not in kept:  # a column a layout added
                            warehouse.execute(f'alter table moving_raw.{RAW_SCHEMA}."{spec.id}" add column '
                                              f'"{column["column_name"]}" {column["column_type"]}')
                    warehouse.execute(
                        f'insert into moving_raw.{RAW_SCHEMA}."{spec.id}" by name select * from {RAW_SCHEMA}."{spec.id}" '
                        f'where extract_sha256 not in (select extract_sha256 from moving_raw.{RAW_SCHEMA}."{spec.id}")')
                # (DuckDB writes one database per transaction: dropped once the copy is committed, and a
                # copy interrupted before the drop is finished by the next call, which skips what it copied)
                warehouse.execute(f'drop table {RAW_SCHEMA}."{spec.id}"')
                warehouse.execute("detach moving_raw")
            finally:
                lock.release()
            log.info("raw.%s moved from the warehouse file into %s (each source's raw tables now have a file "
                     "of their own)", spec.id, target)
            moved.append(spec.id)
        if moved and present <= set(moved):
            warehouse.execute(f"drop schema if exists {RAW_SCHEMA}")
    return moved
