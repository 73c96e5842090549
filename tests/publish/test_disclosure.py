"""Disclosure control: crafted small counts are suppressed with everything derived from them,
no comparator total still contains them (secondary suppression), the check over written files
catches a small count planted after disclosure, and a release that fails it leaves `latest` alone.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from test_release_contents import built_warehouse, no_packs, publish_env

from pipelines.benchmark.tables import compute_benchmark_table
from pipelines.config import load_settings
from pipelines.publish import disclosure, extracts
from pipelines.publish.disclosure import CELL_STATISTICS, check_release_files, disclose_benchmark_table
from pipelines.publish.release import ReleaseError, list_releases, publish_release, verify

NETWORK = ["A01", "A02", "A03", "A04"]
OTHERS = ["B01", "B02"]
MONTHS = pd.date_range("2024-01-01", periods=6, freq="MS")
METRICS = pd.DataFrame([
    {"metric_id": "fft_inpatient_pct_positive", "source": "fft", "domain": "patient_experience", "unit": "fraction",
     "benchmark_method": "proportion", "polarity": "higher_is_better", "grain": "month"},
    {"metric_id": "ss_pp1", "source": "staff_survey_benchmark", "domain": "support_and_compassion",
     "unit": "score_0_10", "benchmark_method": "score", "polarity": "higher_is_better", "grain": "survey_year"},
    {"metric_id": "ss_response_rate", "source": "staff_survey_benchmark", "domain": "workforce", "unit": "fraction",
     "benchmark_method": "proportion", "polarity": "none", "grain": "survey_year"},
    {"metric_id": "sickness_absence_rate", "source": "sickness_absence", "domain": "staff_wellbeing",
     "unit": "percent", "benchmark_method": "rate", "polarity": "lower_is_better", "grain": "month"},
])
SETTINGS = load_settings(environ={})
RULES = disclosure.disclosure_rules(SETTINGS.disclosure, METRICS)

# The crafted small cells (trust, metric, period): each is the best value of its groups, so every
# total would move if it were still inside.
SMALL_FFT = ("A02", "fft_inpatient_pct_positive", MONTHS[-1])
SMALL_SURVEY = ("A03", "ss_pp1", pd.Timestamp("2023-01-01"))
SMALL_COMPLETED = ("A01", "ss_response_rate", pd.Timestamp("2023-01-01"))
SMALL_SICKNESS = ("A04", "sickness_absence_rate", MONTHS[-1])
UPSTREAM = ("A01", "fft_inpatient_pct_positive", MONTHS[-2])


def crafted_facts() -> pd.DataFrame:
    rows = []
    for i, org in enumerate(NETWORK + OTHERS):
        base = {"org_code": org, "org_name": f"Trust {org}", "in_network": org in NETWORK, "peer_group": "acute",
                "vintage": "v1", "extract_sha256": "0" * 64}
        for m, month in enumerate(MONTHS):
            responses = 200.0 + 10 * i
            rows.append(base | {"metric_id": "fft_inpatient_pct_positive", "period_start": month,
                                "period_end": month + pd.offsets.MonthEnd(0), "numerator": responses * (0.85 + 0.01 * i),
                                "denominator": responses})
            available = 20000.0 + 500 * i
            rows.append(base | {"metric_id": "sickness_absence_rate", "period_start": month,
                                "period_end": month + pd.offsets.MonthEnd(0),
                                "numerator": available * (0.04 + 0.002 * i + 0.001 * (m % 2)), "denominator": available})
        for year in (2022, 2023):
            start = pd.Timestamp(f"{year}-01-01")
            rows.append(base | {"metric_id": "ss_pp1", "period_start": start, "period_end": start + pd.offsets.YearEnd(0),
                                "value": 6.0 + 0.1 * i, "numerator": None, "denominator": 900.0})
            rows.append(base | {"metric_id": "ss_response_rate", "period_start": start,
                                "period_end": start + pd.offsets.YearEnd(0), "numerator": 450.0 + i, "denominator": 1000.0})
    facts = pd.DataFrame(rows)
    facts = facts.merge(METRICS.drop(columns=["source", "domain"]), on="metric_id")
    facts["metric_name"] = facts["metric_id"]
    facts["suppressed"] = False
    facts["target"] = None

    def at(cell):
        org, metric, start = cell
        return (facts["org_code"] == org) & (facts["metric_id"] == metric) & (facts["period_start"] == start)

    facts.loc[at(SMALL_FFT), ["numerator", "denominator"]] = [4.0, 4.0]  # 100% of 4 responses: the best
    facts.loc[at(SMALL_SURVEY), ["value", "denominator"]] = [9.9, 9.0]  # base of 9
    facts.loc[at(SMALL_COMPLETED), ["numerator", "denominator"]] = [8.0, 10.0]  # 8 completed questionnaires
    facts.loc[at(SMALL_SICKNESS), ["numerator", "denominator"]] = [1.0, 300.0]  # 300 FTE days available
    facts.loc[at(UPSTREAM), ["suppressed", "numerator", "denominator"]] = [True, None, None]  # the publisher's "*"
    counted = facts["benchmark_method"].isin(["proportion", "rate"])
    scale = np.where(facts["unit"] == "percent", 100.0, 1.0)
    facts.loc[counted, "value"] = (facts["numerator"] / facts["denominator"] * scale)[counted]
    facts.loc[facts["suppressed"], "value"] = None
    return facts


def rows_of(table: pd.DataFrame, cell) -> pd.DataFrame:
    org, metric, start = cell
    return table[(table["org_code"] == org) & (table["metric_id"] == metric) & (table["period_start"] == start)]


def group(table: pd.DataFrame, metric: str, start, comparator: str = "network") -> pd.DataFrame:
    return table[(table["metric_id"] == metric) & (table["period_start"] == start) & (table["comparator"] == comparator)]


@pytest.fixture(scope="module")
def tables():
    raw = compute_benchmark_table(crafted_facts())
    disclosed, report = disclose_benchmark_table(raw, RULES)
    return raw, disclosed, report


def test_rules_come_from_the_catalogue_and_the_configured_thresholds():
    rules = {r.rule_id: r for r in RULES}
    assert rules["patient_experience_min_count"].metric_ids == ("fft_inpatient_pct_positive",)
    assert rules["patient_experience_min_count"].threshold == 5
    assert rules["staff_survey_min_responses"].metric_ids == ("ss_pp1",)
    assert rules["staff_survey_min_responses"].count_column == "denominator"
    assert rules["staff_survey_min_completed"].metric_ids == ("ss_response_rate",)
    assert rules["staff_survey_min_completed"].count_column == "numerator"
    assert rules["sickness_min_fte_days_available"].threshold == 331
    stricter = load_settings(environ={"CULTURE_OUTCOMES_DISCLOSURE_PATIENT_EXPERIENCE_MIN_COUNT": "10"})
    assert disclosure.disclosure_rules(stricter.disclosure, METRICS)[0].threshold == 10


def test_small_counts_are_suppressed_with_every_derived_statistic(tables):
    raw, disclosed, report = tables
    for cell in (SMALL_FFT, SMALL_SURVEY, SMALL_COMPLETED, SMALL_SICKNESS, UPSTREAM):
        before, after = rows_of(raw, cell), rows_of(disclosed, cell)
        assert len(after) == len(before) == 3  # network, peer group, England: every sibling row
        assert after["suppressed"].all()
        for name in CELL_STATISTICS:
            assert after[name].isna().all(), (cell, name)
        assert (after["significance_reason"] == "suppressed").all()
    assert rows_of(raw, SMALL_FFT)["rank"].eq(1).all()  # it was ranked (and best) before disclosure
    counts = {r["rule_id"]: r["cells_suppressed_at_publication"] for r in report["primary_rules"]}
    assert counts == {"patient_experience_min_count": 1, "staff_survey_min_responses": 1,
                      "staff_survey_min_completed": 1, "sickness_min_fte_days_available": 1}
    assert report["cells_suppressed_upstream"] == 1 and report["cells_suppressed_total"] == 5
    untouched = disclosed[~disclosed["suppressed"].astype(bool)]
    assert untouched["value"].notna().all() and len(untouched) == len(raw) - 15


@pytest.mark.parametrize("cell", [SMALL_FFT, SMALL_SURVEY, SMALL_SICKNESS, SMALL_COMPLETED])
def test_no_group_total_still_contains_a_suppressed_member(tables, cell):
    """Secondary suppression: the totals published beside the members are rebuilt without the
    suppressed one, so total minus the published members recovers nothing."""
    raw, disclosed, report = tables
    _, metric, start = cell
    hidden_value = float(rows_of(raw, cell)["value"].iloc[0])
    for comparator in ("network", "peer_group", "england"):
        before, after = group(raw, metric, start, comparator), group(disclosed, metric, start, comparator)
        published = after[~after["suppressed"].astype(bool)]
        assert int(after["comparator_n"].iloc[0]) == len(published) == int(before["comparator_n"].iloc[0]) - 1
        assert float(before["best"].iloc[0]) == pytest.approx(hidden_value)  # the crafted cell was the best
        assert float(after["best"].iloc[0]) != pytest.approx(hidden_value)
        assert sorted(published["rank"].astype(int)) == list(range(1, len(published) + 1))
        values = published["value"].astype(float)
        assert float(after["median"].iloc[0]) == pytest.approx(float(np.median(values)))
        if metric != "ss_pp1":  # pooled ratio of sums: exactly the published members' counts
            scale = 100.0 if metric == "sickness_absence_rate" else 1.0
            pooled = published["numerator"].astype(float).sum() / published["denominator"].astype(float).sum()
            assert float(after["comparator_value"].iloc[0]) == pytest.approx(pooled * scale)
    assert report["secondary_rules"][1]["benchmark_table_recomputed"] is True


def test_the_trusts_own_series_statistics_leave_the_suppressed_point_out(tables):
    raw, disclosed, _ = tables
    org, metric, _ = SMALL_FFT
    series = lambda t: t[(t["org_code"] == org) & (t["metric_id"] == metric) & (t["comparator"] == "england")]  # noqa: E731
    assert int(series(disclosed)["spc_points"].max()) == int(series(raw)["spc_points"].max()) - 1
    published = series(disclosed)
    published = published[~published["suppressed"].astype(bool)]
    if series(disclosed)["spc_mean"].notna().any():
        assert float(series(disclosed)["spc_mean"].dropna().iloc[0]) == pytest.approx(published["value"].astype(float).mean())


def test_disclosure_is_idempotent_and_does_not_recompute_without_new_suppressions(tables):
    _, disclosed, _ = tables
    again, report = disclose_benchmark_table(disclosed, RULES)
    assert report["secondary_rules"][1]["benchmark_table_recomputed"] is False
    assert sum(r["cells_suppressed_at_publication"] for r in report["primary_rules"]) == 0
    pd.testing.assert_frame_equal(again.reset_index(drop=True), disclosed.reset_index(drop=True), check_dtype=False)


def write_all(table: pd.DataFrame, folder: Path) -> list[Path]:
    notes = extracts.Notes(title="test", reference={"release_id": "x"}, metrics=METRICS)
    return extracts.write_extract(table, folder, "benchmarks_network", notes)


def test_the_written_files_pass_the_check_and_show_the_marker(tables, tmp_path):
    _, disclosed, _ = tables
    csv, parquet, xlsx = write_all(disclosed, tmp_path)
    assert check_release_files(tmp_path, RULES) == {"files_checked": 3, "findings": 0}
    text = pd.read_csv(csv, dtype=str, keep_default_na=False)
    hidden = rows_of(text.assign(period_start=pd.to_datetime(text["period_start"])), SMALL_FFT)
    assert (hidden[["value", "numerator", "denominator", "rank", "ci_lower", "significance"]] == "*").all().all()
    typed = pd.read_parquet(parquet)
    assert rows_of(typed.assign(period_start=pd.to_datetime(typed["period_start"])), SMALL_FFT)["value"].isna().all()


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx", "duckdb"])
def test_the_check_finds_a_small_count_in_every_format(tables, tmp_path, fmt):
    raw, _, _ = tables
    leaky = raw.copy()  # not disclosed: A02's 4 FFT responses are there
    if fmt == "duckdb":
        con = duckdb.connect(str(tmp_path / "snapshot.duckdb"))
        con.execute("create schema marts")
        con.register("leaky", leaky)
        con.execute("create table marts.fct_culture_outcomes as select org_code, metric_id, grain, period_start, "
                    "value, numerator, denominator, suppressed from leaky")
        con.close()
    else:
        notes = extracts.Notes(title="t", reference={})
        {"csv": extracts.write_csv, "parquet": extracts.write_parquet,
         "xlsx": lambda t, p: extracts.write_xlsx(t, p, notes)}[fmt](leaky, tmp_path / f"leaky.{fmt}")
    with pytest.raises(ReleaseError, match="patient_experience_min_count") as failure:
        check_release_files(tmp_path, RULES)
    assert "staff_survey_min_responses" in str(failure.value) and "sickness_min_fte_days_available" in str(failure.value)


def test_the_check_finds_a_suppressed_row_that_still_shows_a_statistic(tables, tmp_path):
    _, disclosed, _ = tables
    leaky = disclosed.copy()
    row = rows_of(leaky, SMALL_SURVEY).index[0]
    leaky.loc[row, "rank"] = 1
    extracts.write_parquet(leaky, tmp_path / "leaky.parquet")
    with pytest.raises(ReleaseError, match="suppressed but rank is published"):
        check_release_files(tmp_path, RULES)


def test_the_check_finds_a_cell_suppressed_in_one_file_but_shown_in_another(tables, tmp_path):
    raw, disclosed, _ = tables
    extracts.write_csv(disclosed, tmp_path / "disclosed.csv")
    # The upstream-suppressed cell has no small count anywhere; show a value for it in another file.
    other = rows_of(raw, UPSTREAM).assign(suppressed=False, value=0.9, numerator=None, denominator=None)
    extracts.write_parquet(other, tmp_path / "other.parquet")
    with pytest.raises(ReleaseError, match="suppressed in one published table and shown in another"):
        check_release_files(tmp_path, RULES)


# --- through publish_release ----------------------------------------------------------------------------------

def test_a_small_count_planted_in_a_written_file_fails_the_release_and_latest_stays(tmp_path_factory, monkeypatch):
    """First a release with a stricter threshold set at publication (cells dbt kept are suppressed
    here, the table is recomputed and the dashboard's yearly totals withheld), then a release in
    which a small count is planted in a trust's CSV after it was written: it fails, nothing of it
    remains and `latest` still points at the first."""
    no_packs(monkeypatch)
    template = built_warehouse(tmp_path_factory)
    tmp = tmp_path_factory.mktemp("disclosure")
    settings = load_settings(environ=publish_env(
        tmp, template, CULTURE_OUTCOMES_DISCLOSURE_PATIENT_EXPERIENCE_MIN_COUNT="250"))
    first = publish_release(settings, progress=lambda line: None)
    folder = Path(first["path"])
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    fft_rule = next(r for r in manifest["disclosure"]["primary_rules"] if r["rule_id"] == "patient_experience_min_count")
    # RC9 and RD8 report 224 responses a month (23 months each not already suppressed) and RC9 has one
    # 2019 "percentage recommended" month of 200: 47 cells that dbt kept are suppressed here.
    assert fft_rule["threshold"] == 250 and fft_rule["cells_suppressed_at_publication"] == 47
    assert manifest["disclosure"]["secondary_rules"][1]["benchmark_table_recomputed"] is True
    snapshot = manifest["disclosure"]["bi_snapshot"]
    assert snapshot["fct_culture_outcomes"]["cells_suppressed_at_publication"]["patient_experience_min_count"] == 47
    assert snapshot["mart_culture_outcomes_dashboard"]["rows_withheld"] == 4  # RC9, RD8 x two outcome years
    network = pd.read_parquet(folder / "benchmarks_network.parquet")
    fft = network[network["metric_id"] == "fft_inpatient_pct_positive"]
    assert (fft["denominator"].dropna() >= 250).all()
    assert fft.loc[fft["org_code"].isin(["RC9", "RD8"]), "value"].isna().all()
    members = fft[(fft["comparator"] == "network") & ~fft["suppressed"].astype(bool)]
    assert set(members["org_code"]) == {"RWK"} and (members["comparator_n"] == 1).all()
    con = duckdb.connect(str(folder / "bi" / "culture_outcomes.duckdb"), read_only=True)
    try:
        dashboard = con.execute("select fft_inpatient_pct_positive, sickness_absence_rate from "
                                "marts.mart_culture_outcomes_dashboard where org_code in ('RC9', 'RD8') and "
                                "outcome_financial_year in ('2023-24', '2024-25')").fetchall()
    finally:
        con.close()
    assert dashboard and all(v is None for row in dashboard for v in row)

    def plant(line: str) -> None:
        if line.startswith("[2/6]"):
            staging = next(settings.paths.published.glob(".staging-*"))
            path = staging / "trusts" / "benchmarks_RC9.csv"
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            row = frame.index[frame["metric_id"] == "sickness_absence_rate"][0]
            frame.loc[row, "denominator"] = "300"  # below 331 FTE days available
            frame.to_csv(path, index=False)

    with pytest.raises(ReleaseError, match="disclosure check failed.*benchmarks_RC9.csv.*sickness_min_fte_days"):
        publish_release(settings, progress=plant)
    published = settings.paths.published
    assert os.readlink(published / "latest") == first["release_id"]
    assert [r["release_id"] for r in list_releases(settings)] == [first["release_id"]]
    assert not list(published.glob(".staging-*"))
    assert sorted(p.name for p in published.iterdir()) == sorted([first["release_id"], "latest"])
    verify(published / "latest")


# --- reading back a national table a chunk at a time -----------------------------------------------------------

def _cells(rows: int) -> pd.DataFrame:
    return pd.DataFrame({
        "org_code": [f"R{i:04d}" for i in range(rows)], "metric_id": "fft_ae_recommend", "grain": "month",
        "period_start": pd.Timestamp("2024-04-01"), "value": 0.9, "rank": 1.0, "suppressed": False,
    })


def test_a_leak_deep_in_a_large_table_is_found_and_named_by_its_row(tmp_path):
    table = _cells(5_000)  # several chunks of the read-back
    table.loc[4_100, ["value", "suppressed"]] = [None, True]  # suppressed, yet its rank is still there
    extracts.write_parquet(table, tmp_path / "national.parquet")
    with pytest.raises(ReleaseError, match=r"national.parquet row 4102: suppressed but rank is published"):
        check_release_files(tmp_path, [])


def test_each_table_of_a_duckdb_snapshot_is_read_back_on_its_own(tmp_path):
    from pipelines.publish.disclosure import _read_backs

    with duckdb.connect(str(tmp_path / "snapshot.duckdb")) as con:
        con.execute("create schema marts; create schema benchmarks")
        con.register("cells", _cells(10))
        con.execute("create table marts.fct_culture_outcomes as select * from cells")
        con.execute("create table benchmarks.benchmark_table as select * from cells")
        con.execute("create table marts.dim_organisation as select org_code from cells")
    jobs = _read_backs(tmp_path, [tmp_path / "snapshot.duckdb"], [])
    assert [job.table for job in jobs] == [("benchmarks", "benchmark_table"), ("marts", "fct_culture_outcomes")]
    assert check_release_files(tmp_path, []) == {"files_checked": 1, "findings": 0}


def test_a_cell_hidden_in_the_snapshot_but_shown_in_a_csv_is_caught_across_formats(tmp_path):
    # The DuckDB key is made in SQL and the CSV's in pandas: they must be the same text.
    with duckdb.connect(str(tmp_path / "snapshot.duckdb")) as con:
        con.execute("create schema marts")
        con.register("hidden", _cells(3).assign(value=None, rank=None, suppressed=True))
        con.execute("create table marts.fct_culture_outcomes as select * from hidden")
    extracts.write_csv(_cells(3).head(1), tmp_path / "trust.csv")
    with pytest.raises(ReleaseError, match=r"cell R0000\|fft_ae_recommend\|month\|2024-04-01 is suppressed in one"):
        check_release_files(tmp_path, [])


def test_an_unreadable_duckdb_snapshot_fails_the_check_with_duckdbs_own_reason(tmp_path):
    (tmp_path / "snapshot.duckdb").write_bytes(b"not a database at all" * 100)
    with pytest.raises(ReleaseError, match=r"snapshot.duckdb: could not be read back") as failure:
        check_release_files(tmp_path, [])
    assert "its tables could not be listed" not in str(failure.value)  # DuckDB's reason, not a generic one


@pytest.mark.parametrize("fmt", ["csv", "parquet", "duckdb"])
def test_typed_and_text_files_agree_on_what_is_absent_and_what_is_a_flag(tmp_path, fmt):
    # DuckDB checks the typed files in SQL and pandas the text ones: a NaN, a blank and the marker
    # are absent in both, and a flag written as 1 / "true" counts as one.
    table = _cells(4).assign(rank=[np.nan, None, 2.0, np.nan], value=[None, None, None, 0.9],
                             suppressed=[1, 1, 1, 0])
    if fmt == "duckdb":
        with duckdb.connect(str(tmp_path / "snapshot.duckdb")) as con:
            con.register("cells", table)
            con.execute("create schema marts; create table marts.fct_culture_outcomes as select * from cells")
    else:
        # as written by hand: the release's CSV writer would put the marker over the leak
        {"csv": lambda t, p: t.to_csv(p, index=False), "parquet": extracts.write_parquet}[fmt](
            table, tmp_path / f"cells.{fmt}")
    with pytest.raises(ReleaseError) as failure:
        check_release_files(tmp_path, [])
    assert re.findall(r"row (\d+): suppressed but (\w+)", str(failure.value)) == [("4", "rank")]


def test_a_release_read_back_as_it_is_written_judges_its_tables_together(tmp_path):
    """What publishing does: the extracts read back while the snapshot is written, then the snapshot."""
    from pipelines.parallel import forked_workers
    from pipelines.publish.disclosure import ReleaseReadBack

    extracts.write_csv(_cells(3).head(1), tmp_path / "trust.csv")
    with forked_workers(2) as workers:
        check = ReleaseReadBack(tmp_path, [], workers)
        check.read_new()
        (tmp_path / "bi").mkdir()
        with duckdb.connect(str(tmp_path / "bi" / "snapshot.duckdb")) as con:
            con.execute("create schema marts")
            con.register("hidden", _cells(3).assign(value=None, rank=None, suppressed=True))
            con.execute("create table marts.fct_culture_outcomes as select * from hidden")
        check.read_new()
        with pytest.raises(ReleaseError, match=r"cell R0000\|fft_ae_recommend\|month\|2024-04-01 is suppressed in one"):
            check.result()


def test_a_table_written_after_the_last_read_back_fails_the_check(tmp_path):
    from pipelines.parallel import forked_workers
    from pipelines.publish.disclosure import ReleaseReadBack

    extracts.write_csv(_cells(3), tmp_path / "trust.csv")
    with forked_workers(2) as workers:
        check = ReleaseReadBack(tmp_path, [], workers)
        check.read_new()
        (tmp_path / "packs").mkdir()
        _cells(3).to_csv(tmp_path / "packs" / "RC9.csv", index=False)
        check.read_new(excluding=("packs",))  # being written meanwhile: not read now
        with pytest.raises(ReleaseError, match=r"1 table\(s\) written after the read-back, so never read back: "
                                               r"packs/RC9.csv"):
            check.result()
