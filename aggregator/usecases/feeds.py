"""Feeds: the user's subscriptions, and refreshing one (fetch, parse, hand new entries to ingest)."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aggregator.core.models import Feed
from aggregator.dispatch import Dispatcher
from aggregator.errors import (
    FetchError,
    HostBusy,
    InvalidInput,
    ParseError,
    StorageError,
    TemporaryFetchError,
)
from aggregator.ingest.fetch import Fetched, Fetcher
from aggregator.ingest.network import check_address
from aggregator.ingest.opml import Listed, category_path
from aggregator.ingest.parse import parse_feed
from aggregator.settings import Settings
from aggregator.store.articles import ArticleStore
from aggregator.store.feeds import FeedStore
from aggregator.store.metrics import Metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefreshResult:
    feed_id: str
    status: str  # "ok", "not_modified", "error", "deferred" (its host was busy: it runs again soon)
    new_entries: int = 0
    error: str | None = None


def _category(given: str | None) -> str | None:
    """A category as the service keeps it: folder names without control characters, "/" between."""
    return category_path(given.split("/")) if given else None


@dataclass(frozen=True)
class ImportReport:
    added: list[dict[str, str]]  # {id, url}
    existing: list[dict[str, str]]  # {id, url}: known already, left as they were
    refused: list[dict[str, str]]  # {url, reason}


class FeedCatalogue:
    """Adding, listing and removing feeds. A new feed is fetched at once, not at the next tick."""

    def __init__(
        self, store: FeedStore, dispatch: Dispatcher, allow_private_hosts: bool, max_feeds: int
    ) -> None:
        self.store = store
        self.dispatch = dispatch
        self.allow_private_hosts = allow_private_hosts
        self.max_feeds = max_feeds

    def add(self, url: str, title: str | None = None, category: str | None = None) -> tuple[Feed, bool]:
        """Subscribe; returns (feed, created). Adding a known URL returns the existing feed. A URL the
        service would refuse to fetch is refused here (a name that does not resolve now may later:
        its fetches will say)."""
        try:
            check_address(url, self.allow_private_hosts)
        except TemporaryFetchError:
            pass
        except FetchError as exc:
            raise InvalidInput(str(exc)) from exc
        if self.store.count() >= self.max_feeds and not self.store.known(url):
            raise InvalidInput(f"the service has {self.max_feeds} feeds, its limit (AGGREGATOR_MAX_FEEDS)")
        feed, created = self.store.add(url, title, category=_category(category))
        if created:
            self.dispatch.refresh_feed(feed.id, new=True)
        return feed, created

    def change(self, fid: str, category: str | None = None, paused: bool | None = None) -> Feed:
        """Set a feed's category ("" clears it) or pause or resume it; None leaves each as it is."""
        return self.store.change(fid, None if category is None else _category(category) or "", paused)

    def import_list(self, listed: Iterable[Listed]) -> ImportReport:
        """Add every feed of a subscription list (OPML) with its folder as its category; a feed that
        cannot be added is reported with why, and the others go on."""
        report = ImportReport([], [], [])
        for item in listed:
            try:
                feed, created = self.add(item.url, item.title, item.category)
            except InvalidInput as exc:
                report.refused.append({"url": item.url[:2048], "reason": str(exc)})
                continue
            (report.added if created else report.existing).append({"id": feed.id, "url": feed.url})
        return report

    def import_once(self, feeds: Iterable[tuple[str, str | None]]) -> int:
        """The feeds file's feeds, each added once ever (a feed the user deleted stays deleted) and
        fetched at once. Returns how many were added."""
        added = self.store.import_file_feeds(feeds)
        for feed in added:
            self.dispatch.refresh_feed(feed.id, new=True)
        return len(added)


