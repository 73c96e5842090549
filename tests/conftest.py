"""Shared fixtures: real published files, an isolated data folder and a local publisher on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = PROJECT_ROOT.parent / "shared" / "data" / "real"
SICKNESS_PAGE = "statistical/nhs-sickness-absence-rates/"


def real_sickness_files() -> list[Path]:
    """The twelve real monthly sickness absence CSVs, or a skip with the reason."""
    folder = REAL_DATA / "sickness_absence"
    files = sorted(folder.glob("nhs_sickness_absence_*.csv"))
    if not files:
        pytest.skip(f"real published files are not here ({folder} is absent, as on a fresh clone)")
    return files


def published_name(path: Path) -> str:
    """The name the publisher gave the file: 'NHS Sickness Absence rates CSV, April 2024.csv'."""
    year, month = path.stem.rsplit("_", 1)[1].split("-")
    return f"NHS Sickness Absence rates CSV, {date(int(year), int(month), 1):%B %Y}.csv"


@pytest.fixture
def settings_env(tmp_path, monkeypatch):
    """An isolated data folder and DuckDB warehouse for one test; returns a settings loader."""
    from pipelines.config import load_settings

    monkeypatch.setenv("CULTURE_OUTCOMES_PATHS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CULTURE_OUTCOMES_WAREHOUSE_DUCKDB_PATH", raising=False)
    monkeypatch.delenv("CULTURE_OUTCOMES_WAREHOUSE_TARGET", raising=False)
    return load_settings


@pytest.fixture
def publisher_site(tmp_path):
    """A folder laid out like the publisher's site, with index pages rebuilt on demand."""
    from pipelines.synthetic.site import write_index_pages

    root = tmp_path / "site"

    def add_sickness(files: list[Path], replace: dict[str, bytes] | None = None) -> Path:
        page = root / SICKNESS_PAGE
        page.mkdir(parents=True, exist_ok=True)
        for path in files:
            name = published_name(path)
            content = (replace or {}).get(name)
            if content is None:
                shutil.copyfile(path, page / name)
            else:
                (page / name).write_bytes(content)
        write_index_pages(root)
        return page

    root.mkdir()
    return root, add_sickness


@pytest.fixture
def publisher(publisher_site, monkeypatch):
    """The local publisher serving the site on 127.0.0.1; sets the publisher address setting."""
    from pipelines.publisher_server import serve

    root, add_sickness = publisher_site
    with serve(root) as url:
        monkeypatch.setenv("CULTURE_OUTCOMES_PUBLISHER_BASE_URL", url)
        monkeypatch.setenv("CULTURE_OUTCOMES_PUBLISHER_BACKOFF_SECONDS", "0.01")
        yield url, root, add_sickness


@pytest.fixture
def synthetic_year(publisher):
    """Write a year of the synthetic publisher's files for the sources named onto the local publisher
    (served on 127.0.0.1); returns each source's files."""
    from pipelines.synthetic.site import build_site
    from pipelines.synthetic.world import World

    _, root, _ = publisher

    def write(*sources: str, years: int = 1) -> dict[str, list[Path]]:
        return build_site(World(years=years), root, sources=list(sources), progress=lambda _: None)

    return write

