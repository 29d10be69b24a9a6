"""Stories, their variants, and single articles.

These reads are the API's busiest routes, and each is a Redis trip or two of a fraction of a
millisecond: they run on the event loop, where a plain function would go through the thread pool, a
trip that costs more than the read and makes the threads contend with the loop for the interpreter.
The store's client gives up on a reply after AGGREGATOR_REDIS_TIMEOUT_S, so a Redis that hangs holds
the loop no longer than that.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from aggregator.api import deps
from aggregator.api.responses import JSONBytes
from aggregator.api.schemas import ArticleWithStory, StoryOut, StoryPage, VariantPage

router = APIRouter(prefix="/v1", tags=["stories"])

# `?include=text` adds each variant's full text to a story or a page of variants.
Include = Annotated[
    Literal["text"] | None,
    Query(description="`text`: each variant with its full text (the canonical always has it)"),
]


@router.get("/stories", response_model=StoryPage)
async def list_stories(
    views: deps.Views,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
    q: str | None = Query(
        None, min_length=1, max_length=200, description="Only stories whose headline contains this"
    ),
) -> JSONBytes:
    """Stories, the most recently updated first. With `q`, those whose headline contains it, ignoring
    case; a search reads up to 2,000 stories per request, so a page may hold fewer than `limit` with
    a `next_cursor` that continues the search."""
    if q:  # a search may read ten trips' worth of the list: not on the loop
        items, nxt = await run_in_threadpool(views.list_stories, limit, cursor, q)
    else:
        items, nxt = views.list_stories(limit, cursor, q)
    return JSONBytes({"items": items, "next_cursor": nxt})


@router.get("/stories/{story_id}", response_model=StoryOut)
async def get_story(
    views: deps.Views, story_id: str, variants_limit: int = Query(50, ge=1, le=500), include: Include = None
) -> JSONBytes:
    """A story: its canonical article (with its text) and the first `variants_limit` variants in the
    order they joined, the canonical among them, without their texts unless `include=text`.
    `variants_next_cursor` continues at `/v1/stories/{id}/variants`."""
    return JSONBytes(views.story(story_id, variants_limit, include == "text"))


@router.get("/stories/{story_id}/variants", response_model=VariantPage)
async def get_variants(
    views: deps.Views,
    story_id: str,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
    include: Include = None,
) -> JSONBytes:
    """Every variant of a story, a page at a time, in the order they joined."""
    items, nxt = views.variants(story_id, limit, cursor, include == "text")
    return JSONBytes({"items": items, "next_cursor": nxt})


@router.get("/articles/{article_id}", response_model=ArticleWithStory)
async def get_article(article_id: str, views: deps.Views) -> JSONBytes:
    return JSONBytes(views.article(article_id))
