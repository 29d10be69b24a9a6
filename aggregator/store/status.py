"""How far behind the service is, read in one round trip: what `/v1/status` and the gauges of
`/metrics` show."""

from __future__ import annotations

import time
from typing import Any

import redis

from aggregator.store.broker import BrokerQueues
from aggregator.store.connection import converts_errors
from aggregator.store.keys import Keys
from aggregator.store.metrics import Metrics


class Status:
    def __init__(self, client: redis.Redis, keys: Keys, metrics: Metrics, broker: BrokerQueues) -> None:
        self.r: Any = client  # decode_responses=True: replies are str
        self.keys = keys
        self.metrics = metrics
        self.broker = broker

    @converts_errors
    def read(self) -> dict[str, Any]:
        now = time.time()
        queues, held = self.broker.read()
        pipe = self.r.pipeline(transaction=False)
        pipe.zcard(self.keys.pending)
        pipe.zrange(self.keys.pending, 0, 0, withscores=True)
        pipe.zcard(self.keys.extracted)
        pipe.zrange(self.keys.extracted, 0, 0, withscores=True)
        pipe.zcard(self.keys.feeds)
        pipe.zcount(self.keys.feeds_due, "-inf", now)
        pipe.scard(self.keys.feeds_failing)
        res = iter(pipe.execute())
        pending, oldest_pending, extracted, oldest_extracted = next(res), next(res), next(res), next(res)
        feeds, due, failing = next(res), next(res), next(res)
        return {
            "time": now,
            "queues": queues,
            "tasks_held": held,
            "articles": {
                "pending": pending,
                "oldest_pending_s": _age(oldest_pending, now),
                "extracted": extracted,
                "oldest_extracted_s": _age(oldest_extracted, now),
            },
            "feeds": {"total": feeds, "due": due, "failing": failing},
            "errors_last_hour": self.metrics.errors_last_hour(),
        }


def _age(first: list[tuple[str, float]], now: float) -> float | None:
    return round(now - first[0][1], 1) if first else None
