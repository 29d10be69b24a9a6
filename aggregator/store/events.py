"""The event log: every change to a story, in one bounded Redis Stream, and the one builder of each
event type's payload.

Writers append inside the same MULTI as the change itself, so a change is never stored without its
event. Readers (the SSE endpoint, the webhook fan-out) page through it by stream id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio

from aggregator.core.timestamps import with_iso_times
from aggregator.store.connection import converts_errors
from aggregator.store.keys import Keys

CREATED, VARIANT_ADDED, CANONICAL_CHANGED, REVISED, SPLIT = (
    "story.created",
    "story.variant_added",
    "story.canonical_changed",
    "story.revised",
    "story.split",
)
TYPES = (CREATED, VARIANT_ADDED, CANONICAL_CHANGED, REVISED, SPLIT)


@dataclass(frozen=True)
class NewEvent:
    type: str
    story_id: str
    time: float
    feed_id: str  # the feed of the article that caused it: what `?feed=` filters on
    variant_count: int
    data: Mapping[str, Any]  # the story summary, as GET /v1/stories/{id} names its parts


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    story_id: str
    time: float
    feed_id: str
    variant_count: int
    data: dict[str, Any]

    @classmethod
    def from_entry(cls, entry_id: str, f: Mapping[str, str]) -> Event:
        return cls(
            entry_id, f["type"], f["story"], float(f["time"]), f.get("feed", ""), int(f.get("variants", 0)),
            json.loads(f.get("data") or "{}"),
        )  # fmt: skip

    def body(self) -> dict[str, Any]:
        """The event as SSE and webhooks send it, times as ISO 8601 strings."""
        body = {"id": self.id, "type": self.type, "story_id": self.story_id, "time": self.time, **self.data}
        return dict(with_iso_times(body))


Brief = Mapping[str, Any]  # an article as events name it: id, title, url, source, feed_id


def created(
    story_id: str, now: float, feed_id: str, canonical: Brief, count: int, split_from: str | None = None
) -> NewEvent:
    """A story began: with its first article, or split off `split_from`."""
    data: dict[str, Any] = {"canonical": canonical, "variant_count": count}
    if split_from is not None:
        data["split_from"] = split_from
    return NewEvent(CREATED, story_id, now, feed_id, count, data)


def variant_added(
    story_id: str, now: float, feed_id: str, canonical: Brief, variant: Brief, count: int
) -> NewEvent:
    """An article joined a story; `variant` carries its relation, score and signals."""
    data = {"canonical": canonical, "variant_count": count, "variant": variant}
    return NewEvent(VARIANT_ADDED, story_id, now, feed_id, count, data)


def canonical_changed(story_id: str, now: float, canonical: Brief, previous: Brief, count: int) -> NewEvent:
    data = {"canonical": canonical, "previous": previous, "variant_count": count}
    return NewEvent(CANONICAL_CHANGED, story_id, now, canonical["feed_id"], count, data)


def split(
    story_id: str, now: float, canonical: Brief, count: int, split_into: Mapping[str, Sequence[str]]
) -> NewEvent:
    """A story's members showed two events: `split_into` is each new story -> the variants it took."""
    parts = [{"story_id": sid, "variants": sorted(aids)} for sid, aids in split_into.items()]
    data = {"canonical": canonical, "variant_count": count, "split_into": parts}
    return NewEvent(SPLIT, story_id, now, canonical["feed_id"], count, data)


def revised(
    story_id: str, now: float, article: Brief, previous_title: str, canonical_id: str, count: int
) -> NewEvent:
    """An article of the story changed at its outlet; `article` carries its new revision number."""
    data = {"article": article, "previous_title": previous_title, "canonical_id": canonical_id,
            "variant_count": count}  # fmt: skip
    return NewEvent(REVISED, story_id, now, article["feed_id"], count, data)


def stream_id(value: str) -> tuple[int, int]:
    """A stream id as a comparable pair; "0" and "123" are accepted as "0-0" and "123-0"."""
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


class EventLog:
    def __init__(self, client: redis.Redis, keys: Keys, max_len: int, retention_s: float) -> None:
        self.r: Any = client
        self.key = keys.events
        self.max_len = max_len
        self.retention_s = retention_s

    def append(self, pipe: redis.client.Pipeline, events: Sequence[NewEvent], now: float) -> None:
        """Queue `events` on the caller's pipeline, then trim what is past the retention."""
        if not events:
            return
        for e in events:
            fields: dict[Any, Any] = {
                "type": e.type, "story": e.story_id, "time": e.time, "feed": e.feed_id,
                "variants": e.variant_count, "data": json.dumps(e.data, separators=(",", ":")),
            }  # fmt: skip
            pipe.xadd(self.key, fields, maxlen=self.max_len, approximate=True)
        pipe.xtrim(self.key, minid=f"{int((now - self.retention_s) * 1000)}-0", approximate=True)

    @converts_errors
    def read(self, after: str, count: int = 500) -> list[Event]:
        """Events after `after` (exclusive), oldest first."""
        start = "-" if after in ("", "0", "0-0") else f"({after}"
        return [Event.from_entry(i, f) for i, f in self.r.xrange(self.key, start, "+", count=count)]

    @converts_errors
    def get(self, event_id: str) -> Event | None:
        found = self.r.xrange(self.key, event_id, event_id, count=1)
        return Event.from_entry(*found[0]) if found else None

    @converts_errors
    def newest(self) -> str:
        last = self.r.xrevrange(self.key, "+", "-", count=1)
        return str(last[0][0]) if last else "0-0"


class AsyncEventLog:
    """The reading side for the API's event loop."""

    def __init__(self, client: redis.asyncio.Redis, keys: Keys) -> None:
        self.r: Any = client
        self.key = keys.events

    async def read(self, after: str, count: int = 500) -> list[Event]:
        start = "-" if after in ("", "0", "0-0") else f"({after}"
        return [Event.from_entry(i, f) for i, f in await self.r.xrange(self.key, start, "+", count=count)]

    async def oldest(self) -> str | None:
        first = await self.r.xrange(self.key, "-", "+", count=1)
        return str(first[0][0]) if first else None

    async def newest(self) -> str:
        last = await self.r.xrevrange(self.key, "+", "-", count=1)
        return str(last[0][0]) if last else "0-0"

    async def wait(self, after: str, block_ms: int, count: int = 500) -> list[Event]:
        """Events after `after`, waiting up to `block_ms` for the first."""
        res = await self.r.xread({self.key: after}, block=block_ms, count=count)
        return [Event.from_entry(i, f) for _, entries in res for i, f in entries]
