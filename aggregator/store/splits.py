"""Applying a story split (see `core/splitting.py`) to the stored stories, articles and index.

One MULTI moves the split-off articles to their new stories: variant sets, the articles' story ids,
both stories' canonicals, the index records and centroids, and the events. The caller holds the
assignment lock, so no article can join either story half-way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import redis

from aggregator.core.splitting import MemberVector, centroid_of
from aggregator.store.events import CREATED, SPLIT, EventLog, NewEvent
from aggregator.store.index import RedisIndex
from aggregator.store.keys import Keys
from aggregator.store.redis import converts_errors
from aggregator.store.stories import StoryState, StoryStore


class SplitStore:
    def __init__(
        self, client: redis.Redis, keys: Keys, stories: StoryStore, index: RedisIndex, events: EventLog
    ) -> None:
        self.r: Any = client
        self.keys = keys
        self.stories = stories
        self.index = index
        self.events = events

    @converts_errors
    def variants(self, story_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each story's article ids, in the order they joined."""
        pipe = self.r.pipeline(transaction=False)
        for sid in story_ids:
            pipe.zrange(self.keys.story_variants(sid), 0, -1)
        return dict(zip(story_ids, pipe.execute(), strict=True))

    @converts_errors
    def apply(
        self,
        story_id: str,
        parts: Mapping[str, Sequence[MemberVector]],
        centroid_terms: int,
        feed_priority: Sequence[str],
        now: float,
    ) -> None:
        """Make `story_id` the stories of `parts` (story id -> members, `story_id`'s included). Its
        articles that no part names (their vectors have left the index) stay with `story_id`."""
        old = self.stories.read_stories([story_id])[story_id]
        joined = dict(self.r.zrange(self.keys.story_variants(story_id), 0, -1, withscores=True))
        moved = {m.article_id: sid for sid, ms in parts.items() if sid != story_id for m in ms}
        states = {story_id: StoryState(old.current, old.history)}
        for aid, member in old.members.items():
            sid = moved.get(aid, story_id)
            states.setdefault(sid, StoryState(None, None)).members[aid] = member
        pipe = self.r.pipeline(transaction=True)
        for aid, sid in moved.items():
            pipe.zrem(self.keys.story_variants(story_id), aid)
            pipe.zadd(self.keys.story_variants(sid), {aid: joined.get(aid, now)})
            pipe.hset(self.keys.article(aid), "story_id", sid)
        for sid, st in states.items():
            if sid != story_id:
                # The article the new story is named after started it.
                founder = sid[1:]
                relation = {"relation": "canonical", "score": 1.0, "signals": "[]", "matched": ""}
                pipe.hset(self.keys.article(founder), mapping=relation)
                st.members[founder].relation = ["canonical", "1.0", "[]"]
                first = min(joined.get(a, now) for a in st.members)
                pipe.hset(self.keys.story(sid), mapping={"first_seen": first, "updated": now})
            else:
                pipe.hset(self.keys.story(sid), "updated", now)
            pipe.zadd(self.keys.stories_updated, {sid: now})
        if old.current in moved:  # its story lost its canonical: the policy picks among the rest
            states[story_id].current = None
        changed = self.stories.apply_canonicals(pipe, states, feed_priority, now)
        events = [self._split_event(story_id, states, now)]
        for sid, st in states.items():
            if sid != story_id:
                data = {
                    "canonical": st.members[st.chosen].brief,
                    "variant_count": len(st.members),
                    "split_from": story_id,
                }
                feed = st.members[st.chosen].candidate.feed_id
                events.append(NewEvent(CREATED, sid, now, feed, len(st.members), data))
        self.events.append(pipe, events + changed, now)
        centroids = {sid: centroid_of(ms, centroid_terms) for sid, ms in parts.items()}
        self.index.split(pipe, moved, centroids)
        pipe.execute()

    @staticmethod
    def _split_event(story_id: str, states: Mapping[str, StoryState], now: float) -> NewEvent:
        kept = states[story_id]
        data = {
            "canonical": kept.members[kept.chosen].brief,
            "variant_count": len(kept.members),
            "split_into": [
                {"story_id": sid, "variants": sorted(st.members)}
                for sid, st in states.items()
                if sid != story_id
            ],
        }
        feed = kept.members[kept.chosen].candidate.feed_id
        return NewEvent(SPLIT, story_id, now, feed, len(kept.members), data)
