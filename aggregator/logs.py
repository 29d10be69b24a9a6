"""The service's own log lines: one line each, to stderr, as text or as JSON (`AGGREGATOR_LOG_FORMAT`).

The service's loggers (`aggregator.*`) say what happened at `AGGREGATOR_LOG_LEVEL`; other libraries
(Celery's task receipts, a scheduler tick every few seconds) only their warnings, so an idle service is
quiet. A log call's `extra` fields (feed, url, story...) are the JSON line's fields too.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((k, v) for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_"))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class RepeatLimit(logging.Filter):
    """At most `burst` lines of one kind (logger and message template) a minute; then one line says how
    many like it were left out. A flood of one failure (a refused connection a millisecond) must not
    fill the disk, nor hide the other lines."""

    def __init__(self, burst: int = 10, window_s: float = 60.0, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.burst, self.window_s, self.clock = burst, window_s, clock
        self.seen: dict[tuple[str, Any], list[float]] = {}  # kind -> [window start, lines, left out]
        self.lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.name, record.msg)
        now = self.clock()
        with self.lock:
            start, count, dropped = self.seen.get(kind, (now, 0, 0))
            if now - start >= self.window_s:
                if dropped:
                    record.msg = f"{record.msg} ({int(dropped)} more like this in the last minute left out)"
                start, count, dropped = now, 0, 0
            count += 1
            keep = count <= self.burst
            self.seen[kind] = [start, count, dropped + (not keep)]
            if len(self.seen) > 10_000:  # kinds are few; a bound all the same
                self.seen.clear()
        return keep


def configure(log_format: str = "text", level: str = "INFO") -> None:
    """Send log lines to stderr, unless the process already set up its own (a test run, a host app)."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(FORMAT))
        handler.addFilter(RepeatLimit())
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
    logging.getLogger("aggregator").setLevel(level.upper())
