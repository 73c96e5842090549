"""The warehouse connection when one process both writes and reads the DuckDB file."""

from __future__ import annotations

import duckdb


def test_a_reader_shares_the_file_a_writer_in_the_same_process_holds_open(settings_env):
    # One Airflow process runs transform (dbt-duckdb keeps its read-write connection) then publish
    # (which reads read-only): DuckDB refuses a second configuration of the same file in one process.
    from pipelines.warehouse.connection import connect

    settings = settings_env()
    settings.warehouse.duckdb_path.parent.mkdir(parents=True)
    writer = duckdb.connect(str(settings.warehouse.duckdb_path))
    writer.execute("create table marks as select 42 as answer")
    try:
        with connect(settings, read_only=True) as warehouse:
            assert warehouse.query("select answer from marks")["answer"].tolist() == [42]
    finally:
        writer.close()


def test_a_reader_alone_opens_the_file_read_only(settings_env):
    from pipelines.warehouse.connection import connect

    settings = settings_env()
    settings.warehouse.duckdb_path.parent.mkdir(parents=True)
    duckdb.connect(str(settings.warehouse.duckdb_path)).close()
    with connect(settings, read_only=True) as warehouse:
        try:
            warehouse.execute("create table nope (x int)")
        except duckdb.InvalidInputException as error:
            assert "read-only" in str(error)
        else:
            raise AssertionError("a read-only connection accepted a write")


def test_a_result_read_in_arrow_batches_is_the_whole_result_in_order(settings_env):
    from pipelines.warehouse.connection import connect

    settings = settings_env()
    with connect(settings) as warehouse:
        warehouse.execute("create table numbers as select range as n, 'row ' || range as label from range(10000)")
        sql = "select * from numbers order by n desc"
        whole = warehouse.query(sql)
        batches = list(warehouse.arrow_batches(sql, rows_per_batch=4096))
        empty = list(warehouse.arrow_batches("select * from numbers where n < 0"))

    assert len(batches) > 2, "the result was not read in several batches"
    assert [n for batch in batches for n in batch.column("n").to_pylist()] == whole["n"].tolist()
    assert [x for batch in batches for x in batch.column("label").to_pylist()] == whole["label"].tolist()
    # An empty result is one empty batch that still has the columns.
    assert [batch.num_rows for batch in empty] == [0] and empty[0].schema.names == ["n", "label"]


def test_a_writer_checkpoints_once_its_log_outgrows_many_extracts_not_every_16_mb(settings_env):
    # A backfill commits once per extract; with DuckDB's default (a checkpoint at 16 MB of log) it
    # checkpointed every few files (benchmarks/FINDINGS.md, section 15). Here 24 MB of committed loads
    # stay in the log, and closing the connection checkpoints them into the file with nothing lost.
    import pandas as pd

    from pipelines.warehouse.connection import connect

    settings = settings_env()
    log_file = settings.warehouse.duckdb_path.with_name(settings.warehouse.duckdb_path.name + ".wal")
    with connect(settings) as warehouse:
        warehouse.execute("create table extracts (sha256 varchar, line varchar)")
        for extract in range(6):
            rows = pd.DataFrame({"sha256": f"{extract:064d}", "line": [f"{extract}-{row:08d}-" + "x" * 80
                                                                      for row in range(40_000)]})
            with warehouse.transaction():
                warehouse.insert("main", "extracts", rows)
        assert log_file.stat().st_size > 20 * 2**20

    assert not log_file.exists()
    with connect(settings, read_only=True) as warehouse:
        assert warehouse.query("select count(*) as n from extracts")["n"].iloc[0] == 240_000
