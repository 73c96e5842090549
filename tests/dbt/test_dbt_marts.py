"""The dbt marts reproduce values computed independently from the raw dataset, on both warehouses."""

from __future__ import annotations

import math
from datetime import date

import pytest
import raw_dataset as rd
from scipy import stats

FY_2024_25 = [(y, m) for (y, m) in rd.MONTHS_2022_2025 if date(y, m, 1) >= date(2024, 4, 1)]


def _raw_rows(extracts, **match):
    return [r for e in extracts for r in e.rows if all(r[k] == v for k, v in match.items())]


def _annual_sickness(code: str) -> float:
    """Sum of FTE days lost / sum of FTE days available x 100 over April 2024 - March 2025."""
    rows = [
        r
        for r in _raw_rows(rd.sickness_extracts())
        if r["period_start"] >= date(2024, 4, 1) and r["org_code"] == rd._reporting_code(code, 2024, 4)
    ]
    assert len(rows) == 12
    return sum(r["numerator"] for r in rows) / sum(r["denominator"] for r in rows) * 100


def test_build_ran_unit_tests_and_contracts(built):
    assert "Completed successfully" in built.dbt_output
    assert "7 unit tests" in built.dbt_output


def test_named_trust_sickness_rate(built):
    expected = _annual_sickness("RC9")
    row = built.one(
        "select * from marts.mart_culture_outcomes_dashboard where org_code = 'RC9' and survey_year = 2023"
    )
    assert row["outcome_financial_year"] == "2024-25"
    assert row["sickness_absence_rate"] == pytest.approx(expected, rel=1e-12)
    assert row["sickness_absence_months"] == 12
    assert row["is_network_member"] is True
    # a single month in the fact table is the published value, with its lineage
    published = _raw_rows(rd.sickness_extracts(), org_code="RC9", period_start=date(2024, 5, 1))[0]
    fact = built.one(
        "select * from marts.fct_culture_outcomes where org_code = 'RC9' and metric_id = 'sickness_absence_rate' "
        "and period_start = ?",
        (date(2024, 5, 1),),
    )
    assert fact["value"] == pytest.approx(published["value"])
    assert fact["numerator"] == pytest.approx(published["numerator"])
    assert fact["vintage"] == "2024-05"
    assert fact["financial_year"] == "2024-25"
    assert fact["survey_year"] == 2023
    assert len(fact["extract_sha256"]) == 64


def test_merged_trust_history_is_continuous_under_successor(built):
    facts = built.rows(
        "select * from marts.fct_culture_outcomes where metric_id = 'sickness_absence_rate' "
        "and org_code in ('R1A', 'R1B', 'R1C') order by period_start"
    )
    assert {f["org_code"] for f in facts} == {"R1C"}
    assert [(f["period_start"].year, f["period_start"].month) for f in facts] == rd.MONTHS_2022_2025
    for fact in facts:
        year, month = fact["period_start"].year, fact["period_start"].month
        reporter = rd._reporting_code("R1C", year, month)
        published = _raw_rows(rd.sickness_extracts(), org_code=reporter, period_start=fact["period_start"])[0]
        assert fact["value"] == pytest.approx(published["value"])
        assert fact["published_org_codes"] == reporter
        assert fact["attribution"] == ("as_published" if reporter == "R1C" else "successor")
    # the survey year 2022 published by R1B is R1C's too
    dash = built.one(
        "select * from marts.mart_culture_outcomes_dashboard where org_code = 'R1C' and survey_year = 2022"
    )
    assert dash["theme_morale"] == pytest.approx(rd.survey_score("R1B", 2022, "theme_morale", 2024))


