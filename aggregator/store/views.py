"""What the API reads: an article, a story with a page of its variants, the list of stories.

A story is read in one trip (`lua/story_read.lua`), and a variant is read without its text unless asked
for: a story of thirty variants would otherwise carry thirty full texts. A page of the list is its ids
and scores (`lua/stories_listing.lua`), then the rows of the stories this process has not read at that
score (`lua/story_rows.lua`), then the heads of the texts it has made no snippet of (`lua/text_heads.lua`):
one trip when nothing on the page changed since this process last showed it.
"""

from __future__ import annotations

import json
import math
from typing import Any

import redis

from aggregator.errors import InvalidInput, NotFound
from aggregator.store import packing, scripts
from aggregator.store.article_hash import CLUSTERED, revisions_of, stored_float
from aggregator.store.connection import converts_errors
from aggregator.store.keys import Keys
from aggregator.store.lru import LruCache
from aggregator.store.stories import canonical_history

# The fields of a variant as a story lists it; `text` and `summary` are added when texts are asked for.
_BRIEF = (
    "url", "feed_id", "source", "source_name", "title", "author", "published", "fetched", "extraction",
    "extraction_error", "language", "credits", "relation", "score", "signals", "revision",
)  # fmt: skip
_TEXT = ("text", "summary")
# With the revision and the text's length in words, what tells a kept snippet is still its text's.
_LISTED = ("title", "url", "source", "source_name", "revision", "length")
SNIPPET_CHARS = 200  # of the canonical's text in the story list
HEAD_BYTES = 600  # of the canonical's text read for the snippet: the headline it may repeat, then 200 chars
# Rows and snippets a process keeps: its story lists show the same few hundred stories again and again.
ROWS_KEPT = SNIPPETS_KEPT = 4096
SEARCH_SCAN, SEARCH_BATCH = 2000, 200  # stories a headline search reads per call, and per trip
_MAX_OFFSET = 10**9  # a cursor past any real story: larger ones are refused, not sent to Redis


def article_view(aid: str, h: dict[str, str], text: bool = True) -> dict[str, Any]:
    """An article as the API shows it; without `text`, its brief (no text, no revisions)."""
    view = {
        "id": aid,
        "url": h.get("url") or "",
        "feed_id": h.get("feed_id") or "",
        "source": h.get("source") or h.get("source_name") or "",
        "title": h.get("title") or "",
        "author": h.get("author") or None,
        "published": stored_float(h.get("published")),
        "fetched": stored_float(h.get("fetched")),
        "extraction": h.get("extraction") or None,
        "extraction_error": h.get("extraction_error") or None,
        "language": h.get("language") or None,
        "credits": json.loads(h.get("credits") or "[]"),
        "relation": h.get("relation") or None,
        "score": stored_float(h.get("score")),
        "signals": json.loads(h.get("signals") or "[]"),
        "revision": int(h.get("revision") or 0),
    }
    if text:
        view["text"] = packing.unpack_text(h.get("text")) or packing.unpack_text(h.get("summary"))
    return view


def offset(cursor: str | None) -> int:
    """An offset cursor as a number: InvalidInput for anything but a plain one."""
    if not cursor:
        return 0
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 10 or int(cursor) > _MAX_OFFSET:
        raise InvalidInput(f"bad cursor {cursor[:40]!r}: use the next_cursor of the previous page")
    return int(cursor)


