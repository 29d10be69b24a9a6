"""An article's hash: the fields it keeps, and how they read back.

Fields with nothing in them are left out (`lean`), and a reader takes a missing field as empty. The
text and a waiting entry's summary are packed (`store/packing.py`); the summary goes once the page is
extracted, as the text is then the page's, or the summary itself when the page failed. The feed
item's headline and summary are kept as a digest, which tells when the item changed
(`ArticleStore.add_entries`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aggregator.core.models import Article, Entry, Extraction
from aggregator.store import packing

PENDING, EXTRACTED, CLUSTERED = "pending", "extracted", "clustered"
EXPIRED = "expired"  # a tombstone: the article's story was retired


def stored_float(value: str | None) -> float | None:
    """A number as a hash field keeps it: absent or empty is None."""
    return float(value) if value else None


def pending_fields(feed_id: str, e: Entry) -> dict[str, Any]:
    """A feed entry waiting for its page (state pending). A guid that is the item's link is not kept."""
    return lean({
        "state": PENDING, "feed_id": feed_id, "url": e.url, "guid": "" if e.guid in (None, e.url) else e.guid,
        "title": e.title, "summary": packing.pack_text(e.summary), "seen": entry_digest(e),
        "published": e.published or "", "author": e.author or "", "source_name": e.source_name or "",
        "language": e.language or "",
    })  # fmt: skip


def article_fields(a: Article) -> dict[str, Any]:
    """A clean article as its hash keeps it (`StoryStore.queue_commit` writes the same fields)."""
    return lean({
        "url": a.url, "feed_id": a.feed_id, "title": a.title, "text": packing.pack_text(a.text),
        "source": a.source,
        "published": a.published or "", "fetched": a.fetched, "author": a.author or "",
        "extraction": a.extraction.value, "extraction_error": a.extraction_error or "",
        "credits": json.dumps(a.credits) if a.credits else "", "language": a.language,
    })  # fmt: skip


def entry_digest(e: Entry) -> str:
    """What tells that a feed item changed: its headline and summary."""
    return packing.digest(e.title, e.summary)


def lean(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields that say something: an empty one is left out (its name alone costs more than its
    value, on every article), and a reader takes a missing field as empty."""
    return {k: v for k, v in fields.items() if v != ""}


def article_from(aid: str, h: Mapping[str, str]) -> Article:
    return Article(
        id=aid, url=h.get("url", ""), feed_id=h.get("feed_id", ""), title=h.get("title", ""),
        text=packing.unpack_text(h.get("text")), source=h.get("source", ""),
        published=stored_float(h.get("published")),
        fetched=float(h.get("fetched") or 0), author=h.get("author") or None,
        extraction=Extraction(h.get("extraction") or "page"),
        extraction_error=h.get("extraction_error") or None,
        credits=tuple(json.loads(h.get("credits") or "[]")), language=h.get("language") or "en",
    )  # fmt: skip


def entry_fields(e: Entry) -> dict[str, Any]:
    return {
        "url": e.url, "guid": e.guid, "title": e.title, "summary": e.summary, "published": e.published,
        "author": e.author, "source_name": e.source_name, "language": e.language,
    }  # fmt: skip


def revisions_of(h: Mapping[str, str]) -> list[dict[str, Any]]:
    """An article's earlier revisions, oldest first: JSON, packed as texts are (`packing.pack_text`:
    each holds a whole text), or as it was stored before revisions were packed."""
    return list(json.loads(packing.unpack_text(h.get("revisions")) or "[]"))
