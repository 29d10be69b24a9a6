"""Feeds and their fetch state: conditional-GET validators, last outcome, error count, next due time."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import redis

from aggregator.core.identity import feed_id, normalise_url
from aggregator.core.models import Feed
from aggregator.errors import NotFound
from aggregator.store import scripts
from aggregator.store.connection import converts_errors
from aggregator.store.keys import Keys

_OPTIONAL_FLOATS = ("next_due", "last_fetched")
MAX_SKIPPED = 20  # skipped items kept per feed: enough to see what is wrong
_OPTIONAL_STRS = ("title", "last_status", "last_error", "etag", "last_modified", "category")


def _feed(fid: str, h: dict[str, str]) -> Feed:
    if h.get("paused"):  # a paused feed is not due at all, whatever its last refresh planned
        h = {**h, "next_due": ""}
    return Feed(
        id=fid,
        url=h["url"],
        created=float(h["created"]),
        errors=int(h.get("errors") or 0),
        skipped=tuple(json.loads(h.get("skipped") or "[]")),
        dropped=tuple(json.loads(h.get("dropped") or "[]")),
        paused=bool(h.get("paused")),
        **{k: float(h[k]) if h.get(k) else None for k in _OPTIONAL_FLOATS},  # type: ignore[arg-type]
        **{k: h.get(k) or None for k in _OPTIONAL_STRS},  # type: ignore[arg-type]
    )


class FeedStore:
    """`lease_s`: how long a feed handed to a worker for a refresh is not handed out again. Its refresh
    records the next due time when it runs, so the lease only matters for a refresh that was lost: it
    must outlast any wait in the queue, or a backlog fills the queue with copies of one refresh."""

    def __init__(self, client: redis.Redis, keys: Keys, lease_s: float) -> None:
        # redis-py's stubs type replies as unions of bytes/str/awaitables; with decode_responses=True
        # they are str, so the client is used untyped here rather than cast at every call.
        self.r: Any = client
        self.keys = keys
        self.lease_s = lease_s
        self._claim = scripts.register(client, "feeds_claim")

    @converts_errors
    def count(self) -> int:
        return int(self.r.zcard(self.keys.feeds))

    @converts_errors
    def known(self, url: str) -> bool:
        return bool(self.r.exists(self.keys.feed(feed_id(url))))

    @converts_errors
    def add(
        self, url: str, title: str | None = None, now: float | None = None, category: str | None = None
    ) -> tuple[Feed, bool]:
        """Add a feed, handed out at once (its caller dispatches its first refresh). Returns the feed and
        whether it was new (adding twice is harmless: the feed stays as it was)."""
        now = time.time() if now is None else now
        url = normalise_url(url)
        fid = feed_id(url)
        key = self.keys.feed(fid)
        created = self.r.hsetnx(key, "url", url)
        if created:
            pipe = self.r.pipeline()
            pipe.hset(
                key, mapping={"created": now, "title": title or "", "errors": 0, "category": category or ""}
            )
            pipe.zadd(self.keys.feeds, {fid: now})
            pipe.zadd(self.keys.feeds_due, {fid: now + self.lease_s})
            pipe.execute()
        return self.get(fid), bool(created)

    @converts_errors
    def import_file_feeds(self, feeds: Iterable[tuple[str, str | None]]) -> list[Feed]:
        """Add the feeds file's feeds once: a feed the user deleted is not brought back on restart.
        Returns the feeds added now."""
        added = []
        for url, title in feeds:
            if self.r.sadd(self.keys.feeds_imported, normalise_url(url)):
                feed, created = self.add(url, title)
                if created:
                    added.append(feed)
        return added

    @converts_errors
    def get(self, fid: str) -> Feed:
        h = self.r.hgetall(self.keys.feed(fid))
        if not h or "url" not in h or "created" not in h:
            raise NotFound("feed", fid)
        return _feed(fid, h)

    @converts_errors
    def page(self, offset: int = 0, limit: int = 100) -> list[Feed]:
        ids = self.r.zrange(self.keys.feeds, offset, offset + limit - 1)
        pipe = self.r.pipeline(transaction=False)
        for fid in ids:
            pipe.hgetall(self.keys.feed(fid))
        return [_feed(fid, h) for fid, h in zip(ids, pipe.execute(), strict=True) if h]

    def all(self, batch: int = 1000) -> Iterator[Feed]:
        """Every feed in the order they were added, read a batch at a time."""
        start = 0
        while page := self.page(start, batch):
            yield from page
            start += batch

    @converts_errors
    def delete(self, fid: str) -> None:
        pipe = self.r.pipeline()
        pipe.delete(self.keys.feed(fid))
        pipe.zrem(self.keys.feeds, fid)
        pipe.zrem(self.keys.feeds_due, fid)
        pipe.srem(self.keys.feeds_failing, fid)
        if not pipe.execute()[0]:
            raise NotFound("feed", fid)

    @converts_errors
    def change(
        self, fid: str, category: str | None = None, paused: bool | None = None, now: float | None = None
    ) -> Feed:
        """Set a feed's category ("" clears it) and pause or resume it; None leaves each as it is. A
        paused feed is out of the due set, so no refresh claims it; resumed, it is due at once."""
        key = self.keys.feed(fid)

        def apply(pipe: Any) -> None:
            # Read and written under WATCH: a feed deleted meanwhile is not made again as a stray hash.
            url, created, was_paused = pipe.hmget(key, ["url", "created", "paused"])
            if not (url and created):
                raise NotFound("feed", fid)
            pipe.multi()
            if category is not None:
                pipe.hset(key, "category", category)
            if paused is True:
                pipe.hset(key, "paused", 1)
                pipe.zrem(self.keys.feeds_due, fid)
            elif paused is False and was_paused:
                pipe.hdel(key, "paused")
                pipe.zadd(self.keys.feeds_due, {fid: time.time() if now is None else now})

        self.r.transaction(apply, key)
        return self.get(fid)

    @converts_errors
    def claim_due(self, now: float | None = None, limit: int = 100) -> list[str]:
        """Feeds due now, each handed out once: leased until its refresh records the next due time."""
        now = time.time() if now is None else now
        ids: list[str] = self._claim(keys=[self.keys.feeds_due], args=[now, self.lease_s, limit])
        return ids

    @converts_errors
    def record_success(
        self, feed: Feed, status: str, next_due: float, etag: str | None, last_modified: str | None,
        title: str | None, now: float, skipped: Sequence[Mapping[str, str]] = (),
    ) -> None:  # fmt: skip
        mapping: dict[str, str | float] = {
            "last_fetched": now, "last_status": status, "last_error": "", "errors": 0, "next_due": next_due,
        }  # fmt: skip
        if status == "ok":  # the skipped items of this fetch (a 304 brought no items)
            mapping["skipped"] = json.dumps(list(skipped[:MAX_SKIPPED]))
        if status == "ok":  # a 304 carries no new validators: keep the old ones
            mapping.update(etag=etag or "", last_modified=last_modified or "")
        if title and not feed.title:
            mapping["title"] = title
        if self._update(feed.id, mapping, next_due):
            self.r.srem(self.keys.feeds_failing, feed.id)

    @converts_errors
    def note_dropped(self, fid: str, items: Sequence[Mapping[str, str | float]]) -> None:
        """Add articles of the feed that were given up, and why, to the newest MAX_SKIPPED kept."""
        key = self.keys.feed(fid)
        old = self.r.hget(key, "dropped")
        if old is None and not self.r.exists(key):
            return  # the feed was deleted
        kept = [*json.loads(old or "[]"), *items][-MAX_SKIPPED:]
        self.r.hset(key, "dropped", json.dumps(kept))

    @converts_errors
    def record_failure(self, feed: Feed, error: str, next_due: float, now: float) -> None:
        mapping: dict[str, str | float] = {
            "last_fetched": now, "last_status": "error", "last_error": error,
            "errors": feed.errors + 1, "next_due": next_due,
        }  # fmt: skip
        if self._update(feed.id, mapping, next_due):
            self.r.sadd(self.keys.feeds_failing, feed.id)

    def _update(self, fid: str, mapping: dict[str, str | float], next_due: float) -> bool:
        key = self.keys.feed(fid)

        def update(pipe: Any) -> bool:
            # Only a feed still present is updated, checked under WATCH: a fetch that finishes after
            # DELETE must not make it again.
            if not pipe.exists(key):
                return False
            pipe.multi()
            pipe.hset(key, mapping=mapping)
            pipe.zadd(self.keys.feeds_due, {fid: next_due}, xx=True)
            return True

        return bool(self.r.transaction(update, key, value_from_callable=True))
