"""Webhook subscriptions and their delivery state, and the fan-out cursor over the event log."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from aggregator.errors import NotFound
from aggregator.store import scripts
from aggregator.store.connection import converts_errors
from aggregator.store.keys import Keys

ACTIVE, PAUSED = "active", "paused"


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    secret: str
    types: tuple[str, ...]  # empty: every type
    created: float
    state: str = ACTIVE
    failures: int = 0  # consecutive failed attempts; reset by a success
    last_error: str | None = None
    delivered: int = 0

    def wants(self, event_type: str) -> bool:
        return not self.types or event_type in self.types


def _subscription(sid: str, h: dict[str, str]) -> Subscription:
    return Subscription(
        id=sid, url=h["url"], secret=h["secret"], types=tuple(json.loads(h.get("types") or "[]")),
        created=float(h["created"]), state=h.get("state", ACTIVE), failures=int(h.get("failures") or 0),
        last_error=h.get("last_error") or None, delivered=int(h.get("delivered") or 0),
    )  # fmt: skip


class SubscriptionStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r: Any = client
        self.keys = keys
        self._resume = scripts.register(client, "subscription_resume")

    @converts_errors
    def add(self, url: str, secret: str, types: Sequence[str], now: float) -> Subscription:
        sid = "w" + uuid.uuid4().hex[:16]
        pipe = self.r.pipeline(transaction=True)
        fields = {
            "url": url,
            "secret": secret,
            "types": json.dumps(list(types)),
            "created": now,
            "state": ACTIVE,
        }
        pipe.hset(self.keys.subscription(sid), mapping=fields)
        pipe.zadd(self.keys.subscriptions, {sid: now})
        pipe.execute()
        return self.get(sid)

    @converts_errors
    def get(self, sid: str) -> Subscription:
        h = self.r.hgetall(self.keys.subscription(sid))
        if not h:
            raise NotFound("subscription", sid)
        return _subscription(sid, h)

    @converts_errors
    def count(self) -> int:
        return int(self.r.zcard(self.keys.subscriptions))

    @converts_errors
    def all(self) -> list[Subscription]:
        ids = self.r.zrange(self.keys.subscriptions, 0, -1)
        pipe = self.r.pipeline(transaction=False)
        for sid in ids:
            pipe.hgetall(self.keys.subscription(sid))
        return [_subscription(sid, h) for sid, h in zip(ids, pipe.execute(), strict=True) if h]

    @converts_errors
    def delete(self, sid: str) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(self.keys.subscription(sid))
        pipe.zrem(self.keys.subscriptions, sid)
        deleted, _ = pipe.execute()
        if not deleted:
            raise NotFound("subscription", sid)

    @converts_errors
    def resume(self, sid: str) -> Subscription:
        """Make a paused subscription active again. It receives events from now on; what happened while
        it was paused is in the event log (`/v1/events?after=`)."""
        if not self._resume(keys=[self.keys.subscription(sid)], args=[ACTIVE]):
            raise NotFound("subscription", sid)
        return self.get(sid)

    @converts_errors
    def record_success(self, sid: str) -> None:
        key = self.keys.subscription(sid)
        if self.r.exists(key):
            pipe = self.r.pipeline(transaction=True)
            pipe.hset(key, mapping={"failures": 0, "last_error": ""})
            pipe.hincrby(key, "delivered", 1)
            pipe.execute()

    @converts_errors
    def record_failure(self, sid: str, error: str, max_failures: int) -> bool:
        """Count a failed attempt; pause the subscription at `max_failures` in a row. True if paused."""
        key = self.keys.subscription(sid)
        if not self.r.exists(key):
            return False
        failures = int(self.r.hincrby(key, "failures", 1))
        paused = failures >= max_failures
        fields = {"last_error": error, **({"state": PAUSED} if paused else {})}
        self.r.hset(key, mapping=fields)
        return paused

    # --- the fan-out cursor: the last event handed to deliveries
    @converts_errors
    def cursor(self) -> str | None:
        value: str | None = self.r.get(self.keys.webhook_cursor)
        return value

    @converts_errors
    def set_cursor(self, event_id: str) -> None:
        self.r.set(self.keys.webhook_cursor, event_id)
