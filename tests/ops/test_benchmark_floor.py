"""The benchmark floor does the useful work the issue defines: the pipeline's benchmark table,
disclosure control and extracts, from the same raw files, in one process."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def floor_release(tmp_path_factory):
    from benchmarks.floor import run
    from pipelines.synthetic.site import build_site
    from pipelines.synthetic.world import World

    root = tmp_path_factory.mktemp("floor")
    build_site(World(years=1), root / "site", progress=lambda _: None)
    summary = run(root / "site", root / "out", workers=2)
    return summary, root / "out" / "release"


def test_the_floor_writes_every_extract_a_release_writes(floor_release):
    from pipelines.config import load_settings

    _, release = floor_release
    stems = [release / "benchmarks_network"] + [release / "trusts" / f"benchmarks_{code}"
                                                for code in load_settings().network.members]
    for stem in stems:
        for suffix in (".csv", ".parquet", ".xlsx"):
            assert stem.with_suffix(suffix).is_file(), stem.with_suffix(suffix)


def test_the_floors_benchmark_table_has_every_statistic_of_the_pipelines(floor_release):
    from pipelines.benchmark.schema import COLUMN_NAMES
    from pipelines.config import load_settings

    summary, release = floor_release
    network = pd.read_parquet(release / "benchmarks_network.parquet")
    assert tuple(network.columns) == COLUMN_NAMES
    assert load_settings().network.name in set(network["comparator_group"])  # named as a release names it
    assert summary["rows"]["benchmark_table"] > len(network) > 0
    # what the floor computed in SQL before (distribution and rank) and what it skipped
    for statistic in ("median", "rank", "ci_lower", "significance", "funnel_lower_95", "spc_point_variation"):
        assert network[statistic].notna().any(), statistic


def test_the_floors_extracts_are_disclosure_controlled_as_a_releases(floor_release):
    from pipelines.publish.disclosure import MARKER

    _, release = floor_release
    network = pd.read_csv(release / "benchmarks_network.csv", dtype=str, keep_default_na=False)
    suppressed = network["suppressed"].str.lower() == "true"
    assert suppressed.any()
    assert (network.loc[suppressed, "rank"] == MARKER).all()
