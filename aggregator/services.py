"""Use cases shared by the Celery tasks, the API and the CLI. Each takes ids or values and does one job."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import redis

from aggregator.core import splitting
from aggregator.core.clustering import Clusterer, Thresholds
from aggregator.core.fingerprint import features_batch, prepare_batch
from aggregator.core.identity import feed_id
from aggregator.core.models import Article, Entry, Feed
from aggregator.core.signing import signature
from aggregator.core.splitting import SplitRule
from aggregator.dispatch import Dispatcher, TaskSender
from aggregator.errors import (
    AggregatorError,
    FetchError,
    InvalidInput,
    NotFound,
    ParseError,
    TemporaryFetchError,
)
from aggregator.ingest.extract import build_article, extract_page
from aggregator.ingest.fetch import Fetched, Fetcher
from aggregator.ingest.network import check_address
from aggregator.ingest.parse import parse_feed
from aggregator.settings import Settings
from aggregator.store.events import TYPES, EventLog
from aggregator.store.feeds import FeedStore
from aggregator.store.hosts import HostGate
from aggregator.store.index import RedisIndex
from aggregator.store.keys import FANOUT_LOCK_MS, Keys
from aggregator.store.redis import connect, held_lock
from aggregator.store.retention import Retention
from aggregator.store.revisions import RevisionStore
from aggregator.store.splits import SplitStore
from aggregator.store.stories import StoryStore
from aggregator.store.subscriptions import ACTIVE, Subscription, SubscriptionStore
from aggregator.store.views import StoryViews

_PAGE_FETCH_THREADS = 8  # page fetches wait on the network: overlap them


@dataclass(frozen=True)
class Delivery:
    status: str  # "delivered", "retry", "paused", "skipped"
    error: str | None = None


@dataclass(frozen=True)
class RefreshResult:
    feed_id: str
    status: str  # "ok", "not_modified", "error"
    new_entries: int = 0
    error: str | None = None


def make_clusterer(settings: Settings) -> Clusterer:
    thresholds = Thresholds(
        join=settings.join_threshold, copy=settings.copy_threshold, max_candidates=settings.max_candidates
    )
    return Clusterer(thresholds)


def make_split_rule(settings: Settings) -> SplitRule:
    return SplitRule(separation=settings.split_separation, min_words=settings.split_min_words)


class Services:
    def __init__(self, settings: Settings, sender: TaskSender, client: redis.Redis | None = None) -> None:
        if client is None and not settings.redis_url:
            raise AggregatorError("AGGREGATOR_REDIS_URL is not set")
        self.settings = settings
        self.redis = client or connect(settings.redis_url or "")
        self.keys = keys = Keys(settings.key_prefix)
        self.feeds = FeedStore(self.redis, keys)
        self.index = RedisIndex(self.redis, keys, settings.bucket_cap, settings.story_window_h * 3600)
        self.events = EventLog(self.redis, keys, settings.events_max_len, settings.events_retention_h * 3600)
        self.stories = StoryStore(self.redis, keys, self.index, self.events)
        self.views = StoryViews(self.redis, keys)
        self.revisions = RevisionStore(self.redis, keys, self.events)
        self.retention = Retention(self.redis, keys, max(1, int(settings.story_retention_h * 3600)))
        self.subscriptions = SubscriptionStore(self.redis, keys)
        self.dispatch = Dispatcher(sender)
        self.hosts = HostGate(
            self.redis, keys, settings.host_concurrency, settings.host_gap_s, settings.host_wait_s
        )
        self.fetcher = Fetcher(settings, gate=self.hosts.slot)
        self.clusterer = make_clusterer(settings)
        self.split_rule = make_split_rule(settings)
        self.splits = SplitStore(self.redis, keys, self.stories, self.index, self.events)

        self.feed_priority = [feed_id(u) for u in settings.feed_priority]

    def close(self) -> None:
        self.fetcher.close()
        self.redis.close()

    # --- feeds
    def add_feed(self, url: str, title: str | None = None) -> tuple[Feed, bool]:
        """Subscribe; a new feed is fetched at once, not at the next tick. Returns (feed, created)."""
        feed, created = self.feeds.add(url, title)
        if created:
            self.dispatch.refresh_feed(feed.id)
        return feed, created

    def schedule_due(self) -> list[str]:
        due = self.feeds.claim_due()
        for fid in due:
            self.dispatch.refresh_feed(fid)
        return due

    def refresh_feed(self, feed_id: str) -> RefreshResult:
        """Fetch and parse one feed, store its new entries and hand them to ingest in batches."""
        feed = self.feeds.get(feed_id)
        now = time.time()
        try:
            outcome = self.fetcher.get(feed.url, self.settings.max_feed_bytes, feed.etag, feed.last_modified)
            if not isinstance(outcome, Fetched):
                self.feeds.record_success(feed, "not_modified", self._next_due(now), None, None, None, now)
                return RefreshResult(feed_id, "not_modified")
            parsed = parse_feed(outcome.body, outcome.url)
        except (FetchError, ParseError) as exc:
            retry_after = exc.retry_after_s if isinstance(exc, TemporaryFetchError) else None
            self.feeds.record_failure(feed, str(exc), self._backoff(feed, now, retry_after), now)
            return RefreshResult(feed_id, "error", error=str(exc))
        todo = self.stories.add_entries(feed.id, parsed.entries, now, self.retention.tombstone_s)
        size = self.settings.ingest_batch_size
        for i in range(0, len(todo), size):
            self.dispatch.ingest_articles(todo[i : i + size])
        self.feeds.record_success(
            feed, "ok", self._next_due(now), outcome.etag, outcome.last_modified, parsed.title, now
        )
        return RefreshResult(feed_id, "ok", new_entries=len(todo))

    def _next_due(self, now: float) -> float:
        return now + self.settings.poll_interval_s

    def _backoff(self, feed: Feed, now: float, retry_after: float | None) -> float:
        delay = min(self.settings.max_backoff_s, self.settings.poll_interval_s * 2**feed.errors)
        if retry_after is not None:
            delay = min(self.settings.max_backoff_s, max(retry_after, 1.0))
        return now + delay

    # --- articles
    def ingest_articles(self, article_ids: Sequence[str]) -> int:
        """Fetch, extract and cluster pending articles. Already clustered ones are skipped (idempotent)."""
        pending = self.stories.pending_entries(article_ids)
        changed = self.revisions.pending(article_ids)
        if not pending and not changed:
            return 0
        with ThreadPoolExecutor(min(_PAGE_FETCH_THREADS, len(pending) + len(changed))) as pool:
            articles = list(pool.map(lambda p: self._article(*p), [*pending, *changed]))
        new = self.cluster(articles[: len(pending)])
        self.revise(articles[len(pending) :])
        self.dispatch.fan_out_events()  # webhooks hear of the new events now, not at the next tick
        return new

    def revise(self, articles: Sequence[Article]) -> list[str]:
        """Store new revisions of known articles; returns the stories that changed."""
        if not articles:
            return []
        revised = []
        with self.index.lock():  # the canonical choice reads what `cluster` writes
            for a in articles:
                sid = self.revisions.revise(a, time.time())
                if sid:
                    revised.append(sid)
            self.stories.choose_canonicals(revised, self.feed_priority, time.time())
        return revised

    def _article(self, entry: Entry, feed_id: str) -> Article:
        page = None
        try:
            fetched = self.fetcher.get(entry.url, self.settings.max_page_bytes)
            if isinstance(fetched, Fetched):
                page = extract_page(fetched.body, fetched.url, self.settings.max_page_elements)
        except FetchError:
            pass  # the feed's summary stands in; the article is marked extraction=summary
        return build_article(entry, feed_id, page)

    def cluster(self, articles: Sequence[Article]) -> int:
        """Assign each article to a story, atomically across workers. Returns how many were new."""
        if not articles:
            return 0
        s = self.settings
        with self.index.lock():
            done = self.stories.clustered([a.id for a in articles])
            batch = [a for a in articles if a.id not in done]
            if not batch:
                return 0
            table = prepare_batch(batch)
            doc_keys = table.df_keys()
            freq = self.index.doc_freq(set().union(*doc_keys))
            feats = features_batch(table, freq, s.keywords, s.num_perm, s.lsh_bands)
            found, centroids = self.index.candidates([f.bands for f in feats], s.max_candidates)
            times = [a.published or a.fetched for a in batch]
            decided = self.clusterer.assign([a.id for a in batch], feats, times, found, centroids)
            sizes = self.stories.commit(batch, feats, decided, doc_keys, time.time(), self.feed_priority)
            self._check_splits(Counter(x.decision.story_id for x in decided), sizes)
        return len(batch)

    def _check_splits(self, added: Counter[str], sizes: dict[str, int]) -> None:
        """Split the stories this batch grew whose members now show two stories (`core/splitting.py`)."""
        checked = splitting.due_stories(
            {sid: (n - added[sid], n) for sid, n in sizes.items()}, self.split_rule
        )
        if not checked:
            return
        members = self.index.members(self.splits.variants(checked))
        keep = self.clusterer.thresholds.centroid_terms
        for sid, parts in splitting.split_plans(members, self.split_rule).items():
            self.splits.apply(sid, parts, keep, self.feed_priority, time.time())

    # --- retention
    def expire_stories(self, now: float | None = None, batch: int = 200) -> int:
        """Retire the stories past the retention (see `store/retention.py`). Returns how many went."""
        if self.settings.story_retention_h <= 0:
            return 0  # kept forever
        horizon = (time.time() if now is None else now) - self.settings.story_retention_h * 3600
        retired = 0
        while True:
            with self.index.lock():  # a batch at a time: ingest waits for one batch, not for all
                done = self.retention.retire(horizon, batch)
            retired += len(done)
            if len(done) < batch:
                return retired

    # --- webhooks
    def add_subscription(self, url: str, secret: str, types: Sequence[str]) -> Subscription:
        """Subscribe a webhook. Its URL obeys the same address rules as feeds."""
        if unknown := set(types) - set(TYPES):
            raise InvalidInput(f"unknown event types {sorted(unknown)}; known: {list(TYPES)}")
        try:
            check_address(url, self.settings.allow_private_hosts)
        except FetchError as exc:
            raise InvalidInput(str(exc)) from exc
        if self.subscriptions.cursor() is None:  # deliveries start with the events after this moment
            self.subscriptions.set_cursor(self.events.newest())
        return self.subscriptions.add(url, secret, types, time.time())

    def fan_out_events(self) -> int:
        """Hand every event since the last fan-out to a delivery task per matching active subscription.

        One worker at a time (a lock); the cursor moves after the tasks are sent, so a crash in between
        sends some again: deliveries are at least once, and receivers dedupe by the event id header.
        """
        with held_lock(self.redis, self.keys.webhook_lock, FANOUT_LOCK_MS, 0) as held:
            if not held:
                return 0  # another worker is at it; its pass or the next tick covers these events
            cursor = self.subscriptions.cursor()
            if cursor is None:  # no subscription was ever made
                return 0
            subs = [s for s in self.subscriptions.all() if s.state == ACTIVE]
            sent = 0
            while events := self.events.read(cursor):
                for e in events:
                    for sub in subs:
                        if sub.wants(e.type):
                            self.dispatch.deliver_webhook(sub.id, e.id)
                            sent += 1
                cursor = events[-1].id
                self.subscriptions.set_cursor(cursor)
            return sent

    def deliver_webhook(self, subscription_id: str, event_id: str) -> Delivery:
        """POST one event to one subscription, signed. A failure counts towards pausing it."""
        try:
            sub = self.subscriptions.get(subscription_id)
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
        except FetchError as exc:
            error = str(exc)
        if error is None:
            self.subscriptions.record_success(sub.id)
            return Delivery("delivered")
        if self.subscriptions.record_failure(sub.id, error, self.settings.webhook_max_failures):
            return Delivery("paused", error)
        return Delivery("retry", error)
