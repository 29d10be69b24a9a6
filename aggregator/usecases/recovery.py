"""Recovery: articles that wait too long are sent again, and given up with the reason in the end.

An article waits for its page (pending) or for the clustering worker (extracted). A task can be lost
(a broker flushed, retries run out while Redis was away) or an article can make every attempt fail;
neither may leave it waiting for ever, unseen. Every `resend_s` the sweep sends the tasks of articles
waiting longer than that again (the tasks skip what is done, so a task that was only slow costs
nothing); an article still waiting after `give_up_s` is given up: it leaves the queues, its tombstone
and its feed (`dropped`) say why, and the metrics and the log count it.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence

from aggregator.dispatch import Dispatcher
from aggregator.store.articles import ArticleStore
from aggregator.store.feeds import FeedStore
from aggregator.store.metrics import Metrics

log = logging.getLogger(__name__)

SWEEP_LIMIT = 1000  # articles looked at per queue per sweep: a sweep stays short, the next goes on
PAGES_PER_TASK = 20


class Recovery:
    def __init__(
        self,
        articles: ArticleStore,
        feeds: FeedStore,
        dispatch: Dispatcher,
        metrics: Metrics,
        resend_s: float,
        give_up_s: float,
        tombstone_s: int,
    ) -> None:
        self.articles = articles
        self.feeds = feeds
        self.dispatch = dispatch
        self.metrics = metrics
        self.resend_s = resend_s
        self.give_up_s = give_up_s
        self.tombstone_s = tombstone_s

    def sweep(self, now: float | None = None) -> tuple[int, int]:
        """Send again the work of articles waiting longer than `resend_s`; give up those waiting longer
        than `give_up_s`. Returns (sent again, given up)."""
        now = time.time() if now is None else now
        pending, extracted = self.articles.waiting(now - self.give_up_s, SWEEP_LIMIT)
        hours = self.give_up_s / 3600
        given_up = self.give_up(pending, f"its page was not taken in within {hours:g} h", now)
        given_up += self.give_up(extracted, f"it was not clustered within {hours:g} h", now)
        pending, extracted = self.articles.waiting(now - self.resend_s, SWEEP_LIMIT)
        for i in range(0, len(pending), PAGES_PER_TASK):
            self.dispatch.fetch_pages(pending[i : i + PAGES_PER_TASK])
        if extracted:
            self.dispatch.cluster_articles()
        if pending or extracted:
            log.warning(
                "%d articles waited over %g s for their page and %d for clustering: sent again",
                len(pending), self.resend_s, len(extracted),
                extra={"pending": len(pending), "extracted": len(extracted)},
            )  # fmt: skip
        return len(pending) + len(extracted), given_up

    def give_up(self, aids: Sequence[str], reason: str, now: float | None = None) -> int:
        """Give these articles up for `reason`; returns how many were still waiting."""
        if not aids:
            return 0
        now = time.time() if now is None else now
        dropped = self.articles.give_up(aids, reason, self.tombstone_s)
        by_feed: dict[str, list[dict[str, str | float]]] = defaultdict(list)
        for fid, url in dropped:
            by_feed[fid].append({"url": url, "reason": reason, "time": now})
            log.warning("article %s given up: %s", url, reason, extra={"url": url, "reason": reason})
        for fid, items in by_feed.items():
            self.feeds.note_dropped(fid, items)
        if dropped:
            self.metrics.count("articles_given_up", len(dropped))
            self.metrics.error("articles", len(dropped))
        return len(dropped)
