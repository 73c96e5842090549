"""Immutable raw landing: every download kept byte for byte, addressed by its SHA-256.

A file lands at ``landing/<source>/<sha256>/<published file name>`` with a ``landing.json``
beside it (address, time, size, content type). A path is never written twice: landing the same
bytes again returns the existing copy, so what was downloaded can always be re-read, re-validated
or handed to the publisher as evidence.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

_SAFE_NAME = re.compile(r"[^A-Za-z0-9 ._,()&-]")


@dataclass(frozen=True)
class LandedFile:
    source_id: str
    sha256: str
    path: Path
    file_name: str
    url: str
    size: int
    landed_at: str

    def as_dict(self) -> dict[str, str | int]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> LandedFile:
        return cls(**{**data, "path": Path(data["path"])})


def safe_file_name(name: str) -> str:
    """A published file name made safe as one path component (no separators, no leading dots)."""
    cleaned = _SAFE_NAME.sub("_", Path(name).name).lstrip(".") or "download"
    return cleaned[:180]


def land(landing_root: Path, source_id: str, file_name: str, content: bytes, url: str,
         sha256: str | None = None) -> LandedFile:
    """Store the bytes under their hash (atomically, never overwriting) and describe them.

    ``sha256`` is the bytes' hash when the caller computed it as they arrived (a download does),
    so that 650 MB of a national refresh are not hashed twice.
    """
    sha256 = sha256 or hashlib.sha256(content).hexdigest()
    folder = landing_root / source_id / sha256
    target = folder / safe_file_name(file_name)
    meta_path = folder / "landing.json"
    if meta_path.exists():
        return LandedFile.from_dict(json.loads(meta_path.read_text(encoding="utf-8")))
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{target.name}.partial"
    temporary.write_bytes(content)
    os.replace(temporary, target)
    os.chmod(target, 0o444)
    landed = LandedFile(
        source_id=source_id,
        sha256=sha256,
        path=target,
        file_name=file_name,
        url=url,
        size=len(content),
        landed_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    meta_tmp = folder / ".landing.json.partial"
    meta_tmp.write_text(json.dumps(landed.as_dict(), indent=2), encoding="utf-8")
    os.replace(meta_tmp, meta_path)
    return landed
