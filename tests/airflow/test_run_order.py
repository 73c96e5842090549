"""The order a refresh starts its DAGs in: ODS first; then the other ingests heaviest first, as a
scheduler with fewer slots than ready DAGs starts the tasks of higher ``priority_weight`` first, so
the slots end together; transform and publish where they were."""

from __future__ import annotations

import pytest

from dags._run_dags import in_run_order
from pipelines.sources.catalogue import SOURCES

pytestmark = [pytest.mark.airflow, pytest.mark.xdist_group("airflow")]


def test_reference_data_first_then_the_heaviest_ingests_then_transform_and_publish():
    catalogue_order = [f"ingest_{spec.id}" for spec in SOURCES] + ["transform_marts", "publish_release"]

    ordered = in_run_order(catalogue_order)

    assert ordered[:2] == ["ingest_ods_trusts", "ingest_ods_successors"]
    assert ordered[2:4] == ["ingest_workforce_staff_in_post", "ingest_fft"]  # the two largest backfills
    weights = {f"ingest_{spec.id}": spec.priority_weight for spec in SOURCES}
    assert [weights[d] for d in ordered[2:-2]] == sorted((weights[d] for d in ordered[2:-2]), reverse=True)
    assert ordered[-2:] == ["transform_marts", "publish_release"]
    assert sorted(ordered) == sorted(catalogue_order)


def test_ingests_are_reordered_only_among_themselves():
    asked = ["transform_marts", "ingest_turnover", "ingest_workforce_staff_in_post", "publish_release",
             "ingest_staff_survey_detailed", "ingest_fft", "ingest_no_such_source"]

    assert in_run_order(asked) == ["transform_marts", "ingest_workforce_staff_in_post", "ingest_turnover",
                                   "publish_release", "ingest_fft", "ingest_staff_survey_detailed",
                                   "ingest_no_such_source"]


def test_each_ingest_dags_tasks_carry_their_sources_priority_weight():
    from dags.ingest_sources import build_ingest_dag

    for spec in SOURCES:
        dag = build_ingest_dag(spec)
        assert {task.priority_weight for task in dag.tasks} == {spec.priority_weight}, spec.id
