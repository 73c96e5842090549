"""Failure notifications: a short summary reaches the webhook, and its address never reaches a log."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pipelines.notify import failure_summary, post_webhook


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


def test_the_summary_names_the_dag_task_and_the_analyst_message_and_is_short():
    text = failure_summary("ingest_fft", "validate_and_load", "scheduled__2026-11-20", "x.xlsm: validation FAILED" + "!" * 5000)
    assert text.startswith("Culture and outcomes pipeline: ingest_fft failed at task validate_and_load")
    assert "x.xlsm: validation FAILED" in text and len(text) < 1700


def test_the_webhook_receives_the_summary_as_json():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks/secret-token"
        assert post_webhook(url, "ingest_fft failed") is True
    finally:
        server.shutdown()
        server.server_close()
    assert _Receiver.received[-1] == {"text": "ingest_fft failed"}


def test_an_unreachable_webhook_is_reported_without_its_secret_address(caplog):
    caplog.set_level(logging.WARNING)
    url = "http://127.0.0.1:9/hooks/secret-token"  # the discard port: nothing listens
    assert post_webhook(url, "summary", timeout=2) is False
    assert "could not deliver" in caplog.text and "secret-token" not in caplog.text


def test_no_webhook_configured_sends_nothing():
    assert post_webhook("", "summary") is False
