"""Every source's expectation suite passes a valid extract of every layout the synthetic publisher writes.

This guards against a suite drifting from its parser (a new suppression token, a new unit): a
suite that rejects good data would quarantine every release of that source.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipelines.sources.catalogue import SOURCES, get_source
from pipelines.validation.suites import EXPECTATIONS_DIR, load_suite, suite_path, validate


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from pipelines.synthetic.site import build_site
    from pipelines.synthetic.world import World

    root = tmp_path_factory.mktemp("site")
    build_site(World(years=1), root, progress=lambda _: None)
    return root


def _one_file_per_layout(spec, root: Path) -> dict[str, Path]:
    pattern = re.compile(spec.link_pattern)
    chosen: dict[str, Path] = {}
    for path in sorted((root / spec.page_path).iterdir()):
        if pattern.search(path.name):
            layout = spec.load_parser()(path).layout
            chosen.setdefault(layout, path)
    return chosen


@pytest.mark.parametrize("source_id", [spec.id for spec in SOURCES])
def test_a_valid_extract_of_every_layout_passes_its_suite(site, source_id):
    spec = get_source(source_id)
    files = _one_file_per_layout(spec, site)
    assert files, f"the synthetic publisher wrote no {source_id} file"
    for layout, path in files.items():
        parsed = spec.load_parser()(path)
        report = validate(parsed.table, source_id=source_id, layout=layout, file_name=path.name, parameters={})
        assert report.passed, report.summary()


def test_every_layout_in_the_catalogue_has_a_reviewable_suite():
    for spec in SOURCES:
        for layout in spec.layouts:
            suite = json.loads(suite_path(spec.id, layout).read_text())
            assert suite["expectations"], f"{spec.id}/{layout} has an empty suite"
            assert all(e["meta"]["severity"] in {"error", "warning"} for e in suite["expectations"])


def test_each_suite_file_checks_only_layouts_of_its_own_source():
    for spec in SOURCES:
        for path in (EXPECTATIONS_DIR / spec.id).glob("*.json"):
            suite = json.loads(path.read_text())
            assert suite["meta"]["source"] == spec.id, path
            assert set(suite["meta"]["layouts"]) <= set(spec.layouts), f"{path} lists a layout {spec.id} has not"


def test_layouts_parsed_alike_share_one_suite_named_after_each_layout():
    assert suite_path("fft", "ae") == suite_path("fft", "inpatient")
    suite = load_suite("fft", "ae")
    assert suite["name"] == "fft.ae" and suite["meta"]["layout"] == "ae"


def test_a_layout_without_a_suite_is_named_with_where_it_was_looked_for():
    with pytest.raises(FileNotFoundError, match="fft layout braille.*meta.layouts"):
        suite_path("fft", "braille")


def test_a_layout_two_suites_claim_is_refused_naming_both(tmp_path, monkeypatch):
    from pipelines.validation import suites

    for name in ("first", "second"):
        (tmp_path / "fft").mkdir(exist_ok=True)
        (tmp_path / "fft" / f"{name}.json").write_text(json.dumps(
            {"name": name, "meta": {"source": "fft", "layouts": ["ae"]}, "expectations": []}))
    monkeypatch.setattr(suites, "EXPECTATIONS_DIR", tmp_path)
    suites._suites_by_layout.cache_clear()
    try:
        with pytest.raises(ValueError, match="fft layout ae is checked by two suites: first.json and second.json"):
            suites.suite_path("fft", "ae")
    finally:
        suites._suites_by_layout.cache_clear()
