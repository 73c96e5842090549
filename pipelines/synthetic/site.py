"""Build a synthetic publisher's web site: every source's files plus the pages that link to them.

The layout mirrors the real publishers': a publication page per source (``SourceSpec.page_path``)
whose links point at the files. The local publisher serves this folder over HTTP, and discovery
finds files exactly as it does on the real pages, by matching link addresses.
"""

from __future__ import annotations

import html
import importlib
from pathlib import Path
from urllib.parse import quote

from pipelines.sources.catalogue import SOURCES
from pipelines.synthetic.world import SYNTHETIC_BANNER, World

# source id -> "module:function" writing that source's files into a page folder.
WRITERS: dict[str, str] = {
    "sickness_absence": "pipelines.synthetic.sickness_absence:write",
    "sickness_absence_staff_group": "pipelines.synthetic.sickness_absence_staff_group:write",
    "sickness_absence_reason": "pipelines.synthetic.sickness_absence_reason:write",
    "staff_survey_benchmark": "pipelines.synthetic.staff_survey:write_benchmark_workbooks",
    "staff_survey_detailed": "pipelines.synthetic.staff_survey:write_detailed_workbooks",
    "fft": "pipelines.synthetic.fft:write",
    "workforce_staff_in_post": "pipelines.synthetic.workforce:write",
    "turnover": "pipelines.synthetic.turnover:write",
    "ods_trusts": "pipelines.synthetic.ods:write_trusts",
    "ods_successors": "pipelines.synthetic.ods:write_successors",
}


def _writer(source_id: str):
    module, _, function = WRITERS[source_id].partition(":")
    return getattr(importlib.import_module(module), function)


def build_site(world: World, root: Path, sources: list[str] | None = None, progress=print) -> dict[str, list[Path]]:
    """Write the chosen sources (default: all) under ``root`` and (re)write every index page."""
    written: dict[str, list[Path]] = {}
    for spec in SOURCES:
        if sources is not None and spec.id not in sources:
            continue
        progress(f"synthetic publisher: writing {spec.title}")
        written[spec.id] = _writer(spec.id)(world, root / spec.page_path)
    write_index_pages(root, banner=SYNTHETIC_BANNER)
    return written


def write_index_pages(root: Path, banner: str = "") -> None:
    """An index.html in every page folder linking to each file in it, and a home page."""
    pages = sorted({spec.page_path for spec in SOURCES if (root / spec.page_path).is_dir()})
    for page in pages:
        folder = root / page
        files = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != "index.html")
        links = "\n".join(f'<li><a href="{quote(name)}">{html.escape(name)}</a></li>' for name in files)
        folder.joinpath("index.html").write_text(_page(page, links, banner), encoding="utf-8")
    home = "\n".join(f'<li><a href="/{quote(page)}">{html.escape(page)}</a></li>' for page in pages)
    root.mkdir(parents=True, exist_ok=True)
    root.joinpath("index.html").write_text(_page("Publisher", home, banner), encoding="utf-8")


def _page(title: str, items: str, banner: str) -> str:
    note = f"<p><strong>{html.escape(banner)}</strong></p>" if banner else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{note}<ul>\n{items}\n</ul></body></html>\n"
    )
