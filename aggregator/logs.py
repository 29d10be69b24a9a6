"""The service's own log lines: one line each, to stderr, as text or as JSON (`AGGREGATOR_LOG_FORMAT`).

The service's loggers (`aggregator.*`) say what happened at `AGGREGATOR_LOG_LEVEL`; other libraries
(Celery's task receipts, a scheduler tick every few seconds) only their warnings, so an idle service is
quiet. A log call's `extra` fields (feed, url, story...) are the JSON line's fields too.
"""

from __future__ import annotations

import json
import logging
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


def configure(log_format: str = "text", level: str = "INFO") -> None:
    """Send log lines to stderr, unless the process already set up its own (a test run, a host app)."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(FORMAT))
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
    logging.getLogger("aggregator").setLevel(level.upper())
