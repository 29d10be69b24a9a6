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
class ParsedFeed:
    title: str
    entries: list[Entry]


def _link(raw: Any) -> str | None:
    """The entry's http(s) link (feedparser already takes a permalink GUID as the link); a `javascript:`
    or `data:` link is no link: the API would hand it on."""
    link = (raw.get("link") or "").strip()
    return link if urlsplit(link).scheme in ("http", "https") else None


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
    parsed = feedparser.parse(body, response_headers={"content-location": base_url})
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if isinstance(problem, _HARMLESS):
        problem = None
    if not parsed.get("version") and not parsed.entries:
        raise ParseError("not an RSS or Atom document" + (f": {problem}" if problem else ""))
    if problem is not None and not parsed.entries:
        raise ParseError(f"broken feed: {problem}")
    # A well-formed feed with no entries is an empty feed, not an error.
    entries = []
    feed_language = declared(parsed.feed.get("language"))
    for raw in parsed.entries:
        link = _link(raw)
        if link is None:  # nothing to fetch and nothing a reader could follow; the others go on
            log.info("feed %s: entry %r skipped: no http(s) link", base_url, raw.get("title", "")[:80])
            continue
        guid = raw.get("id")
        try:
            aid = article_id(link, guid)
        except InvalidInput as exc:  # an entry we cannot name cannot be deduplicated; the others go on
            log.info("feed %s: entry %r skipped: %s", base_url, raw.get("title", "")[:80], exc)
            continue
        source = raw.get("source") or {}
        source_title = source.get("title") if isinstance(source, dict) else None
        entries.append(
            Entry(
                article_id=aid,
                url=link,
                guid=guid,
                title=plain_line(raw.get("title", "")),
                summary=plain_text(raw.get("summary", "")),
                published=_time(raw),
                author=plain_line(raw.get("author") or "") or None,
                source_name=plain_line(source_title or "") or None,
                language=feed_language,
            )
        )
    return ParsedFeed(title=plain_line(parsed.feed.get("title", "")), entries=entries)
