"""A run's downloads share one HTTP session, so the publisher's connection is opened once and kept
for the next file (as real file servers keep it, over HTTP/1.1); every file still arrives whole, is
hashed once, and is recorded in the ledger with the others of its run, even when a later one fails."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipelines.config import load_settings
from pipelines.fetch import FetchError, ReleaseLink, download, publisher_session
from pipelines.ingest import fetch_and_land_all
from pipelines.landing import land
from pipelines.ledger import Ledger
from pipelines.publisher_server import serve


def test_files_downloaded_in_one_session_share_one_connection_and_arrive_whole(tmp_path, monkeypatch):
    import urllib3.connection

    opened: list[tuple[str, int]] = []
    real_create_connection = urllib3.connection.connection.create_connection

    def counted(address, *args, **kwargs):  # every TCP connection urllib3 opens, opened for real
        opened.append(address)
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.connection.connection, "create_connection", counted)
    site = tmp_path / "site"
    site.mkdir()
    contents = {f"file{n}.csv": (f"a,b\n{n},{n * 2}\n" * (n * 1000)).encode() for n in range(1, 4)}
    for name, content in contents.items():
        (site / name).write_bytes(content)
    config = load_settings(environ={"CULTURE_OUTCOMES_PATHS_DATA_DIR": str(tmp_path / "data")}).publisher

    with serve(site) as url, publisher_session(config) as session:
        got = [download(ReleaseLink(url=f"{url}/{name}", file_name=name, period_hint=None), config, session=session)
               for name in contents]

    assert [g.content for g in got] == list(contents.values())
    assert [g.sha256 for g in got] == [hashlib.sha256(c).hexdigest() for c in contents.values()]
    assert len(opened) == 1, f"{len(opened)} connections for {len(contents)} files"


def test_a_file_landed_with_the_hash_its_download_computed_is_stored_under_that_hash(tmp_path):
    content = b"a,b\n1,2\n"
    digest = hashlib.sha256(content).hexdigest()

    landed = land(tmp_path, "fft", "f.csv", content, "http://127.0.0.1/f.csv", sha256=digest)

    assert landed.sha256 == digest and landed.path == tmp_path / "fft" / digest / "f.csv"
    assert landed.path.read_bytes() == content


def test_the_files_landed_before_a_failed_download_are_kept_and_recorded_in_the_ledger(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "a.csv").write_bytes(b"a\n1\n")
    (site / "b.csv").write_bytes(b"a\n2\n")
    (site / "same_as_a.csv").write_bytes(b"a\n1\n")
    settings = load_settings(environ={"CULTURE_OUTCOMES_PATHS_DATA_DIR": str(tmp_path / "data"),
                                      "CULTURE_OUTCOMES_PUBLISHER_RETRIES": "0"})
    with serve(site) as url:
        links = [{"url": f"{url}/{name}", "file_name": name, "period_hint": None}
                 for name in ("a.csv", "b.csv", "same_as_a.csv", "missing.csv")]
        with pytest.raises(FetchError, match="missing.csv"):
            fetch_and_land_all("fft", links, settings, progress=lambda _: None)

    ledger = Ledger(settings.paths.state)
    for name, content in (("a.csv", b"a\n1\n"), ("b.csv", b"a\n2\n")):
        recorded = ledger.extract("fft", hashlib.sha256(content).hexdigest())
        assert recorded is not None and recorded["status"] == "landed"
        assert recorded["file_name"] == name  # the same bytes again under another name: the first one's
        assert Path(recorded["landed_path"]).read_bytes() == content
