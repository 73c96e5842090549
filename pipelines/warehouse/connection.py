"""Open the configured warehouse, DuckDB or PostgreSQL, with the same few operations on both.

The rest of the pipeline speaks to :class:`Warehouse` only, so a query or a load written once
runs on the embedded default and on the shared warehouse alike.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipelines.config import Settings
from pipelines.warehouse.writer_lock import WriterLock

#: How much of DuckDB's write-ahead log a writing connection lets build up before it checkpoints
#: (DuckDB's default: 16 MB). A backfill commits once per extract, and at 16 MB the workforce
#: backfill checkpointed every few files: its loads took 7.8-8.0 s at 16 MB and 5.7-5.8 s at 128 MB,
#: with the same peak memory. A larger log costs memory for no more speed: its rows wait in memory,
#: uncompressed, until the checkpoint (1.1 GB more at 1 GB; benchmarks/FINDINGS.md, section 15).
CHECKPOINT_THRESHOLD = "128MB"


def duckdb_file(settings: Settings, raw_of: str | None = None) -> Path:
    """The DuckDB file a connection opens: the warehouse's, or with ``raw_of`` (a source id) the file
    of that source's raw table."""
    if raw_of is None:
        return settings.warehouse.duckdb_path
    from pipelines.sources.catalogue import get_source

    return settings.warehouse.duckdb_raw_path(get_source(raw_of).raw_database)


