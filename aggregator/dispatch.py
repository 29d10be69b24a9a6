"""Handing work to the workers. Task names live here so that `workers/` can import them and
`aggregator/` never has to import `workers/`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

REFRESH_FEED = "aggregator.refresh_feed"
INGEST_ARTICLES = "aggregator.ingest_articles"
SCHEDULE_DUE = "aggregator.schedule_due"
FAN_OUT_EVENTS = "aggregator.fan_out_events"
DELIVER_WEBHOOK = "aggregator.deliver_webhook"
EXPIRE_STORIES = "aggregator.expire_stories"


class TaskSender(Protocol):
    """What a Celery app offers for sending tasks by name."""

    def send_task(self, name: str, args: Sequence[Any] | None = ..., **options: Any) -> Any: ...


class Dispatcher:
    def __init__(self, sender: TaskSender) -> None:
        self.sender = sender

    def refresh_feed(self, feed_id: str) -> None:
        self.sender.send_task(REFRESH_FEED, args=[feed_id])

    def ingest_articles(self, article_ids: Sequence[str], countdown: float | None = None) -> None:
        options = {"countdown": countdown} if countdown else {}
        self.sender.send_task(INGEST_ARTICLES, args=[list(article_ids)], **options)

    def fan_out_events(self) -> None:
        self.sender.send_task(FAN_OUT_EVENTS)

    def deliver_webhook(self, subscription_id: str, event_id: str) -> None:
        self.sender.send_task(DELIVER_WEBHOOK, args=[subscription_id, event_id])


def celery_client(broker_url: str) -> TaskSender:
    """A Celery app that only sends: the API and CLI use it; workers build the full app."""
    from celery import Celery

    return Celery("aggregator-client", broker=broker_url, set_as_current=False)
