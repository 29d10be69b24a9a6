"""Feed subscriptions."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Query, Request, Response

from aggregator.api.routes import WRITE, services_of
from aggregator.api.schemas import FeedIn, FeedOut, FeedPage

router = APIRouter(prefix="/v1/feeds", tags=["feeds"])


@router.get("", response_model=FeedPage)
def list_feeds(
    request: Request, limit: int = Query(100, ge=1, le=1000), cursor: str | None = None
) -> dict[str, Any]:
    offset = int(cursor) if cursor and cursor.isdigit() else 0
    feeds = services_of(request).feeds.page(offset, limit)
    nxt = str(offset + limit) if len(feeds) == limit else None
    return {"items": [dataclasses.asdict(f) for f in feeds], "next_cursor": nxt}


@router.post("", dependencies=WRITE, response_model=FeedOut, status_code=201)
def add_feed(request: Request, body: FeedIn, response: Response) -> dict[str, Any]:
    """Subscribe to a feed; it is fetched at once. Adding a known URL returns the existing feed (200)."""
    feed, created = services_of(request).add_feed(body.url, body.title)
    if not created:
        response.status_code = 200
    return dataclasses.asdict(feed)


@router.get("/{feed_id}", response_model=FeedOut)
def get_feed(request: Request, feed_id: str) -> dict[str, Any]:
    return dataclasses.asdict(services_of(request).feeds.get(feed_id))


@router.delete("/{feed_id}", dependencies=WRITE, status_code=204)
def delete_feed(request: Request, feed_id: str) -> Response:
    services_of(request).feeds.delete(feed_id)
    return Response(status_code=204)
