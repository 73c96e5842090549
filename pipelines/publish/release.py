"""Releases: immutable, complete or absent, and `latest` switched atomically.

A release is written to ``published/.staging-<id>/``, verified (every file's SHA-256 and row
count against the manifest), renamed to ``published/<id>/`` and only then pointed at by the
``latest`` symlink, replaced in one ``rename``. A crash at any point leaves the previous release
and ``latest`` untouched; a leftover staging folder is never visible as a release and is cleared
by the next run. Old releases beyond the configured retention are removed, never ``latest``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines import __version__
from pipelines.config import PROJECT_ROOT, Settings
from pipelines.ledger import Ledger

log = logging.getLogger(__name__)

_RELEASE_ID = re.compile(r"^\d{8}T\d{6}Z$")


class ReleaseError(RuntimeError):
    """The release could not be completed; the previous release stays `latest`."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def code_version() -> str:
    """The package version plus the git commit, when the code runs from a checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}+{commit}" if commit else __version__


def write_table(frame: pd.DataFrame, folder: Path, stem: str) -> list[Path]:
    """The same table as CSV and Parquet."""
    csv_path, parquet_path = folder / f"{stem}.csv", folder / f"{stem}.parquet"
    frame.to_csv(csv_path, index=False)
    frame.to_parquet(parquet_path, index=False)
    return [csv_path, parquet_path]


def row_count(path: Path) -> int | None:
    """Data rows of a written CSV or Parquet file, read back without loading it into memory.

    Counted from the file, not taken from the frame it was written from, so the manifest states
    what a trust will find; Parquet keeps the count in its footer, a CSV is streamed record by
    record (a quoted field may hold a line break).
    """
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return max(sum(1 for record in csv.reader(handle) if record) - 1, 0)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    return None


def describe_files(folder: Path, row_counts: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"path": str(p.relative_to(folder)), "sha256": sha256_of(p), "bytes": p.stat().st_size,
         "rows": row_counts.get(str(p.relative_to(folder)))}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p != folder / "manifest.json"
    ]


def verify(folder: Path) -> None:
    """Every file the manifest lists exists with the same SHA-256 and row count, and no other file."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    listed = {entry["path"] for entry in manifest["files"]}
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p != folder / "manifest.json"}
    if listed != present:
        raise ReleaseError(f"release {folder.name}: files differ from the manifest: {sorted(listed ^ present)[:5]}")
    for entry in manifest["files"]:
        path = folder / entry["path"]
        if sha256_of(path) != entry["sha256"]:
            raise ReleaseError(f"release {folder.name}: {entry['path']} does not match its manifest hash")
        if entry.get("rows") is not None and row_count(path) != entry["rows"]:
            raise ReleaseError(f"release {folder.name}: {entry['path']} does not have {entry['rows']} rows")


def switch_latest(published: Path, release_id: str) -> None:
    """Point ``latest`` at the release in one atomic rename of a fresh symlink."""
    temporary = published / f".latest-{release_id}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(release_id, target_is_directory=True)
    os.replace(temporary, published / "latest")


def list_releases(settings: Settings) -> list[dict[str, Any]]:
    """Complete releases, newest first, marking the one `latest` points to."""
    published = settings.paths.published
    latest = os.readlink(published / "latest") if (published / "latest").is_symlink() else None
    releases = []
    for folder in sorted(published.glob("*"), reverse=True):
        if folder.is_dir() and not folder.is_symlink() and _RELEASE_ID.match(folder.name):
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            releases.append({"release_id": folder.name, "created_at": manifest["created_at"],
                             "files": len(manifest["files"]), "latest": folder.name == latest})
    return releases


def apply_retention(settings: Settings) -> list[str]:
    keep = max(1, settings.publishing.retention)
    removed = []
    for release in list_releases(settings)[keep:]:
        if not release["latest"]:
            shutil.rmtree(settings.paths.published / release["release_id"])
            removed.append(release["release_id"])
    return removed


def source_extracts(settings: Settings) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Loaded extracts (lineage for the manifest) and the validation warnings they carried."""
    extracts, warnings = [], []
    for extract in Ledger(settings.paths.state).extracts():
        if extract["status"] not in {"loaded", "released"}:
            continue
        extracts.append({key: extract[key] for key in ("source_id", "file_name", "sha256", "url", "layout", "vintage",
                                                       "periods", "row_count", "status")})
        for finding in extract.get("findings") or []:
            if finding.get("severity") == "warning":
                warnings.append({"source_id": extract["source_id"], "file_name": extract["file_name"],
                                 "category": finding.get("category"), "message": finding.get("message")})
    return extracts, warnings


def _swap_postgres_in(settings: Settings, folder: Path, progress: Callable[[str], Any]) -> None:
    """The release's PostgreSQL tables swapped in with its files: when the swap fails, the verified
    folder goes too, so `latest`, the files and PostgreSQL all stay on the previous release."""
    from pipelines.publish.bi import swap_benchmarks_schema

    try:
        swapped = swap_benchmarks_schema(settings)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    progress(f"PostgreSQL: {swapped['schema']} replaced in one transaction (tables replaced: "
             f"{', '.join(swapped['replaced_tables']) or 'none'})")


def publish_release(settings: Settings, progress=log.info) -> dict[str, Any]:
    """Write, verify and switch to a new release; returns its id and where it is."""
    from pipelines.publish.contents import write_release_contents

    published = settings.paths.published
    published.mkdir(parents=True, exist_ok=True)
    for leftover in published.glob(".staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    created = datetime.now(UTC)
    while (published / created.strftime("%Y%m%dT%H%M%SZ")).exists():  # ids are per second
        time.sleep(1)
        created = datetime.now(UTC)
    release_id = created.strftime("%Y%m%dT%H%M%SZ")
    staging = published / f".staging-{release_id}"
    staging.mkdir()
    reference = {"release_id": release_id, "created_at": created.isoformat(timespec="seconds"),
                 "code_version": code_version()}
    try:
        contents = write_release_contents(settings, staging, progress=progress, reference=reference)
        extracts, warnings = source_extracts(settings)
        manifest = {
            **reference,
            "network": {"name": settings.network.name, "members": list(settings.network.members),
                        "icb_codes": list(settings.network.icb_codes),
                        "region_codes": list(settings.network.region_codes)},
            "warehouse": settings.warehouse.target,
            "synthetic_data": settings.publishing.synthetic_data,
            "source_extracts": extracts,
            "validation_warnings": warnings,
            **contents.get("manifest", {}),
            "files": describe_files(staging, contents.get("row_counts", {})),
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        verify(staging)
        os.rename(staging, published / release_id)
    except BaseException:
        # A failed release leaves nothing behind (a killed one is cleared by the next run).
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if settings.warehouse.target == "postgres":
        _swap_postgres_in(settings, published / release_id, progress)
    switch_latest(published, release_id)
    removed = apply_retention(settings)
    progress(f"release {release_id} published at {published / release_id} (latest); removed old: {removed or 'none'}")
    return {"release_id": release_id, "path": str(published / release_id), "files": len(manifest["files"])}
