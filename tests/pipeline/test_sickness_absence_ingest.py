"""Ingesting the real monthly sickness absence files: landing, idempotent loading, quarantine."""

from __future__ import annotations

import json

import pytest

from tests.conftest import published_name, real_sickness_files


def _rows(settings, sql):
    from pipelines.warehouse.connection import connect

    with connect(settings, raw_of="sickness_absence") as warehouse:
        return warehouse.query(sql)


def test_real_months_land_byte_for_byte_and_load_one_row_per_organisation(publisher, settings_env):
    from pipelines.ingest import ingest_source

    _, _, add = publisher
    files = real_sickness_files()[:2]
    add(files)
    settings = settings_env()
    outcomes = ingest_source("sickness_absence", settings, progress=lambda _: None)
    assert [o.status for o in outcomes] == ["loaded", "loaded"]
    for outcome, original in zip(outcomes, files, strict=True):
        landed = next((settings.paths.landing / "sickness_absence" / outcome.sha256).glob("*.csv"))
        assert landed.read_bytes() == original.read_bytes()
    counts = _rows(settings, "select period_start, count(*) n, count(distinct org_code) orgs "
                             "from raw.sickness_absence group by 1 order by 1")
    assert list(counts["n"]) == list(counts["orgs"])
    assert list(counts["n"]) == [sum(1 for _ in f.open()) - 1 for f in files]


def test_loading_the_same_month_twice_changes_nothing(publisher, settings_env):
    from pipelines.ingest import fetch_and_land, plan, validate_and_load

    _, _, add = publisher
    add(real_sickness_files()[:1])
    settings = settings_env()
    link = plan("sickness_absence", settings)[0]
    landed = fetch_and_land("sickness_absence", link, settings)
    first = validate_and_load("sickness_absence", landed, settings)
    before = _rows(settings, "select * from raw.sickness_absence order by org_code")
    again = validate_and_load("sickness_absence", landed, settings)
    after = _rows(settings, "select * from raw.sickness_absence order by org_code")
    assert first.status == "loaded" and again.status == "already_loaded"
    assert before.equals(after)
    # A second download of an unchanged file is answered 304 and not landed again.
    assert fetch_and_land("sickness_absence", link, settings) is None


def test_a_renamed_column_is_quarantined_with_a_message_naming_file_and_column(publisher, settings_env):
    from pipelines.ingest import ExtractRejected, ingest_source
    from pipelines.ledger import Ledger

    _, _, add = publisher
    files = real_sickness_files()[:3]
    broken_name = published_name(files[1])
    broken = files[1].read_bytes().replace(b"FTE_DAYS_AVAILABLE", b"FTE_DAYS_AVAILABLE_TOTAL", 1)
    add(files, replace={broken_name: broken})
    settings = settings_env()
    outcomes = ingest_source("sickness_absence", settings, progress=lambda _: None)
    rejected = [o for o in outcomes if isinstance(o, ExtractRejected)]
    assert len(rejected) == 1 and len(outcomes) == 3
    message = str(rejected[0])
    assert broken_name in message and "fte_days_available" in message and "row 1" in message
    item = Ledger(settings.paths.state).extracts(status="quarantined")[0]
    kept = settings.paths.quarantine / "sickness_absence" / item["sha256"]
    assert next(kept.glob("*.csv")).read_bytes() == broken
    assert json.loads((kept / "findings.json").read_text())["file_name"] == broken_name
    loaded = _rows(settings, "select distinct period_start from raw.sickness_absence order by 1")
    assert len(loaded) == 2  # the good months are in; the broken one is not


def test_a_file_with_a_third_of_the_trusts_missing_fails_the_volume_check(publisher, settings_env):
    from pipelines.ingest import ExtractRejected, ingest_source

    _, _, add = publisher
    files = real_sickness_files()[:2]
    lines = files[1].read_bytes().splitlines(keepends=True)
    short = b"".join(lines[: 1 + (len(lines) - 1) * 2 // 3])
    add(files, replace={published_name(files[1]): short})
    outcomes = ingest_source("sickness_absence", settings_env(), progress=lambda _: None)
    assert isinstance(outcomes[1], ExtractRejected)
    assert "volume" in str(outcomes[1]) and "organisations" in str(outcomes[1])


def test_release_from_quarantine_loads_it_and_records_who_and_why(publisher, settings_env):
    from pipelines.ingest import ingest_source
    from pipelines.ledger import Ledger
    from pipelines.quarantine import release

    _, _, add = publisher
    files = real_sickness_files()[:2]
    lines = files[1].read_bytes().splitlines(keepends=True)
    add(files, replace={published_name(files[1]): b"".join(lines[:120])})
    settings = settings_env()
    ingest_source("sickness_absence", settings, progress=lambda _: None)
    sha = Ledger(settings.paths.state).extracts(status="quarantined")[0]["sha256"]
    with pytest.raises(ValueError, match="who"):
        release(settings, sha[:10], "", "")
    outcome = release(settings, sha[:10], "A. Analyst", "publisher confirmed the smaller file is complete")
    assert outcome.status == "loaded" and outcome.rows == 119
    ledger = Ledger(settings.paths.state)
    assert ledger.extract("sickness_absence", sha)["status"] == "released"
    assert ledger.releases(sha)[0]["released_by"] == "A. Analyst"
