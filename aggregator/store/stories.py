"""Articles and stories: pending entries, clustered articles, stories with their variants."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from aggregator.core import canonical, splitting
from aggregator.core.clustering import Assignment
from aggregator.core.models import Article, Entry, Features
from aggregator.store.events import CANONICAL_CHANGED, CREATED, VARIANT_ADDED, EventLog, NewEvent
from aggregator.store.index import RedisIndex
from aggregator.store.keys import Keys
from aggregator.store.redis import converts_errors

PENDING, CLUSTERED = "pending", "clustered"
EXPIRED = "expired"  # a tombstone: the article's story was retired (store/retention.py)
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
_RELATION = ("relation", "score", "signals")


@dataclass
class Member:
    """A story's article as the canonical policy and the events see it."""

    candidate: canonical.Candidate
    relation: list[str]  # relation, score, signals as stored
    brief: dict[str, Any]  # id, title, url, source, feed_id


@dataclass
class StoryState:
    current: str | None  # the canonical before this change
    history: str | None
    members: dict[str, Member] = field(default_factory=dict)
    chosen: str = ""


def _entry_fields(e: Entry) -> dict[str, Any]:
    return {
        "url": e.url, "guid": e.guid, "title": e.title, "summary": e.summary, "published": e.published,
        "author": e.author, "source_name": e.source_name,
    }  # fmt: skip


def stored_float(value: str | None) -> float | None:
    """A number as a hash field keeps it: absent or empty is None."""
    return float(value) if value else None


