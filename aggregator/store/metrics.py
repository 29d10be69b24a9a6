"""What the service counts, kept in Redis so that every process (workers on any machine, the API) adds
to the same figures and the API serves them all: counters and latency histograms for `/metrics`, and
errors per minute for `/v1/status`.

A counter or histogram series is a field of one hash, named `metric|label=value,...`; a histogram keeps
one field per bucket (`le=`), a `sum` and a `count`. Recording never fails the work it describes: a
Redis error while counting is logged and dropped.

Each process adds up what it records and sends it in one trip at most every FLUSH_S, at the end of
each task (the workers call `flush`), and before it reads: a round trip per article counted cost a
page worker a seventh of its time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

import redis

from aggregator.store.keys import ERRORS_KEEP_S, Keys

log = logging.getLogger(__name__)

BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
ERROR_KINDS = ("feeds", "pages", "webhooks", "articles")
FLUSH_S = 1.0


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
        self._lock = threading.Lock()  # a worker's threads record into one buffer
        self._counters: defaultdict[str, float] = defaultdict(float)
        self._histograms: defaultdict[str, float] = defaultdict(float)
        self._errors: defaultdict[str, int] = defaultdict(int)
        self._sent = time.monotonic()

    def count(self, name: str, value: float = 1.0, **labels: str) -> None:
        with self._lock:
            self._counters[series(name, labels)] += value
        self._flush_when_due()

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        """One observation of a histogram: the buckets it falls in, its sum and its count."""
        with self._lock:
            for le in BUCKETS_S:
                if seconds <= le:
                    self._histograms[series(name, {**labels, "le": str(le)})] += 1
            self._histograms[series(name, {**labels, "le": "+Inf"})] += 1
            self._histograms[series(name + "_sum", labels)] += seconds
            self._histograms[series(name + "_count", labels)] += 1
        self._flush_when_due()

    def error(self, kind: str, n: int = 1) -> None:
        """`n` more errors of `kind` (one of ERROR_KINDS) this minute."""
        with self._lock:
            self._errors[self.keys.errors(kind, int(self.clock() // 60))] += n
        self._flush_when_due()

    def _flush_when_due(self) -> None:
        if time.monotonic() - self._sent >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        """Send what was recorded since the last flush, in one trip."""
        with self._lock:
            counters, histograms, errors = self._counters, self._histograms, self._errors
            self._counters, self._histograms, self._errors = (
                defaultdict(float),
                defaultdict(float),
                defaultdict(int),
            )
            self._sent = time.monotonic()
        if not (counters or histograms or errors):
            return
        try:
            pipe = self.r.pipeline(transaction=False)
            for field, value in counters.items():
                pipe.hincrbyfloat(self.keys.counters, field, value)
            for field, value in histograms.items():
                pipe.hincrbyfloat(self.keys.histograms, field, value)
            for key, n in errors.items():
                pipe.incrby(key, n)
                pipe.expire(key, ERRORS_KEEP_S)
            pipe.execute()
        except redis.RedisError as exc:  # the work it counts went well: the figures are what is lost
            log.warning(
                "%d metrics were not recorded: %s", len(counters) + len(histograms) + len(errors), exc
            )

    # --- reading
    def counters(self) -> Iterator[tuple[str, dict[str, str], float]]:
        self.flush()
        for field, value in self.r.hgetall(self.keys.counters).items():
            name, labels = parse_series(field)
            yield name, labels, float(value)

    def histograms(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, float]]:
        """(name, labels without `le`) -> {"buckets": ..., "sum": ..., "count": ...} as flat keys: each
        bucket's `le` -> cumulative count, and `sum`, `count`."""
        out: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, float]] = {}
        self.flush()
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
        self.flush()
        minute = int(self.clock() // 60)
        pipe = self.r.pipeline(transaction=False)
        for kind in ERROR_KINDS:
            pipe.execute_command("MGET", *[self.keys.errors(kind, m) for m in range(minute - 59, minute + 1)])
        return {
            kind: sum(int(v) for v in values if v)
            for kind, values in zip(ERROR_KINDS, pipe.execute(), strict=True)
        }
