"""Retention: stories with no change for the retention period go, with their articles.

The index forgets a story after the story window; this forgets its data after the longer retention,
so Redis stays flat on an endless stream as the index does. Retention counts from the story's last
change in this service, not from the items' published dates, so an old item just subscribed to is kept
the full period.

Each retired article leaves a small tombstone (`state=expired`, TTL: the retention). A feed that still
lists the item renews it (`ArticleStore.add_entries`), so the item does not come back as a new story.
"""

from __future__ import annotations

from typing import Any

import redis

from aggregator.store.article_hash import EXPIRED
from aggregator.store.connection import converts_errors
from aggregator.store.keys import Keys


class Retention:
    def __init__(self, client: redis.Redis, keys: Keys, tombstone_s: int) -> None:
        self.r: Any = client
        self.keys = keys
        self.tombstone_s = tombstone_s

    @converts_errors
    def retire(self, horizon: float, limit: int) -> list[str]:
        """Delete up to `limit` stories last updated before `horizon`, oldest first, in one MULTI.

        The caller holds the story-write lock, so no variant or revision lands on a story mid-delete.
        A second call finds them gone and does nothing.
        """
        sids: list[str] = self.r.zrangebyscore(self.keys.stories_updated, "-inf", f"({horizon}", 0, limit)
        if not sids:
            return []
        read = self.r.pipeline(transaction=False)
        for sid in sids:
            read.zrange(self.keys.story_variants(sid), 0, -1)
        pipe = self.r.pipeline(transaction=True)
        for sid, aids in zip(sids, read.execute(), strict=True):
            for aid in aids:
                key = self.keys.article(aid)
                pipe.delete(key)
                pipe.hset(key, "state", EXPIRED)
                pipe.expire(key, self.tombstone_s)
            pipe.delete(self.keys.story(sid), self.keys.story_variants(sid))
        pipe.zrem(self.keys.stories_updated, *sids)
        pipe.execute()
        return sids
