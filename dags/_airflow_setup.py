"""Airflow's part of ``culture-outcomes setup``, in one process: the metadata database migrated, the
pool the DAGs write in set and, when asked, the DAGs serialized.

Each of these as its own ``airflow`` command started Python and imported Airflow again: the three
took 10.6 s one after the other (the pool alone 2.9 s), one process 3.7-4.5 s (benchmarks/FINDINGS.md,
section 16). Here Airflow's own command functions run one after the other in one interpreter, with
the same arguments and output as the commands (``airflow db migrate``, ``airflow pools set``,
``airflow dags reserialize``).

    python -m dags._airflow_setup --pool-slots 1 --reserialize
"""

from __future__ import annotations

import argparse

from dags._wiring import WAREHOUSE_POOL

POOL_DESCRIPTION = "Writers to the warehouse: 1 on DuckDB (single writer), more on PostgreSQL"


def airflow_commands(pool_slots: int, reserialize: bool) -> list[list[str]]:
    """The ``airflow`` commands this runs, in order (each as its arguments)."""
    commands = [["db", "migrate"], ["pools", "set", WAREHOUSE_POOL, str(pool_slots), POOL_DESCRIPTION]]
    return [*commands, ["dags", "reserialize"]] if reserialize else commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dags._airflow_setup",
        description="Migrate Airflow's metadata database, set the warehouse pool and optionally serialize the "
                    "DAGs, in one process (what `culture-outcomes setup` asks of Airflow).",
    )
    parser.add_argument("--pool-slots", type=int, required=True,
                        help=f"slots of the {WAREHOUSE_POOL} pool: 1 on DuckDB (one writer), more on PostgreSQL")
    parser.add_argument("--reserialize", action="store_true",
                        help="also serialize the DAGs (on PostgreSQL only once dbt's manifest exists, which the "
                             "transform DAG renders from)")
    args = parser.parse_args(argv)
    from airflow.cli.cli_parser import get_parser

    airflow = get_parser()
    for command in airflow_commands(args.pool_slots, args.reserialize):
        parsed = airflow.parse_args(command)
        parsed.func(parsed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
