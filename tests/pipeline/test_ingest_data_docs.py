"""The newest extract's Data Docs (the validation report a release ships) are written when it is
first validated, not by validating it a second time (a third of a routine monthly ingest)."""

from __future__ import annotations

import pytest

SOURCE = "sickness_absence"


@pytest.fixture
def site(synthetic_year):
    """A year of synthetic monthly sickness absence files on the local publisher."""
    synthetic_year(SOURCE)


@pytest.fixture
def validations(monkeypatch):
    """Every validation of a file: (file name, whether it wrote Data Docs). The real check runs."""
    import pipelines.ingest as ingest

    seen: list[tuple[str, bool]] = []
    real = ingest.check_extract

    def recorded(spec, parsed, file_name, period, ledger, settings, docs_dir=None, **options):
        seen.append((file_name, docs_dir is not None))
        return real(spec, parsed, file_name, period, ledger, settings, docs_dir=docs_dir, **options)

    monkeypatch.setattr(ingest, "check_extract", recorded)
    return seen


def _months(settings) -> list[str]:
    from pipelines.ingest import plan

    return sorted(str(link["period_hint"]) for link in plan(SOURCE, settings))


def _docs_of_newest(settings):
    from pipelines.ingest import data_docs_dir
    from pipelines.ledger import Ledger

    newest = Ledger(settings.paths.state).latest_loaded()[SOURCE]
    return newest["file_name"], data_docs_dir(settings, SOURCE, str(newest["sha256"])) / "index.html"


def test_each_file_is_validated_once_and_the_newest_with_its_data_docs(site, settings_env, validations):
    from pipelines.ingest import ingest_source

    settings = settings_env()
    months = _months(settings)
    outcomes = ingest_source(SOURCE, settings, until=months[2], progress=lambda _: None)
    assert [o.status for o in outcomes] == ["loaded"] * 3
    newest, report = _docs_of_newest(settings)
    assert sorted(name for name, _ in validations) == sorted(o.file_name for o in outcomes)  # once each
    assert [name for name, with_docs in validations if with_docs] == [newest]
    assert report.is_file()

    # The next month: validated once, with its report; the older months are not validated again.
    validations.clear()
    outcomes = ingest_source(SOURCE, settings, since=months[3], until=months[3], progress=lambda _: None)
    newest, report = _docs_of_newest(settings)
    assert [o.status for o in outcomes] == ["loaded"] and outcomes[0].file_name == newest
    assert validations == [(newest, True)] and report.is_file()


def test_an_older_month_loaded_late_gets_no_report_and_the_newest_keeps_its_own(site, settings_env, validations):
    from pipelines.ingest import ingest_source

    settings = settings_env()
    months = _months(settings)
    ingest_source(SOURCE, settings, since=months[3], until=months[4], progress=lambda _: None)
    newest, report = _docs_of_newest(settings)
    validations.clear()

    outcomes = ingest_source(SOURCE, settings, since=months[0], until=months[0], progress=lambda _: None)

    assert [o.status for o in outcomes] == ["loaded"]
    assert validations == [(outcomes[0].file_name, False)]  # no report, and nothing validated again
    assert _docs_of_newest(settings) == (newest, report) and report.is_file()


def test_a_file_whose_name_states_no_period_is_validated_once_with_its_data_docs(synthetic_year, settings_env,
                                                                                validations):
    """The ODS files (etr.csv): no period in the name to guess from, so the vintage decides once parsed;
    before, each new ODS file was validated a second time for its report."""
    from pipelines.ingest import ingest_source

    synthetic_year("ods_trusts")
    settings = settings_env()
    outcomes = ingest_source("ods_trusts", settings, progress=lambda _: None)

    assert [o.status for o in outcomes] == ["loaded"]
    assert validations == [(outcomes[0].file_name, True)]
