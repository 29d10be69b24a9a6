"""The service's own log lines: one line each, to stderr. The service's loggers (`aggregator.*`) say
what happened at INFO; other libraries only their warnings."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(level: int = logging.INFO) -> None:
    """Send log lines to stderr, unless the process already set up its own (a test run, a host app)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format=FORMAT)
    logging.getLogger("aggregator").setLevel(level)
