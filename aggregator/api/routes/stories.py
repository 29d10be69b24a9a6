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
    items, nxt = services_of(request).views.list_stories(limit, cursor)
    return {"items": items, "next_cursor": nxt}


@router.get("/stories/{story_id}", response_model=StoryOut)
def get_story(
    request: Request, story_id: str, variants_limit: int = Query(50, ge=1, le=500)
) -> dict[str, Any]:
    """A story: its canonical article and the first `variants_limit` variants in the order they joined,
    the canonical among them. `variants_next_cursor` continues at `/v1/stories/{id}/variants`."""
    return services_of(request).views.story(story_id, variants_limit)


@router.get("/stories/{story_id}/variants", response_model=VariantPage)
def get_variants(
    request: Request, story_id: str, limit: int = Query(50, ge=1, le=500), cursor: str | None = None
) -> dict[str, Any]:
    """Every variant of a story, a page at a time, in the order they joined."""
    items, nxt = services_of(request).views.variants(story_id, limit, cursor)
    return {"items": items, "next_cursor": nxt}


@router.get("/articles/{article_id}", response_model=ArticleWithStory)
def get_article(request: Request, article_id: str) -> dict[str, Any]:
    return services_of(request).views.article(article_id)
