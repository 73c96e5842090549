"""Failure notifications: a short summary an analyst can act on, sent to a webhook.

The webhook address is a secret (it usually embeds a token): it comes from the environment or an
Airflow connection, is never logged and never appears in a message.
"""

from __future__ import annotations

import logging

import requests

log = logging.getLogger(__name__)
_MAX_CHARS = 1500


def failure_summary(dag_id: str, task_id: str, run_id: str, error: object) -> str:
    """A few lines: what failed, where, and the first part of the analyst-facing error text."""
    text = str(error or "no error message").strip()
    if len(text) > _MAX_CHARS:
        text = text[:_MAX_CHARS] + " ..."
    return f"Culture and outcomes pipeline: {dag_id} failed at task {task_id} (run {run_id}).\n{text}"


def post_webhook(url: str, summary: str, timeout: float = 10.0) -> bool:
    """Post the summary as JSON ``{"text": ...}`` (Teams, Slack and most chat tools accept it)."""
    if not url:
        return False
    try:
        response = requests.post(url, json={"text": summary}, timeout=timeout)
        response.raise_for_status()
    except requests.RequestException as exc:
        # Say that it failed without printing the address, which may contain a token.
        log.warning("could not deliver the failure notification to the configured webhook (%s)", type(exc).__name__)
        return False
    return True
