"""Synthetic ODS reference files: ``etr.csv`` (trusts) and ``succ.csv`` (successors) (SYNTHETIC DATA).

``etr.csv`` follows the real file: no header, 27 double-quoted columns, every organisation of the
world including the closed ones with their close dates (the merged trusts of the succession
chain). ``succ.csv``: no header, ``old, new, reason, effective date (YYYYMMDD), indicator``; the
indicator is ``F`` where the successor is itself succeeded later (a chain to follow), else blank.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from pipelines.synthetic.world import Organisation, World

ETR_WIDTH = 27
# The old government office region letter (column 24) most trusts of a region carry.
_GOR_LETTER: dict[str, str] = {"Y56": "H", "Y58": "K", "Y59": "J", "Y60": "F", "Y61": "G", "Y62": "B", "Y63": "D"}
_STREETS = ("HOSPITAL ROAD", "STATION ROAD", "HIGH STREET", "CHURCH LANE", "PARK AVENUE", "MILL LANE")
_LETTERS = "ABDEFGHJLNPQRSTUWXY"


def write_trusts(world: World, out_dir: Path) -> list[Path]:
    """Write ``etr.csv`` into the ODS downloads folder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "etr.csv"
    path.write_bytes(render_trusts(world))
    return [path]


def write_successors(world: World, out_dir: Path) -> list[Path]:
    """Write ``succ.csv`` into the ODS downloads folder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "succ.csv"
    path.write_bytes(render_successors(world))
    return [path]


def render_trusts(world: World) -> bytes:
    """Every organisation, open and closed, sorted by code as ODS publishes them."""
    return _quoted_csv(_trust_fields(world, org) for org in sorted(world.organisations, key=lambda o: o.code))


def render_successors(world: World) -> bytes:
    """Every succession; ``F`` marks a record whose successor is succeeded again."""
    succeeded = {s.old for s in world.successions}
    return _quoted_csv(
        [s.old, s.new, s.reason, s.effective.strftime("%Y%m%d"), "F" if s.new in succeeded else ""]
        for s in sorted(world.successions, key=lambda s: (s.effective, s.old))
    )


def _trust_fields(world: World, org: Organisation) -> list[str]:
    rng = world.rng("ods", org.code)
    town = org.name.split(" AND ")[0]
    postcode = (f"{_LETTERS[int(rng.integers(len(_LETTERS)))]}{_LETTERS[int(rng.integers(len(_LETTERS)))]}"
                f"{int(rng.integers(1, 30))} {int(rng.integers(1, 10))}"
                f"{_LETTERS[int(rng.integers(len(_LETTERS)))]}{_LETTERS[int(rng.integers(len(_LETTERS)))]}")
    fields = [""] * ETR_WIDTH
    fields[:12] = [
        org.code, org.name, org.region_code, org.icb_code, f"{town} HEADQUARTERS",
        f"{int(rng.integers(1, 200))} {_STREETS[int(rng.integers(len(_STREETS)))]}", "", town, "", postcode,
        org.open_date.strftime("%Y%m%d"), org.close_date.strftime("%Y%m%d") if org.close_date else "",
    ]
    fields[21] = "0"
    fields[23] = _GOR_LETTER.get(org.region_code, "")
    return fields


def _quoted_csv(rows: Iterable[list[str]]) -> bytes:
    """Every field double-quoted, LF line ends, no header: the ODS download format."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
