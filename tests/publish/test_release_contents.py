"""A release built by the real pipeline (small raw dataset -> dbt build -> benchmark tables ->
publish_release) holds every network trust's CSV / Parquet / XLSX, the network extract, the BI
snapshot, dbt docs and validation reports, all listed in the manifest with matching hashes.

``built_warehouse`` (used by the other modules in this folder too) runs the pipeline once per
test session into a template DuckDB file; each test publishes from its own copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
import types
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from pipelines.config import load_settings
from pipelines.publish.release import ReleaseError, list_releases, publish_release, verify

ROOT = Path(__file__).resolve().parents[2]
NETWORK = ["RC9", "RD8", "RWK", "RV3", "RYV", "RYC"]


def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small raw dataset of tests/dbt through dbt build and build_benchmark_tables, once per session."""
    sys.path.insert(0, str(ROOT / "tests" / "dbt"))
    import raw_dataset

    from pipelines.benchmark.tables import build_benchmark_tables
    from pipelines.transform import run_dbt

    home = tmp_path_factory.getbasetemp() / "publish-warehouse"
    path = home / "warehouse.duckdb"
    if (home / "built").exists():
        return path
    home.mkdir(exist_ok=True)
    settings = load_settings(environ={"CULTURE_OUTCOMES_PATHS_DATA_DIR": str(home / "data"),
                                      "CULTURE_OUTCOMES_WAREHOUSE_DUCKDB_PATH": str(path)})
    raw_dataset.load_raw(settings)
    run_dbt(settings, "build", "--log-path", str(home / "logs"), target_path=home / "target")
    build_benchmark_tables(settings)
    (home / "built").touch()
    return path


def publish_env(tmp: Path, template: Path, **overrides: str) -> dict[str, str]:
    """Environment (configuration) of a data folder with its own copy of the built warehouse (and of
    the raw files beside it, which dbt attaches)."""
    tmp.mkdir(parents=True, exist_ok=True)
    warehouse = tmp / "warehouse.duckdb"
    if not warehouse.exists():
        shutil.copyfile(template, warehouse)
        shutil.copytree(template.parent / "raw", tmp / "raw")
    return {"CULTURE_OUTCOMES_PATHS_DATA_DIR": str(tmp / "data"),
            "CULTURE_OUTCOMES_WAREHOUSE_DUCKDB_PATH": str(warehouse), **overrides}


