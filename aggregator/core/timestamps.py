"""Times as the service shows them: ISO 8601 strings in UTC with milliseconds
("2025-06-18T14:03:00.250Z"), from the Unix seconds it stores and computes with.

Every answer and event names its times with the fields below, so one walk over a response turns them
all, and a new time field is added here, once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

TIME_FIELDS = frozenset(
    {
        "published", "fetched", "first_seen", "updated", "last_fetched", "next_due", "time", "created",
        "replaced",
    }
)  # fmt: skip


def iso_time(seconds: float) -> str:
    """Unix seconds as an ISO 8601 UTC string."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seconds(value: float | str) -> float:
    """Unix seconds from a number or an ISO 8601 string (how a client may send a time back)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return float(value)


def with_iso_times(value: Any) -> Any:
    """`value` (dicts and lists, as JSON has them) with every number under a time field's name as an
    ISO 8601 string; a missing time stays None."""
    if isinstance(value, dict):
        return {
            key: iso_time(item)
            if key in TIME_FIELDS and isinstance(item, int | float) and not isinstance(item, bool)
            else with_iso_times(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [with_iso_times(item) for item in value]
    return value
