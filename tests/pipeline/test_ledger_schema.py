"""The ledger (pipelines.ledger) is opened hundreds of times by a backfill; its schema is made once."""

from __future__ import annotations


def test_the_ledger_makes_its_schema_once_per_file_and_again_when_the_file_is_gone(tmp_path, monkeypatch):
    """A backfill opens the ledger for every file it fetches and checks: the schema script runs once."""
    import sqlite3

    from pipelines.ledger import Ledger

    scripts: list[str] = []
    real = sqlite3.Connection.executescript

    class Counting(sqlite3.Connection):
        def executescript(self, script):
            scripts.append(script)
            return real(self, script)

    connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *args, **kwargs: connect(*args, factory=Counting, **kwargs))

    for _ in range(3):
        Ledger(tmp_path / "state")
    assert len(scripts) == 1
    (tmp_path / "state" / "ledger.sqlite").unlink()
    Ledger(tmp_path / "state").record_check("fft", 1)  # a new file gets its tables again
    assert len(scripts) == 2
