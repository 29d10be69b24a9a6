"""Per-host politeness across every worker: at most K requests in flight to one origin (scheme, host
and port), a minimum gap between two requests' starts, and K lowered for an origin that answers slowly
or fails. The state lives in Redis, so it holds however many workers run.

A fetch never holds a worker waiting its turn for long: it waits at most `wait_s`, then `HostBusy`
says when to try again, and its caller defers the work (a task's countdown) and takes other work.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import redis

from aggregator.errors import HostBusy, StorageError, TemporaryFetchError
from aggregator.store import scripts
from aggregator.store.keys import HOST_LEASE_MS, HOST_LIMIT_S, Keys

log = logging.getLogger(__name__)

MIN_TURN_SPACING_MS = 100
# A wait this short is waited, whatever `wait_s` says: workers' clocks and calls a millisecond apart
# must not put a fetch off.
SHORT_WAIT_S = 0.05
MAX_PUT_OFF_S = 300.0


class HostGate:
    """`space` keeps gates apart: webhook deliveries to a receiver do not spend the budget of fetches
    from the same origin, nor the other way round."""

    def __init__(
        self, client: redis.Redis, keys: Keys, limit: int, gap_s: float, wait_s: float, slow_s: float,
        space: str = "fetch",
    ) -> None:  # fmt: skip
        self.r: Any = client
        self.keys = keys
        self.space = space
        self.limit = limit
        self.gap_ms = int(gap_s * 1000)
        # Turns of requests put off come the gap apart; when a host is put off for its limit (how long
        # its requests take is not known), `limit` turns every MIN_TURN_SPACING_MS.
        self.spacing_ms = max(self.gap_ms, -(-MIN_TURN_SPACING_MS // max(limit, 1)))
        self.wait_s = wait_s
        self.slow_s = slow_s  # a request slower than this lowers its origin's concurrency
        self._acquire = scripts.register(client, "host_acquire")
        self._turn = scripts.register(client, "host_turn")
        self._adjust = scripts.register(client, "host_adjust")

    @contextlib.contextmanager
    def slot(self, origin: str) -> Iterator[None]:
        """Hold one of the origin's request slots, waiting at most `wait_s` for it, else HostBusy with
        when to ask again. How the request went (its time, or its failure) adapts the origin's limit."""
        token = uuid.uuid4().hex
        spaced = f"{self.space}:{origin}"
        keys = [self.keys.host_inflight(spaced), self.keys.host_last(spaced), self.keys.host_limit(spaced)]
        deadline = time.monotonic() + max(self.wait_s, SHORT_WAIT_S)
        try:
            while True:
                now_ms = int(time.time() * 1000)
                args = [token, now_ms, self.limit, self.gap_ms, HOST_LEASE_MS]
                wait_ms = int(self._acquire(keys=keys, args=args))
                if wait_ms == 0:
                    break
                if time.monotonic() + wait_ms / 1000 > deadline:
                    turn_ms = self._turn(
                        keys=[self.keys.host_turns(spaced)], args=[now_ms, wait_ms, self.spacing_ms]
                    )
                    # A turn past MAX_PUT_OFF_S is asked for again then: a task's countdown must stay
                    # well within the broker's visibility timeout.
                    retry = min(turn_ms / 1000, MAX_PUT_OFF_S)
                    raise HostBusy(f"{origin} is busy: its turn is in {turn_ms} ms", retry_after_s=retry)
                time.sleep(wait_ms / 1000)
        except redis.RedisError as exc:
            raise StorageError(f"redis: {exc}") from exc
        started, bad = time.monotonic(), False
        try:
            yield
        except TemporaryFetchError:  # a timeout, a reset, a 5xx or a 429: the host is struggling
            bad = True
            raise
        finally:
            self._release(origin, keys, token, bad or time.monotonic() - started > self.slow_s)

    def _release(self, origin: str, keys: list[str], token: str, bad: bool) -> None:
        try:
            self.r.zrem(keys[0], token)
            limit = self._adjust(keys=[keys[2]], args=[self.limit, int(bad), HOST_LIMIT_S])
            if bad and int(limit) < self.limit:
                log.info("%s answers slowly or fails: at most %s requests at once", origin, limit)
        except redis.RedisError as exc:  # the lease frees the slot after HOST_LEASE_MS
            log.warning("could not free a request slot of %s: %s", origin, exc)
