"""Download from the publisher: discovery of release links and careful fetching of files.

The publishers' servers sometimes answer with an HTML error page, a truncated body or a slow
connection. Every download therefore has a timeout, retries with exponential backoff on
transient failures, a size cap, a content-type check and a SHA-256 computed while streaming.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin

import requests

from pipelines.config import Publisher
from pipelines.sources.catalogue import SourceSpec

log = logging.getLogger(__name__)

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}
_MONTH_YEAR = re.compile(r"(?i)\b(" + "|".join(_MONTHS) + r")[\s_-]+(\d{4})\b")
_YEAR_RANGE = re.compile(r"(\d{4})-(\d{4})")
_REFUSED_TYPES = ("text/html",)
_TRANSIENT = {429, 500, 502, 503, 504}


class FetchError(RuntimeError):
    """A download failed in a way retrying will not fix, or retries ran out; the message says why."""


@dataclass(frozen=True)
class ReleaseLink:
    """One file the publisher lists: its address, its file name and the period its name states."""

    url: str
    file_name: str
    period_hint: str | None  # "YYYY-MM" or "YYYY" when the link names one

    def as_dict(self) -> dict[str, str | None]:
        return {"url": self.url, "file_name": self.file_name, "period_hint": self.period_hint}


@dataclass(frozen=True)
class Download:
    url: str
    file_name: str
    content: bytes
    sha256: str
    content_type: str
    last_modified: str | None


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def period_hint(file_name: str) -> str | None:
    """The period a published file name states ("April 2024" -> "2024-04"; "2020-2024" -> "2024")."""
    match = _MONTH_YEAR.search(file_name.replace("%20", " "))
    if match:
        return f"{match.group(2)}-{_MONTHS[match.group(1).lower()]:02d}"
    years = _YEAR_RANGE.search(file_name)
    return years.group(2) if years else None


def publisher_session(config: Publisher) -> requests.Session:
    """An HTTP session for the publisher: one per run of downloads, so its connection is kept open
    between files (a session and a connection per file cost about 1 ms each, 1 s of a full refresh's
    thousand files: benchmarks/FINDINGS.md, section 22)."""
    session = requests.Session()
    session.headers["User-Agent"] = "culture-outcomes-pipeline (NHS network benchmarking)"
    session.trust_env = False  # never route through a proxy the environment happens to set
    return session


def _get(session: requests.Session, url: str, config: Publisher, **kwargs: object) -> requests.Response:
    """GET with retries and exponential backoff on connection errors and transient statuses."""
    attempt = 0
    while True:
        attempt += 1
        try:
            response = session.get(url, timeout=config.timeout_seconds, **kwargs)  # type: ignore[arg-type]
            if response.status_code not in _TRANSIENT:
                return response
            reason = f"HTTP {response.status_code}"
        except (requests.ConnectionError, requests.Timeout) as exc:
            reason = type(exc).__name__
        if attempt > config.retries:
            raise FetchError(f"{url}: gave up after {attempt} attempts ({reason})")
        delay = config.backoff_seconds * 2 ** (attempt - 1)
        log.warning("%s: %s, retrying in %.1f s (attempt %d of %d)", url, reason, delay, attempt, config.retries + 1)
        time.sleep(delay)


def discover(spec: SourceSpec, config: Publisher, pinned: list[str] | None = None) -> list[ReleaseLink]:
    """The source's files listed on its publication page (or the analyst's pinned addresses)."""
    if pinned:
        urls = pinned
    else:
        page = urljoin(config.base_url.rstrip("/") + "/", spec.page_path)
        with publisher_session(config) as session:
            response = _get(session, page, config)
        if response.status_code != 200:
            raise FetchError(f"{spec.title}: publication page {page} answered HTTP {response.status_code}")
        parser = _Links()
        parser.feed(response.text)
        urls = [urljoin(page, href) for href in parser.hrefs]
    pattern = re.compile(spec.link_pattern)
    links = []
    for url in urls:
        name = unquote(url.rsplit("/", 1)[-1])
        if pattern.search(name):
            links.append(ReleaseLink(url=url, file_name=name, period_hint=period_hint(name)))
    return sorted(links, key=lambda link: (link.period_hint or "", link.file_name))


def download(link: ReleaseLink, config: Publisher, if_modified_since: str | None = None,
             session: requests.Session | None = None) -> Download | None:
    """Fetch one file; None when the server says it has not changed since ``if_modified_since``.

    ``session`` (:func:`publisher_session`) is the caller's, kept for its next files; without one
    the file is fetched in a session of its own.
    """
    headers = {"If-Modified-Since": if_modified_since} if if_modified_since else {}
    with contextlib.nullcontext(session) if session is not None else publisher_session(config) as session:
        response = _get(session, link.url, config, stream=True, headers=headers)
        if response.status_code == 304:
            return None
        if response.status_code != 200:
            raise FetchError(f"{link.file_name}: the publisher answered HTTP {response.status_code} for {link.url}")
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type in _REFUSED_TYPES and not link.file_name.lower().endswith((".html", ".htm")):
            raise FetchError(
                f"{link.file_name}: the publisher sent a web page ({content_type}) instead of the file; "
                "the address may have moved"
            )
        declared = response.headers.get("Content-Length")
        if declared and int(declared) > config.max_bytes:
            raise FetchError(f"{link.file_name}: {declared} bytes is over the {config.max_bytes}-byte limit")
        digest = hashlib.sha256()
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=1 << 16):
            size += len(chunk)
            if size > config.max_bytes:
                raise FetchError(f"{link.file_name}: more than {config.max_bytes} bytes; refusing to continue")
            digest.update(chunk)
            chunks.append(chunk)
        if declared and size != int(declared):
            raise FetchError(f"{link.file_name}: received {size} of {declared} bytes (connection cut short)")
    return Download(
        url=link.url,
        file_name=link.file_name,
        content=b"".join(chunks),
        sha256=digest.hexdigest(),
        content_type=content_type,
        last_modified=response.headers.get("Last-Modified"),
    )
