"""Feed subscriptions."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Query, Response

from aggregator.api import deps
from aggregator.api.deps import WRITE
from aggregator.api.schemas import FeedIn, FeedOut, FeedPage
from aggregator.store.views import offset

router = APIRouter(prefix="/v1/feeds", tags=["feeds"])


@router.get("", response_model=FeedPage)
def list_feeds(
    store: deps.Feeds,
    limit: int = Query(100, ge=1, le=1000),
    cursor: str | None = None,
) -> dict[str, Any]:
    start = offset(cursor)
    feeds = store.page(start, limit)
    nxt = str(start + limit) if len(feeds) == limit else None
    return {"items": [dataclasses.asdict(f) for f in feeds], "next_cursor": nxt}


@router.post("", dependencies=WRITE, response_model=FeedOut, status_code=201)
def add_feed(body: FeedIn, response: Response, feeds: deps.Catalogue) -> dict[str, Any]:
    """Subscribe to a feed; it is fetched at once. Adding a known URL returns the existing feed (200)."""
    feed, created = feeds.add(body.url, body.title)
    if not created:
        response.status_code = 200
    return dataclasses.asdict(feed)


@router.get("/{feed_id}", response_model=FeedOut)
def get_feed(feed_id: str, store: deps.Feeds) -> dict[str, Any]:
    return dataclasses.asdict(store.get(feed_id))


@router.delete("/{feed_id}", dependencies=WRITE, status_code=204)
def delete_feed(feed_id: str, store: deps.Feeds) -> Response:
    store.delete(feed_id)
    return Response(status_code=204)
