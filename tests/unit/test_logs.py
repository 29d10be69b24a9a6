"""Log lines: a flood of one kind is cut to a few a minute, with a count of what was left out."""

from __future__ import annotations

import logging

from aggregator.logs import RepeatLimit


def _record(msg: str) -> logging.LogRecord:
    return logging.LogRecord("aggregator.x", logging.WARNING, __file__, 1, msg, ("a",), None)


def test_a_flood_of_one_line_is_cut_and_counted() -> None:
    now = [0.0]
    limit = RepeatLimit(burst=3, window_s=60, clock=lambda: now[0])
    kept = [limit.filter(_record("accept failed: %s")) for _ in range(1000)]
    assert kept.count(True) == 3
    assert limit.filter(_record("another kind of line: %s"))  # other lines are not held back
    now[0] = 61.0
    record = _record("accept failed: %s")
    assert limit.filter(record) and "997 more like this" in record.getMessage()
