"""The Celery app, configured from Settings. `celery -A workers.celery_app worker` finds `app` here."""

from __future__ import annotations

from typing import Any

from celery import Celery

from aggregator import logs
from aggregator.dispatch import (
    CLUSTER_ARTICLES,
    EXPIRE_STORIES,
    FAN_OUT_EVENTS,
    RECOVER_ARTICLES,
    ROUTES,
    SCHEDULE_DUE,
)
from aggregator.settings import Settings, get_settings


def max_retry_countdown(settings: Settings) -> float:
    """Longest countdown a retry may ask for. Redis hands an unacknowledged task to another worker after
    the visibility timeout, which must exceed every countdown or a waiting retry would run twice."""
    return settings.task_visibility_timeout_s / 2


def _every(task: str, seconds: float) -> dict[str, Any]:
    return {"task": task, "schedule": seconds, "options": {"queue": ROUTES[task]}}


def make_celery(settings: Settings) -> Celery:
    logs.configure(settings.log_format, settings.log_level)  # Celery leaves the root logger alone
    if not settings.redis_url:
        raise RuntimeError("AGGREGATOR_REDIS_URL is not set (`aggregator up` sets it for embedded Redis)")
    app = Celery("aggregator", broker=settings.broker, include=["workers.tasks"])
    app.conf.update(
        task_acks_late=True,  # a task is acknowledged after it ran: a killed worker's task is redelivered
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={
            "visibility_timeout": settings.task_visibility_timeout_s,
            # Look for a dead worker's tasks every tenth of the timeout (kombu's default is every 100 s).
            "unacked_restore_interval": max(1, settings.task_visibility_timeout_s // 10),
            "unacked_restore_throttle": 1,
        },
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
        task_routes={name: {"queue": queue} for name, queue in ROUTES.items()},
        beat_schedule={
            "schedule-due-feeds": _every(SCHEDULE_DUE, settings.schedule_tick_s),
            # Clustering and the fan-out run as soon as there is work; these catch what a crash left.
            "cluster-extracted": _every(CLUSTER_ARTICLES, settings.schedule_tick_s * 10),
            "fan-out-events": _every(FAN_OUT_EVENTS, settings.schedule_tick_s * 10),
            # Retention counts in hours: a sweep every few minutes keeps Redis within minutes of it.
            "expire-stories": _every(EXPIRE_STORIES, settings.schedule_tick_s * 60),
            "recover-articles": _every(RECOVER_ARTICLES, settings.article_resend_s),
        },
        worker_hijack_root_logger=False,
    )
    app.conf.aggregator_settings = settings
    return app


_app: Celery | None = None


def __getattr__(name: str) -> Celery:
    """Celery's CLI looks up `app` here; it is built on first use, not at import (tests build their own)."""
    global _app
    if name != "app":
        raise AttributeError(name)
    if _app is None:
        _app = make_celery(get_settings())
    return _app
