"""Labelled corpora (JSON Lines; the format is in the shared datasets' README) as a stream of articles."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from aggregator.core.models import Article, Extraction
from aggregator.core.text import credits
from aggregator.errors import InvalidInput
from aggregator.ingest.language import detect


def read_corpus(path: Path) -> list[tuple[Article, str]]:
    """Articles in `published` order (file order where null), each with its true cluster. An article
    is seen when it is published; an undated one when the last dated one before it in the stream was,
    so the story window never expires it against its dated neighbours."""
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(f"cannot read the corpus {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    for n, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            if not isinstance(d, dict):
                raise TypeError("a row is a JSON object")
            rows.append((n, d, _time(d.get("published")), str(d["cluster"])))
            str(d["id"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            why = f"no {exc.args[0]!r} field" if isinstance(exc, KeyError) else str(exc)
            raise InvalidInput(f"{path}:{n + 1}: not a corpus row: {why}") from exc
    # Dated articles in date order; an undated one keeps its file position relative to its neighbours.
    if all(r[2] is not None for r in rows):
        rows.sort(key=lambda r: (r[2], r[0]))
    out = []
    clock = 0.0
    for _, d, published, cluster in rows:
        clock = max(clock, published or clock)
        text = d.get("text") or ""
        article = Article(
            id=str(d["id"]), url=d.get("url") or "", feed_id=d.get("source") or "",
            title=d.get("title") or "", text=text, source=d.get("source") or "", published=published,
            fetched=clock, extraction=Extraction.PAGE, credits=credits(text),
            language=detect(d.get("title") or "", text),
        )  # fmt: skip
        out.append((article, cluster))
    return out


def _time(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def shuffled(rows: list[tuple[Article, str]], seed: int) -> list[tuple[Article, str]]:
    """The same articles in a seeded random order. A dated corpus keeps its times in order, handed out
    along the new order, so the stream still moves forward in time."""
    order = list(rows)
    random.Random(seed).shuffle(order)
    times = sorted((a.published, a.fetched) for a, _ in rows if a.published is not None)
    if len(times) != len(rows):
        return order
    return [(replace(a, published=p, fetched=f), c) for (a, c), (p, f) in zip(order, times, strict=True)]
