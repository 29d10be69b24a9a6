"""The live event stream (server-sent events)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from aggregator.api import deps
from aggregator.api.stream import Filters, events
from aggregator.errors import InvalidInput
from aggregator.store.events import TYPES

router = APIRouter(prefix="/v1", tags=["events"])

_ID = re.compile(r"[0-9]{1,20}(-[0-9]{1,20})?")  # a Redis stream id: two unsigned 64-bit numbers


def is_stream_id(value: str) -> bool:
    return bool(_ID.fullmatch(value)) and all(int(part) < 2**64 for part in value.split("-"))


@router.get("/events", response_class=StreamingResponse)
async def stream_events(
    hub: deps.EventHub,
    settings: deps.AppSettings,
    after: str | None = Query(None, description="Resume after this event id; 0 replays all kept"),
    types: str | None = Query(None, description="Comma-separated event types"),
    feed: str | None = Query(None, description="Only events caused by this feed's articles"),
    min_variants: int = Query(0, ge=0, description="Only events of stories with this many variants"),
    last_event_id: str | None = Header(None),
) -> StreamingResponse:
    """`text/event-stream` of story events: `id:` the stream id, `event:` the type, `data:` JSON.

    Reconnect with `Last-Event-ID` (or `?after=`) to receive exactly the events missed, then live ones.
    """
    start = last_event_id or after
    if start is not None and not is_stream_id(start):
        raise InvalidInput(f"bad event id {start[:40]!r}: use the id of an event received")
    wanted = {t.strip() for t in types.split(",") if t.strip()} if types else set()
    if unknown := wanted - set(TYPES):
        raise InvalidInput(f"unknown event types {sorted(unknown)}; known: {list(TYPES)}")
    body = events(hub, start, Filters(wanted, feed, min_variants), settings.sse_heartbeat_s)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)