class StoryStore:
    def __init__(self, client: redis.Redis, keys: Keys, index: RedisIndex, events: EventLog) -> None:
        # redis-py's stubs type replies as unions of bytes/str/awaitables; with decode_responses=True
        # they are str, so the client is used untyped here rather than cast at every call.
        self.r: Any = client
        self.keys = keys
        self.index = index
        self.events = events

    # --- entries from feeds
    @converts_errors
    def add_entries(self, fid: str, entries: Sequence[Entry], now: float, tombstone_s: int = 0) -> list[str]:
        """Store new entries as pending; return every given entry not yet clustered (new or unfinished).

        A retired article is not brought back: its tombstone lives on `tombstone_s` more seconds each
        time the feed lists it again, so it outlives the feed's listing of the item."""
        pipe = self.r.pipeline(transaction=False)
        for e in entries:
            pipe.hmget(self.keys.article(e.article_id), ["state", "entry_title", "summary"])
        known = pipe.execute()
        todo: list[str] = []
        pipe = self.r.pipeline(transaction=False)
        for e, (state, title, summary) in zip(entries, known, strict=True):
            if state == EXPIRED:
                if tombstone_s:
                    pipe.expire(self.keys.article(e.article_id), tombstone_s)
                continue
            if e.article_id in todo:
                continue
            if state == CLUSTERED:
                # A known URL whose headline or summary changed in the feed is fetched again: if its
                # page changed too, the article gets a new revision (see `revise`).
                if title is not None and (title, summary) != (e.title, e.summary):
                    pipe.hset(self.keys.article(e.article_id), "revise", json.dumps(_entry_fields(e)))
                    todo.append(e.article_id)
                continue
            todo.append(e.article_id)
            if state is None:
                pipe.hset(
                    self.keys.article(e.article_id),
                    mapping={
                        "state": PENDING, "feed_id": fid, "url": e.url, "guid": e.guid or "",
                        "title": e.title, "entry_title": e.title, "summary": e.summary,
                        "published": e.published or "",
                        "author": e.author or "", "source_name": e.source_name or "", "first_seen": now,
                    },
                )  # fmt: skip
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
                summary=h.get("summary", ""), published=stored_float(h.get("published")),
                author=h.get("author") or None, source_name=h.get("source_name") or None,
            )  # fmt: skip
            out.append((entry, h["feed_id"]))
        return out

    @converts_errors
    def clustered(self, aids: Sequence[str]) -> set[str]:
        pipe = self.r.pipeline(transaction=False)
        for aid in aids:
            pipe.hget(self.keys.article(aid), "state")
        return {aid for aid, s in zip(aids, pipe.execute(), strict=True) if s == CLUSTERED}

    # --- committing a clustered batch (the caller holds the index lock)
    @converts_errors
    def commit(
        self,
        articles: Sequence[Article],
        feats: Sequence[Features],
        assigned: Sequence[Assignment],
        doc_keys: Sequence[Iterable[str]],
        now: float,
        feed_priority: Sequence[str] = (),
    ) -> dict[str, int]:
        """Store a clustered batch, its stories' canonicals, its events and its index entries in one
        MULTI: a crash leaves either all of it or none. Returns each touched story's variant count."""
        touched = list(dict.fromkeys(x.decision.story_id for x in assigned))
        stories = self.read_stories(touched)
        pipe = self.r.pipeline(transaction=True)
        centroids = {x.decision.story_id: x.centroid for x in assigned}  # the last one of each story
        added: list[tuple[str, Member]] = []
        for a, f, x in zip(articles, feats, assigned, strict=True):
            d = x.decision
            pipe.hset(
                self.keys.article(a.id),
                mapping={
                    "state": CLUSTERED, "url": a.url, "feed_id": a.feed_id, "title": a.title, "text": a.text,
                    "source": a.source, "published": a.published or "", "fetched": a.fetched,
                    "author": a.author or "", "extraction": a.extraction.value,
                    "credits": json.dumps(a.credits), "length": f.length, "story_id": d.story_id,
                    "relation": d.relation.value, "score": d.score, "signals": json.dumps(d.signals),
                    "matched": d.matched_article or "",
                },
            )  # fmt: skip
            pipe.zadd(self.keys.story_variants(d.story_id), {a.id: now}, nx=True)
            pipe.hsetnx(self.keys.story(d.story_id), "first_seen", now)
            pipe.hset(self.keys.story(d.story_id), "updated", now)
            pipe.zadd(self.keys.stories_updated, {d.story_id: now})
            member = Member(
                canonical.Candidate(
                    article_id=a.id, feed_id=a.feed_id, source=a.source, credits=a.credits,
                    from_page=a.extraction.value == "page", length=f.length, time=a.published or a.fetched,
                ),
                [d.relation.value, str(d.score), json.dumps(d.signals)],
                {"id": a.id, "title": a.title, "url": a.url, "source": a.source, "feed_id": a.feed_id},
            )  # fmt: skip
            stories[d.story_id].members[a.id] = member
            added.append((d.story_id, member))
        changed = self.apply_canonicals(pipe, stories, feed_priority, now)
        events = []
        counts = {sid: len(st.members) - sum(1 for s, _ in added if s == sid) for sid, st in stories.items()}
        for sid, m in added:
            counts[sid] += 1
            st = stories[sid]
            kind = CREATED if counts[sid] == 1 else VARIANT_ADDED
            data = {"canonical": st.members[st.chosen].brief, "variant_count": counts[sid]}
            if kind == VARIANT_ADDED:
                rel, score, signals = m.relation
                data["variant"] = {
                    **m.brief,
                    "relation": rel,
                    "score": float(score),
                    "signals": json.loads(signals),
                }
            events.append(NewEvent(kind, sid, now, m.candidate.feed_id, counts[sid], data))
        self.events.append(pipe, events + changed, now)
        members = [
            splitting.MemberVector(a.id, x.record.time, f.length, f.vector)
            for a, f, x in zip(articles, feats, assigned, strict=True)
        ]
        self.index.write(pipe, [x.record for x in assigned], centroids, doc_keys, members)
        pipe.execute()
        return counts

    @converts_errors
    def choose_canonicals(self, story_ids: Sequence[str], feed_priority: Sequence[str], now: float) -> None:
        """Re-apply the canonical policy to stories whose articles changed: one read, one MULTI."""
        stories = self.read_stories(story_ids)
        pipe = self.r.pipeline(transaction=True)
        self.events.append(pipe, self.apply_canonicals(pipe, stories, feed_priority, now), now)
        pipe.execute()

    def apply_canonicals(
        self,
        pipe: redis.client.Pipeline,
        stories: dict[str, StoryState],
        feed_priority: Sequence[str],
        now: float,
    ) -> list[NewEvent]:
        """Queue each story's canonical change on `pipe`; return the `canonical_changed` events."""
        events = []
        for sid, st in stories.items():
            if not st.members:
                continue
            st.chosen = canonical.choose([m.candidate for m in st.members.values()], feed_priority)
            if st.chosen == st.current:
                continue
            key = self.keys.story(sid)
            hist = json.loads(st.history or "[]") + [st.chosen]
            pipe.hset(key, mapping={"canonical": st.chosen, "canonical_history": json.dumps(hist)})
            rel = st.members[st.chosen].relation
            if st.current and st.current in st.members and rel[0] and rel[0] != "canonical":
                # The old canonical now relates to the new one as the new one related to the story.
                pipe.hset(self.keys.article(st.current), mapping=dict(zip(_RELATION, rel, strict=True)))
                data = {
                    "canonical": st.members[st.chosen].brief, "previous": st.members[st.current].brief,
                    "variant_count": len(st.members),
                }  # fmt: skip
                feed = st.members[st.chosen].candidate.feed_id
                events.append(NewEvent(CANONICAL_CHANGED, sid, now, feed, len(st.members), data))
        return events

    def read_stories(self, story_ids: Sequence[str]) -> dict[str, StoryState]:
        """Each story's current canonical and its members as the canonical policy sees them: two trips."""
        pipe = self.r.pipeline(transaction=False)
        for sid in story_ids:
            pipe.zrange(self.keys.story_variants(sid), 0, -1)
        members = dict(zip(story_ids, pipe.execute(), strict=True))
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
                        credits=tuple(json.loads(creds or "[]")), from_page=extraction == "page",
                        length=int(length or 0), time=float(published or fetched or 0),
                    ),
                    rel,
                    {"id": aid, "title": title or "", "url": url or "", "source": source or "",
                     "feed_id": feed or ""},
                )  # fmt: skip
            out[sid] = st
        return out
