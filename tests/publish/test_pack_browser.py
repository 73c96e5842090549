"""Benchmark packs rendered by headless Chromium: the charts draw, nothing errors, nothing loads.

Each page is loaded from a copy with a small recorder script injected *before* the page's own
Content-Security-Policy (a meta CSP only governs what follows it), which records JavaScript errors,
failed resource loads and CSP violations and, on load, whether every chart SVG has drawn content
with a non-zero size; ``--dump-dom`` gives the result back. Chromium's own console log
(``--enable-logging=stderr --v=0``) is checked for console errors too. A screenshot of every page
is written for review (its path is printed; ``-s`` shows it).

The PDFs are printed by one Chromium driven over its DevTools pipe (``print_pdfs``): the launches
are counted, and the fallback to one Chromium per page (``render_pdf``) is driven by a stand-in
binary that fails or hangs in pipe mode and runs the real Chromium otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from test_pack import NAMES, NETWORK, REFERENCE, associations, benchmark_table, settings

import pipelines.publish.chromium
from pipelines.publish.chromium import CHROMIUM_FLAGS, chromium_binary
from pipelines.publish.pack import print_pdfs, render_pdf, write_packs

pytestmark = pytest.mark.browser

TIMEOUT = 120

RECORDER = """<script>
(function () {
  var root = document.documentElement, errors = [];
  function record(message) { errors.push(String(message)); root.setAttribute('data-page-errors', JSON.stringify(errors)); }
  window.onerror = function (message, source, line) { record('error: ' + message + ' at ' + source + ':' + line); };
  window.addEventListener('error', function (event) {
    var target = event.target;
    if (target && target !== window) { record('resource failed: ' + (target.src || target.href || target.tagName)); }
  }, true);
  document.addEventListener('securitypolicyviolation', function (event) {
    record('csp: ' + event.violatedDirective + ' ' + event.blockedURI);
  });
  window.addEventListener('load', function () {
    var charts = document.querySelectorAll('svg'), drawn = 0, sized = 0;
    for (var i = 0; i < charts.length; i++) {
      var box = charts[i].getBoundingClientRect(), content = charts[i].getBBox();
      if (charts[i].childElementCount > 1 && content.width > 0 && content.height > 0) { drawn++; }
      if (box.width > 0 && box.height > 0) { sized++; }
    }
    root.setAttribute('data-svg-count', charts.length);
    root.setAttribute('data-svg-drawn', drawn);
    root.setAttribute('data-svg-sized', sized);
    root.setAttribute('data-resources', performance.getEntriesByType('resource').length);
    root.setAttribute('data-page-checked', 'yes');
  });
})();
</script>"""


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium; installed once with apt-get (as root) when absent, else a skip with the reason."""
    found = chromium_binary()
    if found:
        return found
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("headless Chromium is not installed (/usr/bin/chromium) and apt-get as root is not available")
    try:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600, check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], capture_output=True, timeout=1200,
                       check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"headless Chromium is not installed and 'apt-get install chromium' failed: {exc}")
    found = chromium_binary()
    if not found:
        pytest.skip("headless Chromium is not installed and 'apt-get install chromium' did not provide it")
    return found


def run_chromium(binary: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess:
    profile.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )


@pytest.fixture(scope="module")
def packs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("browser-release")
    write_packs(settings(), benchmark_table(), folder, REFERENCE, progress=lambda _: None,
                associations=associations())
    return folder / "packs"


@pytest.fixture
def launches(monkeypatch) -> list[list[str]]:
    """The command line of every process started while the test runs (Chromium's launches counted;
    the printing is real)."""
    started: list[list[str]] = []
    popen = subprocess.Popen

    def counted(args, *more, **options):
        started.append([str(part) for part in args])
        return popen(args, *more, **options)

    monkeypatch.setattr(subprocess, "Popen", counted)
    return started


def instrumented(page: Path, folder: Path) -> Path:
    html = page.read_text(encoding="utf-8")
    assert html.count("<head>") == 1
    copy = folder / page.name
    copy.write_text(html.replace("<head>", "<head>" + RECORDER, 1), encoding="utf-8")
    return copy


# Any console message counts: the page has no scripts, so only errors and CSP violations could log.
CONSOLE_ERROR = re.compile(r":CONSOLE[:(]|Uncaught|Refused to|net::ERR_")


