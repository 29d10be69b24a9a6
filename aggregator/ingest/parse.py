"""Feed bytes → entries. feedparser is always handed bytes: given a URL string it would fetch it itself."""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import feedparser

from aggregator.core.identity import article_id
from aggregator.core.models import Entry
from aggregator.core.text import plain_line, plain_text
from aggregator.errors import InvalidInput, ParseError
from aggregator.ingest.language import declared

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Skipped:
    """An item of a feed that could not be taken, and why."""

    title: str
    link: str
    reason: str


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    entries: list[Entry]
    skipped: list[Skipped]


def _link(raw: Any) -> str:
    """The entry's link (feedparser already takes a permalink GUID as the link), or InvalidInput: a
    `javascript:` or `data:` link is no link, as the API would hand it on."""
    link = str(raw.get("link") or "").strip()
    if not link:
        raise InvalidInput("the item has no link")
    if not _is_web(link):
        raise InvalidInput("the item's link is not an http(s) URL")
    return link


def _is_web(link: str) -> bool:
    try:
        return urlsplit(link).scheme.lower() in ("http", "https")
    except ValueError:  # a broken IPv6 literal
        return False


def _time(entry: Any) -> float | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            return float(calendar.timegm(parsed))
    return None


# An internal DTD subset declaring entities: how "billion laughs" and quadratic blow-up feeds work.
# Feeds have no use for it, and feedparser's loose parser would expand it, taking minutes and gigabytes
# for a document of kilobytes, so such a document is refused before parsing.
_ENTITY_DECL = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?<!ENTITY", re.DOTALL | re.IGNORECASE)


def refuse_entities(body: bytes) -> None:
    head = body
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16: look at it as text
        head = body.decode("utf-16", errors="replace").encode("utf-8", errors="replace")
    head = head.replace(b"\x00", b"")  # UTF-16 without a byte-order mark
    if _ENTITY_DECL.search(head):
        raise ParseError("the feed declares XML entities (entity expansion is refused)")


# What feedparser flags that still leaves a usable document: no Content-Type header was given to it, or
# the declared charset was wrong and it decoded with another.
_HARMLESS = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)


def parse_feed(body: bytes, base_url: str) -> ParsedFeed:
    refuse_entities(body)
    # Every text an entry gives is made plain (`plain_text`: markup gone, scripts and styles with their
    # content): feedparser's cleaning of the HTML in it, and its rewriting of links inside it, would be
    # thrown away.
    parsed = feedparser.parse(
        body,
        response_headers={"content-location": base_url},
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if isinstance(problem, _HARMLESS):
        problem = None
    if not parsed.get("version") and not parsed.entries:
        raise ParseError("not an RSS or Atom document" + (f": {problem}" if problem else ""))
    if problem is not None and not parsed.entries:
        raise ParseError(f"broken feed: {problem}")
    # A well-formed feed with no entries is an empty feed, not an error.
    entries, skipped = [], []
    feed_language = declared(parsed.feed.get("language"))
    for raw in parsed.entries:
        title = plain_line(str(raw.get("title", "")))
        try:
            link = _link(raw)
            aid = article_id(link)  # a link that is no valid URL is refused here
        except InvalidInput as exc:  # this item alone is skipped: the feed's other items go on
            log.info("feed %s: item %r skipped: %s", base_url, title[:80], exc)
            link = str(raw.get("link") or "")
            shown = (
                link[:500] if urlsplit(link).scheme.lower() in ("http", "https") else ""
            )  # never hand on a script
            skipped.append(Skipped(title[:200], shown, str(exc)))
            continue
        source = raw.get("source") or {}
        source_title = source.get("title") if isinstance(source, dict) else None
        entries.append(
            Entry(
                article_id=aid,
                url=link,
                guid=raw.get("id"),
                title=title,
                summary=plain_text(raw.get("summary", "")),
                published=_time(raw),
                author=plain_line(raw.get("author") or "") or None,
                source_name=plain_line(source_title or "") or None,
                language=feed_language,
            )
        )
    return ParsedFeed(title=plain_line(parsed.feed.get("title", "")), entries=entries, skipped=skipped)
