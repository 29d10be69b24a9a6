"""Articles that cannot be ingested: sent again when they wait too long, given up with the reason in
the end, and one that fails to cluster does not hold back its batch-mates. Real Redis."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from aggregator.core.models import Article, Entry
from aggregator.core.pipeline import ClusterPipeline, Index, Outcome
from aggregator.dispatch import CLUSTER_ARTICLES, FETCH_PAGES
from aggregator.settings import Settings
from aggregator.wiring import Wiring
from tests.fixtures.sender import Recorder
from tests.fixtures.stories import UNRELATED, WIRE_BODY, WIRE_TITLE
from tests.fixtures.stories import article as _article


class Poisoned:
    """The real pipeline, failing as a bug would for any batch holding the article `bad`."""

    def __init__(self, inner: ClusterPipeline, bad: str) -> None:
        self.inner, self.bad = inner, bad

    def run(self, articles: Sequence[Article], index: Index) -> Outcome:
        if any(a.id == self.bad for a in articles):
            raise ValueError("no centroid for a zero vector")
        return self.inner.run(articles, index)


def _entry(aid: str) -> Entry:
    return Entry(article_id=aid, url=f"http://127.0.0.1:9/{aid}", guid=None, title=f"T {aid}",
                 summary="s", published=None, author=None, source_name=None)  # fmt: skip


def test_an_article_that_fails_to_cluster_is_given_up_and_its_batch_mates_go_on(settings: Settings) -> None:
    sent = Recorder()
    wiring = Wiring(settings, sender=sent)
    try:
        feed, _ = wiring.feeds.add("http://127.0.0.1:9/feed.xml")
        wiring.pipeline = Poisoned(wiring.pipeline, "bad")  # type: ignore[assignment]
        title, body = UNRELATED["orchard"]
        batch = [
            dataclasses.replace(a, feed_id=feed.id)
            for a in (_article("wire", WIRE_TITLE, WIRE_BODY), _article("bad", title, body),
                      _article("own", *UNRELATED["museum"]))
        ]  # fmt: skip
        wiring.articles.store_extracted(batch, 1_750_000_000.0)
        assert wiring.ingest.cluster_extracted() == 2
        assert wiring.views.article("wire")["story_id"] and wiring.views.article("own")["story_id"]
        tomb: Any = wiring.redis.hgetall(wiring.keys.article("bad"))
        assert tomb["state"] == "expired" and "clustering failed: ValueError" in tomb["given_up"]
        dropped = wiring.feed_store.get(feed.id).dropped
        assert [d["url"] for d in dropped] == ["http://x/bad"] and "ValueError" in str(dropped[0]["reason"])
        assert wiring.status.read()["errors_last_hour"].get("articles") == 1
        assert wiring.ingest.cluster_extracted() == 0  # nothing left waiting
    finally:
        wiring.close()


def test_waiting_articles_are_sent_again_then_given_up(settings: Settings) -> None:
    sent = Recorder()
    wiring = Wiring(settings, sender=sent)
    try:
        feed, _ = wiring.feeds.add("http://127.0.0.1:9/feed.xml")
        t0 = 1_750_000_000.0
        ids = [f"p{i}" for i in range(25)]
        assert wiring.articles.add_entries(feed.id, [_entry(a) for a in ids], t0) == ids
        wiring.articles.store_extracted([_article("late", WIRE_TITLE, WIRE_BODY)], t0 + 60)
        recovery = wiring.recovery
        sent.sent.clear()
        # Not waiting long enough yet: nothing happens.
        assert recovery.sweep(t0 + 10) == (0, 0) and not sent.sent
        # Past the resend time: the pages go out again, a task per 20, and the clustering task too.
        assert recovery.sweep(t0 + settings.article_resend_s + 61) == (26, 0)
        assert sorted(sent.ingested()) == sorted(ids) and [n for n, _ in sent.sent].count(FETCH_PAGES) == 2
        assert (CLUSTER_ARTICLES, []) in sent.sent
        # Past the give-up time: every one leaves the queues with the reason, on its feed too.
        later = t0 + settings.article_give_up_h * 3600 + 61
        assert recovery.sweep(later) == (0, 26)
        status = wiring.status.read()
        assert status["articles"]["pending"] == 0 and status["articles"]["extracted"] == 0
        dropped = wiring.feed_store.get(feed.id).dropped
        assert len(dropped) == 20  # the newest 20 are kept
        assert all("was not taken in within 6 h" in str(d["reason"]) for d in dropped)
        # The feed listing them again does not bring them back.
        assert wiring.articles.add_entries(feed.id, [_entry(a) for a in ids], later) == []
    finally:
        wiring.close()
