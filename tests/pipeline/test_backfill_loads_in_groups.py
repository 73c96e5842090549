"""A backfill loads the files that pass their checks in groups (pipelines.ingest._LoadQueue): one
transaction for many files, each still its own extract in the warehouse and the ledger."""

from __future__ import annotations

import pytest

SOURCE = "sickness_absence"


@pytest.fixture
def site(synthetic_year):
    """A year of synthetic monthly sickness absence files on the local publisher."""
    synthetic_year(SOURCE)


def _landed(settings) -> list[dict]:
    from pipelines.ingest import fetch_and_land_all, plan

    return fetch_and_land_all(SOURCE, plan(SOURCE, settings), settings, progress=lambda _: None)


def _raw_rows_per_extract(settings) -> dict[str, int]:
    from pipelines.warehouse.connection import connect

    with connect(settings, raw_of=SOURCE) as warehouse:
        counts = warehouse.query(f"select extract_sha256, count(*) as n from raw.{SOURCE} group by 1")
    return dict(zip(counts["extract_sha256"], counts["n"], strict=True))


def _loaded_in_ledger(settings) -> set[str]:
    from pipelines.ledger import Ledger

    return {extract["sha256"] for extract in Ledger(settings.paths.state).extracts(SOURCE, status="loaded")}


def test_a_backfill_loads_its_files_in_fewer_transactions_than_files_each_recorded_as_its_own_extract(
        site, settings_env, monkeypatch):
    from pipelines.ingest import load_batch
    from pipelines.warehouse import loader

    groups: list[int] = []
    real = loader.load_extracts

    def recorded(warehouse, source_id, extracts):
        groups.append(len(extracts))
        return real(warehouse, source_id, extracts)

    monkeypatch.setattr(loader, "load_extracts", recorded)
    settings = settings_env()
    landed = _landed(settings)

    outcomes = load_batch(SOURCE, landed, settings, progress=lambda _: None)

    assert [outcome.status for outcome in outcomes] == ["loaded"] * len(landed)
    assert [outcome.file_name for outcome in outcomes] == [item["file_name"] for item in landed]  # in plan order
    assert sum(groups) == len(landed) and len(groups) < len(landed)
    rows = _raw_rows_per_extract(settings)
    assert rows == {outcome.sha256: outcome.rows for outcome in outcomes}
    assert _loaded_in_ledger(settings) == set(rows)


def test_the_same_file_twice_in_one_backfill_is_loaded_once(site, settings_env):
    """The same bytes at two addresses land once (by content hash); the second waits for nothing."""
    from pipelines.ingest import load_batch

    settings = settings_env()
    landed = _landed(settings)[:3]

    outcomes = load_batch(SOURCE, [*landed, landed[1]], settings, progress=lambda _: None)

    assert [outcome.status for outcome in outcomes] == ["loaded", "loaded", "loaded", "already_loaded"]
    assert _raw_rows_per_extract(settings) == {outcome.sha256: outcome.rows for outcome in outcomes[:3]}


def test_files_that_passed_before_an_unexpected_error_are_still_loaded(site, settings_env, monkeypatch):
    """An error that is not a rejected file (a bug, a full disk) stops the batch, but the files that
    passed before it are loaded and recorded, as they were when each file loaded on its own."""
    import pipelines.ingest as ingest

    real = ingest.check_landed
    settings = settings_env()
    landed = _landed(settings)
    broken = landed[4]["file_name"]

    def failing(source_id, landed_info, settings, **kwargs):
        if landed_info["file_name"] == broken:
            raise OSError("disk full")
        return real(source_id, landed_info, settings, **kwargs)

    monkeypatch.setattr(ingest, "check_landed", failing)

    with pytest.raises(OSError, match="disk full"):
        ingest.load_batch(SOURCE, landed, settings, progress=lambda _: None)

    assert _loaded_in_ledger(settings) == {item["sha256"] for item in landed[:4]}
    assert set(_raw_rows_per_extract(settings)) == {item["sha256"] for item in landed[:4]}


def test_a_files_volume_baseline_is_the_latest_before_its_vintage_loaded_or_waiting_to_be():
    from pipelines.ingest import previous_extract

    loaded = {"vintage": "2025-03", "row_count": 10}
    waiting = [{"vintage": "2025-04", "row_count": 20}, {"vintage": "2025-05", "row_count": 30},
               {"vintage": "2025-04", "row_count": 40}]

    assert previous_extract(loaded, waiting, "2025-05")["row_count"] == 40  # same vintage: the later one
    assert previous_extract(loaded, waiting, "2025-04") is loaded
    assert previous_extract(None, waiting, None)["row_count"] == 30
    assert previous_extract({"vintage": "2025-09"}, waiting, None) == {"vintage": "2025-09"}
    assert previous_extract(loaded, [{"vintage": None, "row_count": 1}], None) is loaded  # no vintage sorts first
    assert previous_extract({"vintage": None}, [{"vintage": None, "row_count": 1}], None)["row_count"] == 1

