"""The reading pages, served by the API process: the story list, a story with every variant beside
its canonical, and the feeds. Rendered on the server from the same views the API answers with (Jinja2
templates in `templates/`), with a little JavaScript (`static/live.js`) for live updates and writes.
Nothing is loaded from anywhere but this service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from aggregator.api import deps
from aggregator.core.timestamps import iso_time
from aggregator.errors import InvalidInput, NotFound
from aggregator.store.views import offset
from aggregator.web.differences import changed_share, first_paragraph, marked

STATIC = Path(__file__).parent / "static"
PAGE_SIZE = 50  # stories a page
VARIANTS_SHOWN = 200  # variants on a story's page; the API pages through the rest


def _when(seconds: float | None) -> str:
    """A time for people: "2025-06-15 15:06 UTC"."""
    return "" if seconds is None else iso_time(seconds)[:16].replace("T", " ") + " UTC"


_env = Environment(loader=PackageLoader("aggregator.web"), autoescape=select_autoescape())
_env.filters.update(when=_when, iso=lambda s: "" if s is None else iso_time(s))
templates = Jinja2Templates(env=_env)
static = StaticFiles(directory=STATIC)
router = APIRouter(include_in_schema=False)


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    keys_set = bool(deps.app_settings(request).api_keys)
    return templates.TemplateResponse(request, name, {"keys_set": keys_set, **context}, status_code=status)


@router.get("/", response_class=HTMLResponse)
def story_list(
    request: Request,
    views: deps.Views,
    cursor: str | None = None,
    q: str | None = Query(None, max_length=200),
) -> HTMLResponse:
    query = (q or "").strip() or None
    try:
        stories, nxt = views.list_stories(PAGE_SIZE, cursor, query)
    except InvalidInput as exc:
        return _page(request, "stories.html", 422, stories=[], next_cursor=None, q=query, error=str(exc))
    return _page(request, "stories.html", stories=stories, next_cursor=nxt, q=query, error=None)


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story_page(request: Request, views: deps.Views, story_id: str) -> HTMLResponse:
    try:
        story = views.story(story_id, VARIANTS_SHOWN, text=True)
    except (NotFound, InvalidInput):
        return _page(request, "missing.html", 404, what=f"No story {story_id}")
    canonical = story["canonical"]
    lead = first_paragraph(canonical.get("text") or "", canonical["title"])
    variants = []
    for v in story["variants"]:
        paragraph = first_paragraph(v.get("text") or "", v["title"])
        same = v["id"] == canonical["id"]
        variants.append({
            **v,
            "is_canonical": same,
            "headline": marked(canonical["title"], v["title"]),
            "paragraph": marked(lead, paragraph),
            "paragraph_changed": 0.0 if same else changed_share(lead, paragraph),
        })  # fmt: skip
    return _page(request, "story.html", story=story, canonical=canonical, lead=lead, variants=variants)


@router.get("/feeds", response_class=HTMLResponse)
def feeds_page(request: Request, store: deps.Feeds, cursor: str | None = None) -> HTMLResponse:
    start = offset(cursor)  # a bad one is a 422, as on the API
    feeds = store.page(start, 500)
    nxt = str(start + 500) if len(feeds) == 500 else None
    return _page(request, "feeds.html", feeds=feeds, next_cursor=nxt)
