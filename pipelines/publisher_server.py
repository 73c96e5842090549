"""The local publisher: a small HTTP server on 127.0.0.1 serving a folder laid out like the real site.

Tests point it at the real published files; the demo points it at the synthetic publisher's
files. It supports conditional requests (If-Modified-Since), as the real file servers do, so an
unchanged file is not downloaded twice.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves files without writing a log line per request to stderr, over HTTP/1.1 as the real file
    servers do: a client's connection stays open for its next file.

    With the connection kept, a response's headers and body go out as two small writes, and Nagle's
    algorithm held the body back until the client acknowledged the headers, which it delays by up
    to 40 ms: 420 Friends and Family Test files took 19 s to fetch instead of 2 s. Web servers turn
    it off on kept connections (nginx's ``tcp_nodelay``), and so does this one.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".csv": "text/csv",
        ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    }

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        return


@contextlib.contextmanager
def serve(root: Path, port: int = 0) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 for the duration of the block; yields the base address."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, name="local-publisher", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
