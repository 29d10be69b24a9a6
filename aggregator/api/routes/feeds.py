"""Feed subscriptions, one at a time or as an OPML list."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from aggregator.api import deps
from aggregator.api.deps import WRITE
from aggregator.api.schemas import FeedChange, FeedIn, FeedOut, FeedPage, ImportReportOut
from aggregator.errors import InvalidInput, ParseError
from aggregator.ingest.opml import read_opml, write_opml
from aggregator.store.views import offset

router = APIRouter(prefix="/v1/feeds", tags=["feeds"])
listing = APIRouter(tags=["feeds"])  # /v1/feeds.opml: a document of its own, beside the collection

_OPML_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/x-opml": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            },
        },
    }
}


@router.get("", response_model=FeedPage)
def list_feeds(
    store: deps.Feeds,
    limit: int = Query(100, ge=1, le=1000),
    cursor: str | None = None,
) -> dict[str, Any]:
    """Feeds in the order they were added."""
    start = offset(cursor)
    feeds = store.page(start, limit)
    nxt = str(start + limit) if len(feeds) == limit else None
    return {"items": [dataclasses.asdict(f) for f in feeds], "next_cursor": nxt}


@router.post("", dependencies=WRITE, response_model=FeedOut, status_code=201)
def add_feed(body: FeedIn, response: Response, feeds: deps.Catalogue) -> dict[str, Any]:
    """Subscribe to a feed; it is fetched at once. Adding a known URL returns the existing feed (200)."""
    feed, created = feeds.add(body.url, body.title, body.category)
    if not created:
        response.status_code = 200
    return dataclasses.asdict(feed)


@router.post("/import", dependencies=WRITE, response_model=ImportReportOut, openapi_extra=_OPML_BODY)
async def import_feeds(request: Request, feeds: deps.Catalogue) -> dict[str, Any]:
    """Subscribe to every feed of an OPML document, sent as the body or as the form field `file`.
    Folders become categories. Known feeds are left as they are; feeds that cannot be added are
    listed with why, and the others go on."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("a form needs the OPML document as its field 'file'")
        body = await upload.read()
    else:
        body = await request.body()
    try:
        listed = read_opml(body)
    except ParseError as exc:
        raise InvalidInput(str(exc)) from exc
    # Each feed's address is checked (a name lookup) and stored: off the event loop.
    return dataclasses.asdict(await run_in_threadpool(feeds.import_list, listed))


@listing.get("/v1/feeds.opml", response_class=Response, responses={
    200: {"content": {"text/x-opml": {"schema": {"type": "string"}}}, "description": "OPML 2.0"}
})  # fmt: skip
def export_feeds(store: deps.Feeds) -> Response:
    """Every feed as an OPML 2.0 document, categories as folders: what other feed readers import."""
    body = write_opml(store.all(), "News aggregator feeds")
    headers = {"Content-Disposition": 'attachment; filename="feeds.opml"'}
    return Response(body, media_type="text/x-opml; charset=utf-8", headers=headers)


@router.get("/{feed_id}", response_model=FeedOut)
def get_feed(feed_id: str, store: deps.Feeds) -> dict[str, Any]:
    return dataclasses.asdict(store.get(feed_id))


@router.patch("/{feed_id}", dependencies=WRITE, response_model=FeedOut)
def change_feed(feed_id: str, body: FeedChange, feeds: deps.Catalogue) -> dict[str, Any]:
    """Set the feed's category, or pause it (`"paused": true`: not fetched until false again)."""
    return dataclasses.asdict(feeds.change(feed_id, body.category, body.paused))


@router.delete("/{feed_id}", dependencies=WRITE, status_code=204)
def delete_feed(feed_id: str, store: deps.Feeds) -> Response:
    store.delete(feed_id)
    return Response(status_code=204)
