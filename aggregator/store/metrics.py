"""What the service counts, kept in Redis so that every process (workers on any machine, the API) adds
to the same figures and the API serves them all: counters and latency histograms for `/metrics`, and
errors per minute for `/v1/status`.

A counter or histogram series is a field of one hash, named `metric|label=value,...`; a histogram keeps
one field per bucket (`le=`), a `sum` and a `count`. Recording never fails the work it describes: a
Redis error while counting is logged and dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from typing import Any

import redis

from aggregator.store.keys import ERRORS_KEEP_S, Keys

log = logging.getLogger(__name__)

BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
ERROR_KINDS = ("feeds", "pages", "webhooks", "articles")


def series(name: str, labels: Mapping[str, str]) -> str:
    return name + "|" + ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def parse_series(field: str) -> tuple[str, dict[str, str]]:
    name, _, rest = field.partition("|")
    return name, dict(pair.split("=", 1) for pair in rest.split(",") if pair)


class Metrics:
    def __init__(self, client: redis.Redis, keys: Keys, clock: Any = time.time) -> None:
        self.r: Any = client
        self.keys = keys
        self.clock = clock

    def count(self, name: str, value: float = 1.0, **labels: str) -> None:
        self._safely(lambda pipe: pipe.hincrbyfloat(self.keys.counters, series(name, labels), value))

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        """One observation of a histogram: the buckets it falls in, its sum and its count."""

        def queue(pipe: Any) -> None:
            for le in BUCKETS_S:
                if seconds <= le:
                    pipe.hincrby(self.keys.histograms, series(name, {**labels, "le": str(le)}), 1)
            pipe.hincrby(self.keys.histograms, series(name, {**labels, "le": "+Inf"}), 1)
            pipe.hincrbyfloat(self.keys.histograms, series(name + "_sum", labels), seconds)
            pipe.hincrby(self.keys.histograms, series(name + "_count", labels), 1)

        self._safely(queue)

    def error(self, kind: str, n: int = 1) -> None:
        """`n` more errors of `kind` (one of ERROR_KINDS) this minute."""
        key = self.keys.errors(kind, int(self.clock() // 60))

        def queue(pipe: Any) -> None:
            pipe.incrby(key, n)
            pipe.expire(key, ERRORS_KEEP_S)

        self._safely(queue)

    def _safely(self, queue: Any) -> None:
        try:
            pipe = self.r.pipeline(transaction=False)
            queue(pipe)
            pipe.execute()
        except redis.RedisError as exc:  # the work it counts went well: the figure is what is lost
            log.warning("a metric was not recorded: %s", exc)

    # --- reading
    def counters(self) -> Iterator[tuple[str, dict[str, str], float]]:
        for field, value in self.r.hgetall(self.keys.counters).items():
            name, labels = parse_series(field)
            yield name, labels, float(value)

    def histograms(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, float]]:
        """(name, labels without `le`) -> {"buckets": ..., "sum": ..., "count": ...} as flat keys: each
        bucket's `le` -> cumulative count, and `sum`, `count`."""
        out: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, float]] = {}
        for field, value in self.r.hgetall(self.keys.histograms).items():
            name, labels = parse_series(field)
            part = "bucket"
            for suffix in ("_sum", "_count"):
                if name.endswith(suffix):
                    name, part = name.removesuffix(suffix), suffix[1:]
            le = labels.pop("le", None)
            entry = out.setdefault((name, tuple(sorted(labels.items()))), {})
            entry[le if part == "bucket" and le is not None else part] = float(value)
        return out

    def errors_last_hour(self) -> dict[str, int]:
        minute = int(self.clock() // 60)
        pipe = self.r.pipeline(transaction=False)
        for kind in ERROR_KINDS:
            pipe.execute_command("MGET", *[self.keys.errors(kind, m) for m in range(minute - 59, minute + 1)])
        return {
            kind: sum(int(v) for v in values if v)
            for kind, values in zip(ERROR_KINDS, pipe.execute(), strict=True)
        }
