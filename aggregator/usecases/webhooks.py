"""Webhooks: subscriptions, the fan-out of new events to deliveries, and one signed delivery."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from aggregator.core.signing import signature
from aggregator.dispatch import Dispatcher
from aggregator.errors import FetchError, HostBusy, InvalidInput, NotFound
from aggregator.ingest.fetch import Fetcher
from aggregator.ingest.network import check_address
from aggregator.store.connection import held_lock
from aggregator.store.events import TYPES, EventLog
from aggregator.store.keys import FANOUT_LOCK_MS, Keys
from aggregator.store.metrics import Metrics
from aggregator.store.subscriptions import ACTIVE, Subscription, SubscriptionStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    status: str  # "delivered", "retry", "paused", "skipped", "deferred" (the receiver's host was busy)
    error: str | None = None
    retry_after_s: float | None = None


class Subscriptions:
    """Subscribing a webhook. Its URL obeys the same address rules as feeds."""

    def __init__(
        self, store: SubscriptionStore, event_log: EventLog, allow_private_hosts: bool, max_subscriptions: int
    ) -> None:
        self.store = store
        self.events = event_log
        self.allow_private_hosts = allow_private_hosts
        self.max_subscriptions = max_subscriptions

    def add(self, url: str, secret: str, types: Sequence[str]) -> Subscription:
        if unknown := set(types) - set(TYPES):
            raise InvalidInput(f"unknown event types {sorted(unknown)}; known: {list(TYPES)}")
        try:
            check_address(url, self.allow_private_hosts)
        except FetchError as exc:
            raise InvalidInput(str(exc)) from exc
        if self.store.count() >= self.max_subscriptions:
            limit = self.max_subscriptions
            raise InvalidInput(
                f"the service has {limit} subscriptions, its limit (AGGREGATOR_MAX_SUBSCRIPTIONS)"
            )
        if self.store.cursor() is None:  # deliveries start with the events after this moment
            self.store.set_cursor(self.events.newest())
        return self.store.add(url, secret, types, time.time())


class Deliveries:
    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        store: SubscriptionStore,
        event_log: EventLog,
        fetcher: Fetcher,
        dispatch: Dispatcher,
        metrics: Metrics,
        max_failures: int,
    ) -> None:
        self.r = client
        self.keys = keys
        self.store = store
        self.events = event_log
        self.fetcher = fetcher
        self.dispatch = dispatch
        self.metrics = metrics
        self.max_failures = max_failures

    def fan_out(self) -> int:
        """Hand every event since the last fan-out to a delivery task per matching active subscription.

        One worker at a time (a lock); the cursor moves after the tasks are sent, so a crash in between
        sends some again: deliveries are at least once, and receivers dedupe by the event id header.
        """
        with held_lock(self.r, self.keys.webhook_lock, FANOUT_LOCK_MS, 0) as held:
            if not held:
                return 0  # another worker is at it; its pass or the next tick covers these events
            cursor = self.store.cursor()
            if cursor is None:  # no subscription was ever made
                return 0
            subs = [s for s in self.store.all() if s.state == ACTIVE]
            sent = 0
            while events := self.events.read(cursor):
                for e in events:
                    for sub in subs:
                        if sub.wants(e.type):
                            self.dispatch.deliver_webhook(sub.id, e.id)
                            sent += 1
                cursor = events[-1].id
                self.store.set_cursor(cursor)
            return sent

    def deliver(self, subscription_id: str, event_id: str) -> Delivery:
        """POST one event to one subscription, signed. A failure counts towards pausing it."""
        try:
            sub = self.store.get(subscription_id)
        except NotFound:
            return Delivery("skipped", "subscription deleted")
        if sub.state != ACTIVE:
            return Delivery("skipped", f"subscription {sub.state}")
        event = self.events.get(event_id)
        if event is None:
            return Delivery("skipped", "event past retention")
        body = json.dumps(event.body(), separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json", "X-Signature": signature(body, sub.secret),
            "X-Event-Id": event.id, "X-Event-Type": event.type,
        }  # fmt: skip
        try:
            status = self.fetcher.post(sub.url, body, headers)
            error = None if 200 <= status < 300 else f"receiver answered {status}"
        except HostBusy as exc:  # our own politeness: not the receiver's failure
            return Delivery("deferred", str(exc), exc.retry_after_s)
        except FetchError as exc:
            error = str(exc)
        if error is None:
            self.store.record_success(sub.id)
            self.metrics.count("webhook_deliveries", outcome="delivered")
            self.metrics.observe("webhook_delivery_seconds", max(0.0, time.time() - event.time))
            return Delivery("delivered")
        fields = {"subscription": sub.id, "event": event.id, "error": error}
        log.warning("delivery of %s to subscription %s failed: %s", event.id, sub.id, error, extra=fields)
        self.metrics.count("webhook_deliveries", outcome="failed")
        self.metrics.error("webhooks")
        if self.store.record_failure(sub.id, error, self.max_failures):
            return Delivery("paused", error)
        return Delivery("retry", error)
