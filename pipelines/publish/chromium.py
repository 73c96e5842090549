"""The benchmark packs printed to PDF by headless Chromium: one browser prints every page.

Starting Chromium is about a second, as long as printing a pack: six packs took about 7 s with a
browser per page. :func:`print_pdfs` starts one headless Chromium and prints every page in it,
driven over the Chrome DevTools Protocol (CDP) on two pipes: with ``--remote-debugging-pipe``
Chromium reads commands on its file descriptor 3 and writes replies and events on 4, each message
JSON ended by a NUL byte. No TCP port is opened (nothing else on the machine can drive the browser)
and nothing beyond the standard library is needed.

The print options are those of ``chromium --print-to-pdf --no-pdf-header-footer`` (see
:data:`PRINT_OPTIONS`), so the PDFs are the ones :func:`render_pdf` - one Chromium per page on the
command line - makes. :func:`render_pdf` prints the pages left when the one browser cannot be
started or fails.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

__all__ = ["CHROMIUM_FLAGS", "PAGE_TIMEOUT", "chromium_binary", "print_pdfs", "render_pdf"]

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")
#: Seconds a page may take to load and print (the first page: with Chromium's start), as long as one
#: ``--print-to-pdf`` run has; past it the browser counts as hung and is killed.
PAGE_TIMEOUT = 90.0
#: Seconds Chromium has to quit after ``Browser.close`` before it is killed.
CLOSE_TIMEOUT = 10.0
#: What ``--print-to-pdf --no-pdf-header-footer`` asks of ``Page.printToPDF`` (Chromium's headless
#: command handler): backgrounds printed, the pages' ``@page`` size honoured, no header or footer line
#: (date, title, URL, page numbers), a tagged (accessible) PDF.
PRINT_OPTIONS = {"printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": False,
                 "generateTaggedPDF": True}
#: Run by ``/bin/sh`` to start Chromium with the pipes on 3 and 4. Popen puts the pipe ends on the
#: child's stdin and stdout (it sorts out any clash of descriptor numbers and closes every other one);
#: the shell moves them to 3 and 4, puts /dev/null back on 0 and 1 and becomes Chromium. (A preexec_fn
#: calling dup2 is unsafe with threads, and Popen's close_fds closes 3 and 4 after it has run.)
_ON_FDS_3_AND_4 = 'exec "$@" 3<&0 4>&1 </dev/null >/dev/null'


def chromium_binary() -> str | None:
    for candidate in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(candidate)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


class _PageFailed(Exception):
    """Chromium could not load or print one page (its reason); the browser prints the next one."""


class _BrowserFailed(Exception):
    """The pipe browser could not start, died, stopped answering or broke the protocol: nothing more
    is printed in it."""


class _DevToolsPipe:
    """One headless Chromium, driven over CDP on two pipes.

    A command waits for its reply; events that arrive meanwhile are kept for :meth:`wait_for`. Each
    page (:meth:`tab`) has ``page_timeout`` seconds for all its waits, and every read waits at most
    until then, so a hung browser costs one page's timeout, never the release. Once the browser has
    failed every further call raises the same :class:`_BrowserFailed`.
    """

    def __init__(self, binary: str, profile: str, stderr: IO[bytes], page_timeout: float) -> None:
        browser_reads, commands = os.pipe()
        replies, browser_writes = os.pipe()
        try:
            self._process = subprocess.Popen(
                ["/bin/sh", "-c", _ON_FDS_3_AND_4, "sh", binary, *CHROMIUM_FLAGS,
                 f"--user-data-dir={profile}", "--remote-debugging-pipe"],
                stdin=browser_reads, stdout=browser_writes, stderr=stderr)
        except OSError as error:
            os.close(commands)
            os.close(replies)
            raise _BrowserFailed(f"Chromium could not be started: {error}") from error
        finally:
            os.close(browser_reads)
            os.close(browser_writes)
        self._commands = open(commands, "wb")  # buffered: flush() writes the whole message
        self._replies = replies
        self._readable = select.poll()
        self._readable.register(replies, select.POLLIN)
        self._stderr = stderr
        self._page_timeout = page_timeout
        self._deadline = time.monotonic() + page_timeout
        self._buffer = bytearray()
        self._last_id = 0
        self._events: list[dict[str, Any]] = []
        self._failed: _BrowserFailed | None = None

    @classmethod
    @contextlib.contextmanager
    def start(cls, binary: str, page_timeout: float) -> Iterator[_DevToolsPipe]:
        """A browser with a throwaway profile, closed (and its profile deleted) on leaving."""
        with tempfile.TemporaryDirectory(prefix="pack-chromium-", ignore_cleanup_errors=True) as profile, \
                tempfile.TemporaryFile() as stderr:
            browser = cls(binary, profile, stderr, page_timeout)
            try:
                yield browser
            finally:
                browser.close()

    @contextlib.contextmanager
    def tab(self) -> Iterator[str]:
        """A new tab for one page (its session id), closed afterwards; the page's time starts here."""
        self._deadline = time.monotonic() + self._page_timeout
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = ""
        try:
            session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            yield session
        finally:
            self._events = [event for event in self._events if event.get("sessionId") != session]
            if self._failed is None:
                with contextlib.suppress(_PageFailed):  # a tab that will not close does not undo its print
                    self.send("Target.closeTarget", {"targetId": target})

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> dict[str, Any]:
        """The result of one command (in a tab's ``session``, else to the browser); _PageFailed with
        Chromium's message when it answers with an error."""
        message_id = self._write(method, params, session)
        reply = self._next(lambda message: message.get("id") == message_id, session, method)
        if "error" in reply:
            raise _PageFailed(f"{method}: {reply['error'].get('message', reply['error'])}")
        return reply.get("result", {})

    def wait_for(self, event: str, session: str, **params: Any) -> None:
        """Wait for an ``event`` in ``session`` whose parameters include ``params``."""
        def wanted(message: dict[str, Any]) -> bool:
            found = message.get("params", {})
            return (message.get("method") == event and message.get("sessionId") == session
                    and all(found.get(name) == value for name, value in params.items()))

        self._next(wanted, session, event)

    def close(self) -> None:
        """Ask Chromium to quit and wait for it; a browser that failed is killed at once, one that does
        not quit within :data:`CLOSE_TIMEOUT` seconds too."""
        if self._failed is None:
            with contextlib.suppress(_BrowserFailed):
                self._write("Browser.close")  # no reply awaited: the pipe closes as Chromium quits
        try:
            self._process.wait(timeout=0 if self._failed else CLOSE_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        with contextlib.suppress(OSError):  # a command still buffered for a dead browser
            self._commands.close()
        os.close(self._replies)

    def _write(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> int:
        if self._failed is not None:
            raise self._failed
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            self._commands.write(json.dumps(message).encode() + b"\0")
            self._commands.flush()
        except OSError as error:
            raise self._fail(self._gone(f"sending {method}")) from error
        return self._last_id

    def _next(self, wanted: Callable[[dict[str, Any]], bool], session: str, awaited: str) -> dict[str, Any]:
        """The first message ``wanted`` picks, kept events first; other events are kept. A crash of
        the session's page ends the wait (its commands would never be answered)."""
        for index, message in enumerate(self._events):
            if wanted(message):
                return self._events.pop(index)
        while not wanted(message := self._receive(awaited)):
            crashed = message.get("method") == "Inspector.targetCrashed"
            if crashed and session and message.get("sessionId") == session:
                raise _PageFailed(f"the page crashed (waiting for {awaited})")
            if "method" in message:
                self._events.append(message)
        return message

    def _receive(self, awaited: str) -> dict[str, Any]:
        """The next message from Chromium, waiting no later than the page's deadline."""
        if self._failed is not None:
            raise self._failed
        while (end := self._buffer.find(b"\0")) < 0:
            left = self._deadline - time.monotonic()
            if left <= 0 or not self._readable.poll(left * 1000):
                raise self._fail(f"Chromium was silent for the {self._page_timeout:g} s a page has "
                                 f"(waiting for {awaited})")
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise self._fail(self._gone(f"waiting for {awaited}"))
            self._buffer += chunk
        message = bytes(self._buffer[:end])
        del self._buffer[:end + 1]
        try:
            return json.loads(message)
        except ValueError as error:
            raise self._fail(f"Chromium sent something that is not a CDP message ({error})") from error

    def _fail(self, reason: str) -> _BrowserFailed:
        self._failed = _BrowserFailed(reason)
        return self._failed

    def _gone(self, doing: str) -> str:
        """Why the pipe closed while ``doing``: Chromium's exit status and its last line on stderr."""
        try:
            status = f"Chromium exited with status {self._process.wait(timeout=5)} ({doing})"
        except subprocess.TimeoutExpired:
            status = f"Chromium closed its DevTools pipe ({doing})"
        self._stderr.seek(max(0, self._stderr.seek(0, os.SEEK_END) - 4096))
        said = _last_message(self._stderr.read())
        return f"{status}; its last message: {said}" if said else status


def _print_page(browser: _DevToolsPipe, page: Path) -> bytes:
    """The page printed to PDF in a new tab of ``browser``, as ``--print-to-pdf`` would."""
    with browser.tab() as session:
        browser.send("Page.enable", session=session)
        browser.send("Page.setLifecycleEventsEnabled", {"enabled": True}, session)
        navigation = browser.send("Page.navigate", {"url": page.resolve().as_uri()}, session)
        if navigation.get("errorText"):
            raise _PageFailed(f"it did not load: {navigation['errorText']}")
        # the load of this navigation, not of the tab's about:blank (whose events are replayed)
        browser.wait_for("Page.lifecycleEvent", session, name="load", loaderId=navigation.get("loaderId"))
        pdf = base64.b64decode(browser.send("Page.printToPDF", PRINT_OPTIONS, session)["data"])
    if not pdf.startswith(b"%PDF-"):
        raise _PageFailed("Page.printToPDF gave no PDF")
    return pdf


def print_pdfs(pages: list[Path], progress: Callable[[str], Any],
               page_timeout: float = PAGE_TIMEOUT) -> dict[Path, Path | None]:
    """Each page printed to ``<page>.pdf`` by one headless Chromium, one page after another (see the
    module docstring). A page that fails is logged and skipped; when the browser itself cannot start,
    fails or takes more than ``page_timeout`` seconds over a page, the pages left are printed one
    Chromium each by :func:`render_pdf`. Returns the PDF of each page, None where Chromium is missing
    or failed."""
    if not pages:
        return {}
    began = time.perf_counter()
    printed: dict[Path, Path | None] = dict.fromkeys(pages)
    binary = chromium_binary()
    if binary is None:
        progress(f"PDFs: 0 of {len(pages)} printed: Chromium is not installed")
        return printed
    left = list(pages)
    how = " in one browser"
    try:
        with _DevToolsPipe.start(binary, page_timeout) as browser:
            while left:
                page = left[0]
                try:
                    pdf = _print_page(browser, page)
                except _PageFailed as error:
                    log.warning("%s: Chromium printed no PDF: %s", page.name, error)
                else:
                    pdf_path = page.with_suffix(".pdf")
                    pdf_path.write_bytes(pdf)
                    printed[page] = pdf_path
                left.pop(0)
    except _BrowserFailed as error:
        log.warning("%s: the browser printing the packs failed, so it and the %d page(s) after it are printed "
                    "one Chromium each: %s", left[0].name, len(left) - 1, error)
        how = f", {len(left)} of them one browser each after the shared one failed"
        for page in left:
            pdf_path = page.with_suffix(".pdf")
            printed[page] = pdf_path if render_pdf(page, pdf_path) else None
    done = sum(pdf is not None for pdf in printed.values())
    progress(f"PDFs: {done} of {len(pages)} printed by Chromium{how} ({time.perf_counter() - began:.1f} s)")
    return printed


def render_pdf(page: Path, pdf_path: Path, timeout: float = PAGE_TIMEOUT) -> bool:
    """Print a pack page to PDF with a headless Chromium of its own; False (no file) when that is not
    possible, with Chromium's reason in the log (its exit status and last message)."""
    binary = chromium_binary()
    if binary is None:
        return False
    with tempfile.TemporaryDirectory(prefix="pack-chromium-") as profile:
        try:
            finished = subprocess.run(
                [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
                 f"--print-to-pdf={pdf_path}", Path(page).resolve().as_uri()],
                capture_output=True, timeout=timeout, check=False)
        except (OSError, subprocess.SubprocessError) as error:
            log.warning("%s: Chromium could not print a PDF: %s", Path(page).name, error)
            return False
    ok = pdf_path.exists() and pdf_path.stat().st_size > 0 and pdf_path.read_bytes()[:5] == b"%PDF-"
    if not ok:
        if pdf_path.exists():
            pdf_path.unlink()
        said = _last_message(finished.stderr)
        log.warning("%s: Chromium exited with status %s and printed no PDF%s", Path(page).name,
                    finished.returncode, f"; its last message: {said}" if said else "")
    return ok


def _last_message(stderr: bytes) -> str:
    """The last non-blank line Chromium wrote to stderr (its reason, when it fails), cut short."""
    said = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return said[-1][:300] if said else ""
