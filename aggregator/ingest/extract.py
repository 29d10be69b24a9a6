"""Article page → clean text and metadata (trafilatura); the feed summary stands in when that fails,
and the article says why (`extraction_error`)."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import trafilatura

from aggregator.core.models import Article, Entry, Extraction
from aggregator.core.text import credits, plain_line, plain_text
from aggregator.ingest.language import detect
from aggregator.ingest.metadata import page_date, page_meta

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
class PageRules:
    """What a page may cost and must give. `Settings.page_rules()` gives the production values."""

    max_bytes: int  # decoded body cap
    max_elements: int  # tags a page may have before it is not parsed
    min_words: int  # words of text below which a page is not the article


@dataclass(frozen=True)
class NoText:
    """Why a page gave no usable text: the feed summary stands in."""

    reason: str
    temporary: bool = False  # worth fetching again later (a timeout, a 503, a busy host)


def extract_page(
    html: bytes | str, url: str, max_elements: int = 100_000, want_date: bool = False
) -> Extracted | NoText:
    """Main text of a page with its title, site name and author, and its date when `want_date` (the
    feed entry had none), or why nothing usable was found.

    A page with more than `max_elements` tags is not parsed: a news page has a few thousand, and a
    deeply nested monster would hold a worker in lxml and trafilatura for minutes.
    """
    tags = html.count(b"<") if isinstance(html, bytes) else html.count("<")
    if tags > max_elements:
        return NoText(f"page has more than {max_elements} tags; not parsed")
    try:
        doc = trafilatura.bare_extraction(html, url=url, with_metadata=False, include_comments=False)
    except Exception as exc:  # trafilatura raises assorted lxml and parser errors on broken markup
        log.warning("extraction failed for %s: %r", url, exc)
        return NoText(f"extraction failed: {type(exc).__name__}: {exc}")
    if doc is None:
        return NoText("no main text found on the page")
    data = doc if isinstance(doc, dict) else doc.as_dict()
    text = (data.get("text") or "").strip()
    if len(text) < MIN_TEXT_CHARS:
        return NoText(f"page text too short ({len(text)} characters)")
    page = _decoded(html) if isinstance(html, bytes) else html
    meta = page_meta(page)
    date = page_date(page) if want_date else None
    return Extracted(title=meta.title, text=text, author=meta.author, date=date, site_name=meta.site_name)


_SAMPLE_PAGE = (
    "<html><head><title>Sample</title></head><body><article><h1>Sample</h1>"
    + "<p>A paragraph of a page read once when a worker starts, so that its first article does not wait"
    " while the parsers and the language model load.</p>" * 3 + "</article></body></html>"
)


def warm_up() -> None:
    """Load what the first page would (trafilatura's lazily built parts, the language model)."""
    extracted = extract_page(_SAMPLE_PAGE, "http://localhost/sample")
    if isinstance(extracted, Extracted):
        detect(extracted.title or "", extracted.text)


def _decoded(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:  # most pages that are not UTF-8 are Windows-1252 or Latin-1
        return body.decode("cp1252", "replace")


def source_name(url: str, site_name: str | None) -> str:
    return site_name or (urlsplit(url).hostname or "").removeprefix("www.")


def unreliable(page: Extracted, url: str, min_words: int) -> str | None:
    """Why a page that gave text is still not the article, or None: its title is the site's name (a
    search, login or landing page), or its text is under `min_words` words (a teaser, a paywall)."""
    words = len(page.text.split())
    if words < min_words:
        return f"the page's text has {words} words, under the floor of {min_words}"
    if page.title and _is_site_name(page.title, page.site_name, url):
        return f"the page's title {page.title!r} is the site's name"
    return None


_NOT_ALNUM = re.compile(r"[\W_]+")  # what str.isalnum() refuses: \w is alphanumerics and "_"


def _folded(text: str) -> str:
    return " ".join(_NOT_ALNUM.sub(" ", text.lower()).split())


def _is_site_name(title: str, site_name: str | None, url: str) -> bool:
    """The title is the site's name, or the site's name and a word or two ("NPR Search")."""
    label = (urlsplit(url).hostname or "").removeprefix("www.").split(".")[0]
    names = {_folded(site_name or ""), _folded(label)} - {""}
    t = _folded(title)
    return any(t == n or (t.startswith(n + " ") and len(t.split()) <= len(n.split()) + 2) for n in names)


def build_article(entry: Entry, feed_id: str, extracted: Extracted | NoText, min_words: int = 0) -> Article:
    """Merge what the feed said with what the page gave. When the page is unavailable or its text is not
    the article, the feed's title and summary stand in and the article says why (`extraction_error`)."""
    page: Extracted | None
    problem: str | None
    if isinstance(extracted, NoText):
        page, problem = None, extracted.reason
    else:
        page, problem = extracted, unreliable(extracted, entry.url, min_words)
    if problem is None and page is not None:
        body, extraction, trusted = page.text, Extraction.PAGE, page
    else:
        body, trusted = entry.summary, None
        extraction = Extraction.SUMMARY if page is None else Extraction.FAILED
        log.info("article %s clusters on its feed summary: %s", entry.url, problem)
    title = entry.title or plain_line(trusted.title or "" if trusted else "")
    body = plain_text(body)  # feed summaries are plain already; page text may carry escaped markup
    return Article(
        id=entry.article_id,
        url=entry.url,
        feed_id=feed_id,
        title=title,
        text=body,
        source=source_name(entry.url, page.site_name if page else None),
        published=entry.published or (trusted.date if trusted else None),
        fetched=time.time(),
        author=entry.author or (plain_line(trusted.author or "") or None if trusted else None),
        extraction=extraction,
        extraction_error=problem,
        credits=credits(body, entry.source_name),
        language=detect(title, body, entry.language),
    )
