"""The quarantine: where a bad extract waits, complete, until the publisher fixes it or an analyst releases it.

``quarantine/<source>/<sha256>/`` holds a byte-for-byte copy of the download, ``findings.json``
(what failed, with example rows) and ``data_docs/`` (the GX HTML report). Nothing in it reaches
the warehouse. Releasing records who released it and why, then loads it with the findings kept
as warnings that the next release manifest lists.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pipelines.config import Settings
from pipelines.landing import LandedFile
from pipelines.ledger import Ledger, now


def quarantine_dir(settings: Settings, source_id: str, sha256: str) -> Path:
    return settings.paths.quarantine / source_id / sha256


def quarantine(
    settings: Settings,
    ledger: Ledger,
    landed: LandedFile,
    *,
    reason: str,
    findings: list[dict[str, Any]],
    docs_dir: Path | None,
    layout: str | None = None,
    vintage: str | None = None,
) -> Path:
    """Copy the raw bytes, the findings and the Data Docs into the quarantine and mark the ledger."""
    folder = quarantine_dir(settings, landed.source_id, landed.sha256)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / landed.path.name
    if not target.exists():
        shutil.copyfile(landed.path, target)
    if docs_dir is not None and docs_dir.exists():
        shutil.copytree(docs_dir, folder / "data_docs", dirs_exist_ok=True)
    (folder / "findings.json").write_text(
        json.dumps(
            {
                "source_id": landed.source_id,
                "file_name": landed.file_name,
                "url": landed.url,
                "sha256": landed.sha256,
                "quarantined_at": now(),
                "reason": reason,
                "findings": findings,
            },
            indent=2,
            default=str,
        ),
        encoding="utf-8",
    )
    ledger.record_extract(
        landed.source_id, landed.sha256, status="quarantined", findings=findings, layout=layout, vintage=vintage
    )
    return folder


def quarantined(settings: Settings) -> list[dict[str, Any]]:
    """Every extract now in quarantine, newest first, with its reason."""
    ledger = Ledger(settings.paths.state)
    items = []
    for extract in ledger.extracts(status="quarantined"):
        findings_file = quarantine_dir(settings, extract["source_id"], extract["sha256"]) / "findings.json"
        details = json.loads(findings_file.read_text(encoding="utf-8")) if findings_file.exists() else {}
        items.append({**extract, "reason": details.get("reason", ""), "quarantined_at": details.get("quarantined_at")})
    return sorted(items, key=lambda item: item.get("quarantined_at") or "", reverse=True)


def release(settings: Settings, sha256_prefix: str, released_by: str, reason: str) -> Any:
    """Load a quarantined extract on an analyst's say-so, recording who released it and why."""
    from pipelines.ingest import validate_and_load

    if not released_by.strip() or not reason.strip():
        raise ValueError("releasing from quarantine needs both who (--by) and why (--reason)")
    ledger = Ledger(settings.paths.state)
    extract = ledger.find_extract(sha256_prefix)
    if extract is None or extract["status"] != "quarantined":
        raise ValueError(f"no quarantined extract has a hash starting {sha256_prefix!r}")
    ledger.record_release(extract["source_id"], extract["sha256"], released_by, reason)
    landed = LandedFile.from_dict(
        json.loads((Path(extract["landed_path"]).parent / "landing.json").read_text(encoding="utf-8"))
    )
    return validate_and_load(extract["source_id"], landed.as_dict(), settings, released_by=released_by)
