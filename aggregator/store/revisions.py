"""Revisions: a known article whose outlet changed its headline or text.

The feed item changing is the cue (`StoryStore.add_entries` marks the article); the page is fetched
again and, if its headline or text differ, stored as the article's next revision. The story and its
variants stay as they are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import redis

from aggregator.core.models import Article, Entry
from aggregator.store.events import REVISED, EventLog, NewEvent
from aggregator.store.keys import Keys
from aggregator.store.redis import converts_errors
from aggregator.store.stories import CLUSTERED

MAX_REVISIONS = 10  # earlier headlines and texts kept per article


class RevisionStore:
    def __init__(self, client: redis.Redis, keys: Keys, events: EventLog) -> None:
        self.r: Any = client
        self.keys = keys
        self.events = events

    @converts_errors
    def pending(self, aids: Sequence[str]) -> list[tuple[Entry, str]]:
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

        The story and its variants stay as they are; the old headline and text go to the article's
        `revisions` (newest last, at most MAX_REVISIONS). Returns the story id when a revision was made.
        A second delivery finds nothing to revise and changes nothing.
        """
        key = self.keys.article(article.id)
        old = self.r.hgetall(key)
        if old.get("state") != CLUSTERED or not old.get("revise"):
            return None
        entry = json.loads(old["revise"])
        pipe = self.r.pipeline(transaction=True)
        pipe.hdel(key, "revise")
        pipe.hset(key, mapping={"entry_title": entry["title"], "summary": entry["summary"]})
        sid = old.get("story_id", "")
        changed = (old.get("title", ""), old.get("text", "")) != (article.title, article.text)
        if changed:
            number = int(old.get("revision") or 0)
            history = json.loads(old.get("revisions") or "[]")
            history.append(
                {"revision": number, "title": old.get("title", ""), "text": old.get("text", ""),
                 "fetched": float(old["fetched"]) if old.get("fetched") else None, "replaced": now}
            )  # fmt: skip
            pipe.hset(
                key,
                mapping={
                    "title": article.title, "text": article.text, "fetched": article.fetched,
                    "extraction": article.extraction.value, "credits": json.dumps(article.credits),
                    "length": len(article.text.split()), "revision": number + 1,
                    "revisions": json.dumps(history[-MAX_REVISIONS:]),
                },
            )  # fmt: skip
            pipe.hset(self.keys.story(sid), "updated", now)
            pipe.zadd(self.keys.stories_updated, {sid: now})
            read = self.r.pipeline(transaction=False)
            read.zcard(self.keys.story_variants(sid))
            read.hget(self.keys.story(sid), "canonical")
            count, canon = read.execute()
            brief = {"id": article.id, "title": article.title, "url": article.url, "source": article.source,
                     "feed_id": old.get("feed_id", ""), "revision": number + 1}  # fmt: skip
            data = {"article": brief, "previous_title": old.get("title", ""), "canonical_id": canon or "",
                    "variant_count": count}  # fmt: skip
            self.events.append(pipe, [NewEvent(REVISED, sid, now, brief["feed_id"], count, data)], now)
        pipe.execute()
        return sid if changed else None
