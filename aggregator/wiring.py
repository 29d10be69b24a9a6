"""The composition root: every client, store and use case is built here from Settings, once, when first
asked for. A process builds only what it uses: the API never builds a fetcher or a clustering pipeline,
`aggregator eval` never builds a task sender.
"""

from __future__ import annotations

from functools import cached_property

import redis

from aggregator.core.identity import feed_id
from aggregator.core.pipeline import ClusterPipeline
from aggregator.dispatch import Dispatcher, TaskSender, celery_client
from aggregator.errors import AggregatorError
from aggregator.ingest.fetch import Fetcher
from aggregator.settings import Settings
from aggregator.store.articles import ArticleStore
from aggregator.store.broker import BrokerQueues
from aggregator.store.connection import connect
from aggregator.store.events import EventLog
from aggregator.store.feeds import FeedStore
from aggregator.store.hosts import HostGate
from aggregator.store.index import RedisIndex
from aggregator.store.keys import Keys
from aggregator.store.metrics import Metrics
from aggregator.store.retention import Retention
from aggregator.store.status import Status
from aggregator.store.stories import StoryStore
from aggregator.store.subscriptions import SubscriptionStore
from aggregator.store.views import StoryViews
from aggregator.usecases.feeds import FeedCatalogue, FeedRefresh
from aggregator.usecases.ingest import Ingest
from aggregator.usecases.recovery import Recovery
from aggregator.usecases.retention import StoryRetention
from aggregator.usecases.webhooks import Deliveries, Subscriptions


def pipeline_from(settings: Settings) -> ClusterPipeline:
    s = settings
    return ClusterPipeline(s.thresholds(), s.split_rule(), s.feature_params(), s.published_skew_h * 3600)


class Wiring:
    """`sender` sends tasks (the worker passes its Celery app); without one, a Celery client on the
    broker is made when a use case first dispatches."""

    def __init__(
        self, settings: Settings, sender: TaskSender | None = None, client: redis.Redis | None = None
    ) -> None:
        if client is None and not settings.redis_url:
            raise AggregatorError("AGGREGATOR_REDIS_URL is not set")
        self.settings = settings
        self._sender = sender
        self._client = client

    def close(self) -> None:
        for name in ("fetcher", "webhook_sender"):
            if name in self.__dict__:
                self.__dict__[name].close()
        if "status" in self.__dict__:
            self.status.broker.close()
        if "redis" in self.__dict__:
            self.redis.close()

    # --- clients
    @cached_property
    def redis(self) -> redis.Redis:
        s = self.settings
        return self._client or connect(s.redis_url or "", s.redis_cluster, s.redis_timeout_s)

    @cached_property
    def keys(self) -> Keys:
        prefix = self.settings.key_prefix
        return Keys.for_cluster(prefix) if self.settings.redis_cluster else Keys(prefix)

    @cached_property
    def dispatch(self) -> Dispatcher:
        return Dispatcher(self._sender or celery_client(self.settings.broker))

    @cached_property
    def fetcher(self) -> Fetcher:
        s = self.settings
        if s.host_concurrency == 0:  # politeness off: no limit to keep, so no gate to ask
            return Fetcher(s)
        gate = HostGate(self.redis, self.keys, s.host_concurrency, s.host_gap_s, s.host_wait_s, s.host_slow_s)
        return Fetcher(s, gate=gate.slot)

    @cached_property
    def webhook_sender(self) -> Fetcher:
        """Deliveries go to the subscriber's own receiver: a bound on requests in flight, no gap."""
        s = self.settings
        gate = HostGate(
            self.redis, self.keys, s.webhook_concurrency, 0.0, s.host_wait_s, s.host_slow_s, space="webhook"
        )
        return Fetcher(s, gate=gate.slot)

    @cached_property
    def pipeline(self) -> ClusterPipeline:
        return pipeline_from(self.settings)

    # --- stores
    @cached_property
    def feed_store(self) -> FeedStore:
        return FeedStore(self.redis, self.keys, 2 * self.settings.task_visibility_timeout_s)

    @cached_property
    def events(self) -> EventLog:
        s = self.settings
        return EventLog(self.redis, self.keys, s.events_max_len, s.events_retention_h * 3600)

    @cached_property
    def articles(self) -> ArticleStore:
        return ArticleStore(self.redis, self.keys, self.events)

    @cached_property
    def stories(self) -> StoryStore:
        priority = [feed_id(u) for u in self.settings.feed_priority]
        return StoryStore(self.redis, self.keys, self.events, priority)

    @cached_property
    def index(self) -> RedisIndex:
        s = self.settings
        return RedisIndex(
            self.redis, self.keys, self.stories, s.bucket_cap, s.window_s, s.archive_s, s.archive_max_stories
        )

    @cached_property
    def metrics(self) -> Metrics:
        return Metrics(self.redis, self.keys)

    @cached_property
    def status(self) -> Status:
        s = self.settings
        same = not s.broker_url or s.broker_url == s.redis_url
        broker = BrokerQueues(s.broker, self.redis if same and not s.redis_cluster else None)
        return Status(self.redis, self.keys, self.metrics, broker)

    @cached_property
    def views(self) -> StoryViews:
        return StoryViews(self.redis, self.keys)

    @cached_property
    def subscription_store(self) -> SubscriptionStore:
        return SubscriptionStore(self.redis, self.keys)

    # --- use cases
    @cached_property
    def feeds(self) -> FeedCatalogue:
        s = self.settings
        return FeedCatalogue(self.feed_store, self.dispatch, s.allow_private_hosts, s.max_feeds)

    @cached_property
    def refresh(self) -> FeedRefresh:
        return FeedRefresh(
            self.feed_store, self.articles, self.fetcher, self.dispatch, self.metrics, self.settings
        )

    @cached_property
    def ingest(self) -> Ingest:
        s = self.settings
        return Ingest(
            self.articles, self.stories, self.index, self.pipeline, self.fetcher, self.dispatch,
            self.metrics, s.page_rules(), s.ingest_batch_size, self.recovery,
        )  # fmt: skip

    @cached_property
    def recovery(self) -> Recovery:
        s = self.settings
        return Recovery(
            self.articles, self.feed_store, self.dispatch, self.metrics, s.article_resend_s,
            s.article_give_up_h * 3600, s.retention_s,
        )  # fmt: skip

    @cached_property
    def subscriptions(self) -> Subscriptions:
        s = self.settings
        return Subscriptions(self.subscription_store, self.events, s.allow_private_hosts, s.max_subscriptions)

    @cached_property
    def deliveries(self) -> Deliveries:
        return Deliveries(
            self.redis, self.keys, self.subscription_store, self.events, self.webhook_sender, self.dispatch,
            self.metrics, self.settings.webhook_max_failures,
        )  # fmt: skip

    @cached_property
    def retention(self) -> StoryRetention:
        retention = Retention(self.redis, self.keys, self.settings.retention_s)
        return StoryRetention(retention, self.index, self.settings.story_retention_h)