def test_merging_trusts_combine_additive_metrics_but_not_scores(built):
    a = _raw_rows(rd.sickness_extracts(), org_code="R2A", period_start=date(2022, 4, 1))[0]
    b = _raw_rows(rd.sickness_extracts(), org_code="R2B", period_start=date(2022, 4, 1))[0]
    fact = built.one(
        "select * from marts.fct_culture_outcomes where org_code = 'R2B' and metric_id = 'sickness_absence_rate' "
        "and period_start = ?",
        (date(2022, 4, 1),),
    )
    assert fact["value"] == pytest.approx(
        (a["numerator"] + b["numerator"]) / (a["denominator"] + b["denominator"]) * 100
    )
    assert fact["attribution"] == "successor_combined"
    assert fact["published_org_codes"] == "R2A,R2B"
    scores = built.rows(
        "select org_code, value from marts.fct_culture_outcomes where metric_id = 'ss_pp1' "
        "and survey_year = 2022 and org_code in ('R2A', 'R2B') order by org_code"
    )
    assert [s["org_code"] for s in scores] == ["R2A", "R2B"]
    assert scores[0]["value"] == pytest.approx(rd.survey_score("R2A", 2022, "pp1", 2024))


def test_turnover_leaver_rate(built):
    leavers, start, end = rd.turnover_numbers("RC9", 2024)
    expected = leavers / ((start + end) / 2)
    fact = built.one(
        "select * from marts.fct_culture_outcomes where org_code = 'RC9' and metric_id = 'turnover_leaver_rate' "
        "and period_end = ?",
        (date(2025, 3, 31),),
    )
    assert fact["value"] == pytest.approx(expected, rel=1e-12)
    assert fact["grain"] == "rolling_12m"
    assert fact["period_start"] == date(2024, 4, 1)
    assert fact["financial_year"] == "2024-25"
    dash = built.one(
        "select * from marts.mart_culture_outcomes_dashboard where org_code = 'RC9' and survey_year = 2023"
    )
    assert dash["turnover_leaver_rate"] == pytest.approx(expected, rel=1e-12)
    # a merger: leavers and both denominators are summed before the rate is taken
    la, sa, ea = rd.turnover_numbers("R2A", 2022)
    lb, sb, eb = rd.turnover_numbers("R2B", 2022)
    merged = built.one(
        "select value from marts.fct_culture_outcomes where org_code = 'R2B' and metric_id = 'turnover_leaver_rate' "
        "and period_end = ?",
        (date(2023, 3, 31),),
    )
    assert merged["value"] == pytest.approx((la + lb) / (((sa + sb) + (ea + eb)) / 2), rel=1e-12)


def test_association_rho_matches_independent_spearman(built):
    codes = sorted(rd.ENGAGEMENT_2023)
    culture = [rd.ENGAGEMENT_2023[c] for c in codes]
    outcome = [_annual_sickness(c) for c in codes]
    expected = stats.spearmanr(culture, outcome).statistic
    n = len(codes)
    z, se = math.atanh(expected), 1.06 / math.sqrt(n - 3)
    row = built.one(
        "select * from marts.mart_culture_outcome_associations where survey_year = 2023 and scope = 'national' "
        "and culture_metric_id = 'ss_theme_engagement' and outcome_metric_id = 'sickness_absence_rate'"
    )
    assert row["n_trusts"] == n == 15
    assert row["spearman_rho"] == pytest.approx(expected, abs=1e-12)
    assert row["ci_lower"] == pytest.approx(math.tanh(z - 1.959964 * se), abs=1e-9)
    assert row["ci_upper"] == pytest.approx(math.tanh(z + 1.959964 * se), abs=1e-9)
    assert row["null_reason"] is None
    network = built.one(
        "select * from marts.mart_culture_outcome_associations where survey_year = 2023 and scope = 'network' "
        "and culture_metric_id = 'ss_theme_engagement' and outcome_metric_id = 'sickness_absence_rate'"
    )
    assert network["n_trusts"] == 6
    assert network["spearman_rho"] is None and network["ci_lower"] is None
    assert "fewer than 10" in network["null_reason"]


