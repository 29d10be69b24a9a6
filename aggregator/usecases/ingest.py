"""Ingest: fetch and extract pending articles' pages, cluster them into stories, store revisions."""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from aggregator.core.models import Article, Entry
from aggregator.core.pipeline import ClusterPipeline, Outcome
from aggregator.dispatch import Dispatcher
from aggregator.errors import FetchError, HostBusy, StorageError, TemporaryFetchError
from aggregator.ingest.extract import Extracted, NoText, PageRules, build_article, extract_page, warm_up
from aggregator.ingest.fetch import Fetched, Fetcher
from aggregator.ingest.lane import Lane
from aggregator.store.articles import ArticleStore
from aggregator.store.index import RedisIndex
from aggregator.store.metrics import Metrics
from aggregator.store.stories import StoryStore
from aggregator.usecases.recovery import Recovery

log = logging.getLogger(__name__)

PAGE_FETCH_THREADS = 8  # page fetches wait on the network: overlap them
# When a page that failed for a temporary reason is fetched again (each under the task visibility
# timeout's half, the longest a countdown may wait).
REFETCH_DELAYS_S = (60, 300, 600)
# Pages become articles on one thread of the process, oldest task first (see `ingest/lane.py`).
_PAGES = Lane("pages")


def warm_up_pages() -> None:
    """Load what a first page would, on the thread that makes articles of pages."""
    _PAGES.run(0.0, warm_up)


