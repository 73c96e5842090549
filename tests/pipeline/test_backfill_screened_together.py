"""A backfill screens its files' rows together (pipelines.ingest._ParsedAhead), and a bad row in one
month still quarantines that month alone, with a message naming the file, the row and the column."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

SOURCE = "sickness_absence"


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A year of synthetic monthly sickness absence files on a local publisher, one month in the middle
    of it with a rate of 150% on its third organisation's line; returns that file's name. (Not the
    newest month: that one is validated in full, with its Data Docs, and never screened.)"""
    from pipelines.publisher_server import serve
    from pipelines.synthetic.site import build_site
    from pipelines.synthetic.world import World

    build_site(World(years=1), tmp_path / "site", sources=[SOURCE], progress=lambda _: None)
    files = sorted((tmp_path / "site").rglob("*.csv"),
                   key=lambda path: datetime.strptime(path.stem.rsplit(", ", 1)[1], "%B %Y"))
    bad = files[len(files) // 2]
    lines = bad.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = re.sub(r",[0-9.]+(\r?\n)$", r",150.00\1", lines[3])
    bad.write_text("".join(lines), encoding="utf-8")
    with serve(tmp_path / "site") as url:
        monkeypatch.setenv("CULTURE_OUTCOMES_PUBLISHER_BASE_URL", url)
        yield bad.name


@pytest.fixture
def screened(monkeypatch):
    """Each validation of a file without Data Docs: file name -> the row-wise checks its batch's screen
    settled for it (a validation that writes Data Docs runs every check, for the report)."""
    import pipelines.ingest as ingest

    seen: dict[str, dict[int, object]] = {}
    real = ingest.check_extract

    def recorded(spec, parsed, file_name, period, ledger, settings, docs_dir=None, screened=None, queued=None):
        if docs_dir is None:
            assert file_name not in seen, f"{file_name} validated twice"
            seen[file_name] = screened.settled if screened else {}
        return real(spec, parsed, file_name, period, ledger, settings, docs_dir=docs_dir, screened=screened,
                    queued=queued)

    monkeypatch.setattr(ingest, "check_extract", recorded)
    return seen


def test_a_bad_row_quarantines_its_month_alone_and_the_rest_of_the_backfill_loads(site, settings_env, screened,
                                                                                  monkeypatch):
    from pipelines.ingest import ExtractRejected, ingest_source
    from pipelines.validation import suites
    from pipelines.validation.suites import load_suite, stacked_form

    prepared: list[int] = []  # the rows of each table prepared for the checks
    real_prepare = suites.prepare_frame

    def counted(table, successors=None):
        prepared.append(len(table))
        return real_prepare(table, successors)

    monkeypatch.setattr(suites, "prepare_frame", counted)

    settings = settings_env()
    outcomes = ingest_source(SOURCE, settings, progress=lambda _: None)

    rejected = [o for o in outcomes if isinstance(o, ExtractRejected)]
    assert len(rejected) == 1 and len(outcomes) == 12
    assert all(o.status == "loaded" for o in outcomes if not isinstance(o, ExtractRejected))
    message = str(rejected[0])
    assert message.startswith(site) and "validation FAILED" in message
    assert "1 values not between 0.0 and 100.0 (rows where unit is percent) in column 'value'" in message
    assert "e.g. row=4, org_code=" in message  # the file's own line: the header is line 1

    # Screened together: every file, the bad month included, had every row-wise check and its
    # uniqueness settled by its batch's screen; the two checks the bad month failed were shared out by
    # row, so that month's finding above names its own row and no file ran a row-wise check again.
    suite = load_suite(SOURCE, "org_monthly")["expectations"]
    row_wise = {position for position, expectation in enumerate(suite)  # ODS is not loaded: no known codes
                if stacked_form(expectation) is not None and not expectation["meta"].get("requires")}
    assert len(screened) == 11 and site in screened  # the newest month was validated with its Data Docs
    assert all(set(settled) == row_wise for settled in screened.values())
    failed = {suite[position]["kwargs"]["column"] for position, result in screened[site].items() if result}
    assert failed == {"value_if_percent", "rate_discrepancy"}
    assert not any(result for name, settled in screened.items() if name != site for result in settled.values())
    # Each file's table is prepared for the checks once, for the screen, and its own validation
    # reuses it; only the bad month's report with its Data Docs, made afresh, prepares it again.
    assert len(prepared) == 12 + 1