class StoryViews:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r: Any = client  # decode_responses=True: replies are str (see StoryStore)
        self.keys = keys
        self._story = scripts.register(client, "story_read")
        self._listing = scripts.register(client, "stories_listing")
        self._rows = scripts.register(client, "story_rows")
        self._heads = scripts.register(client, "text_heads")
        self.rows: LruCache[list[Any]] = LruCache(ROWS_KEPT)
        self.snippets: LruCache[str] = LruCache(SNIPPETS_KEPT)

    @converts_errors
    def article(self, aid: str) -> dict[str, Any]:
        h = self.r.hgetall(self.keys.article(aid))
        if h.get("state") != CLUSTERED:
            raise NotFound("article", aid)
        return {
            **article_view(aid, h),
            "story_id": h.get("story_id") or None,
            "revisions": revisions_of(h),
        }

    @converts_errors
    def story_ids(self, aids: list[str]) -> dict[str, str]:
        """Article id -> the id of its story, for the clustered ones among `aids`."""
        pipe = self.r.pipeline(transaction=False)
        for aid in aids:
            pipe.hget(self.keys.article(aid), "story_id")
        return {aid: sid for aid, sid in zip(aids, pipe.execute(), strict=True) if sid}

    @converts_errors
    def canonicals(self, story_ids: list[str]) -> dict[str, str]:
        """Story id -> its canonical article's id."""
        pipe = self.r.pipeline(transaction=False)
        for sid in story_ids:
            pipe.hget(self.keys.story(sid), "canonical")
        return {sid: aid for sid, aid in zip(story_ids, pipe.execute(), strict=True) if aid}

    def _read(
        self, sid: str, start: int, limit: int, text: bool
    ) -> tuple[dict[str, str], int, list[dict[str, Any]], str | None, dict[str, Any] | None]:
        """A story's hash, its variant count, a page of its variants, the next cursor, its canonical."""
        fields = _BRIEF + _TEXT if text else _BRIEF
        flat, count, ids, rows, canon_row = self._story(
            keys=[self.keys.story(sid), self.keys.story_variants(sid)],
            args=[self.keys.article(""), start, limit, len(fields), *fields, *_BRIEF, *_TEXT],
        )
        meta = dict(zip(flat[::2], flat[1::2], strict=True))
        if not meta or not count:
            raise NotFound("story", sid)
        canonical_id = meta.get("canonical")
        variants = []
        for aid, row in zip(ids, rows, strict=False):
            view = article_view(aid, dict(zip(fields, row, strict=True)), text)
            if aid == canonical_id:
                view["relation"], view["score"] = "canonical", 1.0
            variants.append(view)
        canon = None
        if canonical_id and canon_row:
            canon = article_view(canonical_id, dict(zip(_BRIEF + _TEXT, canon_row, strict=True)))
            canon["relation"], canon["score"] = "canonical", 1.0
        nxt = str(start + limit) if len(ids) > limit else None
        return meta, int(count), variants, nxt, canon

    @converts_errors
    def story(self, sid: str, variants_limit: int, text: bool = False) -> dict[str, Any]:
        """A story with its canonical (with its text) and the first page of its variants, in the order
        they joined: one trip."""
        meta, count, variants, nxt, canon = self._read(sid, 0, variants_limit, text)
        return {
            "id": sid,
            "canonical": canon or {**variants[0], "relation": "canonical", "score": 1.0},
            "variants": variants,
            "variants_next_cursor": nxt,
            "variant_count": count,
            "first_seen": float(meta.get("first_seen") or 0),
            "updated": float(meta.get("updated") or 0),
            "canonical_history": canonical_history(meta.get("canonical"), meta.get("canonical_history")),
        }

    @converts_errors
    def variants(
        self, sid: str, limit: int, cursor: str | None, text: bool = False
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of a story's variants in the order they joined. The cursor is an offset: variants
        are only ever appended, so it stays valid as the story grows."""
        _, _, variants, nxt, _ = self._read(sid, offset(cursor), limit, text)
        return variants, nxt

    @converts_errors
    def list_stories(
        self, limit: int, cursor: str | None, query: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest-updated first. The cursor is the (score, id) of the last story read: stable under
        inserts. With `query`, only stories whose headline contains it (case-insensitive); a search
        reads at most SEARCH_SCAN stories per call and its cursor continues where it stopped."""
        score, last = _list_cursor(cursor)
        if not query:
            rows, last_score, last_id = self._list_page(limit, score, last)
            return self._listed(rows), f"{last_score}~{last_id}" if last_id else None
        needle, found, scanned = query.casefold(), [], 0
        while scanned < SEARCH_SCAN:
            rows, last_score, last_id = self._list_page(SEARCH_BATCH, score, last)
            for row in rows:
                scanned += 1
                if needle in row[5].casefold():
                    found.append(row)
                    if len(found) == limit:
                        return self._listed(found), f"{row[-1]}~{row[0]}"
            if not last_id:
                return self._listed(found), None
            score, last = last_score, last_id
        return self._listed(found), f"{score}~{last}"

    def _listed(self, rows: list[list[Any]]) -> list[dict[str, Any]]:
        """The rows as the list shows them, each with its snippet: a kept one when the canonical's
        headline, revision and text length in words are those it was made of, else made from its
        text's head."""
        keys = [_snippet_key(row) for row in rows]
        made = {key: self.snippets.get(key) for key in keys}
        missing = [key for key, kept in made.items() if kept is None]
        if missing:
            heads = self._heads(keys=[self.keys.article(key[0]) for key in missing], args=[HEAD_BYTES])
            for key, head in zip(missing, heads, strict=True):
                made[key] = new = snippet(packing.unpack_head(head, HEAD_BYTES), key[1])
                self.snippets.put(key, new)
        return [_listed(row, made[key] or "") for row, key in zip(rows, keys, strict=True)]

    def _list_page(self, limit: int, score: str, last: str) -> tuple[list[list[Any]], str, str]:
        """A page of rows, {story id, first_seen, updated, count, canonical id, the _LISTED fields, the
        number of outlets, score}, and the last story's score and id ('' for the end of the list)."""
        listed, last_id, last_score = self._listing(
            keys=[self.keys.stories_updated], args=[limit, score, last]
        )
        pairs = list(zip(listed[::2], listed[1::2], strict=True))
        found = {pair: self.rows.get(pair) for pair in pairs}
        if missing := [pair for pair, row in found.items() if row is None]:
            story_pre, _, story_post = self.keys.story("\0").partition("\0")
            read = self._rows(
                keys=[self.keys.stories_updated],
                args=[story_pre, story_post, self.keys.article(""), len(_LISTED), *_LISTED,
                      *(sid for sid, _ in missing)],
            )  # fmt: skip
            for (sid, at), row in zip(missing, read, strict=True):
                if row:  # a story with no variants left is not listed, nor kept
                    found[(sid, at)] = made = [sid, *row, at]
                    self.rows.put((sid, at), made)
        return [row for row in (found[pair] for pair in pairs) if row], last_score, last_id


def _list_cursor(cursor: str | None) -> tuple[str, str]:
    if not cursor:
        return "", ""
    score, _, last = cursor.partition("~")
    try:
        valid = bool(last) and math.isfinite(float(score))
    except ValueError:
        valid = False
    if not valid:
        raise InvalidInput(f"bad cursor {cursor[:40]!r}: use the next_cursor of the previous page")
    return score, last


def snippet(text: str, title: str = "", chars: int = SNIPPET_CHARS) -> str:
    """The start of a text on one line, less the headline when the text repeats it first, cut at a
    word, "…" where it was cut."""
    flat = " ".join(text.split())
    heading = " ".join(title.split())
    if heading and flat.casefold().startswith(heading.casefold()):
        flat = flat[len(heading) :].lstrip()
    if len(flat) <= chars:
        return flat
    return flat[:chars].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _snippet_key(row: list[Any]) -> tuple[Any, ...]:
    """What a listed story's snippet is made of: its canonical's id, headline, revision, words."""
    return (row[4], row[5], row[9], row[10])


def _listed(row: list[Any], snippet: str) -> dict[str, Any]:
    sid, first_seen, updated, count, _, title, url, source, source_name, _, _, outlets, _ = row
    return {
        "id": sid, "title": title, "url": url, "source": source or source_name, "snippet": snippet,
        "first_seen": float(first_seen or 0), "updated": float(updated or 0), "variant_count": count,
        "source_count": outlets,
    }  # fmt: skip
