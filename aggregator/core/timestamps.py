"""Times as the service shows them: ISO 8601 strings in UTC with milliseconds
("2025-06-18T14:03:00.250Z"), from the Unix seconds it stores and computes with.

Every answer and event names its times with the fields below, so one walk over a response turns them
all, and a new time field is added here, once.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

TIME_FIELDS = frozenset(
    {
        "published", "fetched", "first_seen", "updated", "last_fetched", "next_due", "time", "created",
        "replaced",
    }
)  # fmt: skip


# A read-heavy API shows the same stories' times again and again: most come from here.
@functools.lru_cache(maxsize=100_000)
def iso_time(seconds: float) -> str:
    """Unix seconds as an ISO 8601 UTC string."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seconds(value: float | str) -> float:
    """Unix seconds from a number or an ISO 8601 string (how a client may send a time back)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return float(value)


def with_iso_times(value: Any) -> Any:
    """`value` (dicts and lists, as JSON has them) with every number under a time field's name turned
    into an ISO 8601 string, in place (the views build a fresh value for each answer); a missing time
    stays None. Returns `value`."""
    if type(value) is dict:
        for key, item in value.items():
            kind = type(item)
            if kind is float or kind is int:
                if key in TIME_FIELDS:
                    value[key] = iso_time(item)
            elif kind is dict or kind is list:
                with_iso_times(item)
    elif type(value) is list:
        for item in value:
            if type(item) is dict or type(item) is list:
                with_iso_times(item)
    return value
