"""The extract ledger: what was checked, landed, loaded, quarantined or released, and when.

A small SQLite file under ``<data_dir>/state`` rather than a warehouse table, because the status
command and the DAGs read it while a DuckDB writer may hold the warehouse, and SQLite allows
concurrent readers. It is the memory that makes ingestion idempotent: an extract already loaded
(same content hash) is never loaded again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = """
create table if not exists extracts (
    sha256 text not null,
    source_id text not null,
    url text not null,
    file_name text not null,
    landed_path text not null,
    layout text,
    vintage text,
    periods text,
    row_count integer,
    newest_period_rows integer,      -- rows of the newest period: the volume baseline of restating files
    org_count integer,
    status text not null,            -- landed | loaded | quarantined | released
    findings text,                   -- JSON list of findings (errors and warnings)
    last_modified text,
    updated_at text not null,
    primary key (source_id, sha256)
);
create table if not exists checks (
    source_id text primary key,
    checked_at text not null,
    links_found integer not null
);
create table if not exists quarantine_releases (
    source_id text not null,
    sha256 text not null,
    released_by text not null,
    reason text not null,
    released_at text not null
);
"""

# Columns added after the first release, with their types: older ledgers gain them on open.
_ADDED_COLUMNS = {"newest_period_rows": "integer"}
#: Ledger files whose schema this process has made sure of.
_SCHEMA_READY: set[Path] = set()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Ledger:
    """Read and write the ledger; every method opens its own short transaction."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "ledger.sqlite"
        # The schema is made (and an older ledger's columns added) once per file and process: a backfill
        # opens the ledger for every file it fetches and checks, hundreds of times.
        if self.path in _SCHEMA_READY and self.path.exists():
            return
        state_dir.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)
            columns = {row["name"] for row in db.execute("pragma table_info(extracts)")}
            for name, kind in _ADDED_COLUMNS.items():
                if name not in columns:  # a ledger written by an earlier version
                    db.execute(f"alter table extracts add column {name} {kind}")
        _SCHEMA_READY.add(self.path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    def record_check(self, source_id: str, links_found: int) -> None:
        with self._connect() as db:
            db.execute(
                "insert into checks values (?, ?, ?) on conflict(source_id) do update set "
                "checked_at = excluded.checked_at, links_found = excluded.links_found",
                (source_id, now(), links_found),
            )

    def record_extract(self, source_id: str, sha256: str, **fields: Any) -> None:
        """Insert or update one extract's row; list and dict values are stored as JSON."""
        self.record_extracts(source_id, {sha256: fields})

    def record_extracts(self, source_id: str, fields_by_sha256: dict[str, dict[str, Any]]) -> None:
        """Insert or update several extracts' rows in one transaction (a group of a backfill, loaded
        together: all recorded, or none)."""
        with self._connect() as db:
            for sha256, fields in fields_by_sha256.items():
                values = {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in fields.items()}
                values["updated_at"] = now()
                existing = db.execute(
                    "select 1 from extracts where source_id = ? and sha256 = ?", (source_id, sha256)
                ).fetchone()
                if existing:
                    assignments = ", ".join(f"{k} = ?" for k in values)
                    db.execute(
                        f"update extracts set {assignments} where source_id = ? and sha256 = ?",  # noqa: S608 - keys are ours
                        (*values.values(), source_id, sha256),
                    )
                else:
                    columns = ", ".join(["source_id", "sha256", *values])
                    marks = ", ".join("?" for _ in range(len(values) + 2))
                    db.execute(f"insert into extracts ({columns}) values ({marks})",  # noqa: S608
                               (source_id, sha256, *values.values()))

    def extract(self, source_id: str, sha256: str) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute("select * from extracts where source_id = ? and sha256 = ?", (source_id, sha256)).fetchone()
        return _decode(row) if row else None

    def find_extract(self, sha256_prefix: str) -> dict[str, Any] | None:
        """An extract by (a unique prefix of) its hash, as analysts type it from a message."""
        with self._connect() as db:
            rows = db.execute("select * from extracts where sha256 like ?", (sha256_prefix + "%",)).fetchall()
        if len(rows) > 1:
            raise ValueError(f"hash prefix {sha256_prefix!r} matches {len(rows)} extracts; give more characters")
        return _decode(rows[0]) if rows else None

    def latest_for_url(self, source_id: str, url: str) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute(
                "select * from extracts where source_id = ? and url = ? order by updated_at desc limit 1",
                (source_id, url),
            ).fetchone()
        return _decode(row) if row else None

    def previous_loaded(self, source_id: str, layout: str, before_vintage: str | None = None) -> dict[str, Any] | None:
        """The latest loaded extract of the same source and layout (the volume baseline)."""
        query = "select * from extracts where source_id = ? and layout = ? and status in ('loaded', 'released')"
        params: list[Any] = [source_id, layout]
        if before_vintage:
            query += " and vintage < ?"
            params.append(before_vintage)
        with self._connect() as db:
            row = db.execute(query + " order by vintage desc, updated_at desc limit 1", params).fetchone()
        return _decode(row) if row else None

    def extracts(self, source_id: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        query, params = "select * from extracts where 1 = 1", []
        if source_id:
            query += " and source_id = ?"
            params.append(source_id)
        if status:
            query += " and status = ?"
            params.append(status)
        with self._connect() as db:
            return [_decode(r) for r in db.execute(query + " order by source_id, vintage", params).fetchall()]

    def latest_loaded(self) -> dict[str, dict[str, Any]]:
        """Each source's newest loaded (or released) extract by vintage: what a release describes."""
        latest: dict[str, dict[str, Any]] = {}
        for extract in self.extracts():
            if extract["status"] in {"loaded", "released"}:
                previous = latest.get(extract["source_id"])
                if previous is None or _recency(extract) >= _recency(previous):
                    latest[extract["source_id"]] = extract
        return latest

    def checks(self) -> dict[str, dict[str, Any]]:
        with self._connect() as db:
            return {r["source_id"]: dict(r) for r in db.execute("select * from checks").fetchall()}

    def record_release(self, source_id: str, sha256: str, released_by: str, reason: str) -> None:
        with self._connect() as db:
            db.execute(
                "insert into quarantine_releases values (?, ?, ?, ?, ?)",
                (source_id, sha256, released_by, reason, now()),
            )

    def releases(self, sha256: str) -> list[dict[str, Any]]:
        with self._connect() as db:
            return [dict(r) for r in db.execute("select * from quarantine_releases where sha256 = ?", (sha256,))]


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    for key in ("periods", "findings"):
        if data.get(key):
            data[key] = json.loads(data[key])
    return data


def _recency(extract: dict[str, Any]) -> tuple[str, str]:
    return str(extract.get("vintage") or ""), str(extract.get("updated_at") or "")
