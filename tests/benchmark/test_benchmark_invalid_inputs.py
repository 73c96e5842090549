"""Invalid or insufficient inputs give explicit "not computed" reasons, never an exception that
stops the run, and never disturb the statistics of the valid rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from benchmark_facts import make_facts, select

from pipelines.benchmark import compute_benchmark_table
from pipelines.benchmark.schema import COLUMN_NAMES


def with_bad_cell(column_values: dict[str, object], metric: str = "fft_positive") -> pd.DataFrame:
    facts = make_facts(metrics=[metric], periods=1)
    bad = facts["org_code"] == "A01"
    for column, value in column_values.items():
        facts[column] = facts[column].astype(object)
        facts.loc[bad, column] = value
    return facts


@pytest.mark.parametrize(
    "change,metric,reason",
    [
        ({"numerator": 150.0, "denominator": 100.0, "value": 1.5}, "fft_positive",
         "numerator exceeds denominator for a proportion"),
        ({"denominator": 0.0}, "fft_positive", "denominator is not positive"),
        ({"denominator": -5.0}, "sickness_rate", "denominator is not positive"),
        ({"numerator": -1.0}, "sickness_rate", "numerator is negative"),
        ({"numerator": None}, "fft_positive", "numerator or denominator not published"),
        ({"denominator": "n/a"}, "sickness_rate", "numerator or denominator not published"),
    ],
)
def test_invalid_counts_give_a_reason_and_leave_the_other_rows_alone(change, metric, reason):
    facts = with_bad_cell(change, metric)
    table = compute_benchmark_table(facts)
    bad = select(table, org_code="A01")
    assert (bad["significance"] == "Not compared").all()
    assert (bad["significance_reason"] == reason).all()
    assert bad[["ci_lower", "ci_upper", "funnel_lower_95", "funnel_flag"]].isna().all().all()
    assert (bad["funnel_reason"] == reason).all()
    # Still ranked on its published value.
    assert bad["rank"].notna().all()
    good = table[table["org_code"] != "A01"]
    assert good["ci_lower"].notna().all() and good["funnel_lower_95"].notna().all()
    # The invalid cell's counts stay out of the pooled comparator value.
    valid = facts[facts["org_code"] != "A01"]
    scale = 100.0 if metric == "sickness_rate" else 1.0
    pooled = valid["numerator"].astype(float).sum() / valid["denominator"].astype(float).sum() * scale
    assert select(table, comparator="england")["comparator_value"].iloc[0] == pytest.approx(pooled)


@pytest.mark.parametrize(
    "column,value,fragment",
    [
        ("polarity", "up", "polarity 'up' is not one of"),
        ("polarity", None, "polarity None is not one of"),
        ("benchmark_method", "funnel", "benchmark_method 'funnel' is not one of"),
    ],
)
def test_metric_attributes_outside_the_catalogue_vocabulary_give_reasons(column, value, fragment):
    facts = make_facts(metrics=["fft_positive"], periods=16)
    facts[column] = value
    table = compute_benchmark_table(facts)
    assert len(table) > 0
    assert (table["significance"] == "Not compared").all()
    assert table["significance_reason"].str.contains(fragment, regex=False).all()
    if column == "polarity":
        assert table[["rank", "best", "worst"]].isna().all().all()
        assert table["distribution_reason"].str.contains(fragment, regex=False).all()
        assert table["variation_icon"].isna().all()
        assert table["spc_reason"].str.contains("icons not computed").all()
    else:
        assert table["funnel_reason"].str.contains(fragment, regex=False).all()
        assert table["rank"].notna().all()
    assert table["median"].notna().all()


def test_non_numeric_and_infinite_values_are_missing_not_zero():
    facts = with_bad_cell({"value": "x"}, "pp1_score")
    facts.loc[facts["org_code"] == "A02", "value"] = np.inf
    table = compute_benchmark_table(facts)
    for code in ("A01", "A02"):
        rows = select(table, org_code=code)
        assert rows["value"].isna().all() and rows["rank"].isna().all()
        assert (rows["distribution_reason"] == "value not published: not ranked").all()
    assert (select(table, comparator="england")["comparator_n"] == 11).all()


def test_empty_facts_give_an_empty_table_with_every_column():
    table = compute_benchmark_table(make_facts(periods=1).iloc[0:0])
    assert list(table.columns) == list(COLUMN_NAMES) and table.empty


def test_facts_without_a_required_column_are_a_programming_error():
    with pytest.raises(ValueError, match="lack the columns"):
        compute_benchmark_table(make_facts(periods=1).drop(columns=["polarity"]))


def test_optional_columns_may_be_absent():
    facts = make_facts(periods=2).drop(columns=["org_name", "metric_name", "grain", "period_end", "target",
                                                "vintage", "extract_sha256"])
    table = compute_benchmark_table(facts)
    assert len(table) > 0 and table["org_name"].isna().all() and table["rank"].notna().all()


def test_duplicate_facts_keep_the_latest_vintage():
    facts = make_facts(metrics=["pp1_score"], periods=1)
    old = facts[facts["org_code"] == "A01"].assign(vintage="2025-01", value=1.0)
    table = compute_benchmark_table(pd.concat([facts, old], ignore_index=True))
    rows = select(table, org_code="A01")
    assert len(rows) == 3
    assert (rows["value"] == facts.loc[facts["org_code"] == "A01", "value"].iloc[0]).all()


def test_facts_missing_keys_are_left_out_with_a_warning(caplog):
    facts = make_facts(metrics=["pp1_score"], periods=1)
    facts.loc[0, "org_code"] = None
    facts.loc[1, "period_start"] = None
    table = compute_benchmark_table(facts)
    assert table["org_code"].notna().all()
    assert len(select(table, comparator="england")) == len(facts) - 2
    assert "left out" in caplog.text


def test_a_null_suppressed_flag_means_not_suppressed():
    facts = make_facts(metrics=["pp1_score"], periods=1)
    facts["suppressed"] = None
    table = compute_benchmark_table(facts)
    assert not table["suppressed"].any() and table["rank"].notna().all()


def test_a_zero_comparator_rate_gives_no_rate_funnel_and_says_why():
    facts = make_facts(metrics=["sickness_rate"], periods=1)
    facts["numerator"] = 0.0
    facts["value"] = 0.0
    table = compute_benchmark_table(facts)
    assert table["funnel_lower_95"].isna().all()
    assert (table["funnel_reason"] == "comparator rate is 0, so expected counts are 0").all()
    assert (table["significance"] == "Similar").all()  # 0 is inside every exact interval at 0
