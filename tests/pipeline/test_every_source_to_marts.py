"""Every source, from the synthetic publisher over HTTP to the marts and benchmark tables.

The synthetic publisher plants a known truth: culture drives patient experience up and sickness
absence down, three trusts merge in two steps, and a few trusts' sickness absence shifts. The
marts must recover it. (No Airflow here: the ingest steps are the ones the DAGs call.)
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.xdist_group("national")


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    """Built once per test session, whichever xdist worker gets here first (a file lock guards it)."""
    import json

    from filelock import FileLock

    from pipelines.config import load_settings
    from pipelines.synthetic.world import World

    root = tmp_path_factory.getbasetemp().parent / "national-pipeline"
    world = World(years=2)
    with FileLock(str(root) + ".lock"):
        if not (root / "outcomes.json").exists():
            _build(world, root)
        summary = json.loads((root / "outcomes.json").read_text())
    settings = load_settings(environ={"CULTURE_OUTCOMES_PATHS_DATA_DIR": str(root / "data")})
    return world, settings, summary["statuses"], summary["rejected"]


def _build(world, root):
    import json

    from pipelines.config import load_settings
    from pipelines.ingest import ExtractRejected, ingest_source
    from pipelines.publisher_server import serve
    from pipelines.sources.catalogue import SOURCES
    from pipelines.synthetic.site import build_site
    from pipelines.transform import run_dbt
    from pipelines.warehouse.loader import ensure_raw_tables

    build_site(world, root / "site", progress=lambda _: None)
    with serve(root / "site") as url:
        settings = load_settings(environ={
            "CULTURE_OUTCOMES_PATHS_DATA_DIR": str(root / "data"),
            "CULTURE_OUTCOMES_PUBLISHER_BASE_URL": url,
        })
        # ODS first, so the other sources are checked against it; then the fiscal year 2025-26
        # that follows the 2024 survey's fieldwork, which the dashboard and associations use.
        order = sorted(SOURCES, key=lambda spec: spec.kind != "reference")
        outcomes = {spec.id: ingest_source(spec.id, settings, since="2025-04", progress=lambda _: None)
                    for spec in order}
    ensure_raw_tables(settings)
    run_dbt(settings, "build")
    from pipelines.benchmark.tables import build_benchmark_tables

    build_benchmark_tables(settings)
    summary = {
        "statuses": {sid: [getattr(r, "status", "rejected") for r in res] for sid, res in outcomes.items()},
        "rejected": {sid: [str(r) for r in res if isinstance(r, ExtractRejected)] for sid, res in outcomes.items()},
    }
    (root / "outcomes.json").write_text(json.dumps(summary))


def _query(settings, sql):
    from pipelines.warehouse.connection import connect

    with connect(settings, read_only=True) as warehouse:
        return warehouse.query(sql)


def test_every_source_loads_without_quarantine(national):
    _, _, outcomes, rejected = national
    assert all(not messages for messages in rejected.values()), rejected
    assert all("loaded" in statuses for statuses in outcomes.values())


def test_every_source_reaches_the_fact_table(national):
    _, settings, _, _ = national
    sources = set(_query(settings, "select distinct source from marts.fct_culture_outcomes")["source"])
    assert {"sickness_absence", "staff_survey_benchmark", "fft", "workforce_staff_in_post", "turnover"} <= sources


def test_the_planted_culture_outcome_links_are_recovered(national):
    _, settings, _, _ = national
    links = _query(settings, """
        select outcome_metric_id, spearman_rho, n_trusts, ci_upper, ci_lower
        from marts.mart_culture_outcome_associations
        where scope = 'national' and survey_year = 2024 and culture_metric_id = 'ss_theme_engagement'
          and outcome_metric_id in ('sickness_absence_rate', 'fft_inpatient_pct_positive')
    """).set_index("outcome_metric_id")
    assert links.loc["sickness_absence_rate", "n_trusts"] >= 100
    assert links.loc["sickness_absence_rate", "ci_upper"] < 0  # better culture, less sickness
    assert links.loc["fft_inpatient_pct_positive", "ci_lower"] > 0  # better culture, better experience


def test_a_merged_trusts_history_continues_under_its_successor(national):
    world, settings, _, _ = national
    chain = world.successions
    survivor = chain[-1].new
    months = _query(settings, f"""
        select count(distinct period_start) as n from marts.fct_culture_outcomes
        where org_code = '{survivor}' and metric_id = 'sickness_absence_rate'
    """)
    assert int(months["n"].iloc[0]) == 15  # April 2025 to June 2026, across the merger date
    orphans = _query(settings, f"""
        select count(*) as n from marts.fct_culture_outcomes
        where org_code in ('{chain[0].old}', '{chain[1].old}') and metric_id = 'sickness_absence_rate'
    """)
    assert int(orphans["n"].iloc[0]) == 0


def test_the_planted_sickness_shifts_are_flagged_by_spc(national):
    world, settings, _, _ = national
    icons = _query(settings, """
        select distinct org_code, variation_icon from benchmarks.benchmark_table
        where metric_id = 'sickness_absence_rate' and comparator = 'england' and is_latest_period
    """).set_index("org_code")["variation_icon"]
    shifted = list(world.default_shifted_trusts)
    assert all(icons[code] == "concern_high" for code in shifted), icons[shifted]
