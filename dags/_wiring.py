"""Shared wiring for the DAG files: defaults, assets and the failure notifier.

Kept light on purpose (no pandas, GX or dbt imports): the dag-processor parses these files
every cycle. All logic lives in the ``pipelines`` package and runs inside tasks.
"""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk import Asset, BaseNotifier

from pipelines.sources.catalogue import SOURCES

OWNER = "culture-outcomes"
WAREHOUSE_POOL = "warehouse_writer"  # one slot on DuckDB: it allows a single writing process
NOTIFIER_CONN_ID = "culture_outcomes_notifier"

SOURCE_ASSETS = {spec.id: Asset(name=f"raw_{spec.id}", uri=spec.asset_uri) for spec in SOURCES}
MARTS_ASSET = Asset(name="marts", uri="culture-outcomes://warehouse/marts")
RELEASE_ASSET = Asset(name="published_release", uri="culture-outcomes://published/latest")


class FailureNotifier(BaseNotifier):
    """Sends a short failure summary to the webhook in connection ``culture_outcomes_notifier``
    (its host/password form the address) or ``CULTURE_OUTCOMES_NOTIFICATIONS_WEBHOOK_URL``,
    and by email when ``CULTURE_OUTCOMES_NOTIFICATIONS_EMAIL_TO`` is set (Airflow's SMTP settings)."""

    def notify(self, context: dict) -> None:
        from pipelines.notify import failure_summary, post_webhook

        ti = context.get("ti") or context.get("task_instance")
        summary = failure_summary(
            dag_id=getattr(ti, "dag_id", "?"),
            task_id=getattr(ti, "task_id", "?"),
            run_id=getattr(ti, "run_id", "?"),
            error=context.get("exception"),
        )
        post_webhook(_webhook_url(), summary)
        recipients = os.environ.get("CULTURE_OUTCOMES_NOTIFICATIONS_EMAIL_TO", "")
        if recipients:
            from airflow.utils.email import send_email

            send_email(recipients, "Culture and outcomes pipeline failure", f"<pre>{summary}</pre>")


def _webhook_url() -> str:
    url = os.environ.get("CULTURE_OUTCOMES_NOTIFICATIONS_WEBHOOK_URL", "")
    if url:
        return url
    try:
        from airflow.sdk import Connection

        return Connection.get(NOTIFIER_CONN_ID).get_uri().replace("https:///", "https://", 1)
    except Exception:  # no connection configured: notifications are optional
        return ""


def default_args(**overrides: object) -> dict:
    """Retries with exponential backoff, a timeout and the notifier on every task."""
    args = {
        "owner": OWNER,
        # Tests and one-off demo runs set CULTURE_OUTCOMES_AIRFLOW_RETRIES=0 to fail fast.
        "retries": int(os.environ.get("CULTURE_OUTCOMES_AIRFLOW_RETRIES", "2")),
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(hours=1),
        "execution_timeout": timedelta(hours=2),
        "on_failure_callback": [FailureNotifier()],
    }
    args.update(overrides)
    return args
