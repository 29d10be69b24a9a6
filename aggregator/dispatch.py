"""Handing work to the workers: task names, the queue each kind of work goes to, and sending. They
live here so that `workers/` can import them and `aggregator/` never has to import `workers/`.

One queue per kind of work, so that each has its own workers and none waits behind another's backlog:
a new feed's first fetch or a webhook delivery never waits behind ten thousand pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

REFRESH_FEED = "aggregator.refresh_feed"
FETCH_PAGES = "aggregator.fetch_pages"
CLUSTER_ARTICLES = "aggregator.cluster_articles"
SCHEDULE_DUE = "aggregator.schedule_due"
FAN_OUT_EVENTS = "aggregator.fan_out_events"
DELIVER_WEBHOOK = "aggregator.deliver_webhook"
EXPIRE_STORIES = "aggregator.expire_stories"
RECOVER_ARTICLES = "aggregator.recover_articles"

SCHEDULER, FEEDS, PAGES, CLUSTERING, WEBHOOKS = "scheduler", "feeds", "pages", "clustering", "webhooks"
NEW_FEEDS = "new_feeds"  # a new feed's first fetch: it does not wait behind the scheduled refreshes
QUEUES = (SCHEDULER, NEW_FEEDS, FEEDS, PAGES, CLUSTERING, WEBHOOKS)
ROUTES = {
    SCHEDULE_DUE: SCHEDULER,
    EXPIRE_STORIES: SCHEDULER,
    RECOVER_ARTICLES: SCHEDULER,
    REFRESH_FEED: FEEDS,
    FETCH_PAGES: PAGES,
    CLUSTER_ARTICLES: CLUSTERING,
    FAN_OUT_EVENTS: WEBHOOKS,
    DELIVER_WEBHOOK: WEBHOOKS,
}


class TaskSender(Protocol):
    """What a Celery app offers for sending tasks by name."""

    def send_task(self, name: str, args: Sequence[Any] | None = ..., **options: Any) -> Any: ...


class Dispatcher:
    def __init__(self, sender: TaskSender) -> None:
        self.sender = sender

    def _send(
        self, name: str, args: Sequence[Any] = (), countdown: float | None = None, queue: str | None = None
    ) -> None:
        options: dict[str, Any] = {"queue": queue or ROUTES[name]}
        if countdown:
            options["countdown"] = countdown
        self.sender.send_task(name, args=list(args), **options)

    def refresh_feed(self, feed_id: str, countdown: float | None = None, new: bool = False) -> None:
        self._send(REFRESH_FEED, [feed_id], countdown, NEW_FEEDS if new else None)

    def fetch_pages(self, article_ids: Sequence[str], countdown: float | None = None) -> None:
        self._send(FETCH_PAGES, [list(article_ids)], countdown)

    def cluster_articles(self) -> None:
        self._send(CLUSTER_ARTICLES)

    def fan_out_events(self) -> None:
        self._send(FAN_OUT_EVENTS)

    def deliver_webhook(self, subscription_id: str, event_id: str) -> None:
        self._send(DELIVER_WEBHOOK, [subscription_id, event_id])


def celery_client(broker_url: str) -> TaskSender:
    """A Celery app that only sends: the API and CLI use it; workers build the full app."""
    from celery import Celery

    return Celery("aggregator-client", broker=broker_url, set_as_current=False)
