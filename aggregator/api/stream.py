"""Server-sent events: one reader of the event log per API process, fanned out to every subscriber.

The hub blocks on the stream once for everybody and hands each new event to each subscriber's bounded
queue without waiting. A subscriber whose queue is full is marked behind, not waited for: it catches
up by reading the log itself from its last id, so a stalled client never slows the pipeline or the
others, and an idle one costs a queue and a coroutine. With no subscriber the hub reads nothing: every
API process would otherwise fetch and decode every event of a busy ingest for nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field

import redis

from aggregator.store.events import AsyncEventLog, Event, stream_id

log = logging.getLogger(__name__)
BLOCK_MS = 5000  # how long one read of the log waits for new events


@dataclass(frozen=True)
class Filters:
    types: Collection[str] = ()
    feed: str | None = None
    min_variants: int = 0

    def match(self, e: Event) -> bool:
        return (
            (not self.types or e.type in self.types)
            and (self.feed is None or e.feed_id == self.feed)
            and e.variant_count >= self.min_variants
        )


@dataclass(eq=False)
class Subscriber:
    queue: asyncio.Queue[Event]
    behind: bool = False


@dataclass
class Hub:
    log: AsyncEventLog
    queue_size: int
    block_ms: int = BLOCK_MS
    subscribers: set[Subscriber] = field(default_factory=set)
    _task: asyncio.Task[None] | None = None
    _idle: bool = False  # waiting for a subscriber, not reading the log
    _resume_after: str | None = None  # where reading starts again when the first subscriber comes
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        away, last = False, "0-0"
        while True:
            if not self.subscribers:
                self._idle = True
                self._wake.clear()
                await self._wake.wait()
                self._idle, last, self._resume_after = False, self._resume_after or last, None
                continue
            try:
                events = await self.log.wait(last, self.block_ms)
            except (redis.RedisError, OSError) as exc:  # subscribers keep their ids; try again shortly
                if not away:  # once per outage, not once a second
                    log.warning("event stream reader lost Redis, retrying every second: %s", exc)
                away = True
                await asyncio.sleep(1.0)
                continue
            if away:
                log.info("event stream reader reconnected")
                away = False
            for e in events:
                last = e.id
                for sub in list(self.subscribers):
                    if sub.behind:
                        continue
                    try:
                        sub.queue.put_nowait(e)
                    except asyncio.QueueFull:
                        sub.behind = True

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[tuple[Subscriber, str]]:
        """A new subscriber and the log's newest id as it joined: every event after that id reaches its
        queue (unless it falls behind)."""
        sub = Subscriber(asyncio.Queue(self.queue_size))
        self.subscribers.add(sub)  # first, so that a running hub hands it whatever comes from now on
        try:
            newest = await self.log.newest()
            if self._idle:  # the hub read nothing meanwhile: it starts after the earliest newcomer's id
                earlier = self._resume_after
                if earlier is None or stream_id(newest) < stream_id(earlier):
                    self._resume_after = newest
                self._wake.set()
            yield sub, newest
        finally:
            self.subscribers.discard(sub)


def frame(e: Event) -> str:
    return f"id: {e.id}\nevent: {e.type}\ndata: {json.dumps(e.body(), separators=(',', ':'))}\n\n"


async def events(hub: Hub, after: str | None, filters: Filters, heartbeat_s: float) -> AsyncIterator[str]:
    """The SSE body: missed events from the log after `after`, then live ones, with heartbeats."""
    async with hub.subscribe() as (sub, newest):  # before the replay: nothing falls between the two
        cursor = after
        if cursor is None:
            cursor = newest
        else:
            oldest = await hub.log.oldest()
            if oldest and cursor not in ("0", "0-0") and stream_id(cursor) < stream_id(oldest):
                gap = {"error": "events_expired", "detail": "older events are past retention"}
                gap["oldest"] = oldest
                yield f"event: error\ndata: {json.dumps(gap)}\n\n"
                cursor = "0"
        yield ": connected\n\n"
        while True:
            if sub.behind or after is not None:
                # Replay from the log: at the start for a resuming client, and whenever the live
                # queue overflowed because this client was slower than the stream.
                sub.behind = False
                while True:
                    page = await hub.log.read(cursor)
                    for e in page:
                        cursor = e.id
                        if filters.match(e):
                            yield frame(e)
                    if len(page) < 500:
                        break
                after = None
            try:
                e = await asyncio.wait_for(sub.queue.get(), heartbeat_s)
            except TimeoutError:
                yield ": ping\n\n"
                continue
            if stream_id(e.id) <= stream_id(cursor):
                continue  # already sent during the replay
            cursor = e.id
            if filters.match(e):
                yield frame(e)
