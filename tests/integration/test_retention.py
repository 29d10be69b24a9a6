"""Retention: a story with no change for the retention period goes with its articles, stays gone while
its feed still lists the items, and the beat task that does it runs on a real worker."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from pydantic import ValidationError

from aggregator.dispatch import EXPIRE_STORIES, QUEUES
from aggregator.errors import NotFound
from aggregator.settings import Settings, defaults
from aggregator.wiring import Wiring
from tests.conftest import wait_for
from tests.fixtures.sender import Recorder
from tests.fixtures.site import Site
from tests.fixtures.stories import WIRE_BODY, WIRE_TITLE, article


def _poll(wiring: Wiring, outlet: str, site: Site) -> list[str]:
    """Refresh one outlet's feed and ingest what it handed over; returns those article ids."""
    fid = wiring.feeds.add(site.feed_url(outlet))[0].id
    sender = wiring.dispatch.sender
    assert isinstance(sender, Recorder)
    before = len(sender.ingested())
    wiring.refresh.refresh(fid)
    new = sender.ingested()[before:]
    wiring.ingest.ingest_articles(new)
    return new


def test_a_story_past_retention_goes_and_its_listed_items_do_not_come_back(
    settings: Settings, site: Site, redis_client: redis.Redis
) -> None:
    wiring = Wiring(settings, sender=Recorder())
    keys = wiring.keys
    site.publish_news()
    wire = _poll(wiring, "wire", site)  # the wire bridge story and the wire's own story
    time.sleep(0.05)
    _poll(wiring, "gazette", site)  # joins the bridge story; starts the gazette's own
    by_article = {aid: wiring.views.article(aid)["story_id"] for aid in wire}
    updated = dict(redis_client.zrange(keys.stories_updated, 0, -1, withscores=True))
    assert len(updated) == 3
    old = min(updated, key=updated.__getitem__)  # only the wire's own story is as old as the wire poll
    gone = [aid for aid, sid in by_article.items() if sid == old]
    kept = sorted(set(updated) - {old})
    assert len(gone) == 1 and set(by_article.values()) - {old} <= set(kept)

    retention_s = settings.story_retention_h * 3600
    between = (updated[old] + min(updated[s] for s in kept)) / 2
    assert wiring.retention.expire(now=between + retention_s) == 1
    with pytest.raises(NotFound):
        wiring.views.story(old, 50)
    with pytest.raises(NotFound):
        wiring.views.article(gone[0])
    assert not redis_client.exists(keys.story(old), keys.story_variants(old))
    assert 0 < redis_client.ttl(keys.article(gone[0])) <= retention_s  # a tombstone, not the article
    assert {s["id"] for s in wiring.views.list_stories(50, None)[0]} == set(kept)
    assert {wiring.views.story(s, 50)["variant_count"] for s in kept} == {1, 2}
    assert wiring.retention.expire(now=between + retention_s) == 0  # a second sweep changes nothing

    # The wire feed changes but still lists the retired item: it is not ingested again, and its
    # tombstone is renewed.
    redis_client.expire(keys.article(gone[0]), 5)
    site.publish_news(pubtime=1_750_000_100.0)  # a new body, so the poll is not a 304
    assert _poll(wiring, "wire", site) == []
    assert redis_client.ttl(keys.article(gone[0])) > retention_s - 60
    assert len(wiring.views.list_stories(50, None)[0]) == 2

    assert wiring.retention.expire(now=time.time() + retention_s + 1) == 2
    assert wiring.views.list_stories(50, None)[0] == []
    assert not redis_client.keys(f"{settings.key_prefix}:story:*")
    wiring.close()


def test_the_beat_task_retires_stories_on_a_real_worker(settings: Settings) -> None:
    from celery.contrib.testing.worker import start_worker

    import workers.tasks  # noqa: F401  (registers the tasks)
    from workers.celery_app import make_celery

    short = defaults(**{**settings.model_dump(), "story_window_h": 0.0005, "story_retention_h": 0.0005})
    app: Any = make_celery(short)
    assert EXPIRE_STORIES in {e["task"] for e in app.conf.beat_schedule.values()}
    wiring = Wiring(short)
    wiring.ingest.cluster([article("r1", WIRE_TITLE, WIRE_BODY)])
    sid = wiring.views.article("r1")["story_id"]
    time.sleep(short.story_retention_h * 3600 + 0.2)
    with start_worker(
        app, pool="threads", concurrency=1, perform_ping_check=False, shutdown_timeout=30, queues=list(QUEUES)
    ):
        app.send_task(EXPIRE_STORIES)
        wait_for(lambda: not wiring.redis.exists(wiring.keys.story(sid)), timeout=20)
    with pytest.raises(NotFound):
        wiring.views.article("r1")
    wiring.close()


def test_retention_shorter_than_the_story_window_is_refused() -> None:
    with pytest.raises(ValidationError, match="story_retention_h"):
        defaults(story_window_h=72, story_retention_h=24)
    assert defaults(story_window_h=72, story_retention_h=0).story_retention_h == 0