@pytest.mark.parametrize("name", [f"{code}.html" for code in NETWORK] + ["index.html"])
def test_page_renders_in_chromium(chromium, packs, tmp_path, name):
    page = instrumented(packs / name, tmp_path)
    result = run_chromium(chromium, tmp_path / "profile", "--enable-logging=stderr", "--v=0",
                          "--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    dom = result.stdout
    root = re.search(r"<html\b[^>]*>", dom)
    assert root, f"no DOM dumped:\n{result.stderr[-2000:]}"
    found = dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', root.group(0)))
    assert found.get("data-page-checked") == "yes", f"the page did not finish loading:\n{result.stderr[-2000:]}"
    assert "data-page-errors" not in found, found["data-page-errors"]
    assert found["data-resources"] == "0"  # nothing fetched: no fonts, images, styles or scripts
    console = [line for line in result.stderr.splitlines() if CONSOLE_ERROR.search(line)]
    assert not console, console
    count, drawn, sized = (int(found[f"data-svg-{key}"]) for key in ("count", "drawn", "sized"))
    if name == "index.html":
        assert count == 0
        return
    assert count > 10 and drawn == count and sized == count, (count, drawn, sized)
    # and in the DOM as Chromium built it: every chart kind present with child elements
    for kind in ("spine", "funnel", "spc", "forest", "badge"):
        charts = re.findall(rf'<svg[^>]*data-chart="{kind}"[^>]*>(.*?)</svg>', dom, re.S)
        assert charts and all(re.search(r"<(circle|line|polyline|polygon|rect|path)\b", c) for c in charts), kind
    code = name.removesuffix(".html")
    assert NAMES[code] in dom


@pytest.mark.parametrize("name", [f"{code}.html" for code in NETWORK] + ["index.html"])
def test_screenshot_for_review(chromium, packs, tmp_path, name):
    shot = tmp_path / f"{Path(name).stem}.png"
    result = run_chromium(chromium, tmp_path / "profile", "--hide-scrollbars", f"--screenshot={shot}",
                          "--window-size=1280,2000", (packs / name).as_uri())
    assert shot.exists(), result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    print(f"screenshot for review: {shot}")


def test_pdf_prints(chromium, packs, tmp_path):
    pdf = tmp_path / "RA1.pdf"
    assert render_pdf(packs / "RA1.html", pdf)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 20_000
    # write_packs(pdf=True) adds one next to each page
    paths = write_packs(settings(members=("RB2",)), benchmark_table(), tmp_path / "release", REFERENCE,
                        progress=lambda _: None, pdf=True)
    assert [p.name for p in paths] == ["RB2.html", "RB2.pdf", "index.html"]


def test_every_trusts_pdf_is_printed_by_one_browser(chromium, tmp_path, launches):
    lines: list[str] = []
    paths = write_packs(settings(members=("RA1", "RB2", "RC3")), benchmark_table(), tmp_path, REFERENCE,
                        progress=lines.append, pdf=True)
    assert [p.name for p in paths] == ["RA1.html", "RA1.pdf", "RB2.html", "RB2.pdf", "RC3.html", "RC3.pdf",
                                       "index.html"]
    assert all(p.read_bytes().startswith(b"%PDF-") for p in paths if p.suffix == ".pdf")
    assert any(line.startswith("PDFs: 3 of 3 printed by Chromium in one browser") for line in lines), lines
    assert len(launches) == 1 and "--remote-debugging-pipe" in launches[0], launches


def test_a_page_that_cannot_be_loaded_gets_no_pdf_a_log_line_and_the_others_print(
        chromium, packs, tmp_path, launches, caplog):
    pages = [tmp_path / "RA1.html", tmp_path / "RZ9.html", tmp_path / "RB2.html"]  # RZ9.html does not exist
    for page in (pages[0], pages[2]):
        shutil.copy(packs / page.name, page)
    lines: list[str] = []
    with caplog.at_level("WARNING", logger="pipelines.publish.chromium"):
        printed = print_pdfs(pages, lines.append)
    assert printed == {pages[0]: tmp_path / "RA1.pdf", pages[1]: None, pages[2]: tmp_path / "RB2.pdf"}
    assert all(pdf.read_bytes().startswith(b"%PDF-") for pdf in (tmp_path / "RA1.pdf", tmp_path / "RB2.pdf"))
    assert not (tmp_path / "RZ9.pdf").exists()
    assert "RZ9.html: Chromium printed no PDF: it did not load: net::ERR_FILE_NOT_FOUND" in caplog.text
    assert "RA1.html" not in caplog.text and "RB2.html" not in caplog.text
    assert lines[-1].startswith("PDFs: 2 of 3 printed by Chromium in one browser")
    assert len(launches) == 1  # the browser carried on after the page that failed


def fake_chromium(folder: Path, chromium: str, pipe_mode: str) -> Path:
    """A chromium that runs ``pipe_mode`` (shell) when asked for --remote-debugging-pipe, else the real one."""
    binary = folder / "chromium"
    binary.write_text(f'#!/bin/sh\ncase " $* " in *" --remote-debugging-pipe "*) {pipe_mode} ;; esac\n'
                      f'exec {chromium} "$@"\n')
    binary.chmod(0o755)
    return binary


def test_when_the_one_browser_cannot_start_each_page_is_printed_by_a_chromium_of_its_own(
        chromium, packs, tmp_path, monkeypatch, launches, caplog):
    binary = fake_chromium(tmp_path, chromium, "echo 'starting' >&2; echo 'FATAL: no DevTools pipe' >&2; exit 3")
    monkeypatch.setattr(pipelines.publish.chromium, "chromium_binary", lambda: str(binary))
    pages = [tmp_path / "RA1.html", tmp_path / "RB2.html"]
    for page in pages:
        shutil.copy(packs / page.name, page)
    lines: list[str] = []
    with caplog.at_level("WARNING", logger="pipelines.publish.chromium"):
        printed = print_pdfs(pages, lines.append)
    assert printed == {page: page.with_suffix(".pdf") for page in pages}
    assert all(page.with_suffix(".pdf").read_bytes().startswith(b"%PDF-") for page in pages)
    said = re.search(r"RA1.html: the browser printing the packs failed, so it and the 1 page\(s\) after it are "
                     r"printed one Chromium each: Chromium exited with status 3 \((waiting for|sending) "
                     r"Target.createTarget\); its last message: FATAL: no DevTools pipe$", caplog.text, re.M)
    assert said, caplog.text
    assert lines[-1].startswith("PDFs: 2 of 2 printed by Chromium, 2 of them one browser each after the shared")
    assert [any("--print-to-pdf" in part for part in args) for args in launches] == [False, True, True]


def test_a_browser_that_stops_answering_is_given_up_after_the_page_timeout(
        chromium, packs, tmp_path, monkeypatch, launches, caplog):
    binary = fake_chromium(tmp_path, chromium, "exec sleep 60")  # holds the pipes, never answers
    monkeypatch.setattr(pipelines.publish.chromium, "chromium_binary", lambda: str(binary))
    page = tmp_path / "RA1.html"
    shutil.copy(packs / page.name, page)
    began = time.monotonic()
    with caplog.at_level("WARNING", logger="pipelines.publish.chromium"):
        printed = print_pdfs([page], lambda _: None, page_timeout=1)
    assert printed == {page: tmp_path / "RA1.pdf"}  # by the fallback, a Chromium of its own
    assert ("RA1.html: the browser printing the packs failed, so it and the 0 page(s) after it are printed one "
            "Chromium each: Chromium was silent for the 1 s a page has (waiting for Target.createTarget)"
            ) in caplog.text
    assert time.monotonic() - began < 30  # the silent browser was killed, not waited for
    assert len(launches) == 2


def test_without_chromium_the_pages_are_written_and_each_missing_pdf_is_said(tmp_path, monkeypatch):
    monkeypatch.setattr(pipelines.publish.chromium, "chromium_binary", lambda: None)  # no Chromium here
    lines: list[str] = []
    paths = write_packs(settings(members=("RA1", "RB2")), benchmark_table(), tmp_path, REFERENCE,
                        progress=lines.append, pdf=True)
    assert [p.name for p in paths] == ["RA1.html", "RB2.html", "index.html"]
    assert [line for line in lines if "PDF" in line] == [
        "PDFs: 0 of 2 printed: Chromium is not installed",
        "[1/2] RA1: PDF not written (Chromium unavailable or failed)",
        "[2/2] RB2: PDF not written (Chromium unavailable or failed)"]


def test_when_chromium_fails_the_log_gives_its_exit_status_and_last_message(tmp_path, monkeypatch, caplog):
    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\necho 'starting' >&2\necho 'FATAL: no usable sandbox' >&2\nexit 133\n")
    broken.chmod(0o755)
    monkeypatch.setattr(pipelines.publish.chromium, "chromium_binary", lambda: str(broken))
    page = tmp_path / "RA1.html"
    page.write_text("<!doctype html><p>pack</p>")
    with caplog.at_level("WARNING", logger="pipelines.publish.chromium"):
        assert not render_pdf(page, tmp_path / "RA1.pdf")
    assert not (tmp_path / "RA1.pdf").exists()
    assert "RA1.html: Chromium exited with status 133 and printed no PDF; its last message: FATAL: no usable sandbox" \
        in caplog.text
