"""Stories: committing a clustered batch, the canonical choice, and split persistence.

Writes are queued on the caller's MULTI (`store/index.py` adds the index entries to the same one), so a
crash leaves either all of a batch or none. The caller holds the story-write lock, so no article can
join a story half-way through a change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import redis

from aggregator.core import canonical
from aggregator.core.models import Article, Assignment, Decision, Features, Relation, Split
from aggregator.store import events
from aggregator.store.article_hash import CLUSTERED, article_fields
from aggregator.store.connection import converts_errors
from aggregator.store.events import EventLog, NewEvent
from aggregator.store.keys import Keys

_MEMBER_FIELDS = (
    "feed_id",
    "source",
    "credits",
    "extraction",
    "length",
    "published",
    "fetched",
    "title",
    "url",
)
_RELATION = ("relation", "score", "signals", "matched")


@dataclass
class Member:
    """A story's article as the canonical policy and the events see it."""

    candidate: canonical.Candidate
    relation: list[str]  # relation, score, signals, matched as stored
    brief: dict[str, Any]  # id, title, url, source, feed_id

    def variant(self) -> dict[str, Any]:
        """The brief with its relation, as `story.variant_added` carries it."""
        rel, score, signals, _ = self.relation
        return {**self.brief, "relation": rel, "score": float(score), "signals": json.loads(signals)}

    def relink(self, d: Decision) -> None:
        self.relation = _stored_relation(d)
        self.candidate = replace(self.candidate, copy_of=_copy_of(*self.relation))


def canonical_history(canonical: str | None, stored: str | None) -> list[str]:
    """The story's canonicals, oldest first: as stored, or its one canonical when none is stored."""
    if stored:
        return list(json.loads(stored))
    return [canonical] if canonical else []


@dataclass
class StoryState:
    current: str | None  # the canonical before this change
    history: str | None
    members: dict[str, Member] = field(default_factory=dict)
    chosen: str = ""

    @property
    def canonical(self) -> dict[str, Any]:
        return self.members[self.chosen].brief


def _stored_relation(d: Decision) -> list[str]:
    return [d.relation.value, str(d.score), json.dumps(d.signals), d.matched_article or ""]


def _copy_of(relation: str | None, score: str | None, signals: str | None, matched: str | None) -> str | None:
    return matched or None if relation == Relation.COPY.value else None


def _member(a: Article, x: Assignment, length: int) -> Member:
    d = x.decision
    return Member(
        canonical.Candidate(
            article_id=a.id, feed_id=a.feed_id, source=a.source, credits=a.credits,
            from_page=a.extraction.value == "page", length=length, time=x.record.time,
            copy_of=d.matched_article if d.relation == Relation.COPY else None,
        ),
        _stored_relation(d),
        {"id": a.id, "title": a.title, "url": a.url, "source": a.source, "feed_id": a.feed_id},
    )  # fmt: skip