class FeedRefresh:
    """Polling: which feeds are due, and one feed's refresh with its error state and backoff."""

    def __init__(
        self,
        feeds: FeedStore,
        articles: ArticleStore,
        fetcher: Fetcher,
        dispatch: Dispatcher,
        metrics: Metrics,
        settings: Settings,
    ) -> None:
        self.feeds = feeds
        self.articles = articles
        self.fetcher = fetcher
        self.dispatch = dispatch
        self.metrics = metrics
        self.settings = settings

    def schedule_due(self) -> list[str]:
        due = self.feeds.claim_due()
        for fid in due:
            self.dispatch.refresh_feed(fid)
        return due

    def refresh(self, feed_id: str) -> RefreshResult:
        """Fetch and parse one feed, store its new entries and hand them to ingest in batches."""
        s = self.settings
        feed = self.feeds.get(feed_id)
        now = time.time()
        try:
            started = time.monotonic()
            outcome = self.fetcher.get(feed.url, s.max_feed_bytes, feed.etag, feed.last_modified)
            self.metrics.observe("fetch_seconds", time.monotonic() - started, kind="feed")
            if not isinstance(outcome, Fetched):
                self.metrics.count("fetches", kind="feed", outcome="not_modified")
                self.feeds.record_success(feed, "not_modified", self._next_due(now), None, None, None, now)
                return RefreshResult(feed_id, "not_modified")
            parsed = parse_feed(outcome.body, outcome.url)
        except HostBusy as exc:  # our own politeness, not the feed's failure: again soon, still leased
            self.dispatch.refresh_feed(feed_id, countdown=exc.retry_after_s)
            return RefreshResult(feed_id, "deferred")
        except (FetchError, ParseError) as exc:
            retry_after = exc.retry_after_s if isinstance(exc, TemporaryFetchError) else None
            return self._failed(feed, str(exc), now, retry_after)
        except StorageError:
            raise  # Redis is away: the task retries
        except Exception as exc:  # a bug must not leave the feed refetched at once, forever, unexplained
            log.exception("feed %s (%s): refresh crashed", feed_id, feed.url, extra={"feed": feed_id})
            return self._failed(feed, f"internal error: {type(exc).__name__}: {exc}", now, None)
        todo = self.articles.add_entries(feed.id, parsed.entries, now, s.retention_s)
        for i in range(0, len(todo), s.ingest_batch_size):
            self.dispatch.fetch_pages(todo[i : i + s.ingest_batch_size])
        self.metrics.count("fetches", kind="feed", outcome="ok")
        skipped = [dataclasses.asdict(x) for x in parsed.skipped]
        self.feeds.record_success(
            feed, "ok", self._next_due(now), outcome.etag, outcome.last_modified, parsed.title, now, skipped
        )
        took = round(time.time() - now, 3)
        fields = {"feed": feed_id, "url": feed.url, "status": "ok", "new": len(todo), "skipped": len(skipped)}
        log.info(
            "feed %s (%s) refreshed: %d new, %d skipped, %.2f s",
            feed_id, feed.url, len(todo), len(skipped), took, extra={**fields, "seconds": took},
        )  # fmt: skip
        return RefreshResult(feed_id, "ok", new_entries=len(todo))

    def _failed(self, feed: Feed, error: str, now: float, retry_after: float | None) -> RefreshResult:
        self.feeds.record_failure(feed, error, self._backoff(feed, now, retry_after), now)
        self.metrics.count("fetches", kind="feed", outcome="error")
        self.metrics.error("feeds")
        fields = {"feed": feed.id, "url": feed.url, "status": "error", "error": error}
        log.warning("feed %s (%s) failed: %s", feed.id, feed.url, error, extra=fields)
        return RefreshResult(feed.id, "error", error=error)

    def _next_due(self, now: float) -> float:
        return now + self.settings.poll_interval_s

    def _backoff(self, feed: Feed, now: float, retry_after: float | None) -> float:
        s = self.settings
        delay = min(s.max_backoff_s, s.poll_interval_s * 2**feed.errors)
        if retry_after is not None:
            delay = min(s.max_backoff_s, max(retry_after, 1.0))
        return now + delay


def load_feeds(path: Path) -> list[tuple[str, str | None]]:
    """The feeds file: ``[[feeds]]`` tables with ``url`` and optional ``title``. Empty file: no feeds."""
    import tomllib

    if not path.exists():
        raise InvalidInput(f"feeds file {path} does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"feeds file {path}: {exc}") from exc
    feeds = data.get("feeds", [])
    if not isinstance(feeds, list) or not all(isinstance(f, dict) and "url" in f for f in feeds):
        raise InvalidInput(f"feeds file {path}: expected [[feeds]] tables each with a url")
    return [(str(f["url"]), f.get("title")) for f in feeds]
