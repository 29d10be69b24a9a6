"""Stories, their variants, and single articles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from aggregator.api.routes import services_of
from aggregator.api.schemas import ArticleWithStory, StoryOut, StoryPage, VariantPage

router = APIRouter(prefix="/v1", tags=["stories"])


@router.get("/stories", response_model=StoryPage)
def list_stories(
    request: Request, limit: int = Query(50, ge=1, le=500), cursor: str | None = None
) -> dict[str, Any]:
    """Stories, the most recently updated first."""
    items, nxt = services_of(request).stories.list_stories(limit, cursor)
    return {"items": items, "next_cursor": nxt}


@router.get("/stories/{story_id}", response_model=StoryOut)
def get_story(request: Request, story_id: str) -> dict[str, Any]:
    """A story: its canonical article and every variant, the canonical included."""
    return services_of(request).stories.story(story_id)


@router.get("/stories/{story_id}/variants", response_model=VariantPage)
def get_variants(request: Request, story_id: str) -> dict[str, Any]:
    return {"items": services_of(request).stories.story(story_id)["variants"], "next_cursor": None}


@router.get("/articles/{article_id}", response_model=ArticleWithStory)
def get_article(request: Request, article_id: str) -> dict[str, Any]:
    return services_of(request).stories.article(article_id)
