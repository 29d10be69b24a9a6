"""Per-host politeness across every worker: at most K requests in flight to one host, and a minimum gap
between two requests' starts. The state lives in Redis, so it holds however many workers run."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import redis

from aggregator.errors import StorageError, TemporaryFetchError
from aggregator.store import scripts
from aggregator.store.keys import HOST_LEASE_MS, Keys

log = logging.getLogger(__name__)


class HostGate:
    def __init__(self, client: redis.Redis, keys: Keys, limit: int, gap_s: float, wait_s: float) -> None:
        self.r: Any = client
        self.keys = keys
        self.limit = limit
        self.gap_ms = int(gap_s * 1000)
        self.wait_s = wait_s
        self._acquire = scripts.register(client, "host_acquire")

    @contextlib.contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of the host's request slots; TemporaryFetchError when none frees up in `wait_s`
        (the task retries later rather than hammering the host)."""
        token = uuid.uuid4().hex
        keys = [self.keys.host_inflight(host), self.keys.host_last(host)]
        deadline = time.monotonic() + self.wait_s
        try:
            while True:
                now_ms = int(time.time() * 1000)
                wait_ms = int(
                    self._acquire(keys=keys, args=[token, now_ms, self.limit, self.gap_ms, HOST_LEASE_MS])
                )
                if wait_ms == 0:
                    break
                if time.monotonic() + wait_ms / 1000 > deadline:
                    raise TemporaryFetchError(f"{host} is busy: politeness limit reached", retry_after_s=1.0)
                time.sleep(wait_ms / 1000)
        except redis.RedisError as exc:
            raise StorageError(f"redis: {exc}") from exc
        try:
            yield
        finally:
            try:
                self.r.zrem(keys[0], token)
            except redis.RedisError as exc:  # the lease frees the slot after HOST_LEASE_MS
                log.warning("could not free a request slot of %s: %s", host, exc)
