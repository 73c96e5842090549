"""The benchmark report's figures derived from the recorded runs, and where the results are written."""

from __future__ import annotations

from benchmarks.report import warm_seconds


def _incremental(seconds: list[float], starts: list[float | None]) -> dict:
    return {"seconds": seconds, "details": {"runs": [{"runner_start_seconds": start} for start in starts]}}


def test_the_warm_refresh_is_the_median_of_each_run_less_its_own_airflow_start():
    # each run less its own start (70-20, 66-14, 61-12), not the median total less the median start (66-14)
    assert warm_seconds(_incremental([70.0, 66.0, 61.0], [20.0, 14.0, 12.0])) == 50.0


def test_no_warm_figure_when_a_run_did_not_record_its_airflow_start():
    assert warm_seconds(_incremental([70.0, 66.0], [20.0, None])) is None
    assert warm_seconds({"seconds": [70.0], "details": {}}) is None


def test_results_written_outside_the_repository_are_reported_by_their_path(tmp_path, monkeypatch, capsys):
    from benchmarks import run

    target = tmp_path / "turn.json"
    monkeypatch.setitem(run.RESULTS_FILE, "name", str(target))  # --results-file /somewhere/turn.json
    run.write_outputs({"measurements": []}, quick=False)
    assert target.read_text().startswith("{")
    assert f"wrote {target}" in capsys.readouterr().out


def test_the_run_counts_are_those_each_median_is_over_after_a_merge():
    """A ``--merge`` run repeats some measurements and keeps the others: the counts are each
    measurement's own, not the last command's settings (which said 1 incremental run of 3)."""
    import json
    from pathlib import Path

    from benchmarks.report import render_readme

    results = json.loads((Path(__file__).resolve().parents[2] / "benchmarks" / "results.json").read_text())
    results["settings"] = {**results["settings"], "incremental_runs": 1, "full_runs": 1}
    results["measurements"] = [
        {**m, "runs": 3} if m["name"].startswith(("full_refresh_", "incremental_refresh_")) else m
        for m in results["measurements"]]

    assert "- Runs: 3 full, 3 incremental," in render_readme(results)
