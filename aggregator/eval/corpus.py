"""Labelled corpora (JSON Lines; the format is in the shared datasets' README) as a stream of articles."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from aggregator.core.models import Article, Extraction
from aggregator.core.text import credits
from aggregator.errors import InvalidInput


def read_corpus(path: Path) -> list[tuple[Article, str]]:
    """Articles in `published` order (file order where null), each with its true cluster."""
    rows = []
    # An undated article arrives "now" in the stream: at the time of the last dated one before it, so
    # the story window never expires it against its dated neighbours.
    clock = 0.0
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path}:{n + 1}: not JSON: {exc}") from exc
            published = _time(d.get("published"))
            clock = max(clock, published or clock)
            article = Article(
                id=str(d["id"]), url=d.get("url") or "", feed_id="", title=d.get("title") or "",
                text=d.get("text") or "", source=d.get("source") or "", published=published,
                fetched=clock, extraction=Extraction.PAGE, credits=credits(d.get("text") or ""),
            )  # fmt: skip
            rows.append((n, article, str(d["cluster"])))
    # Dated articles in date order; an undated one keeps its file position relative to its neighbours.
    rows.sort(key=lambda r: (r[1].published if r[1].published is not None else float("-inf"), r[0]))
    if any(r[1].published is None for r in rows) and any(r[1].published is not None for r in rows):
        rows.sort(key=lambda r: r[0])
    return [(a, c) for _, a, c in rows]


def _time(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
