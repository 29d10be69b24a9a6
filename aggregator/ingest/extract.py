"""Article page → clean text and metadata (trafilatura); the feed summary stands in when that fails,
and the article says why (`extraction_error`)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import trafilatura

from aggregator.core.models import Article, Entry, Extraction
from aggregator.core.text import credits, plain_line, plain_text

log = logging.getLogger(__name__)
MIN_TEXT_CHARS = 40  # less is a cookie banner or a caption, not an article


@dataclass(frozen=True)
class Extracted:
    title: str | None
    text: str
    author: str | None
    date: float | None
    site_name: str | None


@dataclass(frozen=True)
class NoText:
    """Why a page gave no usable text: the feed summary stands in."""

    reason: str


def extract_page(html: bytes | str, url: str, max_elements: int = 100_000) -> Extracted | NoText:
    """Main text and metadata of a page, or why nothing usable was found.

    A page with more than `max_elements` tags is not parsed: a news page has a few thousand, and a
    deeply nested monster would hold a worker in lxml and trafilatura for minutes.
    """
    tags = html.count(b"<") if isinstance(html, bytes) else html.count("<")
    if tags > max_elements:
        return NoText(f"page has more than {max_elements} tags; not parsed")
    try:
        doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False)
    except Exception as exc:  # trafilatura raises assorted lxml and parser errors on broken markup
        log.warning("extraction failed for %s: %r", url, exc)
        return NoText(f"extraction failed: {type(exc).__name__}: {exc}")
    if doc is None:
        return NoText("no main text found on the page")
    data = doc if isinstance(doc, dict) else doc.as_dict()
    text = (data.get("text") or "").strip()
    if len(text) < MIN_TEXT_CHARS:
        return NoText(f"page text too short ({len(text)} characters)")
    return Extracted(
        title=data.get("title"),
        text=text,
        author=data.get("author"),
        date=_date(data.get("date")),
        site_name=data.get("sitename"),
    )


def _date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def source_name(url: str, site_name: str | None) -> str:
    return site_name or (urlsplit(url).hostname or "").removeprefix("www.")


def build_article(entry: Entry, feed_id: str, extracted: Extracted | NoText) -> Article:
    """Merge what the feed said with what the page gave; mark the article when the summary stands in."""
    page = extracted if isinstance(extracted, Extracted) else None
    if page is None:
        body, extraction = entry.summary, Extraction.SUMMARY
    else:
        body, extraction = page.text, Extraction.PAGE
    title = entry.title or plain_line(page.title or "" if page else "")
    body = plain_text(body)  # feed summaries are plain already; page text may carry escaped markup
    return Article(
        id=entry.article_id,
        url=entry.url,
        feed_id=feed_id,
        title=title,
        text=body,
        source=source_name(entry.url, page.site_name if page else None),
        published=entry.published or (page.date if page else None),
        fetched=time.time(),
        author=entry.author or (plain_line(page.author or "") or None if page else None),
        extraction=extraction,
        extraction_error=extracted.reason if isinstance(extracted, NoText) else None,
        credits=credits(body, entry.source_name),
    )
