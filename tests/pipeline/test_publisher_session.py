"""A run's downloads share one HTTP session, so the publisher's connection is opened once and kept
for the next file (as real file servers keep it, over HTTP/1.1), and every file still arrives whole."""

from __future__ import annotations

import hashlib

from pipelines.config import load_settings
from pipelines.fetch import ReleaseLink, download, publisher_session
from pipelines.landing import land
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
