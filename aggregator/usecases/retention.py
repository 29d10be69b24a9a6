"""Retention: retiring the stories that had no change for the retention period (`store/retention.py`)."""

from __future__ import annotations

import time

from aggregator.store.index import RedisIndex
from aggregator.store.retention import Retention


class StoryRetention:
    def __init__(self, retention: Retention, index: RedisIndex, retention_h: float) -> None:
        self.retention = retention
        self.index = index
        self.retention_h = retention_h

    def expire(self, now: float | None = None, batch: int = 200) -> int:
        """Retire the stories past the retention; returns how many went. 0 hours keeps everything."""
        if self.retention_h <= 0:
            return 0
        horizon = (time.time() if now is None else now) - self.retention_h * 3600
        retired = 0
        while True:
            with self.index.lock():  # a batch at a time: ingest waits for one batch, not for all
                done = self.retention.retire(horizon, batch)
            retired += len(done)
            if len(done) < batch:
                return retired
