"""The environment the setup command builds: what every process of the pipeline starts from."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest


@pytest.mark.parametrize("module", ["airflow", "great_expectations", "dbt.cli.main", "pandas", "cosmos", "scipy.stats"])
def test_installed_packages_are_imported_from_bytecode_compiled_at_setup(module: str) -> None:
    """Each process would otherwise compile them from source again (PYTHONDONTWRITEBYTECODE is set
    on these machines, so nothing caches it): 9 s of a DAG run's 17 s start."""
    source = Path(importlib.import_module(module).__file__ or "")
    cached = Path(importlib.util.cache_from_source(str(source)))
    assert cached.is_file(), f"{source} has no compiled bytecode at {cached}: run scripts/bootstrap"
    compiled_from = int.from_bytes(cached.read_bytes()[8:12], "little")  # the source's mtime, as Python checks
    assert compiled_from == int(source.stat().st_mtime) & 0xFFFFFFFF, f"{cached} is stale: run scripts/bootstrap"
