"""`aggregator eval`: stream a labelled corpus through the production clustering code and score it.

With `--memory` the index is in-process (`core.index.MemoryIndex`); otherwise it is the Redis index the
workers use, under a throw-away key prefix. Both go through the same `Clusterer` in the same batches,
so they give the same stories.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from aggregator.core.fingerprint import features_batch, prepare_batch
from aggregator.core.index import MemoryIndex
from aggregator.core.models import Article, Extraction
from aggregator.core.scoring import score
from aggregator.core.splitting import MemberVector, centroid_of, due_stories, split_plans
from aggregator.core.terms import SlotCounts
from aggregator.core.text import credits
from aggregator.errors import InvalidInput
from aggregator.services import make_clusterer, make_split_rule
from aggregator.settings import Settings


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


def _batches(items: Sequence[Article], size: int) -> Iterator[Sequence[Article]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class MemoryClustering:
    """The workers' clustering steps with an in-process index: `aggregator eval --memory` and benchmarks."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.index = MemoryIndex(settings.bucket_cap, settings.story_window_h * 3600)
        self.clusterer = make_clusterer(settings)
        self.split_rule = make_split_rule(settings)
        self.df = SlotCounts()

    def add(self, batch: Sequence[Article]) -> dict[str, str]:
        """Cluster one batch; returns article id -> story id, for the batch and for earlier articles
        a split moved."""
        s = self.s
        table = prepare_batch(batch)
        feats = features_batch(table, self.df, s.keywords, s.num_perm, s.lsh_bands)
        # Counted at once, while the slots just read are still in the CPU's cache: nothing below reads them.
        self.df.add(table)
        found = self.index.query_many([f.bands for f in feats], s.max_candidates)
        times = [a.published or a.fetched for a in batch]
        decided = self.clusterer.assign(
            [a.id for a in batch], feats, times, found, self.index.centroids_of(found), self.index.norms
        )
        out = {}
        before: dict[str, int] = {}  # story -> members before this batch
        members = self.index.members
        for done, f in zip(decided, feats, strict=True):
            r = done.record
            before.setdefault(r.story_id, len(members.get(r.story_id, ())))
            self.index.add(r, done.centroid, MemberVector(r.article_id, r.time, f.length, f.vector))
            out[r.article_id] = r.story_id
        checked = due_stories({sid: (n, len(members[sid])) for sid, n in before.items()}, self.split_rule)
        keep = self.clusterer.thresholds.centroid_terms
        for sid, parts in split_plans({sid: members[sid] for sid in checked}, self.split_rule).items():
            self.index.split(sid, parts, {s: centroid_of(ms, keep) for s, ms in parts.items()})
            out.update((m.article_id, s) for s, ms in parts.items() for m in ms)
        # The index's objects live until pruned and hold no cycles: keep the cyclic collector from
        # rescanning them all on every collection, a cost that would grow with the index.
        gc.freeze()
        return out


def cluster_in_memory(articles: Sequence[Article], settings: Settings) -> dict[str, str]:
    clustering = MemoryClustering(settings)
    out: dict[str, str] = {}
    for batch in _batches(articles, settings.ingest_batch_size):
        out.update(clustering.add(batch))
    return out


def cluster_in_redis(articles: Sequence[Article], settings: Settings) -> dict[str, str]:
    from aggregator.services import Services

    prefix = f"eval-{uuid.uuid4().hex[:8]}"
    services = Services(settings.model_copy(update={"key_prefix": prefix}), sender=_NoSender())
    try:
        for batch in _batches(articles, settings.ingest_batch_size):
            services.cluster(batch)
        pipe = services.redis.pipeline(transaction=False)
        for a in articles:
            pipe.hget(services.stories.keys.article(a.id), "story_id")
        return {a.id: sid for a, sid in zip(articles, pipe.execute(), strict=True)}
    finally:
        keys = list(services.redis.scan_iter(f"{prefix}:*", count=1000))
        for i in range(0, len(keys), 1000):  # one command per thousand keys, not one per key
            services.redis.unlink(*keys[i : i + 1000])
        services.close()


class _NoSender:
    def send_task(self, name: str, args: Sequence[Any] | None = None, **options: Any) -> Any:
        raise RuntimeError("eval dispatches no tasks")


def run_eval(settings: Settings, args: argparse.Namespace) -> int:
    rows = read_corpus(Path(args.corpus))
    articles = [a for a, _ in rows]
    truth = {a.id: c for a, c in rows}
    started = time.perf_counter()
    if args.memory:
        predicted = cluster_in_memory(articles, settings)
    else:
        if not settings.redis_url:
            raise SystemExit("eval without --memory needs AGGREGATOR_REDIS_URL")
        predicted = cluster_in_redis(articles, settings)
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = asdict(score(predicted, truth))
    result["articles_per_second"] = round(len(articles) / elapsed, 1) if elapsed else 0.0
    if args.assignments:
        with open(args.assignments, "w", encoding="utf-8") as fh:
            for a in articles:
                fh.write(json.dumps({"id": a.id, "story": predicted[a.id]}) + "\n")
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:22} {value:.4f}" if isinstance(value, float) else f"{key:22} {value}")
    return 0