def no_packs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Publish without the benchmark packs (their module is another engineer's; tested with a stand-in)."""
    monkeypatch.setitem(sys.modules, "pipelines.publish.pack", None)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    template = built_warehouse(tmp_path_factory)
    tmp = tmp_path_factory.mktemp("release")
    settings = load_settings(environ=publish_env(tmp, template))
    # A loaded extract with its Great Expectations Data Docs, as ingestion leaves them.
    from pipelines.ledger import Ledger

    digest = "ab" * 32
    Ledger(settings.paths.state).record_extract(
        "fft", digest, url="http://127.0.0.1/fft.csv", file_name="FFT July 2024.csv", landed_path="x",
        layout="fft_v2", vintage="2024-07", periods=["2024-07"], row_count=10, status="loaded")
    site = settings.paths.state / "data_docs" / "fft" / digest
    (site / "validations").mkdir(parents=True)
    (site / "index.html").write_text("<html>fft suite passed</html>", encoding="utf-8")
    (site / "validations" / "result.html").write_text("<html>details</html>", encoding="utf-8")
    lines: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        no_packs(patch)
        result = publish_release(settings, progress=lines.append)
    folder = settings.paths.published / result["release_id"]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return types.SimpleNamespace(settings=settings, result=result, folder=folder, manifest=manifest, lines=lines)


def test_release_holds_every_network_trust_in_three_formats_and_the_manifest_hashes_match(release):
    folder, manifest = release.folder, release.manifest
    assert os.readlink(release.settings.paths.published / "latest") == release.result["release_id"]
    listed = {entry["path"]: entry for entry in manifest["files"]}
    for code in NETWORK:
        csv = pd.read_csv(folder / "trusts" / f"benchmarks_{code}.csv", dtype={"value": str})
        parquet = pd.read_parquet(folder / "trusts" / f"benchmarks_{code}.parquet")
        assert (folder / "trusts" / f"benchmarks_{code}.xlsx").is_file()
        assert len(csv) == len(parquet) > 0
        assert set(csv["org_code"]) == {code} and set(parquet["org_code"]) == {code}
        assert listed[f"trusts/benchmarks_{code}.csv"]["rows"] == len(csv)
        assert {"network", "peer_group", "england"} >= set(parquet["comparator"]) >= {"network", "england"}
        assert manifest["extracts"]["trusts"][code]["rows"] == len(csv)
    network = pd.read_parquet(folder / "benchmarks_network.parquet")
    assert set(network["org_code"]) == set(NETWORK)  # the network extract holds the network's trusts
    assert listed["benchmarks_network.csv"]["rows"] == len(network)
    for name in ("benchmarks_network.csv", "benchmarks_network.xlsx", "bi/culture_outcomes.duckdb",
                 "docs/dbt/index.html", "docs/dbt/manifest.json", "docs/dbt/catalog.json"):
        assert name in listed
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p != folder / "manifest.json"}
    assert on_disk == set(listed)
    for path, entry in listed.items():
        assert sha256(folder / path) == entry["sha256"], path
    verify(folder)
    assert [r["release_id"] for r in list_releases(release.settings)] == [release.result["release_id"]]
    # One progress line per trust, and one per BI file.
    assert sum(line.startswith("[") and "wrote trusts/" in line for line in release.lines) == len(NETWORK)
    assert any(line.startswith("BI: marts.fct_culture_outcomes") for line in release.lines)


def _columns(sheet) -> dict[str, int]:
    return {cell.value: cell.column for cell in next(sheet.iter_rows(min_row=1, max_row=1))}


