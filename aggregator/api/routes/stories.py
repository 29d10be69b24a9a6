"""Stories, their variants, and single articles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from aggregator.api import deps
from aggregator.api.schemas import ArticleWithStory, StoryOut, StoryPage, VariantPage

router = APIRouter(prefix="/v1", tags=["stories"])


@router.get("/stories", response_model=StoryPage)
def list_stories(
    views: deps.Views,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> dict[str, Any]:
    """Stories, the most recently updated first."""
    items, nxt = views.list_stories(limit, cursor)
    return {"items": items, "next_cursor": nxt}


@router.get("/stories/{story_id}", response_model=StoryOut)
def get_story(
    views: deps.Views, story_id: str, variants_limit: int = Query(50, ge=1, le=500)
) -> dict[str, Any]:
    """A story: its canonical article and the first `variants_limit` variants in the order they joined,
    the canonical among them. `variants_next_cursor` continues at `/v1/stories/{id}/variants`."""
    return views.story(story_id, variants_limit)


@router.get("/stories/{story_id}/variants", response_model=VariantPage)
def get_variants(
    views: deps.Views,
    story_id: str,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> dict[str, Any]:
    """Every variant of a story, a page at a time, in the order they joined."""
    items, nxt = views.variants(story_id, limit, cursor)
    return {"items": items, "next_cursor": nxt}


@router.get("/articles/{article_id}", response_model=ArticleWithStory)
def get_article(article_id: str, views: deps.Views) -> dict[str, Any]:
    return views.article(article_id)
