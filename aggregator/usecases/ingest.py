"""Ingest: fetch and extract pending articles' pages, cluster them into stories, store revisions."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from aggregator.core.models import Article, Entry
from aggregator.core.pipeline import ClusterPipeline
from aggregator.dispatch import Dispatcher
from aggregator.errors import FetchError
from aggregator.ingest.extract import Extracted, NoText, PageRules, build_article, extract_page
from aggregator.ingest.fetch import Fetched, Fetcher
from aggregator.store.articles import ArticleStore
from aggregator.store.index import RedisIndex
from aggregator.store.stories import StoryStore

log = logging.getLogger(__name__)

PAGE_FETCH_THREADS = 8  # page fetches wait on the network: overlap them


class Ingest:
    def __init__(
        self,
        articles: ArticleStore,
        stories: StoryStore,
        index: RedisIndex,
        pipeline: ClusterPipeline,
        fetcher: Fetcher,
        dispatch: Dispatcher,
        pages: PageRules,
    ) -> None:
        self.articles = articles
        self.stories = stories
        self.index = index
        self.pipeline = pipeline
        self.fetcher = fetcher
        self.dispatch = dispatch
        self.pages = pages

    def ingest_articles(self, article_ids: Sequence[str]) -> int:
        """Fetch, extract and cluster pending articles; returns how many joined stories. Articles
        already clustered are skipped, so a task delivered twice adds nothing."""
        pending = self.articles.pending_entries(article_ids)
        changed = self.articles.pending_revisions(article_ids)
        if not pending and not changed:
            return 0
        with ThreadPoolExecutor(min(PAGE_FETCH_THREADS, len(pending) + len(changed))) as pool:
            articles = list(pool.map(lambda p: self._article(*p), [*pending, *changed]))
        new = self.cluster(articles[: len(pending)])
        self.revise(articles[len(pending) :])
        self.dispatch.fan_out_events()  # webhooks hear of the new events now, not at the next tick
        return new

    def cluster(self, articles: Sequence[Article]) -> int:
        """Assign each article to a story, atomically across workers. Returns how many were new."""
        if not articles:
            return 0
        with self.index.lock():
            done = self.articles.clustered([a.id for a in articles])
            batch = [a for a in articles if a.id not in done]
            self.pipeline.run(batch, self.index)
        return len(batch)

    def revise(self, articles: Sequence[Article]) -> list[str]:
        """Store new revisions of known articles; returns the stories that changed."""
        if not articles:
            return []
        revised = []
        with self.index.lock():  # the canonical choice reads what `cluster` writes
            for a in articles:
                if sid := self.articles.revise(a, time.time()):
                    revised.append(sid)
            self.stories.choose_canonicals(revised, time.time())
        return revised

    def _article(self, entry: Entry, feed_id: str) -> Article:
        extracted: Extracted | NoText
        try:
            fetched = self.fetcher.get(entry.url, self.pages.max_bytes)
        except FetchError as exc:
            log.warning("page %s not fetched; the feed summary stands in: %s", entry.url, exc)
            extracted = NoText(f"page not fetched: {exc}")
        else:
            if isinstance(fetched, Fetched):
                extracted = extract_page(fetched.body, fetched.url, self.pages.max_elements)
            else:  # no validators were sent: a 304 here is the server's mistake
                extracted = NoText("the server answered 304 Not Modified to a plain GET")
        return build_article(entry, feed_id, extracted, self.pages.min_words)
