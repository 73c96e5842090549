"""Per-source status for analysts: what landed, when it was checked, and whether it is overdue."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pipelines.config import Settings
from pipelines.ledger import Ledger
from pipelines.sources.catalogue import SOURCES

_CADENCE_DAYS = {"monthly": 31, "annual": 366, "weekly": 7}


def period_end(period: str) -> date:
    """The last day a period label covers ("2024-04" -> 30 April 2024; "2024" -> 31 December 2024)."""
    if len(period) == 4:
        return date(int(period), 12, 31)
    year, month = int(period[:4]), int(period[5:7])
    following = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def source_status(settings: Settings, today: date | None = None) -> list[dict[str, Any]]:
    """Overdue: the next period after the latest landed should have been published by now
    (its end + the publisher's usual lag + a week's grace)."""
    today = today or datetime.now(UTC).date()
    ledger = Ledger(settings.paths.state)
    checks = ledger.checks()
    rows = []
    for spec in SOURCES:
        extracts = ledger.extracts(spec.id)
        loaded = [e for e in extracts if e["status"] in {"loaded", "released"}]
        periods = sorted(p for e in loaded for p in (e.get("periods") or []))
        latest = periods[-1] if periods else None
        vintage = max((e["vintage"] for e in loaded if e.get("vintage")), default=None)
        overdue = False
        if latest:
            expected = period_end(latest).toordinal() + _CADENCE_DAYS[spec.cadence] + spec.expected_lag_days + 7
            overdue = today.toordinal() > expected
        rows.append(
            {
                "source_id": spec.id,
                "latest_period": latest,
                "vintage": vintage,
                "checked_at": checks.get(spec.id, {}).get("checked_at"),
                "overdue": overdue,
                "quarantined": sum(1 for e in extracts if e["status"] == "quarantined"),
            }
        )
    return rows