def test_xlsx_has_a_frozen_header_filters_unit_formats_and_a_notes_sheet(release):
    book = openpyxl.load_workbook(release.folder / "trusts" / "benchmarks_RD8.xlsx")
    assert book.sheetnames == ["Benchmarks", "Notes"]
    sheet = book["Benchmarks"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:")
    columns = _columns(sheet)
    assert sheet.cell(1, columns["value"]).font.bold
    assert sheet.column_dimensions[openpyxl.utils.get_column_letter(columns["org_name"])].width > 20
    csv = pd.read_csv(release.folder / "trusts" / "benchmarks_RD8.csv", dtype=str, keep_default_na=False)
    assert sheet.max_row == len(csv) + 1
    formats: dict[str, set[str]] = {}
    marked = 0
    for row in range(2, sheet.max_row + 1):
        unit = sheet.cell(row, columns["unit"]).value
        value = sheet.cell(row, columns["value"])
        if value.value == "*":
            marked += 1
            assert sheet.cell(row, columns["suppressed"]).value is True
            assert sheet.cell(row, columns["denominator"]).value == "*"
            assert sheet.cell(row, columns["rank"]).value == "*"
        elif value.value is not None:
            formats.setdefault(unit, set()).add(value.number_format)
            assert value.value == pytest.approx(float(csv.loc[row - 2, "value"]))
    assert formats["fraction"] == {"0.0%"} and formats["percent"] == {"0.00"} and formats["score_0_10"] == {"0.00"}
    assert marked == 3  # RD8's FFT month with 3 responses, in each of its three comparator rows
    assert sheet.cell(2, columns["period_start"]).number_format == "yyyy-mm-dd"

    notes = [" ".join(str(v) for v in row if v is not None) for row in book["Notes"].iter_rows(values_only=True)]
    text = "\n".join(notes)
    manifest = release.manifest
    for expected in (manifest["release_id"], manifest["created_at"], manifest["code_version"],
                     "Friends and Family Test, inpatient setting", "wilson_score", "fewer than 5 responses",
                     "Metric definitions", "Columns"):
        assert expected in text, expected


def test_the_bi_snapshot_opens_read_only_with_the_marts_and_benchmarks_tables(release):
    path = release.folder / "bi" / "culture_outcomes.duckdb"
    assert not os.access(path, os.W_OK) or os.geteuid() == 0  # mode 0444 (root ignores modes)
    assert oct(path.stat().st_mode & 0o777) == "0o444"
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables where table_schema <> 'main'").fetchall()}
        assert tables >= {"marts.fct_culture_outcomes", "marts.dim_organisation", "marts.dim_metric",
                          "marts.mart_culture_outcomes_dashboard", "marts.mart_culture_outcome_associations",
                          "benchmarks.benchmark_table", "benchmarks.benchmark_methods"}
        with pytest.raises(duckdb.Error):
            con.execute("delete from marts.dim_metric")
        for table in tables:
            rows = con.execute(f"select count(*) from {table}").fetchone()[0]
            assert len(pd.read_parquet(release.folder / "bi" / "parquet" / f"{table}.parquet")) == rows
        # dbt keeps the denominator of a cell it suppresses (RD8's 3 FFT responses): withheld here.
        leaked = con.execute("select count(*) from marts.fct_culture_outcomes where suppressed and "
                             "(denominator is not null or numerator is not null or value is not null)").fetchone()[0]
        assert leaked == 0
        assert con.execute("select count(*) from marts.fct_culture_outcomes where suppressed").fetchone()[0] > 0
        benchmark_rows = con.execute("select count(*) from benchmarks.benchmark_table").fetchone()[0]
        info = con.execute("select release_id from main.snapshot_info").fetchone()[0]
    finally:
        con.close()
    network_extract = pd.read_parquet(release.folder / "benchmarks_network.parquet")
    assert set(network_extract["org_code"]) <= set(NETWORK)  # the spreadsheet extract is the network's
    assert benchmark_rows > len(network_extract)  # the snapshot holds every trust in England
    assert info == release.manifest["release_id"]
    bi = release.manifest["bi"]
    assert bi["duckdb"] == "bi/culture_outcomes.duckdb" and bi["postgres"] is None
    assert {t["table"] for t in bi["tables"]} == tables


def test_manifest_records_methods_disclosure_bi_docs_and_packs(release):
    manifest = release.manifest
    assert {"wilson_score", "fingertips_two_level"} <= {m["method_id"] for m in manifest["methods"]["catalogue"]}
    assert manifest["options"]["suppression_marker"] == "*"
    assert manifest["options"]["disclosure_thresholds"]["staff_survey_min_responses"] == 11
    disclosure = manifest["disclosure"]
    assert {r["rule_id"] for r in disclosure["primary_rules"]} >= {
        "patient_experience_min_count", "staff_survey_min_responses", "sickness_min_fte_days_available"}
    assert disclosure["cells_suppressed_upstream"] > 0
    assert disclosure["check"]["files_checked"] >= 3 * len(NETWORK) + 3
    # dbt already withholds the counts of cells it suppresses, so the snapshot has none left to withhold;
    # the snapshot test above proves no suppressed row carries a count.
    assert disclosure["bi_snapshot"]["fct_culture_outcomes"]["suppressed_rows_whose_counts_were_withheld"] == 0
    assert manifest["docs"]["dbt"]["path"] == "docs/dbt/index.html"
    dbt_manifest = json.loads((release.folder / "docs" / "dbt" / "manifest.json").read_text(encoding="utf-8"))
    assert "model.culture_outcomes.fct_culture_outcomes" in dbt_manifest["nodes"]
    catalog = json.loads((release.folder / "docs" / "dbt" / "catalog.json").read_text(encoding="utf-8"))
    assert any(key.endswith("fct_culture_outcomes") for key in catalog["nodes"])
    validation = manifest["docs"]["validation"]
    assert [e["source_id"] for e in validation["extracts"]] == ["fft"]
    assert (release.folder / validation["extracts"][0]["index"]).read_text() == "<html>fft suite passed</html>"
    assert (release.folder / "docs" / "validation" / "index.html").is_file()
    assert manifest["packs"]["status"] == "skipped" and "pipelines.publish.pack" in manifest["packs"]["reason"]


def test_packs_are_written_by_the_pack_module_when_it_exists(tmp_path, monkeypatch):
    from pipelines.publish.contents import write_pack_files

    calls = []

    def write_packs(settings, table, folder, manifest_reference):
        calls.append((table, manifest_reference))
        (folder / "packs").mkdir()
        path = folder / "packs" / "RC9.html"
        path.write_text("<html>RC9</html>", encoding="utf-8")
        return [path]

    monkeypatch.setitem(sys.modules, "pipelines.publish.pack", types.SimpleNamespace(write_packs=write_packs))
    table = pd.DataFrame({"org_code": ["RC9"], "suppressed": [False]})
    settings = load_settings(environ={"CULTURE_OUTCOMES_PATHS_DATA_DIR": str(tmp_path / "data")})
    info = write_pack_files(settings, table, tmp_path, {"release_id": "20250101T000000Z"}, progress=print)
    assert info["status"] == "written" and info["files"] == ["packs/RC9.html"]
    assert calls[0][1] == {"release_id": "20250101T000000Z"} and calls[0][0] is table

    def broken(settings, table, folder, manifest_reference):
        raise ValueError("no fonts")

    monkeypatch.setitem(sys.modules, "pipelines.publish.pack", types.SimpleNamespace(write_packs=broken))
    with pytest.raises(ReleaseError, match="no fonts"):
        write_pack_files(settings, table, tmp_path, {}, progress=print)

    def escaping(settings, table, folder, manifest_reference):
        outside = tmp_path.parent / "elsewhere.html"
        outside.write_text("x", encoding="utf-8")
        return [outside]

    monkeypatch.setitem(sys.modules, "pipelines.publish.pack", types.SimpleNamespace(write_packs=escaping))
    with pytest.raises(ReleaseError, match="outside the release folder"):
        write_pack_files(settings, table, tmp_path / "release", {}, progress=print)


def test_a_pack_writer_that_writes_a_table_fails_the_release(release, tmp_path, monkeypatch):
    """The packs are written while the tables are read back, so the read-back does not see them: a
    table among them (unchecked for disclosure) stops the release, and `latest` stays where it was."""
    def write_packs(settings, table, folder, manifest_reference):
        (folder / "packs").mkdir()
        leak = folder / "packs" / "RC9.csv"
        table.to_csv(leak, index=False)
        return [leak]

    monkeypatch.setitem(sys.modules, "pipelines.publish.pack", types.SimpleNamespace(write_packs=write_packs))
    settings = load_settings(environ=publish_env(tmp_path, Path(release.settings.warehouse.duckdb_path)))
    with pytest.raises(ReleaseError, match="written after the read-back, so never read back: packs/RC9.csv"):
        publish_release(settings, progress=lambda _: None)
    assert list_releases(settings) == []
    assert not any(settings.paths.published.glob(".staging-*"))


def test_a_failure_beside_the_packs_fails_the_release_once_the_packs_have_ended(release, tmp_path, monkeypatch):
    """The packs are written in a thread while the snapshot is written: a failure on either side ends
    the release with its own reason, after the other side has finished, and leaves nothing behind."""
    from pipelines.publish import bi

    ended: list[str] = []

    def slow_packs(settings, table, folder, manifest_reference):
        time.sleep(0.5)
        ended.append("packs")
        return []

    def broken_snapshot(*args, **kwargs):
        raise ReleaseError("the snapshot could not be written")

    monkeypatch.setitem(sys.modules, "pipelines.publish.pack", types.SimpleNamespace(write_packs=slow_packs))
    monkeypatch.setattr(bi, "write_bi_snapshot", broken_snapshot)
    settings = load_settings(environ=publish_env(tmp_path, Path(release.settings.warehouse.duckdb_path)))
    with pytest.raises(ReleaseError, match="the snapshot could not be written"):
        publish_release(settings, progress=lambda _: None)
    assert ended == ["packs"]
    assert list_releases(settings) == [] and not any(settings.paths.published.glob(".staging-*"))

    def broken_packs(settings, table, folder, manifest_reference):
        raise ValueError("no fonts")

    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "pipelines.publish.pack", types.SimpleNamespace(write_packs=broken_packs))
    with pytest.raises(ReleaseError, match="the benchmark packs could not be written: no fonts"):
        publish_release(settings, progress=lambda _: None)
    assert list_releases(settings) == [] and not any(settings.paths.published.glob(".staging-*"))


