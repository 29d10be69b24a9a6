"""A worker killed with SIGKILL while articles are in flight: after a new worker starts, every article
is stored, each once, in the right story. Late acknowledgement leaves the dead worker's tasks in
Redis, and the broker hands them to the new worker after the visibility timeout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from aggregator.dispatch import QUEUES, celery_client
from aggregator.settings import Settings
from aggregator.wiring import Wiring
from tests.conftest import wait_for
from tests.fixtures.sender import Recorder
from tests.fixtures.site import OWN_STORY, Site
from tests.fixtures.stories import OUTLETS

Route = tuple[int, dict[str, str], bytes]


def _held_until(release: threading.Event, route: Route) -> Callable[[BaseHTTPRequestHandler], Route]:
    def handler(_: BaseHTTPRequestHandler) -> Route:
        release.wait(60)  # the first worker dies while waiting here
        return route

    return handler


def _worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    env.update(
        AGGREGATOR_REDIS_URL=settings.redis_url or "",
        AGGREGATOR_DATA_DIR=str(settings.data_dir),
        AGGREGATOR_FEEDS_FILE=str(settings.feeds_file),
        AGGREGATOR_ALLOW_PRIVATE_HOSTS="true",
        AGGREGATOR_HOST_GAP_S="0",
        AGGREGATOR_HOST_CONCURRENCY="32",
        AGGREGATOR_INGEST_BATCH_SIZE="1",  # one article per task: each in-flight article is its own task
        AGGREGATOR_TASK_VISIBILITY_TIMEOUT_S="3",
    )
    return env


@pytest.fixture
def start_worker(settings: Settings) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "--pool=threads",
               "--concurrency=8", "--loglevel=warning", "--without-gossip", "--without-mingle",
               f"--queues={','.join(QUEUES)}"]  # fmt: skip
        procs.append(subprocess.Popen(cmd, env=_worker_env(settings), start_new_session=True))
        return procs[-1]

    yield start
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)


def test_worker_killed_with_articles_in_flight_loses_none(
    settings: Settings, site: Site, start_worker: Callable[[], subprocess.Popen[bytes]]
) -> None:
    site.publish_news()
    release = threading.Event()
    pages = [path for path in site.routes if path.endswith(".html")]
    for path in pages:
        route = site.routes[path]
        assert isinstance(route, tuple)
        site.routes[path] = _held_until(release, route)
    n = len(pages)

    own = settings.model_copy(update={"ingest_batch_size": 1})
    sender = Recorder(celery_client(settings.redis_url or ""))
    wiring = Wiring(own, sender=sender)
    try:
        first = start_worker()
        for outlet in OUTLETS:
            feed, _ = wiring.feeds.add(site.feed_url(outlet))
            assert wiring.refresh.refresh(feed.id).new_entries == 2
        # Every article's task is running: each has asked for its page and waits for the answer.
        wait_for(lambda: all(site.count(p) == 1 for p in pages), timeout=60)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        release.set()
        ids = sender.ingested()
        assert len(ids) == n
        assert not wiring.articles.clustered(ids), "nothing was stored before the kill"

        start_worker()
        deadline = time.monotonic() + 60
        stored = wiring.articles.clustered(ids)
        while len(stored) < n and time.monotonic() < deadline:
            time.sleep(0.2)
            stored = wiring.articles.clustered(ids)
        lost = n - len(stored)
        print(f"worker kill -9: lost {lost} of {n}")
        assert lost == 0
        # Each page was asked for again by the new worker: the tasks were redelivered, not re-sent.
        assert all(site.count(p) >= 2 for p in pages)
        # Each once, in the right story: the wire story has one variant per outlet, each own story one.
        views = [wiring.views.article(i) for i in ids]
        by_story: dict[str, list[str]] = {}
        for v in views:
            by_story.setdefault(v["story_id"], []).append(v["url"].rsplit("/", 1)[1])
        sizes = sorted(len(v) for v in by_story.values())
        assert sizes == [1] * len(OWN_STORY) + [len(OUTLETS)], by_story
        for sid, slugs in by_story.items():
            assert wiring.views.story(sid, 500)["variant_count"] == len(slugs)
    finally:
        wiring.close()
