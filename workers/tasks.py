"""Thin tasks: ids in, one use-case call, temporary errors turned into retries.

Every task is idempotent: a feed refresh stores only entries not yet clustered, and ingest skips
articles already clustered (checked under the assignment lock), so a redelivered task adds nothing.
"""

from __future__ import annotations

import gc
import random
from typing import Any

from celery import Celery, Task, shared_task
from celery.signals import task_postrun, worker_ready

from aggregator.dispatch import (
    CLUSTER_ARTICLES,
    DELIVER_WEBHOOK,
    EXPIRE_STORIES,
    FAN_OUT_EVENTS,
    FETCH_PAGES,
    PAGES,
    RECOVER_ARTICLES,
    REFRESH_FEED,
    SCHEDULE_DUE,
)
from aggregator.errors import NotFound, StorageError, TemporaryFetchError
from aggregator.usecases.ingest import warm_up_pages
from aggregator.wiring import Wiring
from workers.celery_app import max_retry_countdown

_wirings: dict[int, Wiring] = {}


def wiring(app: Celery) -> Wiring:
    """One Wiring per app per process: its Redis pool and HTTP client are reused across tasks."""
    found = _wirings.get(id(app))
    if found is None:
        found = _wirings[id(app)] = Wiring(app.conf.aggregator_settings, sender=app)
    return found


@task_postrun.connect
def _flush_metrics(**_: Any) -> None:
    """What a task counted reaches Redis when it ends (the figures are batched per process)."""
    for found in _wirings.values():
        found.metrics.flush()


@worker_ready.connect
def _warm_up(sender: Any, **_: Any) -> None:
    """A worker that takes pages loads its parsers and models before its first task, not during it.
    What the worker has built by then lives as long as it does: kept out of the garbage collector's
    sight, a full collection scans only what tasks made, not every module and model again."""
    if PAGES in {queue.name for queue in sender.task_consumer.queues}:
        warm_up_pages()
    gc.collect()
    gc.freeze()


def _retry(task: Task, exc: Exception) -> Any:
    # Exponential backoff with full jitter, so a Redis blip does not bring every retry back at once.
    ceiling = max_retry_countdown(task.app.conf.aggregator_settings)
    countdown = random.uniform(0, min(ceiling, 2 ** (task.request.retries + 1)))
    return task.retry(exc=exc, countdown=countdown, max_retries=8)


@shared_task(name=SCHEDULE_DUE, bind=True, ignore_result=True)
def schedule_due(self: Task) -> int:
    try:
        return len(wiring(self.app).refresh.schedule_due())
    except StorageError as exc:
        raise _retry(self, exc) from exc


@shared_task(name=REFRESH_FEED, bind=True, ignore_result=True)
def refresh_feed(self: Task, feed_id: str) -> str:
    try:
        return wiring(self.app).refresh.refresh(feed_id).status
    except NotFound:
        return "deleted"  # the feed was deleted after this task was queued
    except StorageError as exc:
        raise _retry(self, exc) from exc


@shared_task(name=FETCH_PAGES, bind=True, ignore_result=True)
def fetch_pages(self: Task, article_ids: list[str]) -> int:
    try:
        return wiring(self.app).ingest.fetch_pages(article_ids)
    except (StorageError, TemporaryFetchError) as exc:
        raise _retry(self, exc) from exc


@shared_task(name=CLUSTER_ARTICLES, bind=True, ignore_result=True)
def cluster_articles(self: Task) -> int:
    try:
        return wiring(self.app).ingest.cluster_extracted()
    except StorageError as exc:
        raise _retry(self, exc) from exc


@shared_task(name=FAN_OUT_EVENTS, bind=True, ignore_result=True)
def fan_out_events(self: Task) -> int:
    try:
        return wiring(self.app).deliveries.fan_out()
    except StorageError as exc:
        raise _retry(self, exc) from exc


@shared_task(name=EXPIRE_STORIES, bind=True, ignore_result=True)
def expire_stories(self: Task) -> int:
    try:
        return wiring(self.app).retention.expire()
    except StorageError as exc:
        raise _retry(self, exc) from exc


@shared_task(name=RECOVER_ARTICLES, bind=True, ignore_result=True)
def recover_articles(self: Task) -> int:
    try:
        return sum(wiring(self.app).recovery.sweep())
    except StorageError as exc:
        raise _retry(self, exc) from exc


@shared_task(name=DELIVER_WEBHOOK, bind=True, ignore_result=True)
def deliver_webhook(self: Task, subscription_id: str, event_id: str) -> str:
    w = wiring(self.app)
    try:
        outcome = w.deliveries.deliver(subscription_id, event_id)
    except StorageError as exc:
        raise _retry(self, exc) from exc
    if outcome.status == "deferred":  # its host's turn has not come: not a failed attempt
        raise self.retry(countdown=outcome.retry_after_s or 1.0, max_retries=None)
    if outcome.status == "retry":
        # Exponential backoff with jitter; the subscription pauses itself after too many failures.
        ceiling = max_retry_countdown(w.settings)
        delay = w.settings.webhook_backoff_s * 2**self.request.retries * random.uniform(0.5, 1.5)
        raise self.retry(countdown=min(ceiling, delay), max_retries=None)
    return outcome.status
