"""GX's Data Docs templates are compiled once per installation and loaded compiled afterwards.

:func:`pipelines.validation.data_docs_templates.keep_compiled_templates` gives GX's Jinja views a
bytecode cache in the state folder (each report used to compile GX's templates again: 0.25 CPU s
of a routine file's 0.6 s). These tests run real GX validations with Data Docs and count Jinja's
compilations.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest

from pipelines.validation import suites
from pipelines.validation.data_docs_templates import keep_compiled_templates


@pytest.fixture
def compilations(monkeypatch) -> list[str]:
    """The name of every template Jinja compiles from source from now on."""
    seen: list[str] = []
    real = jinja2.Environment.compile

    def counted(self, source, name=None, filename=None, raw=False, defer_init=False):
        seen.append(str(name))
        return real(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    return seen


def _report(parsed, docs: Path) -> Path:
    report = suites.validate(parsed.table, source_id="fft", layout=parsed.layout, file_name="inpatient.xlsm",
                             parameters={}, docs_dir=docs)
    assert report.passed and report.docs_index is not None
    return Path(report.docs_index)


def _checks_shown(site: Path) -> dict[str, list[str]]:
    """What each page of a Data Docs site says of the checks ("values must never be null", ...), by
    page (the run's timestamp in a page's path left out)."""
    return {re.sub(r"\d{8}T\d+\.\d+Z", "<run>", str(page.relative_to(site))):
            [" ".join(said.split()) for said in re.findall(r"values (?:must|should)[^<]*", page.read_text("utf-8"))]
            for page in sorted(site.rglob("*.html"))}


def test_a_second_report_loads_every_template_compiled(inpatient, tmp_path, compilations):
    keep_compiled_templates(tmp_path / "templates")
    _report(inpatient, tmp_path / "first")
    assert compilations, "the first report compiles GX's templates (and keeps them)"
    assert any((tmp_path / "templates").iterdir())

    compilations.clear()
    _report(inpatient, tmp_path / "second")

    assert compilations == []


def test_without_the_cache_every_report_compiles_the_templates_again(inpatient, tmp_path, compilations):
    """What the cache saves: GX's views compile anew for each report (a new environment each time)."""
    keep_compiled_templates(tmp_path / "templates")
    _report(inpatient, tmp_path / "warm")
    from great_expectations.render.view.view import DefaultJinjaView

    shared = DefaultJinjaView.__dict__["_culture_outcomes_bytecode_cache"]
    kept = shared["cache"]
    shared["cache"] = None  # a view's environment without a bytecode cache, as GX makes it
    try:
        compilations.clear()
        _report(inpatient, tmp_path / "uncached")
    finally:
        shared["cache"] = kept
    assert compilations


def test_reports_show_the_same_checks_with_compiled_templates(inpatient, tmp_path):
    keep_compiled_templates(tmp_path / "templates")
    first = _report(inpatient, tmp_path / "first").parent
    second = _report(inpatient, tmp_path / "second").parent

    assert _checks_shown(first) == _checks_shown(second)
    assert "values must never be null." in sum(_checks_shown(second).values(), [])


def test_a_removed_cache_folder_is_no_error_in_a_validation(inpatient, tmp_path):
    keep_compiled_templates(tmp_path / "gone" / "templates")
    index = _report(inpatient, tmp_path / "docs")  # the folder is made when the first template is stored

    assert index.is_file()
    assert any((tmp_path / "gone" / "templates").iterdir())
