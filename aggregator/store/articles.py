"""Articles: entries waiting to be clustered, their states, and their revisions.

An article's hash goes through four states: `pending` (the entry as the feed gave it), `extracted` (the
clean article, waiting in the extracted set for the clustering worker), `clustered` (with its story and
relation: written by `StoryStore.queue_commit`), and `expired` (a tombstone once its story is retired,
`store/retention.py`).

A revision: a known article whose outlet changed its headline or text. The feed item changing is the
cue (`add_entries` marks the article); the page is fetched again and, if its headline or text differ,
stored as the article's next revision. The story and its variants stay as they are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import redis

from aggregator.core.models import Article, Entry
from aggregator.store import events, packing
from aggregator.store.article_hash import (
    CLUSTERED,
    EXPIRED,
    EXTRACTED,
    PENDING,
    article_fields,
    article_from,
    entry_digest,
    entry_fields,
    lean,
    pending_fields,
    revisions_of,
    stored_float,
)
from aggregator.store.connection import converts_errors
from aggregator.store.events import EventLog
from aggregator.store.keys import Keys

MAX_REVISIONS = 10  # earlier headlines and texts kept per article


class ArticleStore:
    def __init__(self, client: redis.Redis, keys: Keys, event_log: EventLog) -> None:
        # redis-py's stubs type replies as unions of bytes/str/awaitables; with decode_responses=True
        # they are str, so the client is used untyped here rather than cast at every call.
        self.r: Any = client
        self.keys = keys
        self.events = event_log

    @converts_errors
    def add_entries(self, fid: str, entries: Sequence[Entry], now: float, tombstone_s: int = 0) -> list[str]:
        """Store new entries as pending; return every given entry not yet clustered (new or unfinished).

        A retired article is not brought back: its tombstone lives on `tombstone_s` more seconds each
        time the feed lists it again, so it outlives the feed's listing of the item."""
        pipe = self.r.pipeline(transaction=False)
        for e in entries:
            pipe.hmget(self.keys.article(e.article_id), ["state", "seen", "entry_title", "summary"])
        known = pipe.execute()
        todo: list[str] = []
        new: dict[str, float] = {}
        pipe = self.r.pipeline(transaction=False)
        for e, (state, seen, title, summary) in zip(entries, known, strict=True):
            if state == EXPIRED:
                if tombstone_s:
                    pipe.expire(self.keys.article(e.article_id), tombstone_s)
                continue
            if state == EXTRACTED:  # on its way to the clustering worker
                continue
            if e.article_id in todo:
                continue
            if state == CLUSTERED:
                # A known URL whose headline or summary changed in the feed is fetched again: if its
                # page changed too, the article gets a new revision (see `revise`). An article stored
                # before entries had a digest kept the entry's headline.
                if seen is not None:
                    changed = seen != entry_digest(e)
                else:
                    changed = title is not None and (title, packing.unpack_text(summary)) != (
                        e.title,
                        e.summary,
                    )
                if changed:
                    pipe.hset(self.keys.article(e.article_id), "revise", json.dumps(entry_fields(e)))
                    todo.append(e.article_id)
                continue
            todo.append(e.article_id)
            if state is None:
                pipe.hset(self.keys.article(e.article_id), mapping=pending_fields(fid, e))
                new[e.article_id] = now
        if new:
            pipe.zadd(self.keys.pending, new, nx=True)
        pipe.execute()
        return todo

    @converts_errors
    def pending_entries(self, aids: Sequence[str]) -> list[tuple[Entry, str]]:
        """The entries among `aids` still waiting to be clustered, with their feed id."""
        pipe = self.r.pipeline(transaction=False)
        for aid in aids:
            pipe.hgetall(self.keys.article(aid))
        out = []
        for aid, h in zip(aids, pipe.execute(), strict=True):
            if h.get("state") != PENDING:
                continue
            entry = Entry(
                article_id=aid, url=h["url"], guid=h.get("guid") or None, title=h.get("title", ""),
                summary=packing.unpack_text(h.get("summary")), published=stored_float(h.get("published")),
                author=h.get("author") or None, source_name=h.get("source_name") or None,
                language=h.get("language") or None,
            )  # fmt: skip
            out.append((entry, h["feed_id"]))
        return out

    @converts_errors
    def store_extracted(self, articles: Sequence[Article], now: float) -> None:
        """Keep clean articles for the clustering worker, which takes them in the order they came. The
        feed's summary goes: the text is now the page's, or the summary itself when the page failed."""
        if not articles:
            return
        pipe = self.r.pipeline(transaction=True)
        for a in articles:
            pipe.hdel(self.keys.article(a.id), "summary")
            pipe.hset(self.keys.article(a.id), mapping={"state": EXTRACTED, **article_fields(a)})
        pipe.zadd(self.keys.extracted, {a.id: now for a in articles}, nx=True)
        pipe.zrem(self.keys.pending, *(a.id for a in articles))
        pipe.execute()

    @converts_errors
    def extracted(self, limit: int) -> list[Article]:
        """The oldest `limit` articles waiting to be clustered. An id whose article is no longer
        waiting (clustered by a delivery before, or retired) leaves the set."""
        aids: list[str] = self.r.zrange(self.keys.extracted, 0, limit - 1)
        pipe = self.r.pipeline(transaction=False)
        for aid in aids:
            pipe.hgetall(self.keys.article(aid))
        out, gone = [], []
        for aid, h in zip(aids, pipe.execute(), strict=True):
            if h.get("state") == EXTRACTED:
                out.append(article_from(aid, h))
            else:
                gone.append(aid)
        self.done_extracting(gone)
        return out

    @converts_errors
    def done_extracting(self, aids: Sequence[str]) -> None:
        if aids:
            self.r.zrem(self.keys.extracted, *aids)

    @converts_errors
    def clustered(self, aids: Sequence[str]) -> set[str]:
        pipe = self.r.pipeline(transaction=False)
        for aid in aids:
            pipe.hget(self.keys.article(aid), "state")
        return {aid for aid, s in zip(aids, pipe.execute(), strict=True) if s == CLUSTERED}

    @converts_errors
    def mark_refetch(self, entry: Entry, max_attempts: int) -> int | None:
        """Count one more attempt at an article's page and mark the article to be fetched again as a
        revision of itself; None, and nothing marked, once `max_attempts` were made."""
        key = self.keys.article(entry.article_id)
        attempt = int(self.r.hincrby(key, "refetch", 1))
        if attempt > max_attempts:
            return None
        self.r.hset(key, "revise", json.dumps(entry_fields(entry)))
        return attempt

    @converts_errors
    def waiting(self, before: float, limit: int) -> tuple[list[str], list[str]]:
        """Ids of the articles waiting for their page, and of those waiting to be clustered, since
        before `before`: oldest first, at most `limit` of each."""
        pipe = self.r.pipeline(transaction=False)
        pipe.zrangebyscore(self.keys.pending, "-inf", before, start=0, num=limit)
        pipe.zrangebyscore(self.keys.extracted, "-inf", before, start=0, num=limit)
        pending, extracted = pipe.execute()
        return pending, extracted

    @converts_errors
    def give_up(self, aids: Sequence[str], reason: str, tombstone_s: int) -> list[tuple[str, str]]:
        """Articles that could not be ingested leave the queues, each a tombstone that says why (so
        the feed listing them again does not bring them back). Returns the (feed id, url) of each one
        that was still waiting; one already clustered or gone is left as it is."""
        pipe = self.r.pipeline(transaction=False)
        for aid in aids:
            pipe.hmget(self.keys.article(aid), ["state", "feed_id", "url"])
        waiting = [
            (aid, fid or "", url or "")
            for aid, (state, fid, url) in zip(aids, pipe.execute(), strict=True)
            if state in (PENDING, EXTRACTED)
        ]
        if not waiting:
            return []
        pipe = self.r.pipeline(transaction=True)
        for aid, fid, url in waiting:
            key = self.keys.article(aid)
            pipe.delete(key)
            pipe.hset(key, mapping={"state": EXPIRED, "feed_id": fid, "url": url, "given_up": reason})
            pipe.expire(key, tombstone_s)
        pipe.zrem(self.keys.pending, *(aid for aid, _, _ in waiting))
        pipe.zrem(self.keys.extracted, *(aid for aid, _, _ in waiting))
        pipe.execute()
        return [(fid, url) for _, fid, url in waiting]

    # --- revisions
    @converts_errors
    def pending_revisions(self, aids: Sequence[str]) -> list[tuple[Entry, str]]:
        """The entries among `aids` whose feed item changed since they were clustered."""
        pipe = self.r.pipeline(transaction=False)
        for aid in aids:
            pipe.hmget(self.keys.article(aid), ["state", "revise", "feed_id"])
        out = []
        for aid, (state, revise, fid) in zip(aids, pipe.execute(), strict=True):
            if state == CLUSTERED and revise:
                out.append((Entry(article_id=aid, **json.loads(revise)), fid or ""))
        return out

    @converts_errors
    def revise(self, article: Article, now: float) -> str | None:
        """Make `article` the new revision of the stored one if its headline or text changed.

        The old headline and text go to the article's `revisions` (newest last, at most MAX_REVISIONS).
        Returns the story id when a revision was made. A second delivery finds nothing to revise and
        changes nothing.
        """
        key = self.keys.article(article.id)
        old = self.r.hgetall(key)
        if old.get("state") != CLUSTERED or not old.get("revise"):
            return None
        entry = json.loads(old["revise"])
        pipe = self.r.pipeline(transaction=True)
        pipe.hdel(key, "revise")
        pipe.hdel(key, "entry_title", "summary")  # as articles stored before entries had a digest kept them
        pipe.hset(key, "seen", packing.digest(entry["title"], entry["summary"]))
        sid = old.get("story_id", "")
        old_text = packing.unpack_text(old.get("text"))
        changed = (old.get("title", ""), old_text) != (article.title, article.text)
        if changed:
            number = int(old.get("revision") or 0)
            history = revisions_of(old)
            history.append(
                {"revision": number, "title": old.get("title", ""), "text": old_text,
                 "fetched": stored_float(old.get("fetched")), "replaced": now}
            )  # fmt: skip
            fields = {
                "title": article.title, "text": packing.pack_text(article.text), "fetched": article.fetched,
                "extraction": article.extraction.value,
                "credits": json.dumps(article.credits) if article.credits else "",
                "extraction_error": article.extraction_error or "", "language": article.language,
                "length": len(article.text.split()), "revision": number + 1,
                "revisions": packing.pack_text(json.dumps(history[-MAX_REVISIONS:])),
            }  # fmt: skip
            kept = lean(fields)
            if gone := fields.keys() - kept.keys():
                pipe.hdel(key, *gone)  # the old revision's, which this one has not
            pipe.hset(key, mapping=kept)
            pipe.hset(self.keys.story(sid), "updated", now)
            pipe.zadd(self.keys.stories_updated, {sid: now})
            read = self.r.pipeline(transaction=False)
            read.zcard(self.keys.story_variants(sid))
            read.hget(self.keys.story(sid), "canonical")
            count, canon = read.execute()
            brief = {"id": article.id, "title": article.title, "url": article.url, "source": article.source,
                     "feed_id": old.get("feed_id", ""), "revision": number + 1}  # fmt: skip
            event = events.revised(sid, now, brief, old.get("title", ""), canon or "", count)
            self.events.append(pipe, [event], now)
        pipe.execute()
        return sid if changed else None