def test_fft_series_and_suppression(built):
    rec = built.rows(
        "select * from marts.fct_culture_outcomes where org_code = 'RC9' and period_start = ?",
        (date(2019, 6, 1),),
    )
    assert [r["metric_id"] for r in rec] == ["fft_inpatient_pct_recommended"]
    suppressed = built.one(
        "select * from marts.fct_culture_outcomes where org_code = 'RC9' and metric_id = 'fft_inpatient_pct_positive' "
        "and period_start = ?",
        (date(2024, 6, 1),),
    )
    assert suppressed["suppressed"] is True and suppressed["value"] is None
    small = built.one(
        "select * from marts.fct_culture_outcomes where org_code = 'RD8' and metric_id = 'fft_inpatient_pct_positive' "
        "and period_start = ?",
        (date(2024, 7, 1),),
    )
    assert small["suppressed"] is True and small["value"] is None
    for code, skipped in (("RC9", (2024, 6)), ("RD8", (2024, 7)), ("RWK", None)):
        months = [(y, m) for (y, m) in FY_2024_25 if (y, m) != skipped]
        shares = [p / n for p, n in (rd.fft_positive(code, y, m) for y, m in months)]
        dash = built.one(
            "select * from marts.mart_culture_outcomes_dashboard where org_code = ? and survey_year = 2023",
            (code,),
        )
        assert dash["fft_inpatient_pct_positive"] == pytest.approx(sum(shares) / len(shares), rel=1e-12)
        assert dash["fft_inpatient_months"] == len(months)


def test_latest_vintage_and_disclosure(built):
    morale = built.one(
        "select * from marts.fct_culture_outcomes where org_code = 'RC9' and metric_id = 'ss_theme_morale' "
        "and survey_year = 2022"
    )
    assert morale["vintage"] == "2024"
    assert morale["value"] == pytest.approx(rd.survey_score("RC9", 2022, "theme_morale", 2024))
    assert morale["value"] != pytest.approx(rd.survey_score("RC9", 2022, "theme_morale", 2023))
    small_base = built.one(
        "select * from marts.fct_culture_outcomes where org_code = 'RYC' and metric_id = 'ss_pp1' and survey_year = 2022"
    )
    assert small_base["suppressed"] is True and small_base["value"] is None
    fte = built.one(
        "select * from marts.fct_culture_outcomes where org_code = 'RC9' and metric_id = 'staff_in_post_fte' "
        "and period_start = ?",
        (date(2024, 3, 1),),
    )
    assert fte["vintage"] == "2025-03"
    assert fte["value"] == pytest.approx(rd.staff_in_post("RC9", 2024, 3, "2025-03"))
    dash = built.one(
        "select * from marts.mart_culture_outcomes_dashboard where org_code = 'RC9' and survey_year = 2023"
    )
    assert dash["staff_in_post_fte"] == pytest.approx(rd.staff_in_post("RC9", 2025, 3, "2025-03"))
    assert dash["theme_engagement"] == pytest.approx(rd.ENGAGEMENT_2023["RC9"])


def test_organisation_dimension(built):
    orgs = {r["org_code"]: r for r in built.rows("select * from marts.dim_organisation")}
    assert orgs["R1A"]["successor_code"] == "R1C" and orgs["R1B"]["successor_code"] == "R1C"
    assert orgs["R3A"]["successor_code"] is None and orgs["R3A"]["is_split_succession"] is True
    assert {c for c, r in orgs.items() if r["is_network_member"]} == set(rd.NETWORK)
    assert (
        orgs["RBV"]["org_type"] == "acute specialist"
        and orgs["RBV"]["peer_group"] == "national_acute_specialist"
    )
    assert orgs["RV3"]["org_type"] == "mental health"
    assert orgs["QHG"]["org_type"] == "other"
    assert orgs["R1A"]["close_date"] == date(2022, 9, 30)
    dashboard_codes = {
        r["org_code"] for r in built.rows("select org_code from marts.mart_culture_outcomes_dashboard")
    }
    assert "QHG" not in dashboard_codes
    metrics = {r["metric_id"]: r for r in built.rows("select * from marts.dim_metric")}
    assert (
        metrics["ss_pp4_2"]["domain_type"] == "outcome" and metrics["ss_pp4_2"]["domain"] == "staff_wellbeing"
    )
    assert metrics["ss_pp7"]["domain"] == "teamwork"
    assert metrics["turnover_leaver_rate"]["polarity"] == "lower_is_better"