class StoryStore:
    def __init__(
        self, client: redis.Redis, keys: Keys, event_log: EventLog, feed_priority: Sequence[str] = ()
    ) -> None:
        self.r: Any = client  # decode_responses=True: replies are str (see ArticleStore)
        self.keys = keys
        self.events = event_log
        self.feed_priority = list(feed_priority)  # feed ids, most trusted first

    def queue_commit(
        self,
        pipe: redis.client.Pipeline,
        articles: Sequence[Article],
        feats: Sequence[Features],
        assigned: Sequence[Assignment],
        now: float,
    ) -> dict[str, int]:
        """Queue a clustered batch's articles, stories, canonicals and events on `pipe`. Returns each
        touched story's variant count once the batch is in."""
        stories = self.read_stories(list(dict.fromkeys(x.decision.story_id for x in assigned)))
        added: list[tuple[str, Member]] = []
        for a, f, x in zip(articles, feats, assigned, strict=True):
            d = x.decision
            fields: dict[Any, Any] = {
                "state": CLUSTERED,
                **article_fields(a),
                "length": f.length,
                "story_id": d.story_id,
            }
            fields.update(zip(_RELATION, _stored_relation(d), strict=True))
            pipe.hset(self.keys.article(a.id), mapping=fields)

            pipe.zadd(self.keys.story_variants(d.story_id), {a.id: now}, nx=True)
            pipe.hsetnx(self.keys.story(d.story_id), "first_seen", now)
            pipe.hset(self.keys.story(d.story_id), "updated", now)
            pipe.zadd(self.keys.stories_updated, {d.story_id: now})
            member = stories[d.story_id].members[a.id] = _member(a, x, f.length)
            added.append((d.story_id, member))
        changed = self.apply_canonicals(pipe, stories, now)
        new = []
        counts = {sid: len(st.members) - sum(1 for s, _ in added if s == sid) for sid, st in stories.items()}
        for sid, m in added:
            counts[sid] += 1
            feed, canon = m.candidate.feed_id, stories[sid].canonical
            if counts[sid] == 1:
                new.append(events.created(sid, now, feed, canon, 1))
            else:
                new.append(events.variant_added(sid, now, feed, canon, m.variant(), counts[sid]))
        self.events.append(pipe, new + changed, now)
        return counts

    @converts_errors
    def choose_canonicals(self, story_ids: Sequence[str], now: float) -> None:
        """Re-apply the canonical policy to stories whose articles changed: one read, one MULTI."""
        stories = self.read_stories(story_ids)
        pipe = self.r.pipeline(transaction=True)
        self.events.append(pipe, self.apply_canonicals(pipe, stories, now), now)
        pipe.execute()

    def apply_canonicals(
        self, pipe: redis.client.Pipeline, stories: Mapping[str, StoryState], now: float
    ) -> list[NewEvent]:
        """Queue each story's canonical change on `pipe`; return the `canonical_changed` events."""
        out = []
        for sid, st in stories.items():
            if not st.members:
                continue
            # The story list shows how many outlets carry a story: counted here, where every member is
            # at hand, rather than on each read.
            outlets = {m.candidate.source.casefold() for m in st.members.values() if m.candidate.source}
            pipe.hset(self.keys.story(sid), "sources", len(outlets))
            st.chosen = canonical.choose([m.candidate for m in st.members.values()], self.feed_priority)
            if st.chosen == st.current:
                continue
            hist = canonical_history(st.current, st.history) + [st.chosen]
            # A new canonical is a change the story list shows: the story moves up, and API processes
            # that keep its row by its score read it again.
            fields: dict[Any, Any] = {"canonical": st.chosen, "updated": now}
            if len(hist) > 1:  # a history of the canonical alone is not kept: it reads as such
                fields["canonical_history"] = json.dumps(hist)
            pipe.hset(self.keys.story(sid), mapping=fields)
            pipe.zadd(self.keys.stories_updated, {sid: now})
            rel = st.members[st.chosen].relation
            # The article that stood as canonical: the story's, or in a story begun in this batch, its
            # first article, stored as "canonical" when it joined.
            was = st.current if st.current in st.members else None
            was = was or next(
                (aid for aid, m in st.members.items() if aid != st.chosen and m.relation[0] == "canonical"),
                None,
            )
            if was and rel[0] and rel[0] != "canonical":
                # The old canonical now relates to the new one as the new one related to the story.
                stored = [*rel[:3], st.chosen]  # matched: the new canonical
                pipe.hset(self.keys.article(was), mapping=dict(zip(_RELATION, stored, strict=True)))
                st.members[was].relation = stored
                st.members[was].candidate = replace(st.members[was].candidate, copy_of=_copy_of(*stored))
            if st.current and st.current in st.members:
                previous = st.members[st.current].brief
                out.append(events.canonical_changed(sid, now, st.canonical, previous, len(st.members)))
        return out

    def queue_split(self, pipe: redis.client.Pipeline, split: Split, now: float) -> None:
        """Queue on `pipe` making `split.story_id` the stories of its parts, with their canonicals, the
        changed relations and the events. Its articles no part names (their vectors left the index)
        stay with `split.story_id`."""
        story_id = split.story_id
        old = self.read_stories([story_id])[story_id]
        joined = dict(self.r.zrange(self.keys.story_variants(story_id), 0, -1, withscores=True))
        moved = split.moved()
        states = {story_id: StoryState(old.current, old.history)}
        for aid, member in old.members.items():
            states.setdefault(moved.get(aid, story_id), StoryState(None, None)).members[aid] = member
        for aid, sid in moved.items():
            pipe.zrem(self.keys.story_variants(story_id), aid)
            pipe.zadd(self.keys.story_variants(sid), {aid: joined.get(aid, now)})
            pipe.hset(self.keys.article(aid), "story_id", sid)
        for aid, d in split.relations.items():
            states[d.story_id].members[aid].relink(d)
            pipe.hset(self.keys.article(aid), mapping=dict(zip(_RELATION, _stored_relation(d), strict=True)))
        for sid, st in states.items():
            if sid != story_id:
                first = min(joined.get(a, now) for a in st.members)
                pipe.hset(self.keys.story(sid), mapping={"first_seen": first, "updated": now})
            else:
                pipe.hset(self.keys.story(sid), "updated", now)
            pipe.zadd(self.keys.stories_updated, {sid: now})
        if old.current in moved:  # its story lost its canonical: the policy picks among the rest
            states[story_id].current = None
        changed = self.apply_canonicals(pipe, states, now)
        kept = states[story_id]
        split_into = {sid: list(st.members) for sid, st in states.items() if sid != story_id}
        new = [events.split(story_id, now, kept.canonical, len(kept.members), split_into)]
        for sid, st in states.items():
            if sid != story_id:
                feed = st.members[st.chosen].candidate.feed_id
                new.append(events.created(sid, now, feed, st.canonical, len(st.members), split_from=story_id))
        self.events.append(pipe, new + changed, now)

    @converts_errors
    def variant_ids(self, story_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each story's article ids, in the order they joined."""
        pipe = self.r.pipeline(transaction=False)
        for sid in story_ids:
            pipe.zrange(self.keys.story_variants(sid), 0, -1)
        return dict(zip(story_ids, pipe.execute(), strict=True))

    def read_stories(self, story_ids: Sequence[str]) -> dict[str, StoryState]:
        """Each story's current canonical and its members as the canonical policy sees them: two trips."""
        members = self.variant_ids(story_ids)
        pipe = self.r.pipeline(transaction=False)
        for sid in story_ids:
            pipe.hmget(self.keys.story(sid), ["canonical", "canonical_history"])
            for aid in members[sid]:
                pipe.hmget(self.keys.article(aid), _MEMBER_FIELDS + _RELATION)
        res = iter(pipe.execute())
        out = {}
        for sid in story_ids:
            current, history = next(res)
            st = StoryState(current, history)
            for aid in members[sid]:
                feed, source, creds, extraction, length, published, fetched, title, url, *rel = next(res)
                st.members[aid] = Member(
                    canonical.Candidate(
                        article_id=aid, feed_id=feed or "", source=source or "",
                        credits=tuple(json.loads(creds)) if creds and creds != "[]" else (),
                        from_page=extraction == "page",
                        length=int(length or 0), time=float(published or fetched or 0),
                        copy_of=_copy_of(*rel),
                    ),
                    rel,
                    {"id": aid, "title": title or "", "url": url or "", "source": source or "",
                     "feed_id": feed or ""},
                )  # fmt: skip
            out[sid] = st
        return out