class Ingest:
    def __init__(
        self,
        articles: ArticleStore,
        stories: StoryStore,
        index: RedisIndex,
        pipeline: ClusterPipeline,
        fetcher: Fetcher,
        dispatch: Dispatcher,
        metrics: Metrics,
        pages: PageRules,
        batch_size: int,
        recovery: Recovery,
    ) -> None:
        self.articles = articles
        self.stories = stories
        self.index = index
        self.pipeline = pipeline
        self.fetcher = fetcher
        self.dispatch = dispatch
        self.metrics = metrics
        self.pages = pages
        self.batch_size = batch_size  # articles clustered in one batch under the lock
        self.recovery = recovery

    def fetch_pages(self, article_ids: Sequence[str]) -> int:
        """Fetch and extract pending articles' pages and hand them to the clustering worker; fetch the
        pages of changed articles again and store their revisions. Returns how many were extracted.
        An article not pending (extracted or clustered by a delivery before) is skipped, so a task
        delivered twice adds nothing."""
        pending = self.articles.pending_entries(article_ids)
        changed = self.articles.pending_revisions(article_ids)
        if not pending and not changed:
            return 0
        work = [*pending, *changed]
        entries = [e for e, _ in work]
        ticket = time.monotonic()  # this task's pages are extracted before those of tasks begun later
        # Threads fetch; each page, as it arrives, goes to the pages lane to be extracted. The articles are
        # made on the lane too, by one call after the last extraction (a ticket's calls run in the order
        # they came): the task waits for the lane once, not after each page, as waking a waiting thread
        # costs more than handing it work; and made together, the articles find what they read (the
        # language model's tables) still in the CPU's caches (figures in the README's ingest section).
        with ThreadPoolExecutor(min(PAGE_FETCH_THREADS, len(work))) as pool:
            outcomes = list(pool.map(functools.partial(self._fetch_to_lane, ticket), entries))
        made = _PAGES.run(ticket, functools.partial(self._articles, work, outcomes))
        # A page whose host was busy (our politeness) is put off until its turn with the host, and the
        # worker is free for other work.
        for e, m in zip(entries, made, strict=True):
            if isinstance(m, HostBusy):
                self.dispatch.fetch_pages([e.article_id], countdown=m.retry_after_s or 1.0)
        done = [(e, m) for e, m in zip(entries, made, strict=True) if not isinstance(m, HostBusy)]
        is_new = {e.article_id for e, _ in pending}
        new = [a for e, (a, _) in done if e.article_id in is_new]
        self.articles.store_extracted(new, time.time())
        if new:
            self.dispatch.cluster_articles()
        if self.revise([a for e, (a, _) in done if e.article_id not in is_new]):
            self.dispatch.fan_out_events()
        for e, (_, again) in done:
            if again:
                self._refetch_later(e)
        return len(new)

    def cluster_extracted(self, most: int = 1000) -> int:
        """Cluster the extracted articles waiting, oldest first, a batch at a time under the story-write
        lock, up to `most`; returns how many joined stories. Articles that came while a task waited are
        clustered by it: one task serves however many pages tasks asked for one."""
        done = 0
        while done < most:
            with self.index.lock():
                waiting = self.articles.extracted(self.batch_size)
                if not waiting:
                    break
                done += self._cluster_isolated(waiting)
                self.articles.done_extracting([a.id for a in waiting])
        if done:
            self.dispatch.fan_out_events()  # webhooks hear of the new events now, not at the next tick
        return done

    def ingest_articles(self, article_ids: Sequence[str]) -> int:
        """Fetch, extract and cluster these articles in this process (the workers split the two):
        benchmarks, tests and a caller without workers. Returns how many joined stories."""
        self.fetch_pages(article_ids)
        return self.cluster_extracted()

    def _count(self, outcome: Outcome) -> None:
        for relation, n in Counter(x.decision.relation.value for x in outcome.assignments).items():
            self.metrics.count("articles_clustered", n, relation=relation)
        if followups := sum(1 for x in outcome.assignments if x.decision.signals[:1] == ("followup",)):
            self.metrics.count("followups", followups)
        if outcome.splits:
            self.metrics.count("splits", len(outcome.splits))

    def _refetch_later(self, entry: Entry) -> None:
        """A page that failed for a temporary reason is fetched again later, a few times at growing
        intervals; when it comes, the article's text becomes its next revision."""
        attempt = self.articles.mark_refetch(entry, len(REFETCH_DELAYS_S))
        if attempt is None:
            log.warning("page %s: no more attempts; the feed summary stays", entry.url)
            return
        self.dispatch.fetch_pages([entry.article_id], countdown=REFETCH_DELAYS_S[attempt - 1])

    def cluster(self, articles: Sequence[Article]) -> int:
        """Assign each article to a story, atomically across workers. Returns how many were new."""
        if not articles:
            return 0
        with self.index.lock():
            return self._cluster_locked(articles)

    def _cluster_isolated(self, articles: Sequence[Article]) -> int:
        """Cluster a batch; if it fails (not for Redis), cluster its articles one by one, and give up
        the ones that fail alone, so one article cannot hold back every batch after it."""
        try:
            return self._cluster_locked(articles)
        except StorageError:
            raise
        except Exception:
            log.exception("a batch of %d articles failed to cluster: one at a time now", len(articles))
        done = 0
        for a in articles:
            try:
                done += self._cluster_locked([a])
            except StorageError:
                raise
            except Exception as exc:
                log.exception("article %s failed to cluster", a.id, extra={"article": a.id})
                self.recovery.give_up([a.id], f"clustering failed: {type(exc).__name__}: {exc}")
        return done

    def _cluster_locked(self, articles: Sequence[Article]) -> int:
        done = self.articles.clustered([a.id for a in articles])
        batch = [a for a in articles if a.id not in done]
        outcome = self.pipeline.run(batch, self.index)
        self._count(outcome)
        for x in outcome.assignments:
            d, aid = x.decision, x.record.article_id
            fields = {"article": aid, "story": d.story_id, "relation": d.relation.value, "score": d.score}
            log.info("article %s clustered: story %s, %s %.2f", aid, *list(fields.values())[1:], extra=fields)
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

    def _fetch(self, entry: Entry) -> Fetched | NoText | HostBusy:
        """An entry's page, or why there is none; HostBusy when its host's turn has not come. Whatever
        goes wrong with the page goes no further than its article: the feed's summary stands in."""
        started = time.monotonic()
        try:
            fetched = self.fetcher.get(entry.url, self.pages.max_bytes)
        except HostBusy as exc:
            return exc
        except FetchError as exc:
            fields = {"article": entry.article_id, "url": entry.url, "reason": str(exc)}
            log.warning("page %s not fetched; the feed summary stands in: %s", entry.url, exc, extra=fields)
            return NoText(f"page not fetched: {exc}", isinstance(exc, TemporaryFetchError))
        except StorageError:
            raise  # Redis is away (the politeness gate): the task retries
        except Exception as exc:  # a bug with one page must not lose its batch-mates
            log.exception("page %s failed; the feed summary stands in", entry.url, extra={"url": entry.url})
            return NoText(f"page failed: {type(exc).__name__}: {exc}")
        self.metrics.observe("fetch_seconds", time.monotonic() - started, kind="page")
        if isinstance(fetched, Fetched):
            return fetched
        return NoText("the server answered 304 Not Modified to a plain GET")  # no validators were sent

    def _fetch_to_lane(self, ticket: float, entry: Entry) -> Future[Extracted | NoText] | HostBusy:
        """An entry's page fetched and handed to the pages lane to be extracted (`_extract`), or HostBusy
        when its host's turn has not come."""
        page = self._fetch(entry)
        if isinstance(page, HostBusy):
            return page
        return _PAGES.submit(ticket, functools.partial(self._extract, entry, page))

    def _extract(self, entry: Entry, page: Fetched | NoText) -> Extracted | NoText:
        """What an entry's page gave, or why it gave nothing."""
        extracted: Extracted | NoText
        if isinstance(page, NoText):
            extracted = page
        else:
            want_date = entry.published is None  # the page's own date only when the feed gave none
            try:
                extracted = extract_page(page.body, page.url, self.pages.max_elements, want_date)
            except Exception as exc:  # a bug with one page must not lose its batch-mates
                log.exception(
                    "page %s failed; the feed summary stands in", entry.url, extra={"url": entry.url}
                )
                extracted = NoText(f"page failed: {type(exc).__name__}: {exc}")
        temporary = isinstance(extracted, NoText) and extracted.temporary
        outcome = "temporary" if temporary else "error" if isinstance(extracted, NoText) else "ok"
        self.metrics.count("fetches", kind="page", outcome=outcome)
        if outcome != "ok":
            self.metrics.error("pages")
        return extracted

    def _articles(
        self, work: Sequence[tuple[Entry, str]], outcomes: Sequence[Future[Extracted | NoText] | HostBusy]
    ) -> list[tuple[Article, bool] | HostBusy]:
        """Each entry's article and whether its page is worth fetching again later; a busy host's as
        it is. On the lane, after the extractions: their futures are done."""
        made: list[tuple[Article, bool] | HostBusy] = []
        for (entry, feed_id), outcome in zip(work, outcomes, strict=True):
            if isinstance(outcome, HostBusy):
                made.append(outcome)
                continue
            # Done: its call came before this one on the lane. Were it not, waiting here would block the
            # lane for good; timeout 0 makes that an error instead.
            extracted = outcome.result(timeout=0)
            again = isinstance(extracted, NoText) and extracted.temporary
            made.append((build_article(entry, feed_id, extracted, self.pages.min_words), again))
        return made
