"""Running a corpus through the pipeline, against the in-memory index or the Redis one the workers
use (under a throw-away key prefix), and scoring what comes out. Both run `ClusterPipeline` in the same
batches, so they give the same stories."""

from __future__ import annotations

import argparse
import gc
import json
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aggregator.core.models import Article
from aggregator.core.pipeline import ClusterPipeline, Outcome
from aggregator.eval.corpus import read_corpus, shuffled
from aggregator.eval.scoring import score
from aggregator.eval.syndicate import syndicate
from aggregator.settings import Settings
from aggregator.store.memory_index import MemoryIndex
from aggregator.wiring import Wiring, pipeline_from


def batches(items: Sequence[Article], size: int) -> Iterator[Sequence[Article]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def memory_index(settings: Settings) -> MemoryIndex:
    return MemoryIndex(settings.bucket_cap, settings.window_s)


class InMemory:
    """The pipeline against one in-memory index, batch after batch: eval and the benchmarks."""

    def __init__(self, settings: Settings) -> None:
        self.pipeline: ClusterPipeline = pipeline_from(settings)
        self.index = memory_index(settings)

    def add(self, batch: Sequence[Article]) -> Outcome:
        outcome = self.pipeline.run(batch, self.index)
        # The index's objects live until pruned and hold no cycles: keep the cyclic collector from
        # rescanning them all on every collection, a cost that would grow with the index.
        gc.freeze()
        return outcome


def cluster_in_memory(articles: Sequence[Article], settings: Settings) -> dict[str, str]:
    """Article id -> story id."""
    run = InMemory(settings)
    out: dict[str, str] = {}
    for batch in batches(articles, settings.ingest_batch_size):
        out.update(run.add(batch).stories())
    return out


def cluster_in_redis(articles: Sequence[Article], settings: Settings) -> dict[str, str]:
    """Article id -> story id, as the Redis store holds them at the end."""
    prefix = f"eval-{uuid.uuid4().hex[:8]}"
    wiring = Wiring(settings.model_copy(update={"key_prefix": prefix}))
    try:
        for batch in batches(articles, settings.ingest_batch_size):
            wiring.pipeline.run(batch, wiring.index)
        return wiring.views.story_ids([a.id for a in articles])
    finally:
        keys = list(wiring.redis.scan_iter(f"{prefix}:*", count=1000))
        for i in range(0, len(keys), 1000):  # one command per thousand keys, not one per key
            wiring.redis.unlink(*keys[i : i + 1000])
        wiring.close()


def run_eval(settings: Settings, args: argparse.Namespace) -> int:
    rows = read_corpus(Path(args.corpus))
    if args.shuffle is not None:
        rows = shuffled(rows, args.shuffle)
    rows = syndicate(rows, args.syndicate, args.seed)
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
