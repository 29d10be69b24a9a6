"""What the API reads: an article, a story with a page of its variants, the list of stories."""

from __future__ import annotations

import json
from typing import Any

import redis

from aggregator.errors import InvalidInput, NotFound
from aggregator.store.articles import CLUSTERED, stored_float
from aggregator.store.connection import converts_errors
from aggregator.store.keys import Keys


def article_view(aid: str, h: dict[str, str]) -> dict[str, Any]:
    """An article as the API shows it."""
    return {
        "id": aid,
        "url": h.get("url", ""),
        "feed_id": h.get("feed_id", ""),
        "source": h.get("source") or h.get("source_name") or "",
        "title": h.get("title", ""),
        "author": h.get("author") or None,
        "published": stored_float(h.get("published")),
        "fetched": stored_float(h.get("fetched")),
        "extraction": h.get("extraction") or None,
        "extraction_error": h.get("extraction_error") or None,
        "language": h.get("language") or None,
        "credits": json.loads(h.get("credits") or "[]"),
        "story_id": h.get("story_id") or None,
        "relation": h.get("relation") or None,
        "score": stored_float(h.get("score")),
        "signals": json.loads(h.get("signals") or "[]"),
        "text": h.get("text") or h.get("summary") or "",
        "revision": int(h.get("revision") or 0),
        "revisions": json.loads(h.get("revisions") or "[]"),
    }


class StoryViews:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r: Any = client  # decode_responses=True: replies are str (see StoryStore)
        self.keys = keys

    @converts_errors
    def article(self, aid: str) -> dict[str, Any]:
        h = self.r.hgetall(self.keys.article(aid))
        if h.get("state") != CLUSTERED:
            raise NotFound("article", aid)
        return article_view(aid, h)

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

    @converts_errors
    def story(self, sid: str, variants_limit: int) -> dict[str, Any]:
        """A story with its canonical and the first page of its variants, oldest first: two trips."""
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(self.keys.story(sid))
        pipe.zcard(self.keys.story_variants(sid))
        pipe.zrange(self.keys.story_variants(sid), 0, variants_limit)  # one extra: is there more?
        meta, count, ids = pipe.execute()
        if not meta or not count:
            raise NotFound("story", sid)
        canonical_id = meta.get("canonical") or ids[0]
        variants, nxt, canon = self._page(ids, 0, variants_limit, canonical_id)
        return {
            "id": sid,
            "canonical": canon,
            "variants": variants,
            "variants_next_cursor": nxt,
            "variant_count": int(count),
            "first_seen": float(meta.get("first_seen") or 0),
            "updated": float(meta.get("updated") or 0),
            "canonical_history": json.loads(meta.get("canonical_history") or "[]"),
        }

    @converts_errors
    def variants(self, sid: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """A page of a story's variants in the order they joined. The cursor is an offset: variants
        are only ever appended, so it stays valid as the story grows."""
        try:
            start = int(cursor) if cursor else 0
        except ValueError as exc:
            raise InvalidInput(f"bad cursor {cursor!r}") from exc
        if start < 0:
            raise InvalidInput(f"bad cursor {cursor!r}")
        pipe = self.r.pipeline(transaction=False)
        pipe.hget(self.keys.story(sid), "canonical")
        pipe.zrange(self.keys.story_variants(sid), start, start + limit)  # one extra: is there more?
        pipe.exists(self.keys.story(sid))
        canonical_id, ids, exists = pipe.execute()
        if not exists:
            raise NotFound("story", sid)
        variants, nxt, _ = self._page(ids, start, limit, canonical_id)
        return variants, nxt

    def _page(
        self, ids: list[str], start: int, limit: int, canonical_id: str | None
    ) -> tuple[list[dict[str, Any]], str | None, dict[str, Any] | None]:
        """The views of `ids[:limit]` (one more id means a next page) and of the canonical, which is
        read in the same trip when it is not on this page."""
        more, ids = len(ids) > limit, ids[:limit]
        extra = [canonical_id] if canonical_id and canonical_id not in ids else []
        pipe = self.r.pipeline(transaction=False)
        for aid in [*ids, *extra]:
            pipe.hgetall(self.keys.article(aid))
        views = [article_view(aid, h) for aid, h in zip([*ids, *extra], pipe.execute(), strict=True)]
        for v in views:
            if v["id"] == canonical_id:
                v["relation"], v["score"] = "canonical", 1.0
        canon = next((v for v in views if v["id"] == canonical_id), None)
        return views[: len(ids)], str(start + limit) if more else None, canon

    @converts_errors
    def list_stories(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Newest-updated first. The cursor is the (score, id) of the last item: stable under inserts."""
        key = self.keys.stories_updated
        if cursor:
            try:
                score_s, last_id = cursor.split("~", 1)
                score = float(score_s)
            except ValueError as exc:
                raise InvalidInput(f"bad cursor {cursor!r}") from exc
            ties = int(self.r.zcount(key, score, score))
            rows = self.r.zrevrangebyscore(key, score, "-inf", start=0, num=limit + ties, withscores=True)
            # Equal scores come in reverse id order: skip up to and including the last id already shown.
            rows = [(m, s) for m, s in rows if s < score or m < last_id][:limit]
        else:
            rows = self.r.zrevrange(key, 0, limit - 1, withscores=True)
        # Two read trips for the whole page: the stories, then their canonical articles.
        pipe = self.r.pipeline(transaction=False)
        for sid, _ in rows:
            pipe.hmget(self.keys.story(sid), ["canonical", "first_seen", "updated"])
            pipe.zrange(self.keys.story_variants(sid), 0, 0)
            pipe.zcard(self.keys.story_variants(sid))
        res = iter(pipe.execute())
        stories = []
        for sid, _ in rows:
            (canon, first_seen, updated), first, count = next(res), next(res), next(res)
            if count:  # a story is listed only once it has articles
                stories.append((sid, canon or first[0], first_seen, updated, count))
        pipe = self.r.pipeline(transaction=False)
        for st in stories:
            pipe.hmget(self.keys.article(st[1]), ["title", "url", "source", "source_name"])
        items = [
            {
                "id": sid, "title": title or "", "url": url or "", "source": source or source_name or "",
                "first_seen": float(first_seen or 0), "updated": float(updated or 0), "variant_count": count,
            }
            for (sid, _, first_seen, updated, count), (title, url, source, source_name) in zip(
                stories, pipe.execute(), strict=True
            )
        ]  # fmt: skip
        nxt = f"{rows[-1][1]!r}~{rows[-1][0]}" if len(rows) == limit else None
        return items, nxt