class Warehouse:
    """A connection with ``execute``, ``query`` (to a DataFrame) and bulk ``insert``.

    ``raw_of`` (a source id) is for the source's raw table, ``raw."<source id>"``: on DuckDB it opens
    that source's raw file instead of the warehouse's (:meth:`pipelines.config.Warehouse.duckdb_raw_path`);
    on PostgreSQL the raw schema is the warehouse's own.
    """

    def __init__(self, settings: Settings, read_only: bool = False, raw_of: str | None = None) -> None:
        self.target = settings.warehouse.target
        self._depth = 0  # open transaction() blocks (PostgreSQL commits eagerly outside them)
        #: Columns each raw table was seen to have through this connection (committed), so that the
        #: next extract of a batch loads without asking again (tables only ever gain columns).
        self.raw_columns: dict[str, set[str]] = {}
        self._writer_lock: WriterLock | None = None
        if self.target == "duckdb":
            import duckdb

            path = duckdb_file(settings, raw_of)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not (read_only and path.exists()):
                # Queue behind another process writing the file instead of failing (writer_lock).
                self._writer_lock = WriterLock(path)
                self._writer_lock.acquire(timeout=settings.warehouse.writer_wait_seconds)
            try:
                self._con = duckdb.connect(str(path), read_only=read_only and path.exists())
            except duckdb.ConnectionException:
                if not read_only:
                    self._release()
                    raise
                # This process already holds the file open for writing (dbt-duckdb keeps its connection
                # for the life of the process, e.g. when one Airflow process runs transform then
                # publish); DuckDB allows one configuration per file and process, so share that one.
                self._con = duckdb.connect(str(path))
            except BaseException:
                self._release()
                raise
            if self._writer_lock is not None:
                self._con.execute(f"set checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
        else:
            import psycopg2

            self._con = psycopg2.connect(settings.warehouse.postgres_dsn())
            self._con.autocommit = False

    def close(self) -> None:
        try:
            self._con.close()
        finally:
            self._release()

    def _release(self) -> None:
        if self._writer_lock is not None:
            self._writer_lock.release()
            self._writer_lock = None

    def others_waiting(self) -> bool:
        """Another process is queued to write the DuckDB file (see :mod:`.writer_lock`)."""
        return self._writer_lock is not None and self._writer_lock.others_waiting()

    @contextmanager
    def transaction(self) -> Iterator[Warehouse]:
        """All-or-nothing: commit when the block succeeds, roll back when it raises."""
        if self.target == "duckdb":
            self._con.execute("begin transaction")
            try:
                yield self
            except BaseException:
                self._con.execute("rollback")
                raise
            self._con.execute("commit")
        else:
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._con.rollback()
                raise
            finally:
                self._depth -= 1
            self._con.commit()

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        if self.target == "duckdb":
            self._con.execute(sql, params or [])
        else:
            with self._con.cursor() as cursor:
                cursor.execute(sql.replace("?", "%s") if params else sql, params)
            if not self._in_block():
                self._con.commit()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        if self.target == "duckdb":
            return self._con.execute(sql, params or []).df()
        with self._con.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s") if params else sql, params)
            columns = [c.name for c in cursor.description]
            rows = cursor.fetchall()
        if not self._in_block():
            self._con.commit()
        return pd.DataFrame.from_records(rows, columns=columns)

    def arrow_batches(self, sql: str, rows_per_batch: int = 25_000) -> Iterator[pa.RecordBatch]:
        """A large DuckDB result as Arrow record batches of ``rows_per_batch`` rows, in order (at
        least one, empty if the result is, so its columns are always known).

        Arrow is DuckDB's columnar format: a batch costs about what its values do, where a pandas
        frame of a wide result holds Python objects at three times the memory, and converting
        batches in C++ (:func:`pipelines.benchmark.schema.frame_from_arrow`) read the national
        benchmark table for a release in 2.1 s against 4.4 s (benchmarks/FINDINGS.md, section 9). DuckDB only:
        on PostgreSQL :meth:`query` reads the result.
        """
        if self.target != "duckdb":
            raise NotImplementedError("Arrow batches are read from DuckDB; use query() on PostgreSQL")
        reader = self._con.sql(sql).to_arrow_reader(rows_per_batch)
        first = True
        for batch in reader:
            first = False
            yield batch
        if first:
            yield pa.RecordBatch.from_pylist([], schema=reader.schema)

    def table_exists(self, schema: str, table: str) -> bool:
        found = self.query(
            "select count(*) as n from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        )
        return int(found["n"].iloc[0]) > 0

    def insert(self, schema: str, table: str, frame: pd.DataFrame) -> None:
        """Append a DataFrame whose columns already exist in the table (matched by name)."""
        if frame.empty:
            return
        if self.target == "duckdb":
            self._con.register("_incoming", frame)
            try:
                self._con.execute(f'insert into "{schema}"."{table}" by name select * from _incoming')
            finally:
                self._con.unregister("_incoming")
            return
        # pyarrow's CSV writer is ~20x faster than pandas'; it quotes every string, so an unquoted
        # empty field is a NULL for COPY while an empty string stays "".
        import pyarrow as pa
        import pyarrow.csv as pacsv

        buffer = io.BytesIO()
        pacsv.write_csv(
            pa.Table.from_pandas(frame, preserve_index=False),
            buffer,
            write_options=pacsv.WriteOptions(include_header=False, quoting_style="all_valid"),
        )
        buffer.seek(0)
        columns = ", ".join(f'"{c}"' for c in frame.columns)
        with self._con.cursor() as cursor:
            cursor.copy_expert(f'copy "{schema}"."{table}" ({columns}) from stdin with (format csv)', buffer)
        if not self._in_block():
            self._con.commit()

    def _in_block(self) -> bool:
        return self._depth > 0


@contextmanager
def connect(settings: Settings, read_only: bool = False, raw_of: str | None = None) -> Iterator[Warehouse]:
    warehouse = Warehouse(settings, read_only=read_only, raw_of=raw_of)
    try:
        yield warehouse
    finally:
        warehouse.close()


class BatchConnection:
    """A writing connection to one source's raw table for a batch of loads: opened when a load needs
    it, and closed between two loads when another process is queued for the same DuckDB file (two
    batches of one source, or of the two ODS files, which share one)."""

    def __init__(self, settings: Settings, raw_of: str) -> None:
        self.settings = settings
        self.raw_of = raw_of
        self._warehouse: Warehouse | None = None

    def __enter__(self) -> BatchConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = Warehouse(self.settings, raw_of=self.raw_of)
        return self._warehouse

    def others_waiting(self) -> bool:
        """Another process is queued for the file this batch holds open."""
        return self._warehouse is not None and self._warehouse.others_waiting()

    def hand_over_if_wanted(self) -> None:
        if self.others_waiting():
            self.close()

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None


def ensure_postgres_database(settings: Settings) -> bool:
    """Create the shared warehouse database when it does not exist yet; True when it was created."""
    import psycopg2
    from psycopg2 import sql

    admin = psycopg2.connect(settings.warehouse.postgres_dsn(dbname="postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("select 1 from pg_database where datname = %s", (settings.warehouse.postgres_dbname,))
            if cursor.fetchone():
                return False
            cursor.execute(sql.SQL("create database {}").format(sql.Identifier(settings.warehouse.postgres_dbname)))
            return True
    finally:
        admin.close()
