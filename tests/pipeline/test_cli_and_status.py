"""The analyst's commands: validate a file by hand, see status, refuse bad downloads."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.cli import main
from tests.conftest import real_sickness_files


def test_help_lists_what_an_analyst_can_do(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for command in ("demo", "validate", "backfill", "status", "quarantine", "sources", "releases"):
        assert command in text


def test_validate_passes_a_real_file_and_fails_a_broken_one_with_findings(tmp_path, capsys):
    good = real_sickness_files()[0]
    assert main(["validate", "sickness_absence", str(good)]) == 0
    assert "validation passed" in capsys.readouterr().out
    broken = tmp_path / "broken.csv"
    lines = good.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",87.5"  # a published rate that days lost / available contradicts
    broken.write_text("\n".join(lines) + "\n")
    assert main(["validate", "sickness_absence", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "rate_consistency" in out and "row=6" in out and "broken.csv" in out


def test_validate_names_an_unknown_source():
    assert main(["validate", "no_such_source", "x.csv"]) == 2


def test_status_reports_an_overdue_source(publisher, settings_env):
    from pipelines.ingest import ingest_source
    from pipelines.status import source_status

    _, _, add = publisher
    add(real_sickness_files()[:1])
    settings = settings_env()
    ingest_source("sickness_absence", settings, progress=lambda _: None)
    rows = {row["source_id"]: row for row in source_status(settings, today=date(2026, 11, 26))}
    assert rows["sickness_absence"]["latest_period"] == "2024-04"
    assert rows["sickness_absence"]["overdue"] is True
    assert rows["sickness_absence"]["checked_at"] is not None
    fresh = {row["source_id"]: row for row in source_status(settings, today=date(2024, 9, 1))}
    assert fresh["sickness_absence"]["overdue"] is False


def test_an_html_error_page_is_refused_at_download(publisher, settings_env):
    from pipelines.fetch import FetchError, ReleaseLink, download

    url, root, _ = publisher
    (root / "oops.html").write_text("<html>moved</html>")
    link = ReleaseLink(url=f"{url}/oops.html", file_name="NHS Sickness Absence rates CSV, April 2024.csv",
                       period_hint="2024-04")
    with pytest.raises(FetchError, match="web page"):
        download(link, settings_env().publisher)


def test_a_missing_file_gives_up_after_retries_with_the_address(publisher, settings_env):
    from pipelines.fetch import FetchError, ReleaseLink, download

    url, _, _ = publisher
    link = ReleaseLink(url=f"{url}/missing.csv", file_name="missing.csv", period_hint=None)
    with pytest.raises(FetchError, match="HTTP 404"):
        download(link, settings_env().publisher)


def test_backfill_loads_two_months_and_a_rerun_changes_nothing(publisher, settings_env, capsys):
    from pipelines.warehouse.connection import connect

    _, _, add = publisher
    add(real_sickness_files()[:3])
    assert main(["backfill", "sickness_absence", "--since", "2024-04", "--until", "2024-05"]) == 0
    assert "2 files processed, 0 quarantined" in capsys.readouterr().out
    with connect(settings_env(), raw_of="sickness_absence") as warehouse:
        first = warehouse.query("select * from raw.sickness_absence order by period_start, org_code")
    assert sorted({str(d)[:7] for d in first["period_start"]}) == ["2024-04", "2024-05"]
    assert main(["backfill", "sickness_absence", "--since", "2024-04", "--until", "2024-05"]) == 0
    assert capsys.readouterr().out.count("unchanged") == 2
    with connect(settings_env(), raw_of="sickness_absence") as warehouse:
        again = warehouse.query("select * from raw.sickness_absence order by period_start, org_code")
    assert first.equals(again)


def test_backfill_of_a_pinned_address_loads_just_that_file(publisher, settings_env, capsys):
    from urllib.parse import quote

    from tests.conftest import SICKNESS_PAGE, published_name

    url, _, add = publisher
    files = real_sickness_files()[:3]
    add(files)
    pinned = f"{url}/{SICKNESS_PAGE}{quote(published_name(files[2]))}"
    assert main(["backfill", "sickness_absence", "--url", pinned]) == 0
    assert "1 files processed" in capsys.readouterr().out


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_setup_parses_dbt_beside_one_airflow_process_and_serializes_after_the_manifest_only_on_postgres(
        monkeypatch, settings_env, target):
    import argparse
    import threading

    import pipelines.cli as cli
    import pipelines.transform as transform
    import pipelines.warehouse.connection as connection

    monkeypatch.setenv("CULTURE_OUTCOMES_WAREHOUSE_TARGET", target)
    settings_env()
    events: list[tuple[str, ...]] = []
    migrating = threading.Event()

    def parse(settings, *args, **kwargs):
        # Returns only once Airflow's set-up has begun: run one after the other, this would time out.
        assert migrating.wait(timeout=30), "dbt parse did not run beside Airflow's set-up"
        events.append(("dbt", "parse"))

    def airflow(command, **kwargs):
        migrating.set()
        events.append(tuple(command[1:]))

    monkeypatch.setattr(transform, "parse_project", parse)
    monkeypatch.setattr(cli, "_run_with_airflow", airflow)
    monkeypatch.setattr(connection, "ensure_postgres_database", lambda settings: False)
    assert cli.cmd_setup(argparse.Namespace(dbt_target_path=None)) == 0
    setup = [event for event in events if event[:2] == ("-m", "dags._airflow_setup")]
    assert ("dbt", "parse") in events and len(setup) == 1
    if target == "duckdb":  # the transform DAG needs no manifest: serialized in the same process
        assert "--reserialize" in setup[0] and len(events) == 2
    else:  # it renders from dbt's manifest: serialized after the parse
        assert "--reserialize" not in setup[0] and events[-1] == ("dags", "reserialize")