def test_the_real_pack_module_writes_a_page_per_trust_from_the_disclosed_table(release, tmp_path, monkeypatch):
    """Integration with pipelines.publish.pack (another engineer's module), HTML only here."""
    pytest.importorskip("pipelines.publish.pack")
    from pipelines.publish import contents

    monkeypatch.setattr(contents, "PACK_PDF", False)
    table = pd.read_parquet(release.folder / "benchmarks_network.parquet")
    lines = []
    info = contents.write_pack_files(release.settings, table, tmp_path, {"release_id": "r"}, progress=lines.append)
    assert info["status"] == "written"
    assert {f"packs/{code}.html" for code in NETWORK} <= set(info["files"])
    assert all((tmp_path / f).is_file() for f in info["files"])
    assert any(line.startswith("packs: ") for line in lines)


def test_file_names_come_only_from_ods_codes():
    from pipelines.publish.contents import trust_file_stem

    assert trust_file_stem("RC9") == "benchmarks_RC9"
    assert trust_file_stem("RXQ02") == "benchmarks_RXQ02"
    for bad in ("../RC9", "rc9", "RC9/..", "RC9 ", "R", ""):
        with pytest.raises(ReleaseError):
            trust_file_stem(bad)



def test_dbt_docs_are_generated_again_only_when_the_warehouse_columns_change(release, tmp_path):
    from pipelines.publish.contents import DbtDocs
    from pipelines.warehouse.connection import connect

    def write_dbt_docs(settings, folder, progress):
        with DbtDocs(settings, progress) as docs:
            docs.start()
            return docs.copy_into(folder)

    settings = release.settings
    said: list[str] = []
    unchanged = write_dbt_docs(settings, tmp_path / "again", progress=said.append)
    assert said == ["docs: dbt docs unchanged since the last release (same project, variables and columns)"]
    assert unchanged["fingerprint"] == release.manifest["docs"]["dbt"]["fingerprint"]
    assert ((tmp_path / "again" / "docs" / "dbt" / "catalog.json").read_bytes()
            == (release.folder / "docs" / "dbt" / "catalog.json").read_bytes())

    with connect(settings) as warehouse:
        warehouse.execute("alter table marts.dim_metric add column note text")
    said.clear()
    changed = write_dbt_docs(settings, tmp_path / "changed", progress=said.append)
    assert said == ["docs: dbt docs generate (beside the release's extracts)"]
    assert changed["fingerprint"] != unchanged["fingerprint"]
    catalog = json.loads((tmp_path / "changed" / "docs" / "dbt" / "catalog.json").read_text(encoding="utf-8"))
    assert "note" in next(n for k, n in catalog["nodes"].items() if k.endswith("dim_metric"))["columns"]
